package postgres_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"mailing/shared/domain"
	"mailing/shared/postgres"
	"mailing/shared/postgres/pgtest"
)

// sendStep claims a random batch of the mailout's messages at now and
// records a random mix of outcomes for the claimed ones, as workers do:
// sent, retries and failures with various reasons, expiries, claims left
// behind by a dead worker, and deliveries recorded late.
func sendStep(t *testing.T, db *postgres.DB, rnd *rand.Rand, ids []int64, batch int, now time.Time) {
	t.Helper()
	ctx := context.Background()
	pick := make([]int64, 0, batch)
	for range batch {
		pick = append(pick, ids[rnd.IntN(len(ids))])
	}
	jobs, err := postgres.NewSending(db).Claim(ctx, pick, now)
	if err != nil {
		t.Error(err)
		return
	}
	outs := make([]domain.Outcome, 0, len(jobs))
	for _, j := range jobs {
		if o, ok := randomOutcome(rnd, j.MessageID, now); ok {
			outs = append(outs, o)
		}
	}
	if _, err := postgres.NewSending(db).Record(ctx, outs); err != nil {
		t.Error(err)
	}
}

var (
	retryReasons  = []domain.Reason{"timeout", "http_5xx", "http_503", "connection", "http_429", "window_wait", "breaker_open", "auth_paused"}
	failReasons   = []domain.Reason{"rejected_4xx", "invalid_message", "bad_response", "code_nonzero", "unexpected_status", "timeout", "http_5xx", "http_408"}
	expireReasons = []domain.Reason{"expired", "outside_window", "timeout", "http_5xx"}
)

// randomOutcome decides one claimed message; false leaves it claimed, as
// a worker that died would.
func randomOutcome(rnd *rand.Rand, id int64, now time.Time) (domain.Outcome, bool) {
	at := now.Add(-time.Duration(rnd.IntN(7000)) * time.Millisecond)
	o := domain.Outcome{MessageID: id, CountAttempt: true, At: at}
	switch r := rnd.Float64(); {
	case r < 0.55:
		o.Status = domain.MessageSent
	case r < 0.60:
		// Recorded long after it was decided: its second is out of the
		// current rate's window but in the series.
		o.Status, o.At = domain.MessageSent, now.Add(-150*time.Second)
	case r < 0.75:
		o.Status, o.Reason = domain.MessagePending, retryReasons[rnd.IntN(len(retryReasons))]
		o.CountAttempt = o.Reason != "window_wait" && o.Reason != "breaker_open"
		o.NextAttemptAt = now.Add(time.Duration(5+rnd.IntN(25)) * time.Second)
	case r < 0.85:
		o.Status, o.Reason = domain.MessageFailed, failReasons[rnd.IntN(len(failReasons))]
	case r < 0.92:
		o.Status, o.Reason = domain.MessageExpired, expireReasons[rnd.IntN(len(expireReasons))]
	default:
		return o, false
	}
	o.Error = string(o.Reason)
	return o, true
}

func TestMailoutStatsFollowASendingRun(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	m, ids := bulkStartedMailout(t, db, 600)
	rnd := rand.New(rand.NewPCG(1, 2))
	now := time.Now().UTC().Truncate(time.Microsecond)
	checkAgainstTruth(t, db, m.ID, now)
	// 7 s steps over more than two rings of the per-second counters.
	for range 45 {
		now = now.Add(7 * time.Second)
		sendStep(t, db, rnd, ids, 40, now)
		if _, err := postgres.NewSending(db).ReleaseStaleClaims(ctx, now, 20*time.Second); err != nil {
			t.Fatal(err)
		}
		checkAgainstTruth(t, db, m.ID, now)
	}
	// The end passes: what is still pending expires, those waiting for
	// their window as outside_window.
	end := m.EndAt.Add(time.Second)
	if n, err := postgres.NewSending(db).ExpireOverdue(ctx, end); err != nil || n == 0 {
		t.Fatalf("expire: %d %v", n, err)
	}
	if _, err := postgres.NewSending(db).ReleaseStaleClaims(ctx, end, time.Second); err != nil {
		t.Fatal(err)
	}
	got := checkAgainstTruth(t, db, m.ID, now)
	if got.Messages.Pending != 0 || got.Messages.Sending != 0 || got.Progress.Ratio != 1 {
		t.Fatalf("after the end: %+v", got.Messages)
	}
	for name, n := range map[string]int64{"sent": got.Messages.Sent, "outside_window": got.Failures.OutsideWindow,
		"expired": got.Failures.Expired, "rejected_4xx": got.Failures.Rejected4xx, "bad_response": got.Failures.BadResponse} {
		if n == 0 {
			t.Errorf("the run produced no %s messages; the test lost its point", name)
		}
	}
}

func TestMailoutStatsExactWithConcurrentWriters(t *testing.T) {
	db := pgtest.Open(t)
	m, ids := bulkStartedMailout(t, db, 800)
	var writers sync.WaitGroup
	for w := range 4 {
		writers.Add(1)
		go func() {
			defer writers.Done()
			rnd := rand.New(rand.NewPCG(uint64(w), 7))
			for range 30 {
				sendStep(t, db, rnd, ids, 30, time.Now().UTC())
			}
		}()
	}
	stop := make(chan struct{})
	var reader sync.WaitGroup
	reader.Add(1)
	go func() {
		defer reader.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			// Rows change under the reader: every read must still be one
			// consistent snapshot.
			st, err := postgres.NewStats(db).MailoutStats(context.Background(), m.ID, time.Now())
			if err != nil {
				t.Error(err)
				return
			}
			var delivered int64
			for _, d := range st.Deliveries {
				delivered += d.Delivered
			}
			if st.Messages.Total != int64(len(ids)) || delivered != st.Messages.Sent ||
				st.Failures.Total != st.Messages.Failed+st.Messages.Expired {
				t.Errorf("inconsistent snapshot: %+v deliveries %d failures %+v", st.Messages, delivered, st.Failures)
				return
			}
		}
	}()
	writers.Wait()
	close(stop)
	reader.Wait()
	got := checkAgainstTruth(t, db, m.ID, time.Now())
	if got.Messages.Sent == 0 || got.Rate.Current == 0 {
		t.Fatalf("nothing delivered: %+v", got)
	}
}

// Writers on different connections add to different counter slots; the
// statistics are the sums.
func TestCountersSumAcrossSlots(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	m, ids := bulkStartedMailout(t, db, 20)
	bySlot := map[int64]func(q string, args ...any){}
	for range 15 {
		conn, err := db.SQL().Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var pid int64
		if err := conn.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
			t.Fatal(err)
		}
		// Kept open until the end, so the pool hands out another one.
		t.Cleanup(func() { _ = conn.Close() })
		if _, ok := bySlot[pid%8]; !ok {
			bySlot[pid%8] = func(q string, args ...any) {
				t.Helper()
				if _, err := conn.ExecContext(ctx, q, args...); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
		}
		if len(bySlot) == 2 {
			break
		}
	}
	if len(bySlot) < 2 {
		t.Fatal("could not get connections in two slots")
	}
	var execs []func(string, ...any)
	for _, f := range bySlot {
		execs = append(execs, f)
	}
	now := time.Now().UTC()
	// Sent on one slot, moved back and forth on the other.
	execs[0](`UPDATE messages SET status = 'sent', attempts = 1, sent_at = $2 WHERE id = ANY ($1)`, ids[:10], now)
	execs[1](`UPDATE messages SET status = 'failed', reason = 'timeout', attempts = 2 WHERE id = ANY ($1)`, ids[5:15])
	execs[0](`UPDATE messages SET status = 'sent', reason = '', sent_at = $2 WHERE id = ANY ($1)`, ids[12:14], now.Add(-time.Minute))
	execs[1](`DELETE FROM messages WHERE id = $1`, ids[19])
	checkAgainstTruth(t, db, m.ID, now)
	var slots int
	if err := db.SQL().QueryRow(`SELECT count(DISTINCT slot) FROM mailout_message_counts WHERE mailout_id = $1`, m.ID).Scan(&slots); err != nil || slots < 2 {
		t.Fatalf("counter rows in %d slots (%v)", slots, err)
	}
}

func TestMailoutStatsOfScheduledAndMissingMailouts(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	m, err := postgres.NewMailouts(db).Create(ctx, domain.Mailout{Text: "later", StartAt: now.Add(time.Hour), EndAt: now.Add(2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	st, err := postgres.NewStats(db).MailoutStats(ctx, m.ID, now)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != domain.MailoutScheduled || st.Messages.Total != 0 || st.StartedAt != nil || st.FirstDeliveryAt != nil ||
		st.Rate != (domain.Rate{}) || len(st.Deliveries) != 0 || st.Deliveries == nil || st.Attempts == nil || !st.StartAt.Equal(m.StartAt) {
		t.Fatalf("scheduled mailout: %+v", st)
	}
	if _, err := postgres.NewStats(db).MailoutStats(ctx, m.ID+1, now); domain.ErrorCode(err) != domain.CodeNotFound {
		t.Fatalf("missing mailout: %v", err)
	}
}

// Outcomes recorded out of order (a slow batch after a quick one) still
// give the earliest and latest delivery times.
func TestDeliveryTimesFollowOutOfOrderOutcomes(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	m, ids := startedMailout(t, db, 3, nil)
	if _, err := postgres.NewSending(db).Claim(ctx, ids, time.Now()); err != nil {
		t.Fatal(err)
	}
	base := time.Now().UTC().Truncate(time.Minute).Add(30 * time.Second)
	for i, at := range []time.Time{base, base.Add(-20 * time.Second), base.Add(10 * time.Second)} {
		if _, err := postgres.NewSending(db).Record(ctx, []domain.Outcome{{MessageID: ids[i], Status: domain.MessageSent, CountAttempt: true, At: at}}); err != nil {
			t.Fatal(err)
		}
		checkAgainstTruth(t, db, m.ID, base)
	}
	got := checkAgainstTruth(t, db, m.ID, base)
	if !got.FirstDeliveryAt.Equal(base.Add(-20*time.Second)) || !got.LastDeliveryAt.Equal(base.Add(10*time.Second)) {
		t.Fatalf("first %v, last %v", got.FirstDeliveryAt, got.LastDeliveryAt)
	}
}
