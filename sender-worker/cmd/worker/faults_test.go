package main

import (
	"strings"
	"testing"
	"time"

	"mailing/sender-worker/probesim"
	"mailing/shared/broker"
	"mailing/shared/broker/brokertest"
	"mailing/shared/domain"
	"mailing/shared/testkit"
)

func (p *pipeline) setFaults(f probesim.Faults) {
	p.t.Helper()
	if err := p.sim.SetFaults(f); err != nil {
		p.t.Fatal(err)
	}
}

func (p *pipeline) startNow(f domain.Filter) domain.Mailout {
	p.t.Helper()
	now := time.Now()
	return p.mailout(now.Add(-time.Second), now.Add(time.Hour), f)
}

func TestRejectedMessagesFailAfterOneAttemptAndAreDeadLettered(t *testing.T) {
	t.Parallel()
	p := startPipeline(t, nil)
	dead := brokertest.Collect(t, p.bcfg, broker.DeadQueue)
	p.setFaults(probesim.Faults{Rate400: 1})
	want := p.customers(25, "916")
	m := p.startNow(domain.Filter{})
	p.settle(m.ID, 60*time.Second)
	if counts := p.verify(m, want, 0); counts["failed"] != 25 {
		t.Fatalf("messages %v, want all 25 failed", counts)
	}
	ids := map[int64]bool{}
	for _, msg := range p.messages(m.ID) {
		ids[msg.ID] = true
		if msg.Attempts != 1 || !strings.Contains(msg.LastError, "rejected_4xx") {
			t.Errorf("message %d: %d attempts, last error %q; want one attempt rejected_4xx", msg.ID, msg.Attempts, msg.LastError)
		}
	}
	if n := p.sim.Stats().Status400; n != 25 {
		t.Errorf("the external API answered 400 %d times, want once per message (25)", n)
	}

	letters := map[int64]int{}
	timeout := time.After(30 * time.Second)
	for len(letters) < 25 {
		select {
		case a := <-dead:
			id, _ := a.Delivery.Headers[broker.HeaderMessageID].(int64)
			reason, _ := a.Delivery.Headers[broker.HeaderReason].(string)
			if !ids[id] || !strings.Contains(reason, "rejected_4xx") {
				t.Fatalf("dead letter with headers %v: want a message of mailout %d and reason rejected_4xx", a.Delivery.Headers, m.ID)
			}
			letters[id]++
		case <-timeout:
			t.Fatalf("%d of 25 dead letters arrived", len(letters))
		}
	}
	// Anything more would be a second dead letter for some message.
	extra := time.After(time.Second)
	for {
		select {
		case a := <-dead:
			t.Fatalf("a second dead letter: headers %v", a.Delivery.Headers)
		case <-extra:
			return
		}
	}
}

func TestOutageOpensTheBreakerAndEverythingIsDeliveredAfterwards(t *testing.T) {
	t.Parallel()
	const (
		failures    = 3
		concurrency = 8
		openTimeout = 2 * time.Second
		outage      = 10 * time.Second
		latency     = 50 * time.Millisecond
	)
	p := startPipeline(t, map[string]string{"BREAKER_FAILURES": "3", "BREAKER_OPEN_TIMEOUT": "2s", "SENDER_CONCURRENCY": "8"})
	p.setFaults(probesim.Faults{LatencyMS: int(latency / time.Millisecond)})
	want := p.customers(300, "916")
	m := p.startNow(domain.Filter{})
	testkit.Eventually(p.t, "first deliveries", 60*time.Second, func() bool { return len(p.sim.Deliveries()) >= 40 })

	p.setFaults(probesim.Faults{Down: true})
	before := p.sim.Stats()
	time.Sleep(outage)
	during := p.sim.Stats().Requests - before.Requests
	p.setFaults(probesim.Faults{LatencyMS: int(latency / time.Millisecond)})

	p.settle(m.ID, 120*time.Second)
	if counts := p.verify(m, want, 0); counts["sent"] != 300 {
		t.Fatalf("messages %v, want all 300 sent after the outage", counts)
	}
	// Until the breaker opens: the failures that trip it plus whatever was
	// already past it (one request per slot). While it is open: one probe
	// per open period (one half-open request each). net/http replays a
	// request that failed on a reused keep-alive connection once (it has an
	// Idempotency-Key), hence the factor 2.
	probes := int64(outage/openTimeout) + 1
	bound := 2 * (failures + concurrency + probes)
	t.Logf("requests reaching the external API during a %s outage: %d (bound %d); accepted before it: %d of 300",
		outage, during, bound, before.Accepted)
	if during > bound {
		t.Fatalf("%d requests reached the external API during the outage, want at most %d", during, bound)
	}
	if during == 0 {
		t.Fatal("no request reached the external API during the outage: it was not exercised")
	}
}

func TestHangingRequestsTimeOutAndAreRetried(t *testing.T) {
	t.Parallel()
	p := startPipeline(t, map[string]string{"PROBE_TIMEOUT": "1s", "BREAKER_OPEN_TIMEOUT": "1s"})
	p.setFaults(probesim.Faults{Hang: true})
	want := p.customers(30, "916")
	m := p.startNow(domain.Filter{})
	testkit.Eventually(p.t, "requests hanging", 30*time.Second, func() bool { return p.sim.Stats().Hung >= 3 })
	time.Sleep(3 * time.Second)
	p.setFaults(probesim.Faults{})

	p.settle(m.ID, 60*time.Second)
	if counts := p.verify(m, want, 0); counts["sent"] != 30 {
		t.Fatalf("messages %v, want all 30 sent once the hang is lifted", counts)
	}
	retried := 0
	for _, msg := range p.messages(m.ID) {
		if msg.Attempts > 1 {
			retried++
		}
	}
	if retried == 0 {
		t.Fatal("no message needed a second attempt: the hang was not exercised")
	}
	t.Logf("hung requests %d, messages retried after a timeout %d", p.sim.Stats().Hung, retried)
}

func TestBrokerConnectionsDroppedMidRun(t *testing.T) {
	t.Parallel()
	// Some transient failures, so that retries are published all along.
	p := startPipeline(t, map[string]string{"BREAKER_FAILURES": "1000"})
	p.setFaults(probesim.Faults{LatencyMS: 100, Rate500: 0.2})
	want := p.customers(200, "916")
	m := p.startNow(domain.Filter{})
	name := p.bcfg.Prefix + "-worker"
	for _, after := range []int{30, 80, 130} {
		testkit.Eventually(p.t, "deliveries before the drop", 60*time.Second, func() bool { return len(p.sim.Deliveries()) >= after })
		// The consumers of both queues, and the publisher when it is
		// connected (it reconnects when next used).
		if n := brokertest.CloseConnections(t, name); n < 2 {
			t.Fatalf("closed %d connections named %q, want at least the worker's 2 consumers", n, name)
		}
	}
	p.settle(m.ID, 120*time.Second)
	if counts := p.verify(m, want, 0); counts["sent"] != 200 {
		t.Fatalf("messages %v, want all 200 sent", counts)
	}
}

func TestGarbageAnswersAreNeverCountedAsSent(t *testing.T) {
	t.Parallel()
	p := startPipeline(t, map[string]string{"BREAKER_FAILURES": "1000"})
	// Every answer is a 200 that does not say the message was accepted.
	p.setFaults(probesim.Faults{RateGarbage: 0.5, RateCodeNonzero: 0.5})
	want := p.customers(20, "916")
	m := p.startNow(domain.Filter{})
	testkit.Eventually(p.t, "garbage answers to every message", 60*time.Second, func() bool {
		s := p.sim.Stats()
		return s.Garbage > 0 && s.CodeNonzero > 0 && s.Garbage+s.CodeNonzero >= 40
	})
	if n := p.counts(m.ID)["sent"]; n != 0 {
		t.Fatalf("%d messages counted as sent while every answer was garbage", n)
	}
	p.setFaults(probesim.Faults{})
	p.settle(m.ID, 90*time.Second)
	if counts := p.verify(m, want, 0); counts["sent"] != 20 {
		t.Fatalf("messages %v, want all 20 sent once the answers are sound", counts)
	}
}
