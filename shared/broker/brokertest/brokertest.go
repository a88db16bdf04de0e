// Package brokertest gives tests an isolated RabbitMQ topology on the local
// broker and small helpers to watch its queues.
package brokertest

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"mailing/shared/broker"
)

// URL is the broker tests use; AMQP_URL overrides it.
func URL() string {
	if u := os.Getenv("AMQP_URL"); u != "" {
		return u
	}
	return "amqp://guest:guest@127.0.0.1:5672/"
}

// Config returns a configuration with a unique prefix (also used as the
// connection name) whose topology is deleted when t ends.
func Config(t testing.TB) broker.Config {
	t.Helper()
	id := "test-" + strings.ToLower(rand.Text()[:12])
	cfg := broker.Config{URL: URL(), Prefix: id, Name: id, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := broker.Declare(context.Background(), cfg); err != nil {
		t.Fatalf("declare topology: %v", err)
	}
	t.Cleanup(func() {
		if err := broker.DeleteTopology(context.Background(), cfg); err != nil {
			t.Errorf("delete topology: %v", err)
		}
	})
	return cfg
}

// Arrival is a message taken from a queue, with when it arrived.
type Arrival struct {
	Delivery broker.Delivery
	At       time.Time
}

// Collect acks every message of queue and hands it over until t ends.
func Collect(t testing.TB, cfg broker.Config, queue string) <-chan Arrival {
	t.Helper()
	c, err := broker.NewConsumer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan Arrival, 100000)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- c.Consume(ctx, queue, 50, func(_ context.Context, d broker.Delivery) {
			at := time.Now()
			_ = d.Ack()
			got <- Arrival{Delivery: d, At: at}
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("consumer did not stop")
		}
	})
	return got
}

// CloseConnections closes, through rabbitmqctl, every broker connection
// whose client-given name is name, and returns how many it closed.
func CloseConnections(t testing.TB, name string) int {
	t.Helper()
	out, err := exec.Command("rabbitmqctl", "-s", "list_connections", "pid", "client_properties").CombinedOutput()
	if err != nil {
		t.Fatalf("rabbitmqctl list_connections: %v: %s", err, out)
	}
	closed := 0
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.Contains(line, `"`+name+` `) && !strings.Contains(line, `"`+name+`"`) {
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
