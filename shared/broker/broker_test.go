package broker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

func TestDeclareIsIdempotent(t *testing.T) {
	cfg := testConfig(t)
	ctx := context.Background()
	for i := range 2 {
		if err := Declare(ctx, cfg); err != nil {
			t.Fatalf("declare #%d: %v", i+1, err)
		}
	}
	n := names{cfg.Prefix}
	for _, q := range n.topology().queues {
		if got := depth(t, q.name); got != 0 {
			t.Fatalf("queue %s has %d messages", q.name, got)
		}
	}
	withChannel(t, func(ch *amqp.Channel) {
		for _, e := range n.topology().exchanges {
			if err := ch.ExchangeDeclarePassive(e, amqp.ExchangeTopic, true, false, false, false, nil); err != nil {
				t.Fatalf("exchange %s: %v", e, err)
			}
		}
	})
}

func TestPublishWithoutDelayReachesQueue(t *testing.T) {
	cfg := testConfig(t)
	p := newPublisher(t, cfg)
	publish(t, p, Outgoing{Queue: SendQueue, Body: []byte(`{"message_id":1}`), MessageID: "m-1", Headers: amqp.Table{"x-attempt": int32(2)}})
	got := receive(t, collect(t, cfg, SendQueue), 30*time.Second)
	d := got.d
	if string(d.Body) != `{"message_id":1}` || d.MessageID != "m-1" || d.Headers["x-attempt"] != int32(2) || d.Redelivered {
		t.Fatalf("received %+v", d)
	}
	if d.raw.DeliveryMode != amqp.Persistent {
		t.Fatalf("delivery mode %d, want persistent", d.raw.DeliveryMode)
	}
}

func TestDelayedMessagesArriveNotBeforeTheirDelay(t *testing.T) {
	t.Parallel()
	for _, secs := range []int{1, 2, 3, 5, 13} {
		t.Run(strconv.Itoa(secs)+"s", func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(t)
			p := newPublisher(t, cfg)
			got := collect(t, cfg, StartQueue)
			delay := time.Duration(secs) * time.Second
			if err := p.Ping(context.Background()); err != nil { // connect before timing
				t.Fatal(err)
			}
			sent := time.Now()
			publish(t, p, Outgoing{Queue: StartQueue, Body: []byte("start"), Delay: delay})
			a := receive(t, got, delay+30*time.Second)
			if waited := a.at.Sub(sent); waited < delay {
				t.Fatalf("arrived after %s, before its %s delay", waited, delay)
			} else {
				t.Logf("%s delay arrived after %s", delay, waited)
			}
			if string(a.d.Body) != "start" {
				t.Fatalf("body %q", a.d.Body)
			}
		})
	}
}

func TestShortDelayIsNotHeldBackByALongerOne(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	p := newPublisher(t, cfg)
	got := collect(t, cfg, StartQueue)
	publish(t, p, Outgoing{Queue: StartQueue, Body: []byte("week"), Delay: 7 * 24 * time.Hour})
	sent := time.Now()
	publish(t, p, Outgoing{Queue: StartQueue, Body: []byte("two seconds"), Delay: 2 * time.Second})
	a := receive(t, got, 30*time.Second)
	if string(a.d.Body) != "two seconds" {
		t.Fatalf("received %q first", a.d.Body)
	}
	if waited := a.at.Sub(sent); waited < 2*time.Second {
		t.Fatalf("arrived after %s", waited)
	}
	// The week-long message is still waiting in one of the delay queues.
	n := names{cfg.Prefix}
	waiting := 0
	for k := range Levels {
		waiting += depth(t, n.level(k))
	}
	if waiting != 1 {
		t.Fatalf("%d messages in the delay queues, want 1", waiting)
	}
}

func TestMaxDelayIsAcceptedByTheBroker(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	p := newPublisher(t, cfg)
	publish(t, p, Outgoing{Queue: SendQueue, Body: []byte("years"), Delay: MaxDelay})
	// Level 27's TTL is 2^27 s; its queue must hold the message, not crash
	// on a timer that long.
	time.Sleep(time.Second)
	if got := depth(t, names{cfg.Prefix}.level(Levels-1)); got != 1 {
		t.Fatalf("level %d holds %d messages", Levels-1, got)
	}
}

func TestPublishRejectsInvalidBatchesWholesale(t *testing.T) {
	cfg := testConfig(t)
	p := newPublisher(t, cfg)
	ctx := context.Background()
	if err := p.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	ok := Outgoing{Queue: SendQueue, Body: []byte("ok")}
	err := p.Publish(ctx, []Outgoing{ok, {Queue: SendQueue, Delay: MaxDelay + time.Second}})
	if !errors.Is(err, ErrDelayTooLong) {
		t.Fatalf("too long a delay: %v", err)
	}
	if err := p.Publish(ctx, []Outgoing{ok, {Queue: "elsewhere", Delay: time.Second}}); err == nil {
		t.Fatal("delay to a queue outside the topology accepted")
	}
	if err := p.Publish(ctx, []Outgoing{ok, {Queue: SendQueue, Headers: amqp.Table{"bad": struct{}{}}}}); err == nil {
		t.Fatal("invalid header accepted")
	}
	if err := p.Publish(ctx, []Outgoing{ok, {Body: []byte("no queue")}}); err == nil {
		t.Fatal("message without a queue accepted")
	}
	if got := depth(t, names{cfg.Prefix}.of(SendQueue)); got != 0 {
		t.Fatalf("%d messages published from rejected batches", got)
	}
}

func TestUnroutablePublishFails(t *testing.T) {
	cfg := testConfig(t)
	p := newPublisher(t, cfg)
	ctx := context.Background()
	err := p.Publish(ctx, []Outgoing{
		{Queue: SendQueue, Body: []byte("fine")},
		{Queue: "no.such.queue", Body: []byte("lost")},
	})
	if err == nil {
		t.Fatal("publishing to a missing queue succeeded")
	}
	t.Logf("error: %v", err)
	// The publisher stays usable, and a later batch is not blamed for
	// the earlier return.
	publish(t, p, Outgoing{Queue: SendQueue, Body: []byte("after")})
	if got := depth(t, names{cfg.Prefix}.of(SendQueue)); got != 2 {
		t.Fatalf("message.send holds %d messages, want 2", got)
	}
}

func TestPublishLargeBatchAndConcurrentCallers(t *testing.T) {
	cfg := testConfig(t)
	p := newPublisher(t, cfg)
	const batch = 5000
	msgs := make([]Outgoing, batch)
	for i := range msgs {
		msgs[i] = Outgoing{Queue: SendQueue, Body: []byte(strconv.Itoa(i)), MessageID: strconv.Itoa(i)}
	}
	start := time.Now()
	publish(t, p, msgs...)
	t.Logf("%d messages confirmed in %s", batch, time.Since(start))

	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 5 {
				err := p.Publish(context.Background(), []Outgoing{
					{Queue: SendQueue, Body: fmt.Appendf(nil, "%d-%d-a", g, i)},
					{Queue: SendQueue, Body: fmt.Appendf(nil, "%d-%d-b", g, i), Delay: time.Hour},
				})
				if err != nil {
					t.Errorf("concurrent publish: %v", err)
				}
			}
		})
	}
	wg.Wait()
	if got := depth(t, names{cfg.Prefix}.of(SendQueue)); got != batch+8*5 {
		t.Fatalf("message.send holds %d messages, want %d", got, batch+8*5)
	}
}

func TestDeadLetterCarriesReason(t *testing.T) {
	cfg := testConfig(t)
	p := newPublisher(t, cfg)
	publish(t, p, DeadLetter("expired", 7, 1001, []byte(`{"message_id":1001}`)))
	a := receive(t, collect(t, cfg, DeadQueue), 30*time.Second)
	h := a.d.Headers
	if h[HeaderReason] != "expired" || h[HeaderMailoutID] != int64(7) || h[HeaderMessageID] != int64(1001) || a.d.MessageID != "1001" {
		t.Fatalf("dead letter %+v", a.d)
	}
}

func TestRejectedJobGoesToDeadQueue(t *testing.T) {
	cfg := testConfig(t)
	p := newPublisher(t, cfg)
	consume(t, cfg, SendQueue, 1, func(_ context.Context, d Delivery) {
		if err := d.Nack(false); err != nil {
			t.Errorf("nack: %v", err)
		}
	})
	publish(t, p, Outgoing{Queue: SendQueue, Body: []byte("poison")})
	a := receive(t, collect(t, cfg, DeadQueue), 30*time.Second)
	if string(a.d.Body) != "poison" {
		t.Fatalf("dead letter %q", a.d.Body)
	}
}

func TestPrefetchIsRespected(t *testing.T) {
	cfg := testConfig(t)
	p := newPublisher(t, cfg)
	const prefetch, total = 3, 10
	var running, most atomic.Int32
	release := make(chan struct{})
	started := make(chan struct{}, total)
	done := make(chan struct{}, total)
	consume(t, cfg, SendQueue, prefetch, func(_ context.Context, d Delivery) {
		n := running.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		started <- struct{}{}
		<-release
		running.Add(-1)
		if err := d.Ack(); err != nil {
			t.Errorf("ack: %v", err)
		}
		done <- struct{}{}
	})
	msgs := make([]Outgoing, total)
	for i := range msgs {
		msgs[i] = Outgoing{Queue: SendQueue, Body: []byte(strconv.Itoa(i))}
	}
	publish(t, p, msgs...)
	for range prefetch {
		select {
		case <-started:
		case <-time.After(30 * time.Second):
			t.Fatal("handlers did not start")
		}
	}
	// The broker holds back the rest while prefetch deliveries are unacked.
	time.Sleep(500 * time.Millisecond)
	if got := depth(t, names{cfg.Prefix}.of(SendQueue)); got != total-prefetch {
		t.Fatalf("%d messages still queued, want %d", got, total-prefetch)
	}
	close(release)
	for range total {
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("not every message was handled")
		}
	}
	if m := most.Load(); m != prefetch {
		t.Fatalf("%d handlers ran at once, want %d", m, prefetch)
	}
}

func TestConsumerAndPublisherSurviveDroppedConnections(t *testing.T) {
	cfg := testConfig(t)
	p := newPublisher(t, cfg)
	got := make(chan arrival, 10)
	dropped := make(chan struct{})
	var staleAck error
	var first sync.Once
	consume(t, cfg, SendQueue, 4, func(_ context.Context, d Delivery) {
		held := false
		first.Do(func() {
			// Hold the first delivery across the drop: its Ack must fail,
			// not acknowledge something on the new connection.
			held = true
			<-dropped
			time.Sleep(200 * time.Millisecond)
			staleAck = d.Ack()
		})
		if !held {
			if err := d.Ack(); err != nil {
				t.Errorf("ack: %v", err)
			}
		}
		got <- arrival{d, time.Now()}
	})
	publish(t, p, Outgoing{Queue: SendQueue, Body: []byte("before")})
	deadline := time.Now().Add(30 * time.Second)
	for depth(t, names{cfg.Prefix}.of(SendQueue)) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the first message was never delivered")
		}
		time.Sleep(50 * time.Millisecond)
	}

	if n := closeConnections(t, cfg.Name); n < 2 {
		t.Fatalf("closed %d connections, want the publisher's and the consumer's", n)
	}
	close(dropped)
	if a := receive(t, got, 30*time.Second); string(a.d.Body) != "before" || a.d.Redelivered {
		t.Fatalf("held delivery %q redelivered=%v", a.d.Body, a.d.Redelivered)
	}
	if staleAck == nil {
		t.Fatal("ack over the closed connection succeeded")
	}

	// The publisher reconnects by itself; a call that raced the drop may
	// fail once, as any caller would retry.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		err := p.Publish(ctx, []Outgoing{{Queue: SendQueue, Body: []byte("after")}})
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("publisher did not recover: %v", err)
		}
		t.Logf("publish after the drop: %v", err)
		time.Sleep(100 * time.Millisecond)
	}

	seen := map[string]bool{}
	for len(seen) < 2 {
		a := receive(t, got, 30*time.Second)
		seen[string(a.d.Body)] = true
		if string(a.d.Body) == "before" && !a.d.Redelivered {
			t.Fatal("unacked message came back without the redelivered flag")
		}
	}
	if !seen["before"] || !seen["after"] {
		t.Fatalf("received %v after reconnecting", seen)
	}
}

func TestPublisherFailsFastWhenBrokerIsDown(t *testing.T) {
	cfg := testConfig(t)
	refused := cfg
	refused.URL = "amqp://guest:guest@127.0.0.1:1/"
	p := newPublisher(t, refused)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := p.Publish(ctx, []Outgoing{{Queue: SendQueue, Body: []byte("x")}}); err == nil {
		t.Fatal("publish to a closed port succeeded")
	}
	if err := p.Ping(ctx); err == nil {
		t.Fatal("ping of a closed port succeeded")
	}
	if ctx.Err() != nil {
		t.Fatalf("refused connection took the whole context (%s)", time.Since(start))
	}
}

func TestPublishIsBoundedByContextWhenBrokerHangs(t *testing.T) {
	cfg := testConfig(t)
	// A listener that accepts and never answers: the handshake hangs.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns sync.WaitGroup
	accepted := make(chan net.Conn, 10)
	conns.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	})
	t.Cleanup(func() {
		ln.Close()
		conns.Wait()
		close(accepted)
		for c := range accepted {
			c.Close()
		}
	})
	hung := cfg
	hung.URL = "amqp://guest:guest@" + ln.Addr().String() + "/"
	p := newPublisher(t, hung)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	err = p.Publish(ctx, []Outgoing{{Queue: SendQueue, Body: []byte("x")}})
	if err == nil {
		t.Fatal("publish to a silent broker succeeded")
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("publish took %s with a 1 s context", took)
	}
}

func TestPublisherClosed(t *testing.T) {
	cfg := testConfig(t)
	p, err := NewPublisher(cfg)
	if err != nil {
		t.Fatal(err)
	}
	publish(t, p, Outgoing{Queue: SendQueue, Body: []byte("x")})
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Publish(context.Background(), []Outgoing{{Queue: SendQueue}}); !errors.Is(err, ErrClosed) {
		t.Fatalf("publish after close: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
}

func TestConsumeArguments(t *testing.T) {
	c, err := NewConsumer(testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	noop := func(context.Context, Delivery) {}
	if err := c.Consume(context.Background(), "elsewhere", 1, noop); err == nil {
		t.Fatal("unknown queue accepted")
	}
	if err := c.Consume(context.Background(), SendQueue, 0, noop); err == nil {
		t.Fatal("prefetch 0 accepted")
	}
	if _, err := NewConsumer(Config{}); err == nil {
		t.Fatal("empty config accepted")
	}
	if _, err := NewPublisher(Config{URL: amqpURL(), Prefix: "a#"}); err == nil {
		t.Fatal("bad prefix accepted")
	}
}

func TestConsumeReturnsWhenStoppedWhileBrokerIsDown(t *testing.T) {
	cfg := testConfig(t)
	cfg.URL = "amqp://guest:guest@127.0.0.1:1/"
	c, err := NewConsumer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Consume(ctx, SendQueue, 1, func(context.Context, Delivery) {}); err != nil {
		t.Fatalf("Consume returned %v", err)
	}
	if ctx.Err() == nil {
		t.Fatal("Consume returned before its context ended")
	}
}

// TestNothingLeftRunningAfterShutdown runs before the parallel tests, so
// only this test's goroutines can be counted.
func TestNothingLeftRunningAfterShutdown(t *testing.T) {
	if leaked := waitForNoGoroutines(10 * time.Second); leaked != "" {
		t.Fatalf("goroutines left by earlier tests:\n%s", leaked)
	}
	cfg := testConfig(t)
	p, err := NewPublisher(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewConsumer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() {
		done <- c.Consume(ctx, SendQueue, 5, func(_ context.Context, d Delivery) {
			_ = d.Ack()
			got <- struct{}{}
		})
	}()
	publish(t, p, Outgoing{Queue: SendQueue, Body: []byte("x")})
	select {
	case <-got:
	case <-time.After(30 * time.Second):
		t.Fatal("nothing received")
	}
	if packageGoroutines() == "" {
		t.Fatal("the goroutine check sees nothing while a consumer runs")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if leaked := waitForNoGoroutines(10 * time.Second); leaked != "" {
		t.Fatalf("goroutines left after shutdown:\n%s", leaked)
	}
}
