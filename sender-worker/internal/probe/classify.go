package probe

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mailing/shared/domain"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

const (
	// maxBody bounds what is read of an answer: the contract's answer is a
	// few dozen bytes, and a misbehaving server must not make us buffer more.
	maxBody = 64 << 10
	// maxDrain is how much more is discarded so the connection can go back
	// to the idle pool; beyond it closing the connection is cheaper.
	maxDrain = 256 << 10
	// maxExcerpt bounds the body kept for logs and last errors.
	maxExcerpt = 256
)

// answer is the success body of the contract: {"code": 0, "message": "OK"}.
// Code is a pointer so that a 200 without a code is told apart from code 0.
type answer struct {
	Code    *int64 `json:"code"`
	Message string `json:"message"`
}

// classify turns an HTTP answer into a Result. Latency and Err are the
// caller's to fill.
func classify(status int, header http.Header, body []byte, tooLarge bool, now time.Time) Result {
	r := Result{HTTPStatus: status, BodyExcerpt: excerpt(body)}
	switch {
	case status == http.StatusOK:
		return classifyOK(r, body, tooLarge)
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		r.Outcome, r.Reason = Auth, domain.ReasonAuth
	case status == http.StatusTooManyRequests:
		r.Outcome, r.Reason = Transient, domain.ReasonHTTP429
		r.RetryAfter = parseRetryAfter(header.Get("Retry-After"), now)
	case status == http.StatusRequestTimeout:
		r.Outcome, r.Reason = Transient, domain.ReasonHTTP408
	case status >= 400 && status < 500:
		r.Outcome, r.Reason = Permanent, domain.ReasonRejected4xx
	case status == http.StatusServiceUnavailable:
		r.Outcome, r.Reason = Transient, domain.ReasonHTTP503
		r.RetryAfter = parseRetryAfter(header.Get("Retry-After"), now)
	case status >= 500 && status < 600:
		r.Outcome, r.Reason = Transient, domain.ReasonHTTP5xx
	default:
		// Other 2xx, 3xx (redirects are not followed) and nonsense codes:
		// something between us and the API is misbehaving; it may pass.
		r.Outcome, r.Reason = Transient, domain.ReasonUnexpectedStatus
	}
	return r
}

// classifyOK accepts a 200 only with a well-formed body and code 0: a 200
// with anything else is never counted as sent.
func classifyOK(r Result, body []byte, tooLarge bool) Result {
	r.Outcome, r.Reason = Transient, domain.ReasonBadResponse
	if tooLarge {
		r.Err = fmt.Errorf("answer larger than %d bytes", maxBody)
		return r
	}
	var a answer
	if err := json.Unmarshal(bytes.TrimSpace(body), &a); err != nil {
		r.Err = fmt.Errorf("decode answer: %w", err)
		return r
	}
	if a.Code == nil {
		r.Err = errors.New(`answer has no "code"`)
		return r
	}
	if *a.Code != 0 {
		r.Reason = domain.ReasonCodeNonzero
		r.Err = fmt.Errorf("answer code %d: %q", *a.Code, a.Message)
		return r
	}
	r.Outcome, r.Reason = Sent, domain.ReasonOK
	return r
}

// parseRetryAfter reads a Retry-After value, either delay-seconds or an
// HTTP date (RFC 9110 §10.2.3). Missing, malformed or past values give 0.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > math.MaxInt64/int64(time.Second) {
			return time.Duration(math.MaxInt64)
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// excerpt returns at most maxExcerpt bytes of body as valid UTF-8, so a
// binary or truncated answer cannot corrupt a log line.
func excerpt(body []byte) string {
	if len(body) > maxExcerpt {
		body = body[:maxExcerpt]
	}
	return strings.ToValidUTF8(string(body), "?")
}
