package planner

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	amqp "github.com/rabbitmq/amqp091-go"

	"mailing/shared/broker"
	"mailing/shared/broker/brokertest"
	"mailing/shared/domain"
	"mailing/shared/metrics"
	"mailing/shared/metrics/metricstest"
	"mailing/shared/testkit"
)

// startRecorder records the starts the planner asks for; every mailout it
// is asked about is stale, so nothing is published.
type startRecorder struct {
	mu     sync.Mutex
	starts []domain.MailoutRef
}

func (s *startRecorder) Start(_ context.Context, id, version int64, _ time.Time) (domain.StartResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.starts = append(s.starts, domain.MailoutRef{ID: id, Version: version})
	return domain.StartResult{Outcome: domain.StartStale, Mailout: id, Version: version, Reason: "test"}, nil
}

func (s *startRecorder) ReturnJobPage(context.Context, int64, int64) error { return nil }

func (s *startRecorder) NextJobPage(context.Context, int64, int) ([]int64, error) {
	return nil, nil
}

func (s *startRecorder) UnparkJobs(context.Context, int64, int) ([]int64, error) { return nil, nil }

func (s *startRecorder) Repark(context.Context, []int64) error { return nil }

func (s *startRecorder) seen() []domain.MailoutRef {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]domain.MailoutRef(nil), s.starts...)
}

// The planner dispatches on the event's topic: a start event reaches the
// start handler and is acknowledged; an event of a topic it has no handler
// for is dead-lettered, never silently dropped.
func TestHandleDispatchesOnTopic(t *testing.T) {
	cfg := brokertest.Config(t)
	dead := brokertest.Collect(t, cfg, broker.DeadQueue)
	pub, err := broker.NewPublisher(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	reg := prometheus.NewRegistry()
	store := &startRecorder{}
	p := &Planner{Store: store, Pub: pub, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Metrics: NewMetrics(reg, metrics.NewMailouts(reg))}

	start, _ := json.Marshal(domain.MailoutStartEvent{MailoutID: 7, Version: 3, StartAt: time.Now()})
	err = pub.Publish(context.Background(), []broker.Outgoing{
		{Queue: broker.StartQueue, Body: []byte(`{"mailout_id": 8, "version": 1}`),
			Headers: amqp.Table{broker.HeaderTopic: "mailout.renamed", broker.HeaderMailoutID: int64(8)}},
		{Queue: broker.StartQueue, Body: start,
			Headers: amqp.Table{broker.HeaderTopic: domain.TopicMailoutStart, broker.HeaderMailoutID: int64(7)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := broker.NewConsumer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Consume(ctx, broker.StartQueue, 4, p.Handle) }()
	defer func() { cancel(); <-done }()

	select {
	case a := <-dead:
		if topic := a.Delivery.Headers[broker.HeaderTopic]; topic != "mailout.renamed" {
			t.Fatalf("dead-lettered an event of topic %v, want mailout.renamed", topic)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the event of an unknown topic was not dead-lettered")
	}
	testkit.Eventually(t, "the start handler to run", 20*time.Second, func() bool { return len(store.seen()) > 0 })
	if got := store.seen(); len(got) != 1 || got[0] != (domain.MailoutRef{ID: 7, Version: 3}) {
		t.Fatalf("starts asked for: %v, want mailout 7 at version 3 only", got)
	}
	body := metricstest.Gather(t, reg)
	for result, want := range map[string]float64{startOtherTopic: 1, startStale: 1} {
		if got, ok := metricstest.Value(t, body, "mailing_planner_starts_total", map[string]string{"result": result}); !ok || got != want {
			t.Errorf("starts_total{result=%q} = %v (found %v), want %v", result, got, ok, want)
		}
	}
	select {
	case a := <-dead:
		t.Fatalf("a second event was dead-lettered: %v", a.Delivery.Headers)
	case <-time.After(300 * time.Millisecond):
	}
}
