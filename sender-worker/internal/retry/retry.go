// Package retry decides when a message whose delivery failed transiently is
// tried again, or that it is not tried again at all. Everything here is a
// pure function of its arguments (randomness is injected), so the sender's
// retry behaviour is proven by table tests.
package retry

import (
	"math/rand/v2"
	"time"

	"mailing/shared/domain"
)

// Policy bounds the retries of one message.
type Policy struct {
	// MaxAttempts is the total number of delivery attempts a message may
	// get, the first one included (1 means never retry).
	MaxAttempts int
	// Base is the backoff before the first retry; it doubles per retry.
	Base time.Duration
	// Max caps the backoff (values below Base are raised to Base).
	Max time.Duration
}

// Decision is either a retry (Retry true, at At, Delay after now) or giving
// up (Retry false, with GiveUp domain.ReasonAttemptsExhausted or
// domain.ReasonExpired).
type Decision struct {
	Retry bool
	// At is when the next attempt may start: now + Delay.
	At time.Time
	// Delay is a whole number of seconds, ready to be handed to the broker's
	// delay mechanism.
	Delay  time.Duration
	GiveUp domain.Reason
}

// RetryAt returns a decision to try again at now+delay.
func RetryAt(now time.Time, delay time.Duration) Decision {
	return Decision{Retry: true, At: now.Add(delay), Delay: delay}
}

// GiveUp returns a decision not to try again, for reason.
func GiveUp(reason domain.Reason) Decision {
	return Decision{GiveUp: reason}
}

// Backoff returns the wait before retry number attempt (1 is the first
// retry): a capped exponential d = min(max, base·2^(attempt-1)) with equal
// jitter, i.e. uniformly in [d/2, d).
//
// Equal rather than full jitter: attempts are a small budget
// (SENDER_MAX_ATTEMPTS), and full jitter, which draws from [0, d), can burn
// several of them within seconds of each other during one short outage.
// Equal jitter still spreads a burst of failures (an outage fails thousands of
// messages at once) over half the interval, while guaranteeing that the
// retries of one message span at least half the exponential schedule. The
// circuit breaker, not the jitter, is what protects a dead API from load.
//
// rnd returns values in [0, 1); nil means math/rand/v2's Float64.
func Backoff(attempt int, base, max time.Duration, rnd func() float64) time.Duration {
	d := capped(attempt, base, max)
	if rnd == nil {
		rnd = rand.Float64
	}
	half := d / 2
	return half + time.Duration(clamp01(rnd())*float64(d-half))
}

// Decide tells what to do after delivery attempt number attempt (1 is the
// first attempt) failed transiently at now.
//
//   - If another attempt would exceed policy.MaxAttempts: GiveUp(domain.ReasonAttemptsExhausted).
//   - Otherwise the wait is max(Backoff(attempt), retryAfter), the latter
//     being the external API's Retry-After (zero when it sent none), rounded
//     UP to whole seconds: the broker's delays have 1 s precision, and
//     rounding down could let the retry start before the API asked or before
//     the backoff elapsed.
//   - If now+wait is at or after endAt: GiveUp(domain.ReasonExpired), because no attempt
//     may start at or after the mailout's end time.
func Decide(now time.Time, attempt int, policy Policy, endAt time.Time, retryAfter time.Duration, rnd func() float64) Decision {
	if attempt >= policy.MaxAttempts {
		return GiveUp(domain.ReasonAttemptsExhausted)
	}
	wait := Backoff(attempt, policy.Base, policy.Max, rnd)
	if retryAfter > wait {
		wait = retryAfter
	}
	wait = CeilSecond(wait)
	if !now.Add(wait).Before(endAt) {
		return GiveUp(domain.ReasonExpired)
	}
	return RetryAt(now, wait)
}

// CeilSecond rounds d up to a whole number of seconds (negative d gives 0),
// the precision of the broker's delays.
func CeilSecond(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return (d + time.Second - 1) / time.Second * time.Second
}

// capped is min(max, base·2^(attempt-1)) without overflowing.
func capped(attempt int, base, max time.Duration) time.Duration {
	if base < 0 {
		base = 0
	}
	if max < base {
		max = base
	}
	d := base
	if d == 0 {
		return 0
	}
	for i := 1; i < attempt && d < max; i++ {
		if d > max/2 {
			return max
		}
		d *= 2
	}
	if d > max {
		return max
	}
	return d
}

func clamp01(f float64) float64 {
	switch {
	case f < 0:
		return 0
	case f >= 1:
		// Keeps the documented half-open interval even for a sloppy rnd.
		return 1 - 1e-12
	}
	return f
}
