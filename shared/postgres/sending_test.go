package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"mailing/shared/domain"
	"mailing/shared/postgres"
	"mailing/shared/postgres/pgtest"
)

// startedMailout creates n customers and a running mailout over them.
func startedMailout(t *testing.T, db *postgres.DB, n int, window *domain.SendWindow) (domain.Mailout, []int64) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		p := "7916" + pad7(i)
		if _, err := postgres.NewCustomers(db).Create(ctx, domain.Customer{Phone: p, PhoneCode: "916", Timezone: "Asia/Tokyo"}); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	m, err := postgres.NewMailouts(db).Create(ctx, domain.Mailout{Text: "hi", StartAt: now.Add(-time.Minute), EndAt: now.Add(time.Hour), SendWindow: window})
	if err != nil {
		t.Fatal(err)
	}
	res, err := postgres.NewSending(db).Start(ctx, m.ID, m.Version, now)
	if err != nil || res.Outcome != domain.StartStarted {
		t.Fatalf("start: %+v %v", res, err)
	}
	ids, err := postgres.NewSending(db).PendingMessageIDs(ctx, m.ID, 0, 1000)
	if err != nil || len(ids) != n {
		t.Fatalf("pending: %d %v", len(ids), err)
	}
	return m, ids
}

func pad7(i int) string {
	s := "0000000" + itoa(i)
	return s[len(s)-7:]
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

func TestClaimIsExclusiveUnderConcurrency(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	w := &domain.SendWindow{Start: 9 * 60, End: 21 * 60}
	m, ids := startedMailout(t, db, 50, w)
	var mu sync.Mutex
	claimed := map[int64]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			jobs, err := postgres.NewSending(db).Claim(ctx, ids, time.Now())
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, j := range jobs {
				claimed[j.MessageID]++
				if j.MailoutID != m.ID || j.Phone == "" || j.Timezone != "Asia/Tokyo" || j.Text != "hi" || j.Window == nil || *j.Window != *w {
					t.Errorf("job lacks data: %+v", j)
				}
			}
		}()
	}
	wg.Wait()
	if len(claimed) != len(ids) {
		t.Fatalf("claimed %d of %d", len(claimed), len(ids))
	}
	for id, n := range claimed {
		if n != 1 {
			t.Fatalf("message %d claimed %d times", id, n)
		}
	}
}

func TestOutcomesAndRepairs(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	m, ids := startedMailout(t, db, 5, nil)
	now := time.Now().UTC()
	if _, err := postgres.NewSending(db).Claim(ctx, ids, now); err != nil {
		t.Fatal(err)
	}
	retryAt := now.Add(time.Minute)
	changed, err := postgres.NewSending(db).Record(ctx, []domain.Outcome{
		{MessageID: ids[0], Status: domain.MessageSent, CountAttempt: true, At: now},
		{MessageID: ids[1], Status: domain.MessagePending, CountAttempt: true, NextAttemptAt: retryAt, Error: "http_500", At: now},
		{MessageID: ids[2], Status: domain.MessageFailed, CountAttempt: true, Error: "rejected_4xx: 400", At: now},
		{MessageID: ids[3], Status: domain.MessagePending, NextAttemptAt: retryAt, Error: "outside_window", At: now},
	})
	if err != nil || changed != 4 {
		t.Fatalf("record: %d %v", changed, err)
	}
	// An outcome for a message no longer in sending is dropped.
	if n, _ := postgres.NewSending(db).Record(ctx, []domain.Outcome{{MessageID: ids[0], Status: domain.MessageFailed, At: now}}); n != 0 {
		t.Fatalf("outcome applied to a final message")
	}
	check := func(id int64, status domain.MessageStatus, attempts int) domain.Message {
		t.Helper()
		msg, err := postgres.NewStats(db).Message(ctx, id)
		if err != nil || msg.Status != status || msg.Attempts != attempts {
			t.Fatalf("message %d: %+v %v, want %s after %d attempts", id, msg, err, status, attempts)
		}
		return msg
	}
	if sent := check(ids[0], domain.MessageSent, 1); sent.SentAt == nil {
		t.Fatal("sent_at not set")
	}
	check(ids[1], domain.MessagePending, 1)
	check(ids[2], domain.MessageFailed, 1)
	check(ids[3], domain.MessagePending, 0)
	// A retry is not claimable before its time.
	if jobs, _ := postgres.NewSending(db).Claim(ctx, []int64{ids[1]}, now); len(jobs) != 0 {
		t.Fatal("claimed a message before its retry time")
	}
	// ids[4] is stuck in sending: its worker died.
	if refs, err := postgres.NewSending(db).ReleaseStaleClaims(ctx, now.Add(time.Hour/2), time.Minute); err != nil || len(refs) != 1 || refs[0].MessageID != ids[4] {
		t.Fatalf("release: %v %v, want message %d back to pending", refs, err, ids[4])
	}
	check(ids[4], domain.MessagePending, 1)
	lost, err := postgres.NewSending(db).LostJobs(ctx, now.Add(40*time.Minute), time.Minute, 10)
	if err != nil || len(lost) != 3 {
		t.Fatalf("lost jobs: %v %v", lost, err)
	}
	if again, _ := postgres.NewSending(db).LostJobs(ctx, now.Add(40*time.Minute), time.Minute, 10); len(again) != 0 {
		t.Fatalf("lost jobs picked twice within the grace period: %v", again)
	}
	if n, _ := postgres.NewSending(db).ExpireOverdue(ctx, m.EndAt); n != 3 {
		t.Fatalf("expired %d, want 3", n)
	}
	done, err := postgres.NewSending(db).FinishMailouts(ctx, m.EndAt)
	if err != nil || len(done) != 1 || done[0] != m.ID {
		t.Fatalf("finish: %v %v", done, err)
	}
	got, _ := postgres.NewMailouts(db).Get(ctx, m.ID)
	if got.Status != domain.MailoutFinished {
		t.Fatalf("status %s", got.Status)
	}
}
