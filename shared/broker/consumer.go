package broker

import (
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Delivery is one received message. Exactly one of Ack or Nack must be
// called for it. Either fails once the connection it came on is gone; the
// broker then redelivers the message (Redelivered set), so there is nothing
// more to do.
type Delivery struct {
	Body      []byte
	Headers   amqp.Table
	MessageID string
	// Redelivered is set when the broker delivered this message before
	// without an Ack: handle it as possibly already processed.
	Redelivered bool

	raw amqp.Delivery
}

// Ack tells the broker the message is done with; call it only after the
// outcome is committed to the database.
func (d Delivery) Ack() error { return d.raw.Ack(false) }

// Nack gives the message back: requeued when requeue is true, otherwise
// moved to message.dead by the queue's dead-letter settings.
func (d Delivery) Nack(requeue bool) error { return d.raw.Nack(false, requeue) }

// Consumer receives messages from the topology's queues.
type Consumer struct {
	cfg   Config
	names names
	log   *slog.Logger
}

// NewConsumer checks cfg; connections are opened by Consume.
func NewConsumer(cfg Config) (*Consumer, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	return &Consumer{cfg: cfg, names: names{cfg.Prefix}, log: cfg.logger()}, nil
}

// Reconnection backoff: doubling from backoffMin, capped at backoffMax,
// jittered so that many workers do not reconnect in step.
const (
	backoffMin = 100 * time.Millisecond
	backoffMax = 5 * time.Second
)

// Consume delivers messages from queue (StartQueue, SendQueue or DeadQueue)
// to handle until ctx ends, and then returns nil. It uses a connection of
// its own, with manual acks and Qos(prefetch): up to prefetch handlers run
// at the same time, each on its own goroutine, and handle is called with
// ctx itself.
//
// When the connection drops, Consume waits for its running handlers to
// return, reconnects with capped exponential backoff, re-declares the
// topology and resumes; it never gives up while ctx lasts. When ctx ends,
// it stops the subscription, lets the running handlers (and the few
// deliveries already received) finish, then closes the connection; a
// handler that must still commit and Ack at shutdown should detach its
// context (context.WithoutCancel) for that last step.
//
// Consume returns an error only for invalid arguments.
func (c *Consumer) Consume(ctx context.Context, queue string, prefetch int, handle func(context.Context, Delivery)) error {
	if !isDestination(queue) {
		return fmt.Errorf("broker: consume: %q is not a topology queue", queue)
	}
	if prefetch < 1 {
		return fmt.Errorf("broker: consume %s: prefetch %d: want at least 1", queue, prefetch)
	}
	log := c.log.With("queue", queue)
	wait := backoffMin
	for {
		started, err := c.session(ctx, queue, prefetch, handle)
		if ctx.Err() != nil {
			return nil
		}
		if started {
			wait = backoffMin
		}
		pause := jitter(wait)
		log.Warn("broker consumer disconnected; reconnecting", "err", err, "retry_in", pause)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(pause):
		}
		wait = min(2*wait, backoffMax)
	}
}

// jitter returns a duration between d/2 and d.
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2+1)
}

// session consumes over one connection until it is lost or ctx ends.
// started reports whether consuming began, which resets the backoff.
func (c *Consumer) session(ctx context.Context, queue string, prefetch int, handle func(context.Context, Delivery)) (started bool, err error) {
	conn, err := dial(ctx, c.cfg, "consumer "+queue)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return false, fmt.Errorf("open channel: %w", err)
	}
	// Buffered: the library sends at most one error, then closes.
	chClosed := ch.NotifyClose(make(chan *amqp.Error, 1))
	if err := c.names.topology().declare(ch); err != nil {
		return false, err
	}
	if err := ch.Qos(prefetch, 0, false); err != nil {
		return false, fmt.Errorf("qos: %w", err)
	}
	tag := consumerTag(c.cfg.Name, queue)
	deliveries, err := ch.Consume(c.names.of(queue), tag, false, false, false, false, nil)
	if err != nil {
		return false, fmt.Errorf("consume: %w", err)
	}
	c.log.Info("broker consumer started", "queue", queue, "prefetch", prefetch)

	var handlers sync.WaitGroup
	for range prefetch {
		handlers.Go(func() {
			for d := range deliveries {
				handle(ctx, Delivery{Body: d.Body, Headers: d.Headers, MessageID: d.MessageId, Redelivered: d.Redelivered, raw: d})
			}
		})
	}
	// deliveries is closed when the channel or connection closes, or when
	// the subscription is cancelled (by us, or by the broker when the
	// queue is deleted).
	stopped := make(chan struct{})
	go func() {
		handlers.Wait()
		close(stopped)
	}()
	select {
	case <-stopped:
		return true, closeReason(chClosed)
	case <-ctx.Done():
		_ = ch.Cancel(tag, false)
		<-stopped
		return true, nil
	}
}

func closeReason(closed <-chan *amqp.Error) error {
	select {
	case e, ok := <-closed:
		if ok && e != nil {
			return e
		}
		return errors.New("channel closed")
	default:
		return errors.New("subscription cancelled by the broker")
	}
}

// consumerTag is unique per subscription, so Cancel stops only this one.
func consumerTag(name, queue string) string {
	return fmt.Sprintf("%s %s %s", connectionName(name, "consumer"), queue, crand.Text()[:8])
}
