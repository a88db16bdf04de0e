// Package relay publishes the transactional outbox to RabbitMQ. Every API
// replica runs one; rows are shared out with SKIP LOCKED, and a row is
// marked published only after the broker confirmed it.
package relay

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"mailing/shared/broker"
	"mailing/shared/domain"
	"mailing/shared/logging"
	"mailing/shared/postgres"
)

// Publisher sends messages to the broker with confirms.
type Publisher interface {
	Publish(ctx context.Context, msgs []broker.Outgoing) error
}

// Store is the outbox as the relay needs it: Relay hands due events to
// publish and marks them published when it succeeds, in one transaction.
type Store interface {
	Relay(ctx context.Context, limit int, retryIn time.Duration, publish func(context.Context, []postgres.OutboxEvent) error) (int, error)
}

// Relay moves outbox rows to the broker.
type Relay struct {
	Store     Store
	Publisher Publisher
	Log       *slog.Logger
	// Interval between polls when the outbox is empty.
	Interval time.Duration
	// Batch is the most events published per transaction.
	Batch int
	// RetryIn is how long failed events wait before the next try.
	RetryIn time.Duration
	Now     func() time.Time
	// Metrics counts what is published; nil counts nothing.
	Metrics *Metrics
}

// Run relays until ctx ends. A failing broker is retried; it never stops
// the API.
func (r *Relay) Run(ctx context.Context) {
	if r.Interval == 0 {
		r.Interval = 200 * time.Millisecond
	}
	if r.Batch == 0 {
		r.Batch = 500
	}
	if r.RetryIn == 0 {
		r.RetryIn = 2 * time.Second
	}
	if r.Now == nil {
		r.Now = time.Now
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		n, err := r.Store.Relay(ctx, r.Batch, r.RetryIn, r.publish)
		switch {
		case err != nil && ctx.Err() == nil:
			r.Metrics.failed()
			r.Log.Warn("outbox relay failed; retrying", "error", err.Error(), "retry_in_s", r.RetryIn.Seconds())
			timer.Reset(r.RetryIn)
		case n == r.Batch:
			timer.Reset(0) // more may be waiting
		default:
			timer.Reset(r.Interval)
		}
	}
}

// publish turns outbox events into broker messages. Start events are
// delayed until the mailout's start time; others reach the planner at once.
func (r *Relay) publish(ctx context.Context, events []postgres.OutboxEvent) error {
	msgs := make([]broker.Outgoing, 0, len(events))
	now := r.Now()
	for _, e := range events {
		var ref struct {
			MailoutID int64     `json:"mailout_id"`
			Version   int64     `json:"version"`
			StartAt   time.Time `json:"start_at"`
		}
		if err := json.Unmarshal(e.Payload, &ref); err != nil {
			return fmt.Errorf("outbox event %d: %w", e.ID, err)
		}
		var delay time.Duration
		if e.Topic == domain.TopicMailoutStart {
			delay = broker.DelayUntil(ref.StartAt, now)
		}
		msgs = append(msgs, broker.Outgoing{
			Queue: broker.StartQueue, Body: e.Payload, Delay: delay,
			MessageID: "outbox-" + strconv.FormatInt(e.ID, 10),
			Headers:   amqp.Table{broker.HeaderTopic: e.Topic, broker.HeaderMailoutID: ref.MailoutID},
		})
	}
	if err := r.Publisher.Publish(ctx, msgs); err != nil {
		return err
	}
	r.Metrics.observePublished(events, r.Now())
	for i, e := range events {
		r.Log.Info("outbox event published", "topic", e.Topic, logging.MailoutID, msgs[i].Headers[broker.HeaderMailoutID],
			"delay_s", msgs[i].Delay.Seconds(), "outbox_id", e.ID)
	}
	return nil
}
