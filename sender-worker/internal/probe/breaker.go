package probe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"mailing/shared/domain"
	"sync"
	"time"

	"github.com/sony/gobreaker/v2"
)

// Breaker defaults for zero BreakerConfig fields.
const (
	DefaultConsecutiveFailures = 5
	DefaultOpenTimeout         = 10 * time.Second
	// halfOpenPoll is how often WaitReady looks again while the half-open
	// probes are in flight; their answer closes or reopens the breaker.
	halfOpenPoll = 50 * time.Millisecond
)

// BreakerConfig configures the circuit breaker around Send. Only Transient
// outcomes count as failures; Sent and Permanent count as successes (the API
// is up and answering); Auth, and attempts stopped by the caller's context,
// count as neither.
//
// The breaker opens when either enabled rule trips:
//   - ConsecutiveFailures failures in a row (0 disables the rule), or
//   - a failure ratio of at least FailureRatio over at least MinRequests
//     answered requests (FailureRatio 0 disables the rule), counted over
//     Interval (0: counted until the state next changes).
//
// With both rules disabled, ConsecutiveFailures is DefaultConsecutiveFailures.
type BreakerConfig struct {
	ConsecutiveFailures uint32
	FailureRatio        float64
	MinRequests         uint32
	Interval            time.Duration
	// OpenTimeout is how long the breaker stays open before letting probe
	// requests through (half-open). Default DefaultOpenTimeout.
	OpenTimeout time.Duration
	// HalfOpenMaxRequests is how many probe requests the half-open breaker
	// lets through; that many successes in a row close it, one failure
	// reopens it. Default 1.
	HalfOpenMaxRequests uint32
}

// State is the breaker's state.
type State int

const (
	StateClosed State = iota
	StateHalfOpen
	StateOpen
)

func (s State) String() string {
	switch s {
	case StateClosed:
		return "closed"
	case StateHalfOpen:
		return "half-open"
	case StateOpen:
		return "open"
	}
	return fmt.Sprintf("state(%d)", int(s))
}

func fromGobreaker(s gobreaker.State) State {
	switch s {
	case gobreaker.StateOpen:
		return StateOpen
	case gobreaker.StateHalfOpen:
		return StateHalfOpen
	}
	return StateClosed
}

// Verdicts reported to gobreaker; only their identity matters.
var (
	errTransient = errors.New("transient failure")
	errExcluded  = errors.New("not the API's fault")
)

type breaker struct {
	cb          *gobreaker.TwoStepCircuitBreaker[struct{}]
	openTimeout time.Duration
	halfOpenMax uint32

	mu       sync.Mutex
	openedAt time.Time // of the latest transition to open
}

func newBreaker(cfg BreakerConfig, log *slog.Logger, notify func(from, to State)) (*breaker, error) {
	if cfg.FailureRatio < 0 || cfg.FailureRatio > 1 {
		return nil, fmt.Errorf("probe: breaker failure ratio %v: want 0..1", cfg.FailureRatio)
	}
	if cfg.ConsecutiveFailures == 0 && cfg.FailureRatio == 0 {
		cfg.ConsecutiveFailures = DefaultConsecutiveFailures
	}
	if cfg.OpenTimeout <= 0 {
		cfg.OpenTimeout = DefaultOpenTimeout
	}
	if cfg.HalfOpenMaxRequests == 0 {
		cfg.HalfOpenMaxRequests = 1
	}
	b := &breaker{openTimeout: cfg.OpenTimeout, halfOpenMax: cfg.HalfOpenMaxRequests}
	b.cb = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        "probe",
		MaxRequests: cfg.HalfOpenMaxRequests,
		Interval:    cfg.Interval,
		Timeout:     cfg.OpenTimeout,
		ReadyToTrip: readyToTrip(cfg),
		IsExcluded:  func(err error) bool { return errors.Is(err, errExcluded) },
		// Runs under gobreaker's lock: record, log, notify; never call back.
		OnStateChange: func(_ string, from, to gobreaker.State) {
			if to == gobreaker.StateOpen {
				b.mu.Lock()
				b.openedAt = time.Now()
				b.mu.Unlock()
			}
			level := slog.LevelWarn
			if to == gobreaker.StateClosed {
				level = slog.LevelInfo // recovered
			}
			log.Log(context.Background(), level, "circuit breaker state changed",
				"from", fromGobreaker(from).String(), "to", fromGobreaker(to).String())
			if notify != nil {
				notify(fromGobreaker(from), fromGobreaker(to))
			}
		},
	})
	return b, nil
}

func readyToTrip(cfg BreakerConfig) func(gobreaker.Counts) bool {
	return func(c gobreaker.Counts) bool {
		if cfg.ConsecutiveFailures > 0 && c.ConsecutiveFailures >= cfg.ConsecutiveFailures {
			return true
		}
		answered := c.TotalSuccesses + c.TotalFailures
		return cfg.FailureRatio > 0 && answered >= cfg.MinRequests && answered > 0 &&
			float64(c.TotalFailures)/float64(answered) >= cfg.FailureRatio
	}
}

// allow asks for a request slot; report must be called with its result.
func (b *breaker) allow() (report func(Result), ok bool) {
	done, err := b.cb.Allow()
	if err != nil {
		return nil, false
	}
	return func(r Result) { done(verdict(r)) }, true
}

// verdict maps an outcome to what the breaker counts.
func verdict(r Result) error {
	switch {
	case r.Outcome == Sent || r.Outcome == Permanent:
		return nil
	case r.Outcome == Auth, r.Reason == domain.ReasonDeadline, r.Reason == domain.ReasonCancelled:
		// A wrong token or our own end time says nothing about the API's
		// health; Auth stops the sender by other means.
		return errExcluded
	}
	return errTransient
}

func (b *breaker) state() State { return fromGobreaker(b.cb.State()) }

// untilProbe is how long a deferred message should wait: the rest of the
// open period, and at least the broker's 1 s delay precision.
func (b *breaker) untilProbe() time.Duration {
	b.mu.Lock()
	left := time.Until(b.openedAt.Add(b.openTimeout))
	b.mu.Unlock()
	return max(left, time.Second)
}

func (b *breaker) waitReady(ctx context.Context) error {
	for {
		var wait time.Duration
		switch b.state() {
		case StateClosed:
			return nil
		case StateHalfOpen:
			c := b.cb.Counts()
			if c.Requests-min(c.Requests, c.TotalExclusions) < b.halfOpenMax {
				return nil
			}
			wait = halfOpenPoll
		case StateOpen:
			b.mu.Lock()
			// gobreaker half-opens strictly after openedAt+timeout.
			wait = time.Until(b.openedAt.Add(b.openTimeout)) + time.Millisecond
			b.mu.Unlock()
		}
		if err := sleep(ctx, max(wait, time.Millisecond)); err != nil {
			return err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
