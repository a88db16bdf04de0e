package probe

import (
	"time"

	"mailing/shared/domain"
)

// Outcome is what the sender does with a message after one Send.
type Outcome string

const (
	// Sent: the external API accepted the message (HTTP 200, code 0).
	Sent Outcome = "sent"
	// Permanent: the API rejected this message for good; retrying cannot help.
	Permanent Outcome = "permanent"
	// Auth: our credentials or configuration are wrong (401/403). The caller
	// stops sending and alerts instead of burning attempts.
	Auth Outcome = "auth"
	// Transient: may succeed later; retry within the policy and end time.
	Transient Outcome = "transient"
	// Deferred: no request was made because the circuit breaker is open (or
	// its half-open probes are taken). The caller defers the message without
	// counting an attempt.
	Deferred Outcome = "deferred"
)

// Result describes one Send.
type Result struct {
	Outcome Outcome
	// Reason is one of domain's reason codes of the external API client:
	// ok, timeout, deadline, cancelled, connection, http_5xx, ...
	Reason domain.Reason
	// HTTPStatus is 0 when no response was received.
	HTTPStatus int
	// RetryAfter is the wait the API asked for (429/503 Retry-After, as
	// seconds or an HTTP date), or, for Deferred, the time left until the
	// breaker lets a probe request through. Zero when unknown.
	RetryAfter time.Duration
	// BodyExcerpt is the first bytes (at most 256) of the response body, for
	// logs and the message's last error.
	BodyExcerpt string
	// Latency is the time from sending the request to having read the body.
	Latency time.Duration
	// Err is the underlying transport or decoding error, if any, for logs.
	Err error
}
