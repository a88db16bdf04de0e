package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"mailing/shared/domain"
	"mailing/shared/postgres"
	"mailing/shared/postgres/pgtest"
)

func TestStartMailoutFansOutOnceAndOnlyWhenDue(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	for _, p := range []string{"79160000001", "79160000002", "79030000003"} {
		if _, err := postgres.NewCustomers(db).Create(ctx, domain.Customer{Phone: p, PhoneCode: domain.PhoneCodeOf(p), Timezone: "UTC"}); err != nil {
			t.Fatal(err)
		}
	}
	m := newMailout(t, db, domain.Filter{PhoneCodes: []string{"916"}})
	early := m.StartAt.Add(-time.Second)
	res, err := postgres.NewSending(db).Start(ctx, m.ID, m.Version, early)
	if err != nil || res.Outcome != domain.StartTooEarly {
		t.Fatalf("before start_at: %+v %v", res, err)
	}
	res, err = postgres.NewSending(db).Start(ctx, m.ID, m.Version+1, m.StartAt)
	if err != nil || res.Outcome != domain.StartStale || res.Created != 0 {
		t.Fatalf("event of another version: %+v %v", res, err)
	}
	res, err = postgres.NewSending(db).Start(ctx, m.ID, m.Version, m.StartAt)
	if err != nil || res.Outcome != domain.StartStarted || res.Created != 2 || res.Existing {
		t.Fatalf("start: %+v %v", res, err)
	}
	again, err := postgres.NewSending(db).Start(ctx, m.ID, m.Version, m.StartAt.Add(time.Second))
	if err != nil || again.Outcome != domain.StartStarted || again.Created != 0 || !again.Existing {
		t.Fatalf("redelivered start: %+v %v", again, err)
	}
	got, _ := postgres.NewMailouts(db).Get(ctx, m.ID)
	if got.Status != domain.MailoutRunning {
		t.Fatalf("status %s", got.Status)
	}
	ids, err := postgres.NewSending(db).PendingMessageIDs(ctx, m.ID, 0, 1)
	if err != nil || len(ids) != 1 {
		t.Fatalf("first page: %v %v", ids, err)
	}
	rest, err := postgres.NewSending(db).PendingMessageIDs(ctx, m.ID, ids[0], 10)
	if err != nil || len(rest) != 1 || rest[0] <= ids[0] {
		t.Fatalf("second page: %v %v", rest, err)
	}
}

func TestStartMailoutStaleAndExpired(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	m := newMailout(t, db, domain.Filter{})
	res, err := postgres.NewSending(db).Start(ctx, m.ID, m.Version+1, m.StartAt)
	if err != nil || res.Outcome != domain.StartStale {
		t.Fatalf("newer version in event: %+v %v", res, err)
	}
	res, err = postgres.NewSending(db).Start(ctx, 999999, 1, m.StartAt)
	if err != nil || res.Outcome != domain.StartStale {
		t.Fatalf("missing mailout: %+v %v", res, err)
	}
	res, err = postgres.NewSending(db).Start(ctx, m.ID, m.Version, m.EndAt)
	if err != nil || res.Outcome != domain.StartExpired {
		t.Fatalf("at end_at: %+v %v", res, err)
	}
	got, _ := postgres.NewMailouts(db).Get(ctx, m.ID)
	if got.Status != domain.MailoutFinished {
		t.Fatalf("expired start left status %s", got.Status)
	}
	c := newMailout(t, db, domain.Filter{})
	if _, err := postgres.NewMailouts(db).Cancel(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	cur, _ := postgres.NewMailouts(db).Get(ctx, c.ID)
	res, err = postgres.NewSending(db).Start(ctx, c.ID, cur.Version, c.StartAt)
	if err != nil || res.Outcome != domain.StartStale {
		t.Fatalf("cancelled: %+v %v", res, err)
	}
	due, err := postgres.NewSending(db).DueMailouts(ctx, c.StartAt, 10)
	if err != nil || len(due) != 0 {
		t.Fatalf("no scheduled mailout is due: %v %v", due, err)
	}
}

func TestRelayOutboxMarksPublishedOnlyOnSuccess(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	newMailout(t, db, domain.Filter{})
	newMailout(t, db, domain.Filter{})
	fail := func(context.Context, []postgres.OutboxEvent) error { return context.DeadlineExceeded }
	if _, err := postgres.NewOutbox(db).Relay(ctx, 10, 0, fail); err == nil {
		t.Fatal("publish failure not reported")
	}
	n, _, err := postgres.NewOutbox(db).Backlog(ctx)
	if err != nil || n != 2 {
		t.Fatalf("backlog after failure: %d %v", n, err)
	}
	var got []postgres.OutboxEvent
	sent, err := postgres.NewOutbox(db).Relay(ctx, 10, 0, func(_ context.Context, ev []postgres.OutboxEvent) error {
		got = ev
		return nil
	})
	if err != nil || sent != 2 || len(got) != 2 || got[0].Topic != domain.TopicMailoutStart || got[0].ID >= got[1].ID {
		t.Fatalf("relay: %d %v %+v", sent, err, got)
	}
	n, _, _ = postgres.NewOutbox(db).Backlog(ctx)
	if n != 0 {
		t.Fatalf("backlog after success: %d", n)
	}
	again, err := postgres.NewOutbox(db).Relay(ctx, 10, 0, fail)
	if err != nil || again != 0 {
		t.Fatalf("published events relayed again: %d %v", again, err)
	}
}

func TestMailoutStartAt(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	start := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	m, err := postgres.NewMailouts(db).Create(ctx, domain.Mailout{Text: "hi", StartAt: start, EndAt: start.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := postgres.NewSending(db).MailoutStartAt(ctx, m.ID)
	if err != nil || !got.Equal(start) {
		t.Fatalf("MailoutStartAt = %v, %v; want %v", got, err, start)
	}
	var de *domain.Error
	if _, err := postgres.NewSending(db).MailoutStartAt(ctx, m.ID+1000); !errors.As(err, &de) || de.Code != domain.CodeNotFound {
		t.Fatalf("missing mailout: %v, want not found", err)
	}
}
