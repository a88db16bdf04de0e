package probe

import "time"

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

// Reasons are short, stable and machine-readable: they end up in the
// message's last error, logs and metric labels.
const (
	ReasonOK               = "ok"
	ReasonTimeout          = "timeout"           // the per-attempt timeout (PROBE_TIMEOUT) fired
	ReasonDeadline         = "deadline"          // the caller's deadline (the mailout's end time) hit
	ReasonCancelled        = "cancelled"         // the caller's context was cancelled (shutdown, mailout cancelled)
	ReasonConnection       = "connection"        // dial, reset, refused, TLS and similar transport errors
	ReasonHTTP5xx          = "http_5xx"          // a 5xx other than 503
	ReasonHTTP503          = "http_503"          // 503, Retry-After honoured
	ReasonHTTP429          = "http_429"          // 429, Retry-After honoured
	ReasonHTTP408          = "http_408"          // 408 Request Timeout: the server gave up waiting, a transient condition
	ReasonBadResponse      = "bad_response"      // a 200 whose body is not {"code": <int>, ...}, or too large
	ReasonCodeNonzero      = "code_nonzero"      // a 200 with "code" != 0
	ReasonUnexpectedStatus = "unexpected_status" // a 1xx/2xx/3xx other than 200 (redirects are not followed)
	ReasonRejected4xx      = "rejected_4xx"      // 400, 404, 422 and any other 4xx that is not 401/403/408/429
	ReasonAuth             = "auth"              // 401 or 403
	ReasonBreakerOpen      = "breaker_open"      // Deferred: no request made
	ReasonInvalidMessage   = "invalid_message"   // Permanent, no request made: the phone is not 11 digits
)

// Result describes one Send.
type Result struct {
	Outcome Outcome
	// Reason is one of the Reason constants.
	Reason string
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
