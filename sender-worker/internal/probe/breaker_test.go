package probe

import (
	"context"
	"errors"
	"mailing/shared/domain"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mailing/shared/testkit"
)

// switchable answers 500 while failing is set, else 200 OK.
func switchable(failing *atomic.Bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			answerWith(500, "down")(w, r)
			return
		}
		answerWith(200, okBody)(w, r)
	}
}

// transitions records breaker state changes.
type transitions struct {
	mu   sync.Mutex
	list []string
}

func (tr *transitions) record(from, to State) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.list = append(tr.list, from.String()+"->"+to.String())
}

func (tr *transitions) get() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return slices.Clone(tr.list)
}

func breakerClient(t *testing.T, srv *testServer, bc BreakerConfig, tr *transitions) *Client {
	return newClient(t, srv.base(), nil, func(cfg *Config) {
		cfg.Breaker = bc
		if tr != nil {
			cfg.OnStateChange = tr.record
		}
	})
}

func mustSend(t *testing.T, c *Client, want Outcome) Result {
	t.Helper()
	r := c.Send(context.Background(), msg(1))
	if r.Outcome != want {
		t.Fatalf("Send = %+v, want %s", r, want)
	}
	return r
}

func TestBreakerOpensHalfOpensAndCloses(t *testing.T) {
	var failing atomic.Bool
	failing.Store(true)
	srv := newServer(t, switchable(&failing))
	tr := &transitions{}
	c := breakerClient(t, srv, BreakerConfig{ConsecutiveFailures: 3, OpenTimeout: 200 * time.Millisecond}, tr)

	mustSend(t, c, Transient)
	mustSend(t, c, Transient)
	if c.State() != StateClosed {
		t.Fatalf("state after 2 failures = %s, want closed", c.State())
	}
	beforeOpen := time.Now()
	mustSend(t, c, Transient)
	if c.State() != StateOpen {
		t.Fatalf("state after 3 failures = %s, want open", c.State())
	}

	// While open: no request reaches the API, the job is deferred.
	hits := srv.hits.Load()
	for range 20 {
		r := mustSend(t, c, Deferred)
		if r.Reason != domain.ReasonBreakerOpen || r.RetryAfter < time.Second || r.HTTPStatus != 0 {
			t.Fatalf("deferred result %+v", r)
		}
	}
	if got := srv.hits.Load(); got != hits {
		t.Fatalf("server hits went from %d to %d while the breaker was open", hits, got)
	}

	failing.Store(false)
	testkit.Eventually(t, "breaker half-open", 30*time.Second, func() bool { return c.State() == StateHalfOpen })
	if since := time.Since(beforeOpen); since < 200*time.Millisecond {
		t.Fatalf("half-open after %v, before the 200ms open timeout", since)
	}
	mustSend(t, c, Sent)
	if c.State() != StateClosed {
		t.Fatalf("state after a successful probe = %s, want closed", c.State())
	}
	want := []string{"closed->open", "open->half-open", "half-open->closed"}
	if got := tr.get(); !slices.Equal(got, want) {
		t.Fatalf("transitions %v, want %v", got, want)
	}
}

func TestBreakerReopensOnFailedProbe(t *testing.T) {
	var failing atomic.Bool
	failing.Store(true)
	srv := newServer(t, switchable(&failing))
	tr := &transitions{}
	c := breakerClient(t, srv, BreakerConfig{ConsecutiveFailures: 1, OpenTimeout: 200 * time.Millisecond}, tr)

	mustSend(t, c, Transient)
	testkit.Eventually(t, "breaker half-open", 30*time.Second, func() bool { return c.State() == StateHalfOpen })
	hits := srv.hits.Load()
	mustSend(t, c, Transient)
	if got := srv.hits.Load(); got != hits+1 {
		t.Fatalf("half-open let %d requests through, want 1", got-hits)
	}
	if c.State() != StateOpen {
		t.Fatalf("state after a failed probe = %s, want open", c.State())
	}
	mustSend(t, c, Deferred)
	want := []string{"closed->open", "open->half-open", "half-open->open"}
	if got := tr.get(); !slices.Equal(got, want) {
		t.Fatalf("transitions %v, want %v", got, want)
	}
}

func TestBreakerIgnoresPermanentAndAuth(t *testing.T) {
	var status atomic.Int64
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		answerWith(int(status.Load()), "")(w, r)
	})
	c := breakerClient(t, srv, BreakerConfig{ConsecutiveFailures: 2, OpenTimeout: time.Minute}, nil)

	status.Store(400)
	for range 10 {
		mustSend(t, c, Permanent)
	}
	status.Store(422)
	for range 10 {
		mustSend(t, c, Permanent)
	}
	if c.State() != StateClosed {
		t.Fatalf("permanent answers opened the breaker")
	}

	// A permanent answer is a success: it breaks a run of failures.
	status.Store(500)
	mustSend(t, c, Transient)
	status.Store(404)
	mustSend(t, c, Permanent)
	status.Store(500)
	mustSend(t, c, Transient)
	if c.State() != StateClosed {
		t.Fatalf("failure, success, failure opened the breaker (threshold 2)")
	}

	// Auth is neither success nor failure: it does not break the run.
	status.Store(401)
	for range 5 {
		mustSend(t, c, Auth)
	}
	if c.State() != StateClosed {
		t.Fatalf("auth answers opened the breaker")
	}
	status.Store(502)
	mustSend(t, c, Transient)
	if c.State() != StateOpen {
		t.Fatalf("state = %s, want open: failure, auth…, failure is two failures in a row", c.State())
	}
}

// Attempts cut short by our own deadline are not the API's fault.
func TestBreakerIgnoresCallerDeadline(t *testing.T) {
	srv := hangingServer(t)
	c := breakerClient(t, srv, BreakerConfig{ConsecutiveFailures: 2, OpenTimeout: time.Minute}, nil)
	for range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		r := c.Send(ctx, msg(1))
		cancel()
		if r.Reason != domain.ReasonDeadline {
			t.Fatalf("Send = %+v, want deadline", r)
		}
	}
	if c.State() != StateClosed {
		t.Fatalf("caller deadlines opened the breaker")
	}
}

func TestBreakerCountsTimeouts(t *testing.T) {
	srv := hangingServer(t)
	c := newClient(t, srv.base(), nil, func(cfg *Config) {
		cfg.Timeout = 50 * time.Millisecond
		cfg.Breaker = BreakerConfig{ConsecutiveFailures: 2, OpenTimeout: time.Minute}
	})
	for range 2 {
		if r := c.Send(context.Background(), msg(1)); r.Reason != domain.ReasonTimeout {
			t.Fatalf("Send = %+v, want timeout", r)
		}
	}
	if c.State() != StateOpen {
		t.Fatalf("state after 2 timeouts = %s, want open", c.State())
	}
}

func TestBreakerFailureRatio(t *testing.T) {
	var failing atomic.Bool
	srv := newServer(t, switchable(&failing))
	c := breakerClient(t, srv, BreakerConfig{FailureRatio: 0.5, MinRequests: 4, OpenTimeout: time.Minute}, nil)
	steps := []struct {
		fail  bool
		state State
	}{
		{false, StateClosed},
		{true, StateClosed},
		{false, StateClosed},
		{true, StateOpen}, // 2 of 4
	}
	for i, s := range steps {
		failing.Store(s.fail)
		c.Send(context.Background(), msg(1))
		if c.State() != s.state {
			t.Fatalf("step %d: state %s, want %s", i, c.State(), s.state)
		}
	}
}

func TestWaitReady(t *testing.T) {
	var failing atomic.Bool
	failing.Store(true)
	srv := newServer(t, switchable(&failing))
	c := breakerClient(t, srv, BreakerConfig{ConsecutiveFailures: 1, OpenTimeout: 300 * time.Millisecond}, nil)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.WaitReady(ctx); err != nil {
		t.Fatalf("WaitReady on a closed breaker: %v", err)
	}
	beforeOpen := time.Now()
	mustSend(t, c, Transient)
	if err := c.WaitReady(ctx); err != nil {
		t.Fatalf("WaitReady: %v", err)
	}
	if since := time.Since(beforeOpen); since < 300*time.Millisecond {
		t.Fatalf("WaitReady returned after %v, before the 300ms open timeout", since)
	}
	if c.State() != StateHalfOpen {
		t.Fatalf("state after WaitReady = %s, want half-open", c.State())
	}
	failing.Store(false)
	mustSend(t, c, Sent)
	if c.State() != StateClosed {
		t.Fatalf("state = %s, want closed", c.State())
	}
}

func TestWaitReadyHonoursContext(t *testing.T) {
	srv := newServer(t, answerWith(500, ""))
	c := breakerClient(t, srv, BreakerConfig{ConsecutiveFailures: 1, OpenTimeout: time.Hour}, nil)
	mustSend(t, c, Transient)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := c.WaitReady(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitReady = %v, want deadline exceeded", err)
	}
}

// While the half-open probe is in flight, other senders wait instead of
// taking jobs only to defer them; the probe's success releases them.
func TestWaitReadyBlocksDuringProbe(t *testing.T) {
	var failing atomic.Bool
	failing.Store(true)
	release := make(chan struct{})
	var probing atomic.Bool
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			answerWith(500, "")(w, r)
			return
		}
		probing.Store(true)
		<-release
		answerWith(200, okBody)(w, r)
	})
	// Runs before the server's Close even when the test fails early.
	unblock := sync.OnceFunc(func() { close(release) })
	t.Cleanup(unblock)
	c := breakerClient(t, srv, BreakerConfig{ConsecutiveFailures: 1, OpenTimeout: 100 * time.Millisecond}, nil)
	mustSend(t, c, Transient)
	failing.Store(false)
	testkit.Eventually(t, "breaker half-open", 30*time.Second, func() bool { return c.State() == StateHalfOpen })

	probe := make(chan Result, 1)
	go func() { probe <- c.Send(context.Background(), msg(2)) }()
	testkit.Eventually(t, "probe request reached the server", 30*time.Second, probing.Load)

	if r := c.Send(context.Background(), msg(3)); r.Outcome != Deferred {
		t.Fatalf("second request during the probe = %+v, want deferred", r)
	}
	short, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := c.WaitReady(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitReady during the probe = %v, want it to block until its context ends", err)
	}

	unblock()
	if r := <-probe; r.Outcome != Sent {
		t.Fatalf("probe = %+v, want sent", r)
	}
	ctx, cancel2 := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel2()
	if err := c.WaitReady(ctx); err != nil {
		t.Fatalf("WaitReady after the probe: %v", err)
	}
	if c.State() != StateClosed {
		t.Fatalf("state = %s, want closed", c.State())
	}
}
