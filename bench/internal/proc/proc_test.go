package proc

import (
	"os"
	"path/filepath"
	"testing"
)

func TestStatCPUSecondsReadsUserPlusSystemTime(t *testing.T) {
	// Field 2 holds spaces and parentheses; utime=250, stime=50 ticks.
	stat := "42 (a (b) c) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 100 1000 200\n"
	path := filepath.Join(t.TempDir(), "stat")
	if err := os.WriteFile(path, []byte(stat), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := StatCPUSeconds(path)
	if err != nil || got != 3 {
		t.Fatalf("StatCPUSeconds = %v, %v; want 3", got, err)
	}
}
