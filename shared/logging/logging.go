// Package logging builds the slog logger every binary uses. The id keys are
// fixed so one mailout, message or customer can be followed across services.
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Keys shared by every log line that concerns these objects.
const (
	MailoutID  = "mailout_id"
	MessageID  = "message_id"
	CustomerID = "customer_id"
	RequestID  = "request_id"
)

// New returns a logger writing to w. level is debug|info|warn|error,
// format is json (default) or text.
func New(w io.Writer, level, format, service string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(strings.ToLower(orDefault(level, "info")))); err != nil {
		return nil, fmt.Errorf("LOG_LEVEL=%q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	var h slog.Handler
	switch strings.ToLower(orDefault(format, "json")) {
	case "json":
		h = slog.NewJSONHandler(w, opts)
	case "text":
		h = slog.NewTextHandler(w, opts)
	default:
		return nil, fmt.Errorf("LOG_FORMAT=%q: want json or text", format)
	}
	return slog.New(h).With("service", service), nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
