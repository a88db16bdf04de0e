package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func TestEnvOrFallsBackOnUnsetOrEmpty(t *testing.T) {
	t.Setenv("CLI_TEST_SET", "value")
	t.Setenv("CLI_TEST_EMPTY", "")
	if got := EnvOr("CLI_TEST_SET", "def"); got != "value" {
		t.Errorf("set: %q", got)
	}
	if got := EnvOr("CLI_TEST_EMPTY", "def"); got != "def" {
		t.Errorf("empty: %q", got)
	}
}

func TestWriteJSONWritesOnlyWhenAskedTo(t *testing.T) {
	if err := WriteJSON("", map[string]int{"a": 1}); err != nil {
		t.Fatalf("no path: %v", err)
	}
	path := filepath.Join(t.TempDir(), "out.json")
	if err := WriteJSON(path, map[string]int{"a": 1}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]int
	if err := json.Unmarshal(raw, &got); err != nil || got["a"] != 1 || raw[len(raw)-1] != '\n' {
		t.Fatalf("wrote %q (%v)", raw, err)
	}
}
