package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"mailing/shared/domain"
	"mailing/shared/postgres"
	"mailing/shared/postgres/pgtest"
)

func newMailout(t *testing.T, db *postgres.DB, f domain.Filter) domain.Mailout {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Microsecond)
	m, err := postgres.NewMailouts(db).Create(context.Background(), domain.Mailout{
		Text: "hello", StartAt: now.Add(time.Hour), EndAt: now.Add(24 * time.Hour), Filter: f,
	})
	if err != nil {
		t.Fatalf("create mailout: %v", err)
	}
	return m
}

// The audience the API counts is exactly the set the fan-out inserts.
func TestAudienceIsWhatFanOutInserts(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	type seed struct {
		phone string
		tags  []string
	}
	ids := map[string]int64{}
	for _, s := range []seed{
		{"79160000001", []string{"vip"}},
		{"79160000002", []string{"vip", "new"}},
		{"79030000003", []string{"new"}},
		{"79030000004", nil},
		{"79250000005", []string{"vip"}},
	} {
		c, err := postgres.NewCustomers(db).Create(ctx, domain.Customer{Phone: s.phone, PhoneCode: domain.PhoneCodeOf(s.phone), Timezone: "UTC", Tags: s.tags})
		if err != nil {
			t.Fatal(err)
		}
		ids[s.phone[8:]] = c.ID
	}
	cases := []struct {
		filter domain.Filter
		want   []string // last three digits of the phones
	}{
		{domain.Filter{}, []string{"001", "002", "003", "004", "005"}},
		{domain.Filter{Tags: []string{"vip"}}, []string{"001", "002", "005"}},
		{domain.Filter{PhoneCodes: []string{"903"}}, []string{"003", "004"}},
		{domain.Filter{Tags: []string{"new", "vip"}, PhoneCodes: []string{"916", "903"}}, []string{"001", "002", "003"}},
		{domain.Filter{Tags: []string{"nobody"}}, nil},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%v/%v", tc.filter.Tags, tc.filter.PhoneCodes), func(t *testing.T) {
			m := newMailout(t, db, tc.filter)
			if m.Audience != int64(len(tc.want)) {
				t.Fatalf("audience %d, want %d", m.Audience, len(tc.want))
			}
			n, err := postgres.NewSending(db).FanOutForTest(ctx, m.ID)
			if err != nil || n != m.Audience {
				t.Fatalf("fan-out inserted %d (%v), audience %d", n, err, m.Audience)
			}
			if again, err := postgres.NewSending(db).FanOutForTest(ctx, m.ID); err != nil || again != 0 {
				t.Fatalf("second fan-out inserted %d (%v): it must be idempotent", again, err)
			}
			msgs, err := postgres.NewStats(db).Messages(ctx, domain.MessageFilter{MailoutID: m.ID}, domain.Page{Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			var got, want []int64
			for _, msg := range msgs {
				got = append(got, msg.CustomerID)
				if msg.Status != domain.MessagePending {
					t.Fatalf("new message %+v is not pending", msg)
				}
			}
			for _, w := range tc.want {
				want = append(want, ids[w])
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("fan-out chose customers %v, want %v", got, want)
			}
		})
	}
}

// Concurrent edits serialise on the row lock: no lost update, one event
// per version.
func TestConcurrentMailoutEdits(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	m := newMailout(t, db, domain.Filter{})
	const n = 10
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := postgres.NewMailouts(db).Update(ctx, m.ID, func(cur domain.Mailout) (domain.Mailout, error) {
				cur.Text = fmt.Sprintf("edit %d", i)
				cur.Filter.Tags = append(slices.Clone(cur.Filter.Tags), fmt.Sprintf("t%d", i))
				return cur, nil
			})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := postgres.NewMailouts(db).Get(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != n+1 || len(got.Filter.Tags) != n {
		t.Fatalf("version %d with %d tags, want %d and %d", got.Version, len(got.Filter.Tags), n+1, n)
	}
	rows, err := db.SQL().Query(`SELECT (payload->>'version')::bigint FROM outbox WHERE topic = 'mailout.start' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var versions []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		versions = append(versions, v)
	}
	for i, v := range versions {
		if v != int64(i+1) {
			t.Fatalf("outbox versions %v, want 1..%d in order", versions, n+1)
		}
	}
	if len(versions) != n+1 {
		t.Fatalf("outbox versions %v, want 1..%d", versions, n+1)
	}
}

func TestMailoutStoreErrors(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	for name, err := range map[string]error{
		"get":    func() error { _, err := postgres.NewMailouts(db).Get(ctx, 404); return err }(),
		"cancel": func() error { _, err := postgres.NewMailouts(db).Cancel(ctx, 404); return err }(),
		"delete": postgres.NewMailouts(db).Delete(ctx, 404),
		"update": func() error {
			_, err := postgres.NewMailouts(db).Update(ctx, 404, func(m domain.Mailout) (domain.Mailout, error) { return m, nil })
			return err
		}(),
		"message": func() error { _, err := postgres.NewStats(db).Message(ctx, 404); return err }(),
	} {
		if domain.ErrorCode(err) != domain.CodeNotFound {
			t.Errorf("%s of a missing row: %v, want not found", name, err)
		}
	}
	m := newMailout(t, db, domain.Filter{})
	_, err := postgres.NewMailouts(db).Update(ctx, m.ID, func(cur domain.Mailout) (domain.Mailout, error) {
		cur.Text = "changed"
		return cur, domain.Errorf(domain.CodeConflict, "no")
	})
	if domain.ErrorCode(err) != domain.CodeConflict {
		t.Fatalf("change error not passed through: %v", err)
	}
	if got, _ := postgres.NewMailouts(db).Get(ctx, m.ID); got.Text != "hello" || got.Version != 1 {
		t.Fatalf("a failed change was written: %+v", got)
	}
}
