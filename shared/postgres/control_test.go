package postgres_test

import (
	"context"
	"testing"
	"time"

	"mailing/shared/postgres"
	"mailing/shared/postgres/pgtest"
)

func parkedCount(t *testing.T, db *postgres.DB, mailoutID int64) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRow(`SELECT count(*) FROM messages WHERE mailout_id = $1 AND parked`, mailoutID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Jobs of a paused mailout park their messages in the claim; resumed, each
// parked message is unparked once, for one job; a page that could not be
// published is parked again.
func TestParkingAcrossPauseAndResume(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	m, ids := bulkStartedMailout(t, db, 10)
	s, mailouts := postgres.NewSending(db), postgres.NewMailouts(db)
	if _, err := mailouts.Pause(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	claimed, err := s.Claim(ctx, ids, time.Now())
	if err != nil || len(claimed) != 0 || parkedCount(t, db, m.ID) != 10 {
		t.Fatalf("claims of a paused mailout: %d claimed (%v), %d parked", len(claimed), err, parkedCount(t, db, m.ID))
	}
	if got, _ := s.UnparkJobs(ctx, m.ID, 100); len(got) != 0 {
		t.Fatalf("unparked %d while paused", len(got))
	}
	if running, _ := s.ParkedRunning(ctx, 10); len(running) != 0 {
		t.Fatalf("a paused mailout listed for dispatch: %v", running)
	}
	if _, err := mailouts.Resume(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	if running, _ := s.ParkedRunning(ctx, 10); len(running) != 1 || running[0] != m.ID {
		t.Fatalf("running mailouts with parked messages: %v", running)
	}
	first, err := s.UnparkJobs(ctx, m.ID, 4)
	if err != nil || len(first) != 4 {
		t.Fatalf("first page: %v %v", first, err)
	}
	rest, err := s.UnparkJobs(ctx, m.ID, 100)
	if err != nil || len(rest) != 6 || rest[0] <= first[3] {
		t.Fatalf("the rest: %v %v", rest, err)
	}
	if again, _ := s.UnparkJobs(ctx, m.ID, 100); len(again) != 0 {
		t.Fatalf("unparked twice: %v", again)
	}
	if err := s.Repark(ctx, first); err != nil || parkedCount(t, db, m.ID) != 4 {
		t.Fatalf("repark: %v, %d parked", err, parkedCount(t, db, m.ID))
	}
	claimed, err = s.Claim(ctx, ids, time.Now())
	if err != nil || len(claimed) != 10 {
		t.Fatalf("claims once resumed: %d (%v)", len(claimed), err)
	}
}
