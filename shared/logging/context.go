package logging

import (
	"context"
	"log/slog"
)

type loggerKey struct{}

// NewContext returns ctx carrying log, so code called with ctx logs with
// the caller's attributes (an API request's request_id, say).
func NewContext(ctx context.Context, log *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, log)
}

// FromContext returns the logger ctx carries, or fallback.
func FromContext(ctx context.Context, fallback *slog.Logger) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return fallback
}
