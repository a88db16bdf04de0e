package config

import (
	"strings"
	"testing"
	"time"

	"mailing/shared/testkit"
)

func TestEnvCollectsEveryProblem(t *testing.T) {
	vars := map[string]string{"D": "soon", "I": "-3", "B": "maybe", "S": "x", "OK": "90s"}
	e := New(testkit.Env(vars))
	if got := e.String("S", "def"); got != "x" {
		t.Fatalf("String: %q", got)
	}
	if got := e.String("MISSING", "def"); got != "def" {
		t.Fatalf("String default: %q", got)
	}
	if got := e.Duration("OK", time.Second); got != 90*time.Second {
		t.Fatalf("Duration: %v", got)
	}
	e.Duration("D", time.Second)
	e.Int("I", 1)
	e.Bool("B", false)
	err := e.Err()
	if err == nil {
		t.Fatal("no error for three bad values")
	}
	for _, key := range []string{"D=", "I=", "B="} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error does not name %s: %v", key, err)
		}
	}
}
