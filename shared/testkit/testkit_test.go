package testkit

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestLogTakesConcurrentWritersAndDecodesLines(t *testing.T) {
	var l Log
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 50 {
				fmt.Fprintf(&l, `{"msg":"line","writer":%d,"n":%d}`+"\n", i, j)
			}
		})
	}
	for range 20 {
		_ = l.Lines(t) // reading while they write
	}
	wg.Wait()
	lines := l.Lines(t)
	if len(lines) != 400 {
		t.Fatalf("%d lines, want 400", len(lines))
	}
	if !strings.Contains(l.String(), `"writer":7`) {
		t.Fatal("String lacks a writer's lines")
	}
}

func TestEnvReadsTheMap(t *testing.T) {
	getenv := Env(map[string]string{"A": "1"})
	if getenv("A") != "1" || getenv("B") != "" {
		t.Fatalf("A=%q B=%q", getenv("A"), getenv("B"))
	}
}

func TestWaitForReturnsTheValueOnceTrue(t *testing.T) {
	var n atomic.Int64
	go func() {
		time.Sleep(20 * time.Millisecond)
		n.Store(3)
	}()
	if got := WaitFor(t, "n to be set", 5*time.Second, func() (int64, bool) { v := n.Load(); return v, v == 3 }); got != 3 {
		t.Fatalf("WaitFor returned %d", got)
	}
	Eventually(t, "n to stay set", time.Second, func() bool { return n.Load() == 3 })
}

func TestWaitForFailureSaysWhatAndTheLastValue(t *testing.T) {
	msg := Failure(t, func(t testing.TB) {
		WaitFor(t, "the answer", 30*time.Millisecond, func() (string, bool) { return "status 503", false })
	})
	for _, want := range []string{"the answer", "last seen: status 503", "gave up"} {
		if !strings.Contains(msg, want) {
			t.Errorf("failure %q lacks %q", msg, want)
		}
	}
}

func TestLinesFailsOnALineThatIsNotJSON(t *testing.T) {
	var l Log
	_, _ = l.Write([]byte("{\"msg\":\"ok\"}\nplain text\n"))
	msg := Failure(t, func(t testing.TB) { l.Lines(t) })
	if !strings.Contains(msg, "line 2") || !strings.Contains(msg, "plain text") {
		t.Fatalf("failure %q does not name the line", msg)
	}
}
