package main

import (
	"context"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"mailing/sender-worker/probesim"
	"mailing/shared/broker"
	"mailing/shared/domain"
	"mailing/shared/postgres"
	"mailing/shared/testkit"
)

// status reads the mailout's status.
func (p *pipeline) status(id int64) domain.MailoutStatus {
	p.t.Helper()
	m, err := postgres.NewMailouts(p.db).Get(context.Background(), id)
	if err != nil {
		p.t.Fatal(err)
	}
	return m.Status
}

// quiet waits until none of the mailout's messages is being sent.
func (p *pipeline) quiet(id int64) {
	p.t.Helper()
	testkit.Eventually(p.t, "no message sending", 20*time.Second, func() bool { return p.counts(id)["sending"] == 0 })
}

// sendQueueDepth is how many jobs wait in the send queue.
func (p *pipeline) sendQueueDepth() int {
	p.t.Helper()
	conn, err := amqp.Dial(p.bcfg.URL)
	if err != nil {
		p.t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		p.t.Fatal(err)
	}
	defer ch.Close()
	q, err := ch.QueueDeclarePassive(p.bcfg.Prefix+"."+broker.SendQueue, true, false, false, false, nil)
	if err != nil {
		p.t.Fatal(err)
	}
	return q.Messages
}

func (p *pipeline) pause(id int64) time.Time {
	p.t.Helper()
	if _, err := postgres.NewMailouts(p.db).Pause(context.Background(), id); err != nil {
		p.t.Fatal(err)
	}
	return time.Now()
}

func (p *pipeline) resume(id int64) {
	p.t.Helper()
	if _, err := postgres.NewMailouts(p.db).Resume(context.Background(), id); err != nil {
		p.t.Fatal(err)
	}
}

// A pause stops new attempts on every worker at once — what was in flight
// finishes — and leaves the rest pending; resuming sends each of them
// exactly once.
func TestPauseStopsAttemptsAndResumeSendsTheRestOnce(t *testing.T) {
	t.Parallel()
	const latency = 150 * time.Millisecond
	p := startPipeline(t, nil)
	p.startWorker(nil)
	p.waitConsumers(broker.SendQueue, 2)
	p.setFaults(probesim.Faults{LatencyMS: int(latency / time.Millisecond)})
	matching := p.customers(300, "916")
	m := p.startNow(domain.Filter{})
	testkit.Eventually(t, "first deliveries", 60*time.Second, func() bool { return len(p.deliveriesOf(m.ID)) >= 30 })
	pausedAt := p.pause(m.ID)
	p.quiet(m.ID)
	// Anything still due would have arrived by now.
	time.Sleep(time.Second + latency)
	var last time.Time
	for _, d := range p.deliveriesOf(m.ID) {
		if d.At.After(last) {
			last = d.At
		}
	}
	t.Logf("pause latency (commit to the last new attempt's arrival): %s", last.Sub(pausedAt))
	if late := last.Sub(pausedAt); late > time.Second {
		t.Fatalf("an attempt reached the external API %s after the pause", late)
	}
	counts := p.counts(m.ID)
	if p.status(m.ID) != domain.MailoutPaused || counts["pending"] == 0 || counts["sent"] == 0 {
		t.Fatalf("paused: status %s, messages %v; want paused with some sent and the rest pending", p.status(m.ID), counts)
	}
	sentBefore := counts["sent"]

	p.resume(m.ID)
	p.settle(m.ID, 60*time.Second)
	if got := p.verify(m, matching, 0); got["sent"] != 300 {
		t.Fatalf("after resuming: %v, want all 300 sent once", got)
	}
	t.Logf("sent before the pause: %d of 300", sentBefore)
}

// Paused and resumed ten times in quick succession while sending, with
// two workers: every message is sent once, and the broker never holds
// more jobs than the audience.
func TestPauseResumeRepeatedlyNeverDuplicates(t *testing.T) {
	t.Parallel()
	p := startPipeline(t, nil)
	p.startWorker(nil)
	p.waitConsumers(broker.SendQueue, 2)
	// Slow enough that the run outlasts the cycles on a loaded machine.
	p.setFaults(probesim.Faults{LatencyMS: 200})
	const n = 400
	matching := p.customers(n, "916")
	m := p.startNow(domain.Filter{})
	testkit.Eventually(t, "first deliveries", 60*time.Second, func() bool { return len(p.deliveriesOf(m.ID)) >= 10 })
	deepest, cycles := 0, 0
	store := postgres.NewMailouts(p.db)
	for range 10 {
		if _, err := store.Pause(context.Background(), m.ID); err != nil {
			break // finished: every message went out meanwhile
		}
		time.Sleep(30 * time.Millisecond)
		deepest = max(deepest, p.sendQueueDepth())
		if _, err := store.Resume(context.Background(), m.ID); err != nil {
			if p.status(m.ID) == domain.MailoutFinished {
				break // finished while paused: nothing was left to send
			}
			t.Fatal(err)
		}
		cycles++
		time.Sleep(60 * time.Millisecond)
		deepest = max(deepest, p.sendQueueDepth())
	}
	if cycles < 3 {
		t.Fatalf("only %d pause/resume cycles before the mailout finished", cycles)
	}
	p.settle(m.ID, 90*time.Second)
	if got := p.verify(m, matching, 0); got["sent"] != n {
		t.Fatalf("after %d pauses: %v, want all %d sent once", cycles, got, n)
	}
	t.Logf("%d cycles; deepest send queue seen: %d jobs for %d messages", cycles, deepest, n)
	if deepest > n {
		t.Errorf("the send queue held %d jobs for a mailout of %d messages", deepest, n)
	}
}

// A pause never extends the end time: a mailout paused across its end
// finishes with the rest expired, and nothing is sent after the end.
func TestPausedAcrossItsEndFinishesExpired(t *testing.T) {
	t.Parallel()
	p := startPipeline(t, nil)
	p.setFaults(probesim.Faults{LatencyMS: 200})
	matching := p.customers(60, "916")
	now := time.Now()
	m := p.mailout(now.Add(-time.Second), now.Add(4*time.Second), domain.Filter{})
	testkit.Eventually(t, "first deliveries", 30*time.Second, func() bool { return len(p.deliveriesOf(m.ID)) >= 5 })
	p.pause(m.ID)
	p.settle(m.ID, 30*time.Second)
	got := p.verify(m, matching, 0)
	if got["expired"] == 0 || got["sent"]+got["expired"] != 60 {
		t.Fatalf("messages %v, want each sent or expired, some expired", got)
	}
	if _, err := postgres.NewMailouts(p.db).Resume(context.Background(), m.ID); domain.ErrorCode(err) != domain.CodeConflict {
		t.Errorf("resuming a finished mailout: %v, want a conflict", err)
	}
}

// A scheduled mailout paused before its start does not start at start_at;
// resumed after it, it starts at once and sends to everyone.
func TestPausedScheduledMailoutWaitsForResume(t *testing.T) {
	t.Parallel()
	p := startPipeline(t, map[string]string{"LOG_LEVEL": "info"})
	matching := p.customers(20, "916")
	start := time.Now().Add(2 * time.Second)
	m := p.mailout(start, start.Add(time.Hour), domain.Filter{})
	p.pause(m.ID)
	testkit.Eventually(t, "start event dropped", 30*time.Second, func() bool {
		return len(p.entries("start event ignored", m.ID)) > 0
	})
	time.Sleep(time.Until(start) + 2*time.Second) // the reconciler passes every second
	if msgs := p.messages(m.ID); len(msgs) != 0 || p.status(m.ID) != domain.MailoutPaused {
		t.Fatalf("paused before its start: %d messages, status %s", len(msgs), p.status(m.ID))
	}
	resumedAt := time.Now()
	p.resume(m.ID)
	p.settle(m.ID, 30*time.Second)
	if got := p.verify(m, matching, 0); got["sent"] != 20 {
		t.Fatalf("messages %v, want all 20 sent", got)
	}
	p.notBefore(m, resumedAt)
}

// Retrying the failed sends them again with a fresh attempt budget and
// exact statistics; each keeps its history. A retry after the end is
// refused until the end is extended.
func TestRetryFailedAfterARejectionBurst(t *testing.T) {
	t.Parallel()
	p := startPipeline(t, map[string]string{"SENDER_MAX_ATTEMPTS": "2"})
	ctx := context.Background()
	store := postgres.NewMailouts(p.db)
	matching := p.customers(40, "916")
	p.setFaults(probesim.Faults{Rate400: 1})
	m := p.startNow(domain.Filter{})
	p.settle(m.ID, 60*time.Second)
	if got := p.counts(m.ID); got["failed"] != 40 {
		t.Fatalf("after the burst: %v, want all 40 failed", got)
	}
	p.setFaults(probesim.Faults{})
	// Only the reasons asked for: none failed as timeouts.
	res, err := store.Retry(ctx, m.ID, domain.RetrySelection{Statuses: []domain.MessageStatus{domain.MessageFailed}, Reasons: []domain.Reason{"timeout"}}, time.Now())
	if err != nil || res.Requeued != 0 || res.Mailout.Status != domain.MailoutFinished {
		t.Fatalf("retry of timeouts: %+v %v, want nothing requeued", res, err)
	}
	res, err = store.Retry(ctx, m.ID, domain.RetrySelection{Statuses: []domain.MessageStatus{domain.MessageFailed}}, time.Now())
	if err != nil || res.Requeued != 40 || res.Mailout.Status != domain.MailoutRunning {
		t.Fatalf("retry: %+v %v, want 40 requeued and the mailout running", res, err)
	}
	p.settle(m.ID, 60*time.Second)
	if got := p.verify(m, matching, 0); got["sent"] != 40 {
		t.Fatalf("after the retry: %v, want all 40 sent", got)
	}
	for _, msg := range p.messages(m.ID) {
		if msg.Attempts != 2 {
			t.Errorf("message %d: %d attempts, want 2 (the rejected one kept)", msg.ID, msg.Attempts)
		}
	}
	st, err := postgres.NewStats(p.db).MailoutStats(ctx, m.ID, time.Now())
	if err != nil || st.Messages.Sent != 40 || st.Messages.Failed != 0 || st.Messages.Pending != 0 {
		t.Fatalf("statistics after the retry: %+v %v", st.Messages, err)
	}

	// Past its end, a retry is refused until the end is extended.
	now := time.Now()
	short := p.mailout(now.Add(-time.Second), now.Add(3*time.Second), domain.Filter{})
	p.setFaults(probesim.Faults{Rate400: 1})
	p.settle(short.ID, 30*time.Second)
	time.Sleep(time.Until(short.EndAt))
	if _, err := store.Retry(ctx, short.ID, domain.RetrySelection{Statuses: []domain.MessageStatus{domain.MessageFailed}}, time.Now()); domain.ErrorCode(err) != domain.CodeConflict {
		t.Fatalf("retry past the end: %v, want a conflict", err)
	}
}

// A mailout finishes moments after its last message, without waiting for
// the reconciler (held back here for an hour).
func TestMailoutFinishesPromptly(t *testing.T) {
	t.Parallel()
	p := startPipeline(t, map[string]string{"RECONCILE_INTERVAL": "1h", "LOG_LEVEL": "info"})
	matching := p.customers(30, "916")
	m := p.startNow(domain.Filter{})
	p.settle(m.ID, 20*time.Second)
	p.verify(m, matching, 0)
	if len(p.entries("mailout finished", m.ID)) == 0 {
		t.Error("no worker logged the finish")
	}
}

// With a rate cap, claimed messages wait for the limiter; a pause while
// they wait still stops every new attempt within a second, and they are
// sent once after the resume.
func TestPauseHoldsWhileMessagesWaitForTheRateCap(t *testing.T) {
	t.Parallel()
	p := startPipeline(t, map[string]string{"SENDER_RATE": "4", "SENDER_CONCURRENCY": "8"})
	matching := p.customers(30, "916")
	m := p.startNow(domain.Filter{})
	testkit.Eventually(t, "first deliveries", 30*time.Second, func() bool { return len(p.deliveriesOf(m.ID)) >= 3 })
	pausedAt := p.pause(m.ID)
	time.Sleep(3 * time.Second) // eight claimed messages would need two seconds of tokens
	for _, d := range p.deliveriesOf(m.ID) {
		if late := d.At.Sub(pausedAt); late > time.Second {
			t.Fatalf("an attempt reached the external API %s after the pause", late)
		}
	}
	p.quiet(m.ID)
	p.resume(m.ID)
	p.settle(m.ID, 60*time.Second)
	if got := p.verify(m, matching, 0); got["sent"] != 30 {
		t.Fatalf("after resuming: %v, want all 30 sent once", got)
	}
}
