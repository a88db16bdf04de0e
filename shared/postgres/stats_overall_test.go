package postgres_test

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"mailing/shared/domain"
	"mailing/shared/postgres"
	"mailing/shared/postgres/pgtest"
	"mailing/shared/postgres/statstruth"
)

// overallFixture creates mailouts in every status, created on different
// days, with messages in every status, and returns their ids by status.
func overallFixture(t *testing.T, db *postgres.DB) (map[domain.MailoutStatus][]int64, time.Time) {
	t.Helper()
	ctx := context.Background()
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	now := time.Now().UTC()
	byStatus := map[domain.MailoutStatus][]int64{}
	statuses := []domain.MailoutStatus{domain.MailoutScheduled, domain.MailoutRunning, domain.MailoutFinished,
		domain.MailoutCancelled, domain.MailoutRunning, domain.MailoutFinished}
	for i, st := range statuses {
		m, err := postgres.NewMailouts(db).Create(ctx, domain.Mailout{Text: "m", StartAt: now.Add(time.Hour), EndAt: now.Add(2 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		byStatus[st] = append(byStatus[st], m.ID)
		exec(t, db, `UPDATE mailouts SET status = $2, created_at = $3 WHERE id = $1`, m.ID, string(st), day.AddDate(0, 0, i))
		if st == domain.MailoutScheduled {
			continue
		}
		// (i+1)*10 messages spread over every status; a few sent ones
		// with delivery times.
		exec(t, db, `INSERT INTO messages (mailout_id, customer_id, status, attempts, reason, sent_at)
			SELECT $1, g, (ARRAY['pending','sending','sent','failed','expired','cancelled'])[1 + g % 6], g % 3,
			       CASE WHEN g % 6 = 3 THEN 'timeout' ELSE '' END,
			       CASE WHEN g % 6 = 2 THEN $3::timestamptz END
			FROM generate_series(1, $2::int) g`, m.ID, (i+1)*10, now)
	}
	return byStatus, day
}

func exec(t *testing.T, db *postgres.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.SQL().Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// overallTruth counts mailouts and messages straight from the tables for
// the mailouts selected by where.
func overallTruth(t *testing.T, db *postgres.DB, where string, args ...any) (map[string]int64, map[string]int64, map[int64]map[string]int64) {
	t.Helper()
	mailouts, messages := map[string]int64{}, map[string]int64{}
	perMailout := map[int64]map[string]int64{}
	scanPairs(t, db, `SELECT status, count(*) FROM mailouts m WHERE `+where+` GROUP BY status`, args,
		func(k string, n int64) { mailouts[k] = n })
	scanPairs(t, db, `SELECT x.status, count(*) FROM messages x JOIN mailouts m ON m.id = x.mailout_id WHERE `+where+` GROUP BY x.status`, args,
		func(k string, n int64) { messages[k] = n })
	rows, err := db.SQL().Query(`SELECT m.id, x.status, count(x.id) FROM mailouts m LEFT JOIN messages x ON x.mailout_id = m.id
		WHERE `+where+` GROUP BY m.id, x.status`, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, n int64
		var status *string
		if err := rows.Scan(&id, &status, &n); err != nil {
			t.Fatal(err)
		}
		if perMailout[id] == nil {
			perMailout[id] = map[string]int64{}
		}
		if status != nil {
			perMailout[id][*status] = n
		}
	}
	return mailouts, messages, perMailout
}

func TestMessageStatsMatchTheTables(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	byStatus, day := overallFixture(t, db)
	from, to := day.AddDate(0, 0, 1), day.AddDate(0, 0, 4)
	cases := []struct {
		name  string
		f     domain.StatsFilter
		where string
		args  []any
	}{
		{"all", domain.StatsFilter{}, "TRUE", nil},
		{"running", domain.StatsFilter{Statuses: []domain.MailoutStatus{domain.MailoutRunning}}, "m.status = 'running'", nil},
		{"finished or cancelled", domain.StatsFilter{Statuses: []domain.MailoutStatus{domain.MailoutFinished, domain.MailoutCancelled}},
			"m.status IN ('finished', 'cancelled')", nil},
		{"created range", domain.StatsFilter{CreatedFrom: &from, CreatedTo: &to}, "m.created_at >= $1 AND m.created_at < $2", []any{from, to}},
		{"from only, running", domain.StatsFilter{CreatedFrom: &to, Statuses: []domain.MailoutStatus{domain.MailoutRunning}},
			"m.created_at >= $1 AND m.status = 'running'", []any{to}},
		{"nothing", domain.StatsFilter{CreatedTo: &day}, "m.created_at < $1", []any{day}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantMailouts, wantMessages, perMailout := overallTruth(t, db, c.where, c.args...)
			var seen []int64
			var after int64
			for pages := 0; ; pages++ {
				if pages > 10 {
					t.Fatal("pagination does not end")
				}
				total, page, err := postgres.NewStats(db).MessageStats(ctx, c.f, domain.Page{Limit: 2, After: after})
				if err != nil {
					t.Fatal(err)
				}
				if g := countsMap(total.Mailouts); !reflect.DeepEqual(g, statstruth.NonZero(wantMailouts)) {
					t.Fatalf("mailouts %v, want %v", g, wantMailouts)
				}
				if g := countsMap(total.Messages); !reflect.DeepEqual(g, statstruth.NonZero(wantMessages)) {
					t.Fatalf("messages %v, want %v", g, wantMessages)
				}
				for _, s := range page {
					seen = append(seen, s.ID)
					if g := countsMap(s.Messages); !reflect.DeepEqual(g, statstruth.NonZero(perMailout[s.ID])) || s.Audience != s.Messages.Total {
						t.Fatalf("mailout %d: %v (audience %d), want %v", s.ID, g, s.Audience, perMailout[s.ID])
					}
				}
				if len(page) < 2 {
					break
				}
				after = page[len(page)-1].ID
			}
			want := make([]int64, 0, len(perMailout))
			for id := range perMailout {
				want = append(want, id)
			}
			slices.Sort(want)
			if !slices.Equal(seen, want) {
				t.Fatalf("pages gave %v, want %v", seen, want)
			}
		})
	}
	// The summary carries the mailout's own fields.
	_, page, err := postgres.NewStats(db).MessageStats(ctx, domain.StatsFilter{Statuses: []domain.MailoutStatus{domain.MailoutScheduled}}, domain.Page{Limit: 10})
	if err != nil || len(page) != 1 || page[0].ID != byStatus[domain.MailoutScheduled][0] || page[0].Status != domain.MailoutScheduled ||
		page[0].Audience != 0 || !page[0].CreatedAt.Equal(day) || page[0].StartAt.IsZero() {
		t.Fatalf("scheduled summary: %+v %v", page, err)
	}
}

func TestMailoutMessagesPagesInIDOrder(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	byStatus, _ := overallFixture(t, db)
	mid := byStatus[domain.MailoutRunning][1]
	var want []int64
	scanIDs := func(q string, args ...any) []int64 {
		rows, err := db.SQL().Query(q, args...)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		return ids
	}
	want = scanIDs(`SELECT id FROM messages WHERE mailout_id = $1 ORDER BY id`, mid)
	walk := func(mid int64, status domain.MessageStatus) []int64 {
		var got []int64
		var after int64
		for pages := 0; pages < 500; pages++ {
			list, err := postgres.NewStats(db).MailoutMessages(ctx, mid, status, domain.Page{Limit: 7, After: after})
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range list {
				if m.MailoutID != mid || (status != "" && m.Status != status) {
					t.Fatalf("foreign message %+v", m)
				}
				got = append(got, m.ID)
			}
			if len(list) < 7 {
				return got
			}
			after = list[len(list)-1].ID
		}
		t.Fatal("pagination does not end")
		return nil
	}
	if got := walk(mid, ""); !slices.Equal(got, want) {
		t.Fatalf("all messages: %v, want %v", got, want)
	}
	sent := scanIDs(`SELECT id FROM messages WHERE mailout_id = $1 AND status = 'sent' ORDER BY id`, mid)
	if got := walk(mid, domain.MessageSent); len(sent) == 0 || !slices.Equal(got, sent) {
		t.Fatalf("sent messages: %v, want %v", got, sent)
	}

	// Messages written one by one among another mailout's: the mailout's
	// ids are spread thin and the page is merged from the status index.
	sparse := byStatus[domain.MailoutCancelled][0]
	crowd := byStatus[domain.MailoutFinished][0]
	for i := range 12 {
		exec(t, db, `INSERT INTO messages (mailout_id, customer_id, status) VALUES ($1, $2, $3)`,
			sparse, 1000+i, []string{"sent", "pending", "failed"}[i%3])
		exec(t, db, `INSERT INTO messages (mailout_id, customer_id) SELECT $1, 2000 + 100 * $2::int + g FROM generate_series(1, 100) g`, crowd, i)
	}
	want = scanIDs(`SELECT id FROM messages WHERE mailout_id = $1 ORDER BY id`, sparse)
	if got := walk(sparse, ""); len(want) < 12 || !slices.Equal(got, want) {
		t.Fatalf("sparse mailout: %v, want %v", got, want)
	}
	want = scanIDs(`SELECT id FROM messages WHERE mailout_id = $1 ORDER BY id`, crowd)
	if got := walk(crowd, ""); !slices.Equal(got, want) {
		t.Fatalf("crowded mailout: %v, want %v", got, want)
	}
	if _, err := postgres.NewStats(db).MailoutMessages(ctx, mid+1000, "", domain.Page{Limit: 5}); domain.ErrorCode(err) != domain.CodeNotFound {
		t.Fatalf("missing mailout: %v", err)
	}
	if list, err := postgres.NewStats(db).MailoutMessages(ctx, byStatus[domain.MailoutScheduled][0], "", domain.Page{Limit: 5}); err != nil || len(list) != 0 {
		t.Fatalf("mailout without messages: %v %v", list, err)
	}
}
