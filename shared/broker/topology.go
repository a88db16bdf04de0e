package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/bits"
	"regexp"
	"slices"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Queues of the topology, named without Config.Prefix.
const (
	StartQueue = "mailout.start"
	SendQueue  = "message.send"
	DeadQueue  = "message.dead"
)

// Headers of a dead letter (see DeadLetter).
const (
	HeaderReason    = "x-reason"
	HeaderMailoutID = "x-mailout-id"
	HeaderMessageID = "x-message-id"
	// HeaderTopic carries the outbox topic of an event on the start queue.
	HeaderTopic = "x-topic"
)

const (
	// Levels is the number of delay levels, one per bit of the delay in
	// seconds.
	Levels = 28
	// MaxDelay is the longest delay a message can be given, 2^28-1 s.
	MaxDelay = (1<<Levels - 1) * time.Second
	// DeadLetterLimit bounds message.dead, which nobody consumes; the
	// database keeps every message's final status and reason anyway.
	DeadLetterLimit = 100_000
)

// ErrDelayTooLong is returned for a delay above MaxDelay. A caller that
// needs longer can publish with MaxDelay and delay again on arrival.
var ErrDelayTooLong = errors.New("delay exceeds the longest supported delay")

// Config says where the broker is and how this process's objects are named.
type Config struct {
	// URL is the AMQP URL, e.g. amqp://guest:guest@127.0.0.1:5672/.
	URL string
	// Prefix is put, with a dot, in front of every exchange and queue name,
	// so tests get their own topology on a shared broker. Empty in
	// production. Letters, digits, '-' and '_', in dot-separated words.
	Prefix string
	// Name labels this process's connections in the management UI and in
	// rabbitmqctl list_connections (client property connection_name).
	Name string
	// Logger receives reconnection notices; nil discards them.
	Logger *slog.Logger
}

var prefixPattern = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)

func (c Config) check() error {
	if c.URL == "" {
		return errors.New("broker: empty AMQP URL")
	}
	if _, err := amqp.ParseURI(c.URL); err != nil {
		return fmt.Errorf("broker: AMQP URL: %w", err)
	}
	// The prefix ends up in routing keys and binding patterns, where '*',
	// '#' or an empty word would change what matches.
	if c.Prefix != "" && !prefixPattern.MatchString(c.Prefix) {
		return fmt.Errorf("broker: prefix %q: want dot-separated words of letters, digits, '-' and '_'", c.Prefix)
	}
	return nil
}

func (c Config) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}

// destinations are the queues every topology declares.
func destinations() []string { return []string{StartQueue, SendQueue, DeadQueue} }

func isDestination(q string) bool { return slices.Contains(destinations(), q) }

// names maps the topology's base names to the names on the broker.
type names struct{ prefix string }

func (n names) of(base string) string {
	if n.prefix == "" {
		return base
	}
	return n.prefix + "." + base
}

// level names both the exchange and the queue of delay level k; two digits
// keep them in order in the management UI.
func (n names) level(k int) string { return n.of(fmt.Sprintf("delay.level.%02d", k)) }

func (n names) delivery() string { return n.of("delay.delivery") }

// below is where level k passes messages on: level k-1, or delivery.
func (n names) below(k int) string {
	if k == 0 {
		return n.delivery()
	}
	return n.level(k - 1)
}

// topology is everything declared, as data, so declaring, deleting and the
// routing tests all read the same description.
type topology struct {
	exchanges []string // all durable topic exchanges
	queues    []queueSpec
	bindings  []binding
}

type queueSpec struct {
	name string
	args amqp.Table
}

// binding routes messages from exchange source whose key matches pattern
// to queue or exchange dest.
type binding struct {
	source, pattern, dest string
	toExchange            bool
}

func (n names) topology() topology {
	var t topology
	for k := Levels - 1; k >= 0; k-- {
		t.exchanges = append(t.exchanges, n.level(k))
	}
	t.exchanges = append(t.exchanges, n.delivery())
	for k := Levels - 1; k >= 0; k-- {
		t.queues = append(t.queues, queueSpec{n.level(k), amqp.Table{
			"x-queue-type":           "classic",
			"x-message-ttl":          int64(1000) << k,
			"x-dead-letter-exchange": n.below(k),
		}})
		t.bindings = append(t.bindings,
			binding{source: n.level(k), pattern: levelPattern(k, '1'), dest: n.level(k)},
			binding{source: n.level(k), pattern: levelPattern(k, '0'), dest: n.below(k), toExchange: true})
	}
	for _, q := range destinations() {
		t.queues = append(t.queues, queueSpec{n.of(q), n.queueArgs(q)})
		t.bindings = append(t.bindings, binding{source: n.delivery(), pattern: deliveryPattern(n.of(q)), dest: n.of(q)})
	}
	return t
}

// queueArgs: rejected jobs and events go to message.dead instead of
// vanishing; message.dead itself is bounded.
func (n names) queueArgs(q string) amqp.Table {
	if q == DeadQueue {
		return amqp.Table{"x-queue-type": "classic", "x-max-length": int64(DeadLetterLimit)}
	}
	return amqp.Table{
		"x-queue-type":              "classic",
		"x-dead-letter-exchange":    "",
		"x-dead-letter-routing-key": n.of(DeadQueue),
	}
}

// levelPattern matches keys whose bit k (word Levels-1-k) is bit.
func levelPattern(k int, bit byte) string {
	return strings.Repeat("*.", Levels-1-k) + string(bit) + ".#"
}

// deliveryPattern matches exactly Levels delay words followed by queue.
func deliveryPattern(queue string) string {
	return strings.Repeat("*.", Levels) + queue
}

// declare creates the topology; every step is idempotent.
func (t topology) declare(ch *amqp.Channel) error {
	for _, e := range t.exchanges {
		if err := ch.ExchangeDeclare(e, amqp.ExchangeTopic, true, false, false, false, nil); err != nil {
			return fmt.Errorf("declare exchange %s: %w", e, err)
		}
	}
	for _, q := range t.queues {
		if _, err := ch.QueueDeclare(q.name, true, false, false, false, q.args); err != nil {
			return fmt.Errorf("declare queue %s: %w", q.name, err)
		}
	}
	for _, b := range t.bindings {
		var err error
		if b.toExchange {
			err = ch.ExchangeBind(b.dest, b.pattern, b.source, false, nil)
		} else {
			err = ch.QueueBind(b.dest, b.pattern, b.source, false, nil)
		}
		if err != nil {
			return fmt.Errorf("bind %s to %s with %s: %w", b.source, b.dest, b.pattern, err)
		}
	}
	return nil
}

// Declare creates the topology over a short-lived connection. Publishers
// and consumers declare it themselves on every connect; this is for a
// binary's start-up and for tools.
func Declare(ctx context.Context, cfg Config) error {
	if err := cfg.check(); err != nil {
		return err
	}
	conn, err := dial(ctx, cfg, "declare")
	if err != nil {
		return err
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("broker: open channel: %w", err)
	}
	if err := (names{cfg.Prefix}).topology().declare(ch); err != nil {
		return fmt.Errorf("broker: %w", err)
	}
	return nil
}

// route is where one message is published.
type route struct{ exchange, key string }

// route returns the exchange and routing key that deliver a message to
// queue after delay: the default exchange for no delay, otherwise the level
// of the delay's highest set bit with the delay's bits in the key.
func (n names) route(queue string, delay time.Duration) (route, error) {
	secs, err := delaySeconds(delay)
	if err != nil {
		return route{}, err
	}
	if secs == 0 {
		return route{exchange: "", key: n.of(queue)}, nil
	}
	return route{exchange: n.level(bits.Len64(secs) - 1), key: delayKey(secs, n.of(queue))}, nil
}

// delaySeconds rounds up, so a message never arrives before its delay.
func delaySeconds(d time.Duration) (uint64, error) {
	if d <= 0 {
		return 0, nil
	}
	secs := uint64(d / time.Second)
	if d%time.Second != 0 {
		secs++
	}
	if secs > 1<<Levels-1 {
		return 0, fmt.Errorf("%w: %s > %s", ErrDelayTooLong, d, MaxDelay)
	}
	return secs, nil
}

// delayKey writes secs as Levels binary digits, most significant first,
// then the queue's full name.
func delayKey(secs uint64, queue string) string {
	var b strings.Builder
	b.Grow(2*Levels + len(queue))
	for k := Levels - 1; k >= 0; k-- {
		b.WriteByte('0' + byte(secs>>k&1))
		b.WriteByte('.')
	}
	b.WriteString(queue)
	return b.String()
}
