package relay_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"mailing/api-service/internal/relay"
	"mailing/shared/broker/brokertest"
	"mailing/shared/domain"
	"mailing/shared/metrics/metricstest"
	"mailing/shared/postgres"
	"mailing/shared/postgres/pgtest"
)

// The backlog gauges follow the outbox, failures are counted while the
// broker is down, and a publication counts its topic and its lag.
func TestRelayMetrics(t *testing.T) {
	db := pgtest.Open(t)
	cfg := brokertest.Config(t)
	reg := prometheus.NewRegistry()
	m := relay.NewMetrics(reg, postgres.NewOutbox(db))
	now := time.Now().UTC()
	if _, err := postgres.NewMailouts(db).Create(context.Background(), domain.Mailout{Text: "hi", StartAt: now.Add(time.Hour), EndAt: now.Add(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}

	deadPub := publisher(t, unreachable(cfg))
	runFor(t, &relay.Relay{Store: postgres.NewOutbox(db), Publisher: deadPub, Log: quiet(), Interval: 20 * time.Millisecond, RetryIn: time.Millisecond, Metrics: m}, 300*time.Millisecond)
	body := metricstest.Gather(t, reg)
	expect(t, body, "mailing_outbox_backlog", nil, func(v float64) bool { return v == 1 })
	expect(t, body, "mailing_outbox_oldest_age_seconds", nil, func(v float64) bool { return v > 0 })
	expect(t, body, "mailing_outbox_publish_failures_total", nil, func(v float64) bool { return v >= 1 })

	pub := publisher(t, cfg)
	stop := start(&relay.Relay{Store: postgres.NewOutbox(db), Publisher: pub, Log: quiet(), Interval: 20 * time.Millisecond, Metrics: m})
	defer stop()
	deadline := time.Now().Add(30 * time.Second)
	for {
		body = metricstest.Gather(t, reg)
		if v, _ := metricstest.Value(t, body, "mailing_outbox_backlog", nil); v == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("backlog not published:\n%s", body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	expect(t, body, "mailing_outbox_published_total", map[string]string{"topic": domain.TopicMailoutStart}, func(v float64) bool { return v == 1 })
	expect(t, body, "mailing_outbox_relay_lag_seconds", nil, func(v float64) bool { return v == 1 })
	expect(t, body, "mailing_outbox_oldest_age_seconds", nil, func(v float64) bool { return v == 0 })
	metricstest.Check(t, body)
}

func expect(t *testing.T, body []byte, name string, labels map[string]string, ok func(float64) bool) {
	t.Helper()
	v, found := metricstest.Value(t, body, name, labels)
	if !found || !ok(v) {
		t.Fatalf("%s%v = %v (found %v)\n%s", name, labels, v, found, body)
	}
}
