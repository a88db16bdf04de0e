package sender

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"mailing/sender-worker/internal/probe"
	"mailing/sender-worker/internal/retry"
	"mailing/shared/domain"
)

// Every outcome carries the client's reason code, which the statistics
// group failures by; the free-text error keeps the details.
func TestOutcomesCarryTheClientsReasonCode(t *testing.T) {
	s := New(Config{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), AuthPause: time.Second,
		Policy: retry.Policy{MaxAttempts: 3, Base: time.Second, Max: time.Minute}})
	now := time.Now()
	for _, c := range []struct {
		name     string
		res      probe.Result
		attempts int
		endIn    time.Duration
		status   domain.MessageStatus
		reason   domain.Reason
	}{
		{"sent", probe.Result{Outcome: probe.Sent, Reason: domain.ReasonOK, HTTPStatus: 200}, 0, time.Hour, domain.MessageSent, ""},
		{"rejected", probe.Result{Outcome: probe.Permanent, Reason: domain.ReasonRejected4xx, HTTPStatus: 400}, 0, time.Hour, domain.MessageFailed, "rejected_4xx"},
		{"5xx retried", probe.Result{Outcome: probe.Transient, Reason: domain.ReasonHTTP5xx, HTTPStatus: 502}, 0, time.Hour, domain.MessagePending, "http_5xx"},
		{"timeouts exhausted", probe.Result{Outcome: probe.Transient, Reason: domain.ReasonTimeout}, 2, time.Hour, domain.MessageFailed, "timeout"},
		{"no time left to retry", probe.Result{Outcome: probe.Transient, Reason: domain.ReasonHTTP503, HTTPStatus: 503}, 0, time.Second, domain.MessageExpired, "http_503"},
		{"end time during the attempt", probe.Result{Outcome: probe.Transient, Reason: domain.ReasonDeadline}, 0, time.Hour, domain.MessageExpired, "expired"},
		{"auth", probe.Result{Outcome: probe.Auth, Reason: domain.ReasonAuth, HTTPStatus: 401}, 0, time.Hour, domain.MessagePending, "auth"},
		{"breaker open", probe.Result{Outcome: probe.Deferred, Reason: domain.ReasonBreakerOpen, RetryAfter: 5 * time.Second}, 0, time.Hour, domain.MessagePending, "breaker_open"},
	} {
		job := &domain.ClaimedMessage{MessageID: 1, MailoutID: 2, Attempts: c.attempts, EndAt: now.Add(c.endIn)}
		out := s.decide(job, c.res, now).out
		if out.Status != c.status || out.Reason != c.reason {
			t.Errorf("%s: %s with reason %q, want %s with %q", c.name, out.Status, out.Reason, c.status, c.reason)
		}
		if c.status != domain.MessageSent && out.Error == "" {
			t.Errorf("%s: no error text", c.name)
		}
	}
}
