package sender

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"mailing/shared/domain"
	"mailing/shared/metrics"
	"mailing/shared/metrics/metricstest"
)

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
	job := &domain.ClaimedMessage{MessageID: 1, MailoutID: 7}
	// Labels come from the outcome's reason code, never from its text.
	out := func(st domain.MessageStatus, counted bool, reason domain.Reason, at time.Time) result {
		return result{job: job, out: domain.Outcome{Status: st, CountAttempt: counted, Reason: reason, Error: "details: " + string(reason), At: at}}
	}
	ctx := context.Background()
	m.recorded(ctx, out(domain.MessageSent, true, "", start.Add(90*time.Second)), startAt)
	m.recorded(ctx, out(domain.MessageSent, true, "", start.Add(100*time.Second)), startAt)
	m.recorded(ctx, out(domain.MessagePending, true, domain.ReasonHTTP5xx, start), startAt)
	m.recorded(ctx, out(domain.MessagePending, false, domain.ReasonWindowWait, start), startAt)
	m.recorded(ctx, out(domain.MessageExpired, false, domain.ReasonOutsideWindow, start), startAt)
	m.recorded(ctx, out(domain.MessageFailed, true, domain.ReasonRejected4xx, start), startAt)
	other := &domain.ClaimedMessage{MessageID: 2, MailoutID: 8}
	m.recorded(ctx, result{job: other, out: domain.Outcome{Status: domain.MessageSent, CountAttempt: true, At: start}}, startAt)

	body := metricstest.Gather(t, reg)
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"mailing_messages_final_total", map[string]string{"status": "sent"}, 3},
		{"mailing_messages_final_total", map[string]string{"status": "failed"}, 1},
		{"mailing_messages_final_total", map[string]string{"status": "expired"}, 1},
		{"mailing_messages_expired_total", map[string]string{"reason": string(domain.ReasonOutsideWindow)}, 1},
		{"mailing_sender_retries_total", map[string]string{"reason": string(domain.ReasonHTTP5xx)}, 1},
		{"mailing_sender_deferred_total", map[string]string{"reason": string(domain.ReasonWindowWait)}, 1},
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
