package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"mailing/shared/broker/brokertest"
	"mailing/shared/postgres/pgtest"
	"mailing/shared/testkit"
)

// The shutdown tests lean on TestMain (leak_test.go): a goroutine a part
// started and no one waited for fails the package.

// busyPart runs until its context ends, then takes a moment to wind down
// a goroutine of its own, as a consumer finishing its jobs in hand does.
func busyPart(stopped *atomic.Int32) func(context.Context) error {
	return func(ctx context.Context) error {
		inner := make(chan struct{})
		go func() {
			<-ctx.Done()
			time.Sleep(50 * time.Millisecond)
			close(inner)
		}()
		<-inner
		stopped.Add(1)
		return nil
	}
}

// A part that fails stops the worker: every other part sees its context
// end and has returned, with what it started, before runParts returns the
// failure.
func TestAFailingPartStopsEveryOtherAndWaitsForThem(t *testing.T) {
	var stopped atomic.Int32
	logs := &testkit.Log{}
	boom := errors.New("connection refused")
	err := runParts(context.Background(), slog.New(slog.NewJSONHandler(logs, nil)),
		part{"busy 1", busyPart(&stopped)},
		part{"failing", func(context.Context) error { time.Sleep(20 * time.Millisecond); return boom }},
		part{"busy 2", busyPart(&stopped)},
	)
	if !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), "failing: ") {
		t.Fatalf("runParts = %v, want the failing part's error, named", err)
	}
	if n := stopped.Load(); n != 2 {
		t.Fatalf("%d of 2 other parts had stopped when runParts returned", n)
	}
	lines := logs.Lines(t)
	if len(lines) != 1 || lines[0]["msg"] != "worker stopping after a failure" || lines[0]["error"] != err.Error() {
		t.Fatalf("log %v, want one line saying why the worker stops", lines)
	}
}

// Without a failure, every part stops when the worker's context ends.
func TestPartsStopWhenTheContextEnds(t *testing.T) {
	var stopped atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	if err := runParts(ctx, slog.New(slog.DiscardHandler), part{"a", busyPart(&stopped)}, part{"b", busyPart(&stopped)}); err != nil {
		t.Fatalf("runParts = %v, want nil after the context ended", err)
	}
	if n := stopped.Load(); n != 2 {
		t.Fatalf("%d of 2 parts had stopped when runParts returned", n)
	}
}

// An HTTP server part stops with its context even with a request that
// never ends: after the grace period its connection is closed, and the
// part returns only once the server has.
func TestHTTPServerPartClosesHungRequestsAfterTheGrace(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	entered := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-r.Context().Done() // ends only when the connection is closed
	})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveHTTP(srv, ln, 100*time.Millisecond)(ctx) }()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	reqErr := make(chan error, 1)
	go func() {
		resp, err := client.Get("http://" + ln.Addr().String())
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		reqErr <- err
	}()
	<-entered
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the server part returned %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the server part did not return after its grace period")
	}
	if err := <-reqErr; err == nil {
		t.Fatal("the hung request got an answer; want its connection closed")
	}
}

// A worker that cannot start (here: its pprof address is taken) returns
// the error and releases what it had opened: its health port is free.
func TestRunReleasesItsListenerWhenStartUpFails(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	bcfg := brokertest.Config(t)
	logs := &testkit.Log{}
	err = run(context.Background(), testkit.Env(map[string]string{
		"DATABASE_URL": pgtest.DSN(t), "AMQP_URL": bcfg.URL, "AMQP_PREFIX": bcfg.Prefix,
		"PROBE_TOKEN": "x", "WORKER_HTTP_ADDR": "127.0.0.1:0", "PPROF_ADDR": taken.Addr().String(),
	}), logs)
	if err == nil || !strings.Contains(err.Error(), "pprof") {
		t.Fatalf("run = %v, want the pprof listener's error", err)
	}
	var addr string
	for _, l := range logs.Lines(t) {
		if l["msg"] == "listening" {
			addr, _ = l["addr"].(string)
		}
	}
	if addr == "" {
		t.Fatal("the worker did not log its health address")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("the health address %s is still held after run returned: %v", addr, err)
	}
	_ = ln.Close()
}
