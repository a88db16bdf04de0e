package sender

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"mailing/sender-worker/internal/probe"
	"mailing/shared/domain"
	"mailing/shared/metrics"
	"mailing/shared/metrics/metricstest"
	"mailing/shared/postgres"
)

func TestReasonLabelIsBounded(t *testing.T) {
	for text, want := range map[string]string{
		"http_5xx (HTTP 500)":           probe.ReasonHTTP5xx,
		"expired: timeout":              "expired",
		"attempts_exhausted: http_503":  "attempts_exhausted",
		ReasonWindowWait:                ReasonWindowWait,
		endDuringAttempt:                probe.ReasonDeadline,
		"rejected_4xx (HTTP 422)":       probe.ReasonRejected4xx,
		"something else entirely 12345": "other",
		"":                              "other",
	} {
		if got := reasonLabel(text); got != want {
			t.Errorf("reasonLabel(%q) = %q, want %q", text, got, want)
		}
	}
}

// Committed outcomes land in the right series; the delivery lag is
// measured from the mailout's start, looked up once per mailout.
func TestRecordedOutcomes(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg, metrics.NewMessages(reg))
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	lookups := 0
	startAt := func(_ context.Context, id int64) (time.Time, error) {
		lookups++
		if id != 7 {
			return time.Time{}, errors.New("no such mailout")
		}
		return start, nil
	}
	job := &postgres.Job{MessageID: 1, MailoutID: 7}
	out := func(st domain.MessageStatus, counted bool, reason string, at time.Time) result {
		return result{job: job, out: postgres.Outcome{Status: st, CountAttempt: counted, Error: reason, At: at}}
	}
	ctx := context.Background()
	m.recorded(ctx, out(domain.MessageSent, true, "", start.Add(90*time.Second)), startAt)
	m.recorded(ctx, out(domain.MessageSent, true, "", start.Add(100*time.Second)), startAt)
	m.recorded(ctx, out(domain.MessagePending, true, "http_5xx (HTTP 500)", start), startAt)
	m.recorded(ctx, out(domain.MessagePending, false, ReasonWindowWait, start), startAt)
	m.recorded(ctx, out(domain.MessageExpired, false, ReasonOutsideWindow, start), startAt)
	m.recorded(ctx, out(domain.MessageFailed, true, "rejected_4xx (HTTP 400)", start), startAt)
	other := &postgres.Job{MessageID: 2, MailoutID: 8}
	m.recorded(ctx, result{job: other, out: postgres.Outcome{Status: domain.MessageSent, CountAttempt: true, At: start}}, startAt)

	body := metricstest.Gather(t, reg)
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"mailing_messages_final_total", map[string]string{"status": "sent"}, 3},
		{"mailing_messages_final_total", map[string]string{"status": "failed"}, 1},
		{"mailing_messages_final_total", map[string]string{"status": "expired"}, 1},
		{"mailing_messages_expired_total", map[string]string{"reason": ReasonOutsideWindow}, 1},
		{"mailing_sender_retries_total", map[string]string{"reason": probe.ReasonHTTP5xx}, 1},
		{"mailing_sender_deferred_total", map[string]string{"reason": ReasonWindowWait}, 1},
		// The lag of the mailout whose start could not be read is skipped.
		{"mailing_delivery_lag_seconds", nil, 2},
	} {
		if got, ok := metricstest.Value(t, body, c.name, c.labels); !ok || got != c.want {
			t.Errorf("%s%v = %v (found %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	if lookups != 2 {
		t.Errorf("%d start lookups, want one per mailout (the failed one is not cached)", lookups)
	}
	fam := metricstest.Families(t, body)["mailing_delivery_lag_seconds"]
	if sum := fam.GetMetric()[0].GetHistogram().GetSampleSum(); sum != 190 {
		t.Errorf("lag sum %v, want 190 s", sum)
	}
	metricstest.Check(t, body)
}
