// Package testkit holds the helpers the tests of every module share: a log
// capture that concurrent writers may use while the test reads it, a
// getenv backed by a map, waiting for a condition with a failure message
// that says what was awaited and what was last seen, an HTTP call with its
// answer read, and seeing a check fail without failing the test. Tests
// import it; production code never does.
package testkit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

// Log captures log output. Any number of goroutines (the handlers of an
// in-process server, a child process's output copier) may write to it
// while the test reads it. slog's handlers write each record with one
// Write call, so concurrent records never interleave.
type Log struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String is everything written so far.
func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Lines decodes every line written so far as one JSON object, failing t on
// a line that is not one: every binary logs JSON.
func (l *Log) Lines(t testing.TB) []map[string]any {
	t.Helper()
	l.mu.Lock()
	data := bytes.Clone(l.buf.Bytes())
	l.mu.Unlock()
	var out []map[string]any
	for i, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("log line %d is not a JSON object (%v): %s", i+1, err, line)
		}
		out = append(out, m)
	}
	return out
}

// Env returns a getenv that reads vars; a missing key reads as "", as an
// unset variable does.
func Env(vars map[string]string) func(string) string {
	return func(key string) string { return vars[key] }
}

// Eventually polls cond until it returns true, failing t once within has
// passed without it doing so.
func Eventually(t testing.TB, what string, within time.Duration, cond func() bool) {
	t.Helper()
	WaitFor(t, what, within, func() (struct{}, bool) { return struct{}{}, cond() })
}

// WaitFor polls cond until it reports true and returns its value, failing
// t once within has passed; the failure names what was awaited and the
// value cond returned last. Polling starts at once and backs off from 5 ms
// to 100 ms, so a quick condition is seen quickly and a costly one (an
// HTTP call, a query) does not load the machine.
func WaitFor[T any](t testing.TB, what string, within time.Duration, cond func() (T, bool)) T {
	t.Helper()
	start := time.Now()
	pause := 5 * time.Millisecond
	for {
		v, ok := cond()
		if ok {
			return v
		}
		if waited := time.Since(start); waited >= within {
			t.Fatalf("gave up waiting for %s after %s; last seen: %+v", what, waited.Round(time.Millisecond), v)
		}
		time.Sleep(pause)
		pause = min(2*pause, 100*time.Millisecond)
	}
}

// BuildBinaries compiles the given commands of the workspace (import
// paths such as "mailing/sender-worker/cmd/worker") into a directory of
// t's and returns each binary's path by the command's last path element.
// End-to-end tests run the real binaries.
func BuildBinaries(t testing.TB, pkgs ...string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	bins := make(map[string]string, len(pkgs))
	for _, pkg := range pkgs {
		bin := filepath.Join(dir, filepath.Base(pkg))
		if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
		bins[filepath.Base(pkg)] = bin
	}
	return bins
}

// recorder is a testing.TB whose Fatal and Fatalf record the message and
// end the goroutine.
type recorder struct {
	testing.TB
	msg string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (r *recorder) Fatal(args ...any) {
	r.msg = fmt.Sprint(args...)
	runtime.Goexit()
}

// Failure runs check on a goroutine of its own with a testing.TB whose
// Fatal and Fatalf record the message and end check, and returns that
// message: "" when check did not fail. A test sees a helper fail this
// way; t serves every other method.
func Failure(t testing.TB, check func(t testing.TB)) string {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		check(r)
	}()
	<-done
	return r.msg
}
