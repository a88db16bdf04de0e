package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Outgoing is one message to publish.
type Outgoing struct {
	// Queue is a topology queue (StartQueue, SendQueue, DeadQueue), named
	// without the prefix. Without a delay any existing queue may be named.
	Queue   string
	Body    []byte
	Headers amqp.Table
	// Delay holds the message back for that long, rounded up to whole
	// seconds; zero or negative delivers at once.
	Delay     time.Duration
	MessageID string
}

// DeadLetter builds the message.dead copy of a message that ended failed or
// expired, with the reason and ids in headers for the management UI.
func DeadLetter(reason string, mailoutID, messageID int64, body []byte) Outgoing {
	return Outgoing{
		Queue: DeadQueue,
		Body:  body,
		Headers: amqp.Table{
			HeaderReason:    reason,
			HeaderMailoutID: mailoutID,
			HeaderMessageID: messageID,
		},
		MessageID: strconv.FormatInt(messageID, 10),
	}
}

// ErrClosed is returned by a Publisher after Close.
var ErrClosed = errors.New("broker: publisher closed")

// Publisher publishes batches with publisher confirms over one connection
// it opens on first use and re-opens after a failure. It is safe for
// concurrent use; calls take turns on the one channel.
type Publisher struct {
	cfg   Config
	names names
	log   *slog.Logger
	// turn holds a token while a call uses sess: a mutex that waiting
	// callers can give up on when their context ends.
	turn   chan struct{}
	sess   *pubSession
	closed bool
}

// NewPublisher checks cfg; it does not connect, so a process can start
// while the broker is down.
func NewPublisher(cfg Config) (*Publisher, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	return &Publisher{cfg: cfg, names: names{cfg.Prefix}, log: cfg.logger(), turn: make(chan struct{}, 1)}, nil
}

// Publish sends every message and waits until the broker has confirmed
// all of them. It returns an error if any was nacked, returned unroutable
// (e.g. its queue does not exist) or not confirmed before ctx ended; some of
// the batch may then have been delivered, and the caller retries the whole
// batch. Invalid messages (a delay above MaxDelay, a delayed message for a
// queue outside the topology, bad headers) fail the batch before anything
// is sent.
func (p *Publisher) Publish(ctx context.Context, msgs []Outgoing) error {
	if len(msgs) == 0 {
		return nil
	}
	routes, err := p.routes(msgs)
	if err != nil {
		return err
	}
	return p.withSession(ctx, func(s *pubSession) (bool, error) {
		return s.publish(ctx, msgs, routes)
	})
}

// Ping reports whether the broker can be reached, connecting if needed.
func (p *Publisher) Ping(ctx context.Context) error {
	return p.withSession(ctx, func(*pubSession) (bool, error) { return true, nil })
}

// Close closes the connection; later calls return ErrClosed.
func (p *Publisher) Close() error {
	p.turn <- struct{}{}
	defer func() { <-p.turn }()
	p.closed = true
	return p.drop()
}

func (p *Publisher) routes(msgs []Outgoing) ([]route, error) {
	routes := make([]route, len(msgs))
	for i, m := range msgs {
		if m.Queue == "" {
			return nil, fmt.Errorf("broker: message %d: no queue", i)
		}
		// A delayed message reaches its queue only through delay.delivery,
		// which binds just the topology's queues; anything else would be
		// confirmed by its delay level and then silently dropped.
		if m.Delay > 0 && !isDestination(m.Queue) {
			return nil, fmt.Errorf("broker: message %d: queue %q cannot be delayed: not a topology queue", i, m.Queue)
		}
		if err := m.Headers.Validate(); err != nil {
			return nil, fmt.Errorf("broker: message %d: headers: %w", i, err)
		}
		r, err := p.names.route(m.Queue, m.Delay)
		if err != nil {
			return nil, fmt.Errorf("broker: message %d: %w", i, err)
		}
		routes[i] = r
	}
	return routes, nil
}

// withSession runs fn on an open session, connecting first if needed. fn
// reports whether the session is still usable; if not, it is closed so
// the next call reconnects.
func (p *Publisher) withSession(ctx context.Context, fn func(*pubSession) (bool, error)) error {
	select {
	case p.turn <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("broker: waiting to publish: %w", ctx.Err())
	}
	defer func() { <-p.turn }()
	if p.closed {
		return ErrClosed
	}
	if p.sess != nil && !p.sess.usable() {
		p.log.Warn("broker connection lost; reconnecting", "role", "publisher")
		_ = p.drop()
	}
	if p.sess == nil {
		s, err := openPubSession(ctx, p.cfg)
		if err != nil {
			return err
		}
		p.sess = s
	}
	healthy, err := fn(p.sess)
	if !healthy {
		_ = p.drop()
	}
	return err
}

func (p *Publisher) drop() error {
	if p.sess == nil {
		return nil
	}
	err := p.sess.close()
	p.sess = nil
	return err
}

// pubSession is one connection with one confirming channel.
type pubSession struct {
	conn    *amqp.Connection
	ch      *amqp.Channel
	returns *returnCounter
}

func openPubSession(ctx context.Context, cfg Config) (*pubSession, error) {
	conn, err := dial(ctx, cfg, "publisher")
	if err != nil {
		return nil, err
	}
	s, err := setUpPubSession(conn, names{cfg.Prefix})
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("broker: publisher: %w", err)
	}
	return s, nil
}

func setUpPubSession(conn *amqp.Connection, n names) (*pubSession, error) {
	ch, err := conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("open channel: %w", err)
	}
	if err := n.topology().declare(ch); err != nil {
		return nil, err
	}
	if err := ch.Confirm(false); err != nil {
		return nil, fmt.Errorf("confirm mode: %w", err)
	}
	// Unbuffered on purpose: see returnCounter.
	rc := newReturnCounter(ch.NotifyReturn(make(chan amqp.Return)))
	return &pubSession{conn: conn, ch: ch, returns: rc}, nil
}

func (s *pubSession) usable() bool { return !s.conn.IsClosed() && !s.ch.IsClosed() }

// close closes the connection, which closes the returns channel, and
// waits for the counter to stop.
func (s *pubSession) close() error {
	err := s.conn.Close()
	<-s.returns.done
	if errors.Is(err, amqp.ErrClosed) {
		return nil
	}
	return err
}

// publish sends the batch, then waits for all confirms. The bool says
// whether the session can carry the next batch: after an I/O error or an
// abandoned wait, late confirms and returns would be mistaken for the next
// batch's, so the session is dropped.
func (s *pubSession) publish(ctx context.Context, msgs []Outgoing, routes []route) (bool, error) {
	before, err := s.returns.count(ctx)
	if err != nil {
		return false, err
	}
	now := time.Now().UTC()
	pending := make([]*amqp.DeferredConfirmation, len(msgs))
	for i, m := range msgs {
		dc, err := s.ch.PublishWithDeferredConfirmWithContext(ctx, routes[i].exchange, routes[i].key, true, false, amqp.Publishing{
			Headers:      m.Headers,
			DeliveryMode: amqp.Persistent,
			MessageId:    m.MessageID,
			Timestamp:    now,
			Body:         m.Body,
		})
		if err != nil {
			return false, fmt.Errorf("broker: publish message %d of %d to %s: %w", i+1, len(msgs), m.Queue, err)
		}
		pending[i] = dc
	}
	nacked := 0
	for _, dc := range pending {
		ok, err := dc.WaitContext(ctx)
		if err != nil {
			return false, fmt.Errorf("broker: waiting for confirms: %w", err)
		}
		if !ok {
			nacked++
		}
	}
	// Every return precedes its message's confirm, so all of this batch's
	// returns have been counted by now.
	after, err := s.returns.count(ctx)
	if err != nil {
		return false, err
	}
	if nacked > 0 {
		// A channel that closed mid-batch nacks what it had pending.
		return s.usable(), fmt.Errorf("broker: %d of %d messages not confirmed by the broker", nacked, len(msgs))
	}
	if n := after.n - before.n; n > 0 {
		return true, fmt.Errorf("broker: %d of %d messages unroutable, e.g. key %q: %s",
			n, len(msgs), after.last.RoutingKey, after.last.ReplyText)
	}
	return true, nil
}

// returnCounter drains basic.return notifications for the life of a
// channel and counts them. The library hands each return over before it
// processes the following confirm, and the channel is unbuffered, so by the
// time a confirm is seen the counter has taken the return; as the counter
// handles one request at a time, a count asked for afterwards includes it.
type returnCounter struct {
	ask  chan chan returnCount
	done chan struct{}
}

type returnCount struct {
	n    int
	last amqp.Return
}

func newReturnCounter(returns <-chan amqp.Return) *returnCounter {
	rc := &returnCounter{ask: make(chan chan returnCount), done: make(chan struct{})}
	go rc.run(returns)
	return rc
}

func (rc *returnCounter) run(returns <-chan amqp.Return) {
	defer close(rc.done)
	var c returnCount
	for {
		select {
		case r, ok := <-returns:
			if !ok {
				return
			}
			c.n++
			c.last = r
		case reply := <-rc.ask:
			reply <- c
		}
	}
}

func (rc *returnCounter) count(ctx context.Context) (returnCount, error) {
	reply := make(chan returnCount, 1)
	select {
	case rc.ask <- reply:
		return <-reply, nil
	case <-rc.done:
		return returnCount{}, errors.New("broker: publisher channel closed")
	case <-ctx.Done():
		return returnCount{}, ctx.Err()
	}
}
