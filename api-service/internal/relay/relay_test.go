package relay_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"mailing/api-service/internal/relay"
	"mailing/shared/broker"
	"mailing/shared/broker/brokertest"
	"mailing/shared/domain"
	"mailing/shared/postgres"
	"mailing/shared/postgres/pgtest"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// publisher is a publisher to cfg's broker, closed when the test ends.
func publisher(t *testing.T, cfg broker.Config) *broker.Publisher {
	t.Helper()
	p, err := broker.NewPublisher(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// unreachable is cfg with a broker address nothing listens at.
func unreachable(cfg broker.Config) broker.Config {
	cfg.URL = "amqp://guest:guest@127.0.0.1:1/"
	return cfg
}

// A mailout committed while the broker is unreachable stays in the outbox
// and is published, delayed to its start time, once the broker is back.
func TestRelayPublishesAfterBrokerReturns(t *testing.T) {
	db := pgtest.Open(t)
	cfg := brokertest.Config(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	m, err := postgres.NewMailouts(db).Create(ctx, domain.Mailout{Text: "hi", StartAt: now.Add(3 * time.Second), EndAt: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}

	deadPub := publisher(t, unreachable(cfg))
	runFor(t, &relay.Relay{Store: postgres.NewOutbox(db), Publisher: deadPub, Log: quiet(), Interval: 20 * time.Millisecond, RetryIn: time.Millisecond}, 500*time.Millisecond)
	if n, _, err := postgres.NewOutbox(db).Backlog(ctx); err != nil || n != 1 {
		t.Fatalf("while the broker is down the event must wait: backlog %d %v", n, err)
	}

	got := brokertest.Collect(t, cfg, broker.StartQueue)
	pub := publisher(t, cfg)
	stop := start(&relay.Relay{Store: postgres.NewOutbox(db), Publisher: pub, Log: quiet(), Interval: 20 * time.Millisecond})
	defer stop()
	select {
	case a := <-got:
		if a.At.Before(m.StartAt) {
			t.Fatalf("start event arrived %s before start_at", m.StartAt.Sub(a.At))
		}
		var ev domain.MailoutStartEvent
		if err := json.Unmarshal(a.Delivery.Body, &ev); err != nil || ev.MailoutID != m.ID || ev.Version != m.Version {
			t.Fatalf("event %s: %v", a.Delivery.Body, err)
		}
		if a.Delivery.Headers[broker.HeaderTopic] != domain.TopicMailoutStart {
			t.Fatalf("headers %v", a.Delivery.Headers)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("start event never arrived")
	}
	if n, _, _ := postgres.NewOutbox(db).Backlog(ctx); n != 0 {
		t.Fatalf("backlog after publishing: %d", n)
	}
}

// Two relays on one outbox publish every event, each once per relay pass.
func TestRelaysShareTheOutbox(t *testing.T) {
	db := pgtest.Open(t)
	cfg := brokertest.Config(t)
	ctx := context.Background()
	now := time.Now().UTC()
	for range 40 {
		if _, err := postgres.NewMailouts(db).Create(ctx, domain.Mailout{Text: "hi", StartAt: now.Add(-time.Second), EndAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	got := brokertest.Collect(t, cfg, broker.StartQueue)
	for range 2 {
		pub := publisher(t, cfg)
		stop := start(&relay.Relay{Store: postgres.NewOutbox(db), Publisher: pub, Log: quiet(), Interval: 10 * time.Millisecond, Batch: 3})
		defer stop()
	}
	seen := map[string]int{}
	deadline := time.After(30 * time.Second)
	for len(seen) < 40 {
		select {
		case a := <-got:
			seen[a.Delivery.MessageID]++
		case <-deadline:
			t.Fatalf("only %d of 40 events arrived", len(seen))
		}
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("event %s published %d times", id, n)
		}
	}
}

func start(r *relay.Relay) func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	return func() { cancel(); <-done }
}

func runFor(t *testing.T, r *relay.Relay, d time.Duration) {
	t.Helper()
	stop := start(r)
	time.Sleep(d)
	stop()
}
