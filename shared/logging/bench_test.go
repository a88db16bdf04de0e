package logging

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"
)

// BenchmarkResponseLine measures one line shaped like the worker's
// per-request "probe response" line, as the service's handler writes it
// (phone masking on) and with LOG_PII=true (no attribute rewriting).
func BenchmarkResponseLine(b *testing.B) {
	for _, c := range []struct {
		name string
		opts []Option
	}{{"masked", nil}, {"pii", []Option{PII(true)}}} {
		b.Run(c.name, func(b *testing.B) {
			log, err := New(io.Discard, "info", "json", "worker", c.opts...)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				log.LogAttrs(ctx, slog.LevelInfo, "probe response",
					slog.Int64(MessageID, 123456), slog.Int64(MailoutID, 42), slog.Int64(CustomerID, 987654),
					slog.Int(Attempt, 1), slog.String(Outcome, "sent"), slog.String("reason", "ok"),
					slog.Int(HTTPStatus, 200), slog.Float64(LatencyMS, 1.234),
					slog.String("body", `{"code": 0, "message": "OK"}`), slog.Duration("unused", time.Second))
			}
		})
	}
}
