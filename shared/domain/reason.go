package domain

// Reason is a short, stable, machine-readable code of why a message is not
// (yet) sent. It is stored on the message beside the free-text last error,
// written in logs and used as a metric label, so this list is the one home
// of every code: the external API client's, the sender's, the retry
// policy's and the store's.
type Reason string

// The external API client's reasons, one per class of answer.
const (
	ReasonOK               Reason = "ok"
	ReasonTimeout          Reason = "timeout"           // the per-attempt timeout (PROBE_TIMEOUT) fired
	ReasonDeadline         Reason = "deadline"          // the caller's deadline (the mailout's end time) hit
	ReasonCancelled        Reason = "cancelled"         // the caller's context was cancelled (shutdown), or the mailout was cancelled
	ReasonConnection       Reason = "connection"        // dial, reset, refused, TLS and similar transport errors
	ReasonHTTP5xx          Reason = "http_5xx"          // a 5xx other than 503
	ReasonHTTP503          Reason = "http_503"          // 503, Retry-After honoured
	ReasonHTTP429          Reason = "http_429"          // 429, Retry-After honoured
	ReasonHTTP408          Reason = "http_408"          // 408 Request Timeout: the server gave up waiting, a transient condition
	ReasonBadResponse      Reason = "bad_response"      // a 200 whose body is not {"code": <int>, ...}, or too large
	ReasonCodeNonzero      Reason = "code_nonzero"      // a 200 with "code" != 0
	ReasonUnexpectedStatus Reason = "unexpected_status" // a 1xx/2xx/3xx other than 200 (redirects are not followed)
	ReasonRejected4xx      Reason = "rejected_4xx"      // 400, 404, 422 and any other 4xx that is not 401/403/408/429
	ReasonAuth             Reason = "auth"              // 401 or 403
	ReasonBreakerOpen      Reason = "breaker_open"      // no request made: the circuit breaker is open
	ReasonInvalidMessage   Reason = "invalid_message"   // no request made: the phone is not 11 digits
)

// The sender's, the retry policy's and the store's reasons.
const (
	ReasonWindowWait        Reason = "window_wait"        // deferred to the next opening of the send window
	ReasonOutsideWindow     Reason = "outside_window"     // the send window never opens again before the end
	ReasonAuthPaused        Reason = "auth_paused"        // deferred: sending is paused after a 401/403
	ReasonAttemptsExhausted Reason = "attempts_exhausted" // the retry policy's attempts ran out
	ReasonExpired           Reason = "expired"            // the end time came first
	ReasonWorkerLost        Reason = "worker_lost"        // the worker holding the claim stopped
	ReasonPaused            Reason = "paused"             // held back: its mailout was paused while it waited for the rate limit
)

// ReasonGroup is how statistics group reasons.
type ReasonGroup string

const (
	GroupTimeout       ReasonGroup = "timeout"
	GroupConnection    ReasonGroup = "connection"
	GroupHTTP5xx       ReasonGroup = "http_5xx"
	GroupRateLimited   ReasonGroup = "rate_limited"
	GroupBadResponse   ReasonGroup = "bad_response"
	GroupRejected4xx   ReasonGroup = "rejected_4xx"
	GroupAuth          ReasonGroup = "auth"
	GroupExpired       ReasonGroup = "expired"
	GroupOutsideWindow ReasonGroup = "outside_window"
	GroupOther         ReasonGroup = "other"
)

// reasons is the table of every known reason and its statistics group.
var reasons = map[Reason]ReasonGroup{
	ReasonOK:                GroupOther,
	ReasonTimeout:           GroupTimeout,
	ReasonHTTP408:           GroupTimeout,
	ReasonDeadline:          GroupExpired,
	ReasonCancelled:         GroupOther,
	ReasonConnection:        GroupConnection,
	ReasonHTTP5xx:           GroupHTTP5xx,
	ReasonHTTP503:           GroupHTTP5xx,
	ReasonHTTP429:           GroupRateLimited,
	ReasonBadResponse:       GroupBadResponse,
	ReasonCodeNonzero:       GroupBadResponse,
	ReasonUnexpectedStatus:  GroupBadResponse,
	ReasonRejected4xx:       GroupRejected4xx,
	ReasonInvalidMessage:    GroupRejected4xx,
	ReasonAuth:              GroupAuth,
	ReasonAuthPaused:        GroupAuth,
	ReasonBreakerOpen:       GroupOther,
	ReasonWindowWait:        GroupOutsideWindow,
	ReasonOutsideWindow:     GroupOutsideWindow,
	ReasonAttemptsExhausted: GroupOther,
	ReasonExpired:           GroupExpired,
	ReasonWorkerLost:        GroupOther,
	ReasonPaused:            GroupOther,
}

// Known reports whether r is one of the codes above: only known codes
// become metric label values.
func (r Reason) Known() bool {
	_, ok := reasons[r]
	return ok
}

// Label is r as a bounded metric label value: the code itself, or "other".
func (r Reason) Label() string {
	if r.Known() {
		return string(r)
	}
	return string(GroupOther)
}

// StatsGroup is the statistics group of a message that is not sent: an
// expired message is expired or outside_window (its end time came first,
// whatever failed before), a failed or retrying one is grouped by what
// went wrong at its last attempt: timeout, connection, http_5xx,
// rate_limited, bad_response, rejected_4xx, auth, or other.
func StatsGroup(s MessageStatus, r Reason) ReasonGroup {
	if s == MessageExpired {
		if reasons[r] == GroupOutsideWindow {
			return GroupOutsideWindow
		}
		return GroupExpired
	}
	if g, ok := reasons[r]; ok && g != GroupExpired && g != GroupOutsideWindow {
		return g
	}
	return GroupOther
}
