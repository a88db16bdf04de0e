package retry

import (
	"mailing/shared/domain"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func fixed(f float64) func() float64 { return func() float64 { return f } }

func TestBackoff(t *testing.T) {
	const s = time.Second
	tests := []struct {
		name      string
		attempt   int
		base, max time.Duration
		rnd       float64
		want      time.Duration
	}{
		{"first retry, lowest jitter", 1, 2 * s, 60 * s, 0, 1 * s},
		{"first retry, mid jitter", 1, 2 * s, 60 * s, 0.5, 1500 * time.Millisecond},
		{"second retry doubles", 2, 2 * s, 60 * s, 0, 2 * s},
		{"third retry doubles again", 3, 2 * s, 60 * s, 0, 4 * s},
		{"capped", 10, 2 * s, 60 * s, 0, 30 * s},
		{"capped, mid jitter", 10, 2 * s, 60 * s, 0.5, 45 * s},
		{"huge attempt does not overflow", 1000, 2 * s, 60 * s, 0, 30 * s},
		{"huge max does not overflow", 200, s, time.Duration(math.MaxInt64), 0, time.Duration(math.MaxInt64) / 2},
		{"attempt 0 treated as first", 0, 2 * s, 60 * s, 0, 1 * s},
		{"max below base raised to base", 5, 4 * s, s, 0, 2 * s},
		{"zero base", 3, 0, 60 * s, 0.5, 0},
		{"rnd out of range clamped low", 1, 2 * s, 60 * s, -3, 1 * s},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Backoff(tt.attempt, tt.base, tt.max, fixed(tt.rnd)); got != tt.want {
				t.Fatalf("Backoff(%d, %v, %v, %v) = %v, want %v", tt.attempt, tt.base, tt.max, tt.rnd, got, tt.want)
			}
		})
	}
}

// The jitter stays within [d/2, d) for every draw, including the extremes.
func TestBackoffJitterBounds(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	draws := []func() float64{fixed(0), fixed(math.Nextafter(1, 0)), fixed(1), fixed(7), r.Float64}
	for attempt := 1; attempt <= 12; attempt++ {
		d := capped(attempt, time.Second, 5*time.Minute)
		for i, rnd := range draws {
			for range 200 {
				got := Backoff(attempt, time.Second, 5*time.Minute, rnd)
				if got < d/2 || got >= d {
					t.Fatalf("attempt %d draw %d: %v outside [%v, %v)", attempt, i, got, d/2, d)
				}
			}
		}
	}
}

func TestBackoffNilRandWithinBounds(t *testing.T) {
	for range 1000 {
		got := Backoff(3, time.Second, time.Minute, nil)
		if got < 2*time.Second || got >= 4*time.Second {
			t.Fatalf("Backoff with default rand = %v, want in [2s, 4s)", got)
		}
	}
}

func TestDecide(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	policy := Policy{MaxAttempts: 5, Base: 2 * time.Second, Max: time.Minute}
	later := now.Add(time.Hour)
	tests := []struct {
		name       string
		attempt    int
		policy     Policy
		endAt      time.Time
		retryAfter time.Duration
		rnd        float64
		want       Decision
	}{
		{
			name: "first failure retries after the backoff", attempt: 1, policy: policy, endAt: later, rnd: 0,
			want: RetryAt(now, time.Second),
		},
		{
			name: "backoff rounded up to whole seconds", attempt: 1, policy: policy, endAt: later, rnd: 0.5,
			want: RetryAt(now, 2*time.Second), // 1.5 s
		},
		{
			name: "sub-second backoff becomes one second", attempt: 1,
			policy: Policy{MaxAttempts: 3, Base: 10 * time.Millisecond, Max: time.Second}, endAt: later,
			want: RetryAt(now, time.Second),
		},
		{
			name: "last allowed retry", attempt: 4, policy: policy, endAt: later, rnd: 0,
			want: RetryAt(now, 8*time.Second),
		},
		{
			name: "attempts exhausted", attempt: 5, policy: policy, endAt: later,
			want: GiveUp(domain.ReasonAttemptsExhausted),
		},
		{
			name: "attempts exhausted wins over expiry", attempt: 5, policy: policy, endAt: now,
			want: GiveUp(domain.ReasonAttemptsExhausted),
		},
		{
			name: "single attempt policy never retries", attempt: 1, policy: Policy{MaxAttempts: 1, Base: time.Second, Max: time.Second}, endAt: later,
			want: GiveUp(domain.ReasonAttemptsExhausted),
		},
		{
			name: "retry landing exactly at end_at expires", attempt: 1, policy: policy, endAt: now.Add(time.Second), rnd: 0,
			want: GiveUp(domain.ReasonExpired),
		},
		{
			name: "rounding up pushes the retry onto end_at", attempt: 1, policy: policy, endAt: now.Add(2 * time.Second), rnd: 0.5,
			want: GiveUp(domain.ReasonExpired), // 1.5 s rounds to 2 s
		},
		{
			name: "retry one second before end_at", attempt: 1, policy: policy, endAt: now.Add(2 * time.Second), rnd: 0,
			want: RetryAt(now, time.Second),
		},
		{
			name: "end_at already passed", attempt: 1, policy: policy, endAt: now.Add(-time.Minute),
			want: GiveUp(domain.ReasonExpired),
		},
		{
			name: "Retry-After longer than backoff wins", attempt: 1, policy: policy, endAt: later, retryAfter: 30 * time.Second,
			want: RetryAt(now, 30*time.Second),
		},
		{
			name: "fractional Retry-After rounded up", attempt: 1, policy: policy, endAt: later, retryAfter: 2500 * time.Millisecond,
			want: RetryAt(now, 3*time.Second),
		},
		{
			name: "Retry-After shorter than backoff loses", attempt: 3, policy: policy, endAt: later, retryAfter: time.Second, rnd: 0,
			want: RetryAt(now, 4*time.Second),
		},
		{
			name: "Retry-After beyond end_at expires", attempt: 1, policy: policy, endAt: now.Add(time.Minute), retryAfter: 2 * time.Minute,
			want: GiveUp(domain.ReasonExpired),
		},
		{
			name: "negative Retry-After ignored", attempt: 2, policy: policy, endAt: later, retryAfter: -time.Hour, rnd: 0,
			want: RetryAt(now, 2*time.Second),
		},
		{
			name: "capped backoff", attempt: 4, policy: Policy{MaxAttempts: 10, Base: 10 * time.Second, Max: 20 * time.Second}, endAt: later, rnd: 0,
			want: RetryAt(now, 10*time.Second),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Decide(now, tt.attempt, tt.policy, tt.endAt, tt.retryAfter, fixed(tt.rnd))
			if !got.At.Equal(tt.want.At) || got.Retry != tt.want.Retry || got.Delay != tt.want.Delay || got.GiveUp != tt.want.GiveUp {
				t.Fatalf("Decide = %+v, want %+v", got, tt.want)
			}
			if got.Retry && (got.Delay%time.Second != 0 || !got.At.Equal(now.Add(got.Delay)) || !got.At.Before(tt.endAt)) {
				t.Fatalf("retry %+v: want whole seconds, At = now+Delay, before end_at %v", got, tt.endAt)
			}
		})
	}
}

// Over random draws a retry is always at least the backoff floor and the
// Retry-After, a whole number of seconds, and strictly before end_at.
func TestDecideInvariants(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	now := time.Date(2024, 5, 1, 12, 0, 0, 123456789, time.UTC)
	policy := Policy{MaxAttempts: 8, Base: 500 * time.Millisecond, Max: 20 * time.Second}
	for range 5000 {
		attempt := 1 + r.IntN(10)
		endAt := now.Add(time.Duration(r.Int64N(int64(40 * time.Second))))
		retryAfter := time.Duration(r.Int64N(int64(10 * time.Second)))
		d := Decide(now, attempt, policy, endAt, retryAfter, r.Float64)
		switch {
		case attempt >= policy.MaxAttempts:
			if d.Retry || d.GiveUp != domain.ReasonAttemptsExhausted {
				t.Fatalf("attempt %d: %+v, want attempts_exhausted", attempt, d)
			}
		case d.Retry:
			floor := capped(attempt, policy.Base, policy.Max) / 2
			if d.Delay < floor || d.Delay < retryAfter || d.Delay%time.Second != 0 || !d.At.Before(endAt) {
				t.Fatalf("attempt %d retryAfter %v endAt +%v: bad retry %+v", attempt, retryAfter, endAt.Sub(now), d)
			}
		default:
			// Expiry is only allowed when even the longest possible wait
			// reaches end_at.
			longest := CeilSecond(max(capped(attempt, policy.Base, policy.Max), retryAfter))
			if d.GiveUp != domain.ReasonExpired || now.Add(longest).Before(endAt) {
				t.Fatalf("attempt %d retryAfter %v endAt +%v: unexpected give-up %+v", attempt, retryAfter, endAt.Sub(now), d)
			}
		}
	}
}

func TestCeilSecond(t *testing.T) {
	tests := []struct{ in, want time.Duration }{
		{-time.Second, 0},
		{0, 0},
		{1, time.Second},
		{time.Second, time.Second},
		{time.Second + 1, 2 * time.Second},
		{90 * time.Minute, 90 * time.Minute},
	}
	for _, tt := range tests {
		if got := CeilSecond(tt.in); got != tt.want {
			t.Errorf("CeilSecond(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
