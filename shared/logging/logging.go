// Package logging builds the slog logger every binary uses. The id keys are
// fixed so one mailout, message or customer can be followed across services.
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"unicode/utf8"
)

// Keys shared by every log line that concerns these objects. They are
// always top-level attributes (never inside a group), so one jq filter
// such as select(.mailout_id == 7) finds every line about an object in the
// logs of every service. docs/logging.md describes them.
const (
	MailoutID  = "mailout_id"
	MessageID  = "message_id"
	CustomerID = "customer_id"
	RequestID  = "request_id"
	// Attempt is the 1-based number of an attempt at the external API.
	Attempt = "attempt"
	// Outcome is how a request or a step ended (sent, transient, ...).
	Outcome = "outcome"
	// HTTPStatus is the status of an answered or received HTTP request.
	HTTPStatus = "http_status"
	// LatencyMS is a duration in milliseconds.
	LatencyMS = "latency_ms"
	// Phone holds a customer's phone number; the handler masks it.
	Phone = "phone"
	// Actor is who acted: a principal's actor id, "user:3" or "key:7".
	Actor = "actor"
	// UserID and KeyID are the local user or the API key a line is about.
	UserID = "user_id"
	KeyID  = "key_id"
)

// Option changes what New builds.
type Option func(*options)

type options struct{ pii bool }

// PII makes the logger write phone numbers in full (LOG_PII=true). By
// default every attribute under the Phone key keeps only its last four
// digits.
func PII(show bool) Option { return func(o *options) { o.pii = show } }

// New returns a logger writing to w. level is debug|info|warn|error,
// format is json (default) or text.
func New(w io.Writer, level, format, service string, opts ...Option) (*slog.Logger, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(strings.ToLower(orDefault(level, "info")))); err != nil {
		return nil, fmt.Errorf("LOG_LEVEL=%q: want debug, info, warn or error", level)
	}
	hopts := &slog.HandlerOptions{Level: lvl}
	var h slog.Handler
	switch strings.ToLower(orDefault(format, "json")) {
	case "json":
		h = slog.NewJSONHandler(w, hopts)
	case "text":
		h = slog.NewTextHandler(w, hopts)
	default:
		return nil, fmt.Errorf("LOG_FORMAT=%q: want json or text", format)
	}
	if !o.pii {
		h = maskingHandler{h}
	}
	return slog.New(h).With("service", service), nil
}

// MaskPhone keeps only the last four characters of p: enough to tell
// customers apart in logs without writing their numbers down.
func MaskPhone(p string) string {
	n := utf8.RuneCountInString(p)
	if n <= 4 {
		return strings.Repeat("*", n)
	}
	cut := len(p)
	for range 4 {
		_, size := utf8.DecodeLastRuneInString(p[:cut])
		cut -= size
	}
	return strings.Repeat("*", n-4) + p[cut:]
}

// Excerpt returns at most limit runes of s, marked with "…" when cut, so a
// long text (a mailout's message, an answer's body) never fills a log.
func Excerpt(s string, limit int) string {
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	i := 0
	for range limit {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return s[:i] + "…"
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
