package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"mailing/sender-worker/probesim"
	"mailing/shared/domain"
	"mailing/shared/postgres"
	"mailing/shared/testkit"
)

// noReconcile keeps the reconciler from starting due mailouts (its first
// pass runs at startup, the next an hour later), so that only start events
// can start them; mailouts then never become finished.
func noReconcile() map[string]string {
	return map[string]string{"RECONCILE_INTERVAL": "1h", "LOG_LEVEL": "info"}
}

// reschedule edits the mailout's start time as the API does.
func (p *pipeline) reschedule(id int64, start time.Time) domain.Mailout {
	p.t.Helper()
	m, err := postgres.NewMailouts(p.db).Update(context.Background(), id, func(cur domain.Mailout) (domain.Mailout, error) {
		cur.StartAt = start
		return cur, nil
	})
	if err != nil {
		p.t.Fatal(err)
	}
	return m
}

// notBefore asserts that no delivery of the mailout arrived before start.
func (p *pipeline) notBefore(m domain.Mailout, start time.Time) {
	p.t.Helper()
	for _, d := range p.deliveriesOf(m.ID) {
		if d.At.Before(start) {
			p.t.Errorf("mailout %d: delivery at %s, %s before its start", m.ID, d.At, start.Sub(d.At))
		}
	}
}

// startedOnceAt asserts that the mailout was started exactly once, by the
// event of the given version, and that the event of the version before was
// dropped as stale.
func (p *pipeline) startedOnceAt(m domain.Mailout) {
	p.t.Helper()
	testkit.Eventually(p.t, "stale start event dropped", 30*time.Second, func() bool {
		return len(p.entries("start event ignored", m.ID)) > 0
	})
	started := p.entries("mailout started", m.ID)
	if len(started) != 1 || started[0]["version"] != float64(m.Version) {
		p.t.Errorf("mailout %d: started %v, want once by version %d", m.ID, started, m.Version)
	}
	if again := p.entries("start event for a running mailout; re-publishing its pending jobs", m.ID); len(again) != 0 {
		p.t.Errorf("mailout %d: a second start event was acted on: %v", m.ID, again)
	}
	for _, e := range p.entries("start event ignored", m.ID) {
		if e["version"] != float64(m.Version-1) || e["reason"] != "version changed" {
			p.t.Errorf("mailout %d: ignored %v, want only version %d as stale", m.ID, e, m.Version-1)
		}
	}
}

func TestEditedStartTimeReschedules(t *testing.T) {
	t.Parallel()
	p := startPipeline(t, noReconcile())
	earlier := p.customersIn(5, "Europe/Moscow", "earlier")
	later := p.customersIn(5, "Europe/Moscow", "later")
	p.customersIn(3, "Europe/Moscow", "other")
	now := time.Now()
	// Moved earlier: created for +8 s, edited to +2 s.
	a := p.mailout(now.Add(8*time.Second), now.Add(time.Hour), domain.Filter{Tags: []string{"earlier"}})
	aStart := time.Now().Add(2 * time.Second)
	a = p.reschedule(a.ID, aStart)
	// Moved later: created for +2 s, edited to +6 s.
	b := p.mailout(now.Add(2*time.Second), now.Add(time.Hour), domain.Filter{Tags: []string{"later"}})
	bStart := time.Now().Add(6 * time.Second)
	b = p.reschedule(b.ID, bStart)

	for _, c := range []struct {
		m        domain.Mailout
		start    time.Time
		matching map[int64]int64
	}{{a, aStart, earlier}, {b, bStart, later}} {
		p.settled(c.m.ID, 60*time.Second)
		p.startedOnceAt(c.m)
		if counts := p.verify(c.m, c.matching, 0); counts["sent"] != 5 {
			t.Errorf("mailout %d: messages %v, want 5 sent", c.m.ID, counts)
		}
		p.notBefore(c.m, c.start)
	}
}

func TestCancelledMailoutsStopSending(t *testing.T) {
	t.Parallel()
	const latency = 400 * time.Millisecond
	p := startPipeline(t, map[string]string{"LOG_LEVEL": "info"})
	p.setFaults(probesim.Faults{LatencyMS: int(latency / time.Millisecond)})
	p.customersIn(5, "Europe/Moscow", "future")
	running := p.customersIn(100, "Europe/Moscow", "running")
	ctx := context.Background()

	// Cancelled before its start: it never sends.
	now := time.Now()
	future := p.mailout(now.Add(3*time.Second), now.Add(time.Hour), domain.Filter{Tags: []string{"future"}})
	if _, err := postgres.NewMailouts(p.db).Cancel(ctx, future.ID); err != nil {
		t.Fatal(err)
	}

	// Cancelled while sending slowly: the rest is cancelled.
	m := p.startNow(domain.Filter{Tags: []string{"running"}})
	testkit.Eventually(p.t, "first deliveries", 60*time.Second, func() bool { return len(p.deliveriesOf(m.ID)) >= 16 })
	if _, err := postgres.NewMailouts(p.db).Cancel(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	cancelledAt := time.Now()
	// Once nothing is pending or sending no request can be under way.
	counts := p.settled(m.ID, 10*time.Second)
	if got := p.verify(m, running, 0); got["sent"]+got["cancelled"] != 100 || got["cancelled"] == 0 {
		t.Fatalf("messages %v, want each sent or cancelled, some cancelled", counts)
	}
	late := 0
	for _, d := range p.deliveriesOf(m.ID) {
		// A request already claimed when the cancel committed may still
		// start; it arrives well within one latency.
		if !d.At.Before(cancelledAt.Add(latency)) {
			late++
		}
	}
	t.Logf("cancelled mid-run: %v", counts)
	if late > 0 {
		t.Errorf("%d deliveries arrived more than %s after the cancel", late, latency)
	}
	if got, _ := postgres.NewMailouts(p.db).Get(ctx, m.ID); got.Status != domain.MailoutCancelled {
		t.Errorf("mailout %d is %s, want cancelled", m.ID, got.Status)
	}

	testkit.Eventually(p.t, "start event of the cancelled mailout dropped", 30*time.Second, func() bool {
		return len(p.entries("start event ignored", future.ID)) > 0
	})
	if msgs := p.messages(future.ID); len(msgs) != 0 {
		t.Errorf("the mailout cancelled before its start has %d messages", len(msgs))
	}
	if got, _ := postgres.NewMailouts(p.db).Get(ctx, future.ID); got.Status != domain.MailoutCancelled {
		t.Errorf("mailout %d is %s, want cancelled", future.ID, got.Status)
	}
}

func TestSendWindowAcrossTimeZones(t *testing.T) {
	t.Parallel()
	p := startPipeline(t, nil)
	moscow, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		t.Fatal(err)
	}
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	// From an hour before Moscow's current minute, for three hours. Tokyo is
	// six hours ahead of Moscow all year (neither has DST), so its clock is
	// past the window's end and opens again about 17 hours from now.
	local := now.In(moscow)
	open := (local.Hour()*60 + local.Minute() + 23*60) % (24 * 60)
	w := &domain.SendWindow{Start: domain.Clock(open), End: domain.Clock((open + 180) % (24 * 60))}
	opening := time.Date(now.In(tokyo).Year(), now.In(tokyo).Month(), now.In(tokyo).Day(), open/60, open%60, 0, 0, tokyo)
	for opening.Before(now) {
		opening = opening.AddDate(0, 0, 1)
	}
	inside := p.customersIn(5, "Europe/Moscow", "w")
	outside := p.customersIn(5, "Asia/Tokyo", "w")
	all := map[int64]int64{}
	for k, v := range inside {
		all[k] = v
	}
	for k, v := range outside {
		all[k] = v
	}
	create := func(end time.Time) domain.Mailout {
		m, err := postgres.NewMailouts(p.db).Create(context.Background(), domain.Mailout{Text: "Sale!", StartAt: now.Add(-time.Second),
			EndAt: end, SendWindow: w, Filter: domain.Filter{Tags: []string{"w"}}})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	deferred := create(now.Add(24 * time.Hour))
	expiring := create(now.Add(time.Hour)) // ends before Tokyo's opening

	p.settle(expiring.ID, 60*time.Second)
	if counts := p.verify(expiring, all, 0); counts["sent"] != 5 || counts["expired"] != 5 {
		t.Fatalf("mailout ending before Tokyo's opening: messages %v, want 5 sent, 5 expired", counts)
	}
	for _, msg := range p.messages(expiring.ID) {
		if _, far := outside[msg.Phone]; far && (msg.Status != "expired" || !strings.Contains(msg.LastError, "outside_window") || msg.Attempts != 0) {
			t.Errorf("Tokyo message %+v: want expired outside_window without an attempt", msg)
		}
	}

	testkit.Eventually(p.t, "Tokyo messages deferred", 60*time.Second, func() bool {
		deferredN, sent := 0, 0
		for _, msg := range p.messages(deferred.ID) {
			if _, far := outside[msg.Phone]; far && msg.Status == "pending" && msg.NextAttemptAt != nil {
				deferredN++
			}
			if msg.Status == "sent" {
				sent++
			}
		}
		return deferredN == 5 && sent == 5
	})
	for _, msg := range p.messages(deferred.ID) {
		_, far := outside[msg.Phone]
		switch {
		case !far && msg.Status != "sent":
			t.Errorf("Moscow message %+v: want sent", msg)
		case far && (msg.Attempts != 0 || msg.LastError != "window_wait"):
			t.Errorf("Tokyo message %+v: want deferred without an attempt", msg)
		case far && (msg.NextAttemptAt.Before(opening) || !msg.NextAttemptAt.Before(opening.Add(time.Second))):
			t.Errorf("Tokyo message %d deferred to %s, want Tokyo's next opening %s", msg.ID, msg.NextAttemptAt, opening)
		}
	}
	for _, d := range p.sim.Deliveries() {
		if _, far := outside[d.Phone]; far {
			t.Errorf("delivered to %d in Tokyo outside the window", d.Phone)
		}
	}
}

func TestShortDelayCreatedAfterLongOneStartsOnTime(t *testing.T) {
	t.Parallel()
	p := startPipeline(t, noReconcile())
	p.customersIn(3, "Europe/Moscow", "next-week")
	soon := p.customersIn(4, "Europe/Moscow", "soon")
	now := time.Now()
	week := p.mailout(now.Add(7*24*time.Hour), now.Add(8*24*time.Hour), domain.Filter{Tags: []string{"next-week"}})
	start := time.Now().Add(3 * time.Second)
	m := p.mailout(start, start.Add(time.Hour), domain.Filter{Tags: []string{"soon"}})
	p.settled(m.ID, 60*time.Second)
	if counts := p.verify(m, soon, 0); counts["sent"] != 4 {
		t.Fatalf("messages %v, want 4 sent", counts)
	}
	p.notBefore(m, start)
	for _, d := range p.deliveriesOf(m.ID) {
		if d.At.After(start.Add(30 * time.Second)) {
			t.Errorf("delivery at %s, %s after start_at: held back", d.At, d.At.Sub(start))
		}
	}
	if got, _ := postgres.NewMailouts(p.db).Get(context.Background(), week.ID); got.Status != domain.MailoutScheduled || len(p.messages(week.ID)) != 0 {
		t.Errorf("mailout starting next week is %s with %d messages, want scheduled without any", got.Status, len(p.messages(week.ID)))
	}
}
