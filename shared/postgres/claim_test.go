package postgres_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"mailing/shared/domain"
	"mailing/shared/postgres"
	"mailing/shared/postgres/pgtest"
)

// bulkStartedMailout creates n customers in one statement and starts a
// mailout over them after the messages table was analysed while empty,
// as on a fresh deployment: the planner then believes the mailout has
// almost no pending messages.
func bulkStartedMailout(t *testing.T, db *postgres.DB, n int) (domain.Mailout, []int64) {
	t.Helper()
	ctx := context.Background()
	for _, q := range []string{
		`INSERT INTO phone_codes (code) VALUES ('917')`,
		`INSERT INTO timezones (name) VALUES ('Europe/Moscow')`,
		`INSERT INTO customers (phone, phone_code, timezone)
			SELECT '7917' || lpad(g::text, 7, '0'), '917', 'Europe/Moscow' FROM generate_series(1, ` + itoa(n) + `) g`,
		`ANALYZE customers`,
		`ANALYZE messages`,
	} {
		if _, err := db.SQL().ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	m, err := postgres.NewMailouts(db).Create(ctx, domain.Mailout{Text: "hi", StartAt: now.Add(-time.Minute), EndAt: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := postgres.NewSending(db).Start(ctx, m.ID, m.Version, now); err != nil || res.Created != int64(n) {
		t.Fatalf("start: %+v %v", res, err)
	}
	ids, err := postgres.NewSending(db).PendingMessageIDs(ctx, m.ID, 0, n)
	if err != nil || len(ids) != n {
		t.Fatalf("pending: %d %v", len(ids), err)
	}
	return m, ids
}

// A claim must reach messages by primary key whatever the statistics say:
// reading the mailout's pending messages through another index costs a
// scan of the whole remaining audience per batch.
func TestClaimReadsMessagesByPrimaryKeyOnly(t *testing.T) {
	db := pgtest.Open(t)
	_, ids := bulkStartedMailout(t, db, 5000)
	var raw []byte
	err := db.SQL().QueryRow(`EXPLAIN (FORMAT JSON) `+postgres.ClaimSQLForTest, postgres.ClaimArgsForTest(ids[100:120], time.Now())...).Scan(&raw)
	if err != nil {
		t.Fatal(err)
	}
	var plans []struct{ Plan planNode }
	if err := json.Unmarshal(raw, &plans); err != nil || len(plans) != 1 {
		t.Fatalf("decode plan: %v", err)
	}
	// Bitmap index scans name no relation, so indexes are told apart by
	// name; every index of messages is called messages_*.
	var ways []string
	plans[0].Plan.walk(func(n planNode) {
		switch {
		case strings.HasPrefix(n.IndexName, "messages_"):
			ways = append(ways, n.IndexName)
		case n.Relation == "messages" && n.NodeType == "Seq Scan":
			ways = append(ways, "seq scan")
		}
	})
	if len(ways) == 0 {
		t.Fatalf("messages not read through any index: %s", raw)
	}
	for _, w := range ways {
		if w != "messages_pkey" {
			t.Fatalf("messages read by %s, want only the primary key; plan: %s", w, raw)
		}
	}
}

type planNode struct {
	NodeType  string     `json:"Node Type"`
	Relation  string     `json:"Relation Name"`
	IndexName string     `json:"Index Name"`
	Plans     []planNode `json:"Plans"`
}

func (n planNode) walk(fn func(planNode)) {
	fn(n)
	for _, c := range n.Plans {
		c.walk(fn)
	}
}

func TestClaimHandsOutADuplicatedIDOnce(t *testing.T) {
	db := pgtest.Open(t)
	_, ids := bulkStartedMailout(t, db, 10)
	jobs, err := postgres.NewSending(db).Claim(context.Background(), []int64{ids[3], ids[1], ids[3], ids[3]}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	got := make([]int64, len(jobs))
	for i, j := range jobs {
		got[i] = j.MessageID
	}
	slices.Sort(got)
	if !slices.Equal(got, []int64{ids[1], ids[3]}) {
		t.Fatalf("claimed %v, want each of %d and %d once", got, ids[1], ids[3])
	}
}

// Workers claiming overlapping batches in opposite orders must neither
// deadlock nor claim a message twice.
func TestOverlappingClaimsInOppositeOrders(t *testing.T) {
	db := pgtest.Open(t)
	_, ids := bulkStartedMailout(t, db, 400)
	reversed := slices.Clone(ids)
	slices.Reverse(reversed)
	var mu sync.Mutex
	claimed := map[int64]int{}
	var wg sync.WaitGroup
	for i := range 6 {
		order := ids
		if i%2 == 1 {
			order = reversed
		}
		wg.Go(func() {
			jobs, err := postgres.NewSending(db).Claim(context.Background(), order, time.Now())
			if err != nil {
				t.Errorf("claim: %v", err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, j := range jobs {
				claimed[j.MessageID]++
			}
		})
	}
	wg.Wait()
	if len(claimed) != len(ids) {
		t.Fatalf("%d of %d messages claimed", len(claimed), len(ids))
	}
	for id, n := range claimed {
		if n != 1 {
			t.Fatalf("message %d claimed %d times", id, n)
		}
	}
}
