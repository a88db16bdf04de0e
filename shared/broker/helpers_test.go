package broker

import (
	"context"
	crand "crypto/rand"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaked := waitForNoGoroutines(10 * time.Second); leaked != "" {
			fmt.Fprintf(os.Stderr, "goroutines left after every test shut down:\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

// packageGoroutines returns the stacks of goroutines running this
// package's code or the AMQP library's, other than the caller's own and
// the test functions themselves (waiting tests would otherwise count).
// Counting only those, rather than runtime.NumGoroutine, keeps the testing
// framework's goroutines out of the check.
func packageGoroutines() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	stacks := strings.Split(string(buf), "\n\n")
	var found []string
	for _, s := range stacks[1:] { // the first is the caller
		if strings.Contains(s, "testing.tRunner(") || strings.Contains(s, "testing.(*M).Run(") {
			continue
		}
		if strings.Contains(s, "rabbitmq/amqp091-go") || strings.Contains(s, "mailing/shared/broker.") {
			found = append(found, s)
		}
	}
	return strings.Join(found, "\n\n")
}

func waitForNoGoroutines(limit time.Duration) string {
	deadline := time.Now().Add(limit)
	for {
		leaked := packageGoroutines()
		if leaked == "" || time.Now().After(deadline) {
			return leaked
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func amqpURL() string {
	if u := os.Getenv("AMQP_URL"); u != "" {
		return u
	}
	return "amqp://guest:guest@127.0.0.1:5672/"
}

// testConfig gives the test a topology of its own, deleted afterwards.
// The prefix doubles as the connection name, so the test can find and
// close its own connections.
func testConfig(t *testing.T) Config {
	t.Helper()
	id := "test-" + strings.ToLower(crand.Text()[:12])
	cfg := Config{
		URL:    amqpURL(),
		Prefix: id,
		Name:   id,
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	t.Cleanup(func() { deleteTopology(t, cfg) })
	return cfg
}

func deleteTopology(t *testing.T, cfg Config) {
	t.Helper()
	withChannel(t, func(ch *amqp.Channel) {
		top := names{cfg.Prefix}.topology()
		for _, q := range top.queues {
			if _, err := ch.QueueDelete(q.name, false, false, false); err != nil {
				t.Errorf("delete queue %s: %v", q.name, err)
			}
		}
		for _, e := range top.exchanges {
			if err := ch.ExchangeDelete(e, false, false); err != nil {
				t.Errorf("delete exchange %s: %v", e, err)
			}
		}
	})
}

// withChannel runs fn on a connection of the test's own.
func withChannel(t *testing.T, fn func(*amqp.Channel)) {
	t.Helper()
	conn, err := amqp.Dial(amqpURL())
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatalf("channel: %v", err)
	}
	fn(ch)
}

// depth is the number of ready messages in a queue (full name).
func depth(t *testing.T, queue string) int {
	t.Helper()
	var n int
	withChannel(t, func(ch *amqp.Channel) {
		q, err := ch.QueueDeclarePassive(queue, true, false, false, false, nil)
		if err != nil {
			t.Fatalf("inspect queue %s: %v", queue, err)
		}
		n = q.Messages
	})
	return n
}

func newPublisher(t *testing.T, cfg Config) *Publisher {
	t.Helper()
	p, err := NewPublisher(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("close publisher: %v", err)
		}
	})
	return p
}

func publish(t *testing.T, p *Publisher, msgs ...Outgoing) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Publish(ctx, msgs); err != nil {
		t.Fatalf("publish: %v", err)
	}
}

// consume runs Consume until the test ends, checking it returns nil.
func consume(t *testing.T, cfg Config, queue string, prefetch int, handle func(context.Context, Delivery)) {
	t.Helper()
	c, err := NewConsumer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Consume(ctx, queue, prefetch, handle) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Consume returned %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("Consume did not return after its context ended")
		}
	})
}

type arrival struct {
	d  Delivery
	at time.Time
}

// collect acks every message of queue and hands it over with its arrival
// time.
func collect(t *testing.T, cfg Config, queue string) <-chan arrival {
	t.Helper()
	got := make(chan arrival, 1000)
	consume(t, cfg, queue, 10, func(_ context.Context, d Delivery) {
		at := time.Now()
		if err := d.Ack(); err != nil {
			t.Errorf("ack: %v", err)
		}
		got <- arrival{d, at}
	})
	return got
}

func receive(t *testing.T, got <-chan arrival, within time.Duration) arrival {
	t.Helper()
	select {
	case a := <-got:
		return a
	case <-time.After(within):
		t.Fatalf("nothing received within %s", within)
		return arrival{}
	}
}

// closeConnections closes, through rabbitmqctl, every broker connection
// whose name contains name, and returns how many it closed.
func closeConnections(t *testing.T, name string) int {
	t.Helper()
	out, err := exec.Command("rabbitmqctl", "-s", "list_connections", "pid", "client_properties").CombinedOutput()
	if err != nil {
		t.Fatalf("rabbitmqctl list_connections: %v: %s", err, out)
	}
	closed := 0
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.Contains(line, `"`+name+` `) {
			continue
		}
		pid := strings.Fields(line)[0]
		if out, err := exec.Command("rabbitmqctl", "close_connection", pid, "test").CombinedOutput(); err != nil {
			t.Fatalf("rabbitmqctl close_connection %s: %v: %s", pid, err, out)
		}
		closed++
	}
	return closed
}
