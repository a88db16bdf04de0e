package postgres_test

import (
	"context"
	"sync"
	"testing"

	"mailing/shared/postgres"
	"mailing/shared/postgres/pgtest"
)

// Publishers of one mailout's fan-out — a start event and the reconciler,
// say — take pages through the database: together they get every pending
// message once, never the same one twice; a page given back is taken
// again.
func TestJobPagesAreTakenOnce(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	m, ids := bulkStartedMailout(t, db, 3000)
	s := postgres.NewSending(db)
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				page, err := s.NextJobPage(ctx, m.ID, 97)
				if err != nil {
					t.Error(err)
					return
				}
				if len(page) == 0 {
					return
				}
				mu.Lock()
				for _, id := range page {
					seen[id]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != len(ids) {
		t.Fatalf("%d of %d messages taken", len(seen), len(ids))
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("message %d taken %d times", id, n)
		}
	}
	if page, err := s.NextJobPage(ctx, m.ID, 10); err != nil || len(page) != 0 {
		t.Fatalf("after the fan-out: %v %v", page, err)
	}
	// A page that could not be published is given back and taken again.
	if err := s.ReturnJobPage(ctx, m.ID, ids[2990]); err != nil {
		t.Fatal(err)
	}
	page, err := s.NextJobPage(ctx, m.ID, 100)
	if err != nil || len(page) != 10 || page[0] != ids[2990] {
		t.Fatalf("the returned page: %d ids from %v (%v)", len(page), page[:min(1, len(page))], err)
	}
}
