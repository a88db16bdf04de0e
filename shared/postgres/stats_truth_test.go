package postgres_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"mailing/shared/domain"
	"mailing/shared/postgres"
	"mailing/shared/postgres/statstruth"
)

// truth is a mailout's statistics computed straight from its messages,
// independently of the counters and of the store's grouping code.
type truth struct {
	byStatus   map[string]int64
	failures   map[string]int64
	retrying   map[string]int64
	attempts   map[int]int64
	minutes    map[time.Time]int64
	first      *time.Time
	last       *time.Time
	lastMinute int64 // sent in the 60 whole seconds up to now's
}

func groundTruth(t *testing.T, db *postgres.DB, mailoutID int64, now time.Time) truth {
	t.Helper()
	tr := truth{byStatus: map[string]int64{}, failures: map[string]int64{}, retrying: map[string]int64{},
		attempts: map[int]int64{}, minutes: map[time.Time]int64{}}
	scanPairs(t, db, `SELECT status, count(*) FROM messages WHERE mailout_id = $1 GROUP BY status`,
		[]any{mailoutID}, func(k string, n int64) { tr.byStatus[k] = n })
	scanPairs(t, db, `SELECT `+statstruth.ReasonGroupSQL+`, count(*) FROM messages
		WHERE mailout_id = $1 AND status IN ('failed', 'expired') GROUP BY 1`,
		[]any{mailoutID}, func(k string, n int64) { tr.failures[k] = n })
	scanPairs(t, db, `SELECT `+statstruth.ReasonGroupSQL+`, count(*) FROM messages
		WHERE mailout_id = $1 AND status = 'pending' AND reason NOT IN ('', 'window_wait') GROUP BY 1`,
		[]any{mailoutID}, func(k string, n int64) { tr.retrying[k] = n })
	rows, err := db.SQL().Query(`SELECT attempts, count(*) FROM messages
		WHERE mailout_id = $1 AND status IN ('sent', 'failed', 'expired', 'cancelled') GROUP BY attempts`, mailoutID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var a int
		var n int64
		if err := rows.Scan(&a, &n); err != nil {
			t.Fatal(err)
		}
		tr.attempts[a] = n
	}
	rows.Close()
	rows, err = db.SQL().Query(`SELECT date_trunc('minute', sent_at), count(*) FROM messages
		WHERE mailout_id = $1 AND status = 'sent' AND sent_at IS NOT NULL GROUP BY 1`, mailoutID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var m time.Time
		var n int64
		if err := rows.Scan(&m, &n); err != nil {
			t.Fatal(err)
		}
		tr.minutes[m.UTC()] = n
	}
	rows.Close()
	nowSec := now.Truncate(time.Second)
	err = db.SQL().QueryRow(`SELECT min(sent_at), max(sent_at),
			count(*) FILTER (WHERE sent_at >= $2 AND sent_at < $3)
		FROM messages WHERE mailout_id = $1 AND status = 'sent'`,
		mailoutID, nowSec.Add(-59*time.Second), nowSec.Add(time.Second)).Scan(&tr.first, &tr.last, &tr.lastMinute)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func scanPairs(t *testing.T, db *postgres.DB, q string, args []any, fn func(string, int64)) {
	t.Helper()
	rows, err := db.SQL().Query(q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var n int64
		if err := rows.Scan(&k, &n); err != nil {
			t.Fatal(err)
		}
		fn(k, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

// checkAgainstTruth compares the store's statistics of mailoutID at now
// with the ground truth, field by field.
func checkAgainstTruth(t *testing.T, db *postgres.DB, mailoutID int64, now time.Time) domain.MailoutStats {
	t.Helper()
	got, err := postgres.NewStats(db).MailoutStats(context.Background(), mailoutID, now)
	if err != nil {
		t.Fatal(err)
	}
	want := groundTruth(t, db, mailoutID, now)
	if g := countsMap(got.Messages); !reflect.DeepEqual(g, statstruth.NonZero(want.byStatus)) {
		t.Fatalf("by status: %v, want %v", g, want.byStatus)
	}
	if g := countsMap(got.Failures); !reflect.DeepEqual(g, statstruth.NonZero(want.failures)) {
		t.Fatalf("failures: %v, want %v", g, want.failures)
	}
	if g := countsMap(got.Retrying); !reflect.DeepEqual(g, statstruth.NonZero(want.retrying)) {
		t.Fatalf("retrying: %v, want %v", g, want.retrying)
	}
	attempts := map[int]int64{}
	for _, a := range got.Attempts {
		attempts[a.Attempts] = a.Messages
	}
	if !reflect.DeepEqual(attempts, want.attempts) {
		t.Fatalf("attempts: %v, want %v", attempts, want.attempts)
	}
	minutes := map[time.Time]int64{}
	for i, m := range got.Deliveries {
		minutes[m.Minute] = m.Delivered
		if i > 0 && !got.Deliveries[i-1].Minute.Before(m.Minute) {
			t.Fatalf("deliveries out of order: %v", got.Deliveries)
		}
	}
	if !reflect.DeepEqual(minutes, want.minutes) {
		t.Fatalf("deliveries per minute: %v, want %v", minutes, want.minutes)
	}
	if !sameTime(got.FirstDeliveryAt, want.first) || !sameTime(got.LastDeliveryAt, want.last) {
		t.Fatalf("first/last delivery %v %v, want %v %v", got.FirstDeliveryAt, got.LastDeliveryAt, want.first, want.last)
	}
	if got.Rate.Current != float64(want.lastMinute)/60 {
		t.Fatalf("current rate %v, want %d/60", got.Rate.Current, want.lastMinute)
	}
	final := want.byStatus["sent"] + want.byStatus["failed"] + want.byStatus["expired"] + want.byStatus["cancelled"]
	if got.Progress.Final != final || got.Progress.Total != got.Messages.Total {
		t.Fatalf("progress %+v, want %d final of %d", got.Progress, final, got.Messages.Total)
	}
	return got
}

// countsMap turns a counts struct into its non-zero JSON fields, total
// excluded.
func countsMap(v any) map[string]int64 { return statstruth.NonZero(statstruth.Counts(v)) }

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}
