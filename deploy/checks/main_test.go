package checks

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if replayed.tmp != "" {
		_ = os.RemoveAll(replayed.tmp)
	}
	os.Exit(code)
}
