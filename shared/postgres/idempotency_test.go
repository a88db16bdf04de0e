package postgres_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"mailing/shared/domain"
	"mailing/shared/postgres"
	"mailing/shared/postgres/pgtest"
)

func idempotencyClaim(actor, key, hash string, now time.Time) postgres.IdempotencyClaim {
	return postgres.IdempotencyClaim{Actor: actor, Key: key, Method: "POST", Path: "/api/mailouts", Hash: hash,
		Now: now, LockedUntil: now.Add(time.Minute), ExpiresAt: now.Add(24 * time.Hour)}
}

var (
	hashA = strings.Repeat("a", 64)
	hashB = strings.Repeat("b", 64)
)

// A key is claimed once; the losers see it in progress, then completed
// with its answer; a released key is claimed again.
func TestIdempotencyKeyLifecycle(t *testing.T) {
	ctx := context.Background()
	keys := postgres.NewIdempotencyKeys(pgtest.Open(t))
	now := time.Now().UTC().Truncate(time.Microsecond)

	first, ok, err := keys.Claim(ctx, idempotencyClaim("user:1", "k-1", hashA, now))
	if err != nil || !ok || first.Token == "" || first.State != postgres.IdempotencyInProgress {
		t.Fatalf("first claim: %+v %v %v", first, ok, err)
	}
	again, ok, err := keys.Claim(ctx, idempotencyClaim("user:1", "k-1", hashB, now))
	if err != nil || ok || again.Token != "" || again.State != postgres.IdempotencyInProgress || again.Hash != hashA {
		t.Fatalf("second claim: %+v %v %v", again, ok, err)
	}
	// Keys are the caller's own.
	if other, ok, err := keys.Claim(ctx, idempotencyClaim("key:1", "k-1", hashA, now)); err != nil || !ok {
		t.Fatalf("another caller's claim: %+v %v %v", other, ok, err)
	}
	if ok, err := keys.Extend(ctx, first, now.Add(2*time.Minute)); err != nil || !ok {
		t.Fatalf("extend: %v %v", ok, err)
	}
	resp := postgres.IdempotentResponse{Status: 201, Header: map[string]string{"Content-Type": "application/json"}, Body: []byte(`{"id":1}`)}
	if ok, err := keys.Complete(ctx, first, hashA, resp); err != nil || !ok {
		t.Fatalf("complete: %v %v", ok, err)
	}
	if ok, err := keys.Complete(ctx, first, hashA, resp); err != nil || ok {
		t.Fatalf("completing twice: %v %v", ok, err)
	}
	done, ok, err := keys.Claim(ctx, idempotencyClaim("user:1", "k-1", "", now))
	if err != nil || ok || done.State != postgres.IdempotencyCompleted || done.Hash != hashA || done.Response == nil {
		t.Fatalf("completed key: %+v %v %v", done, ok, err)
	}
	if r := done.Response; r.Status != 201 || r.Header["Content-Type"] != "application/json" || !bytes.Equal(r.Body, resp.Body) {
		t.Fatalf("stored answer %+v", r)
	}
	// A completed key is neither released nor taken over.
	if err := keys.Release(ctx, first); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := keys.Claim(ctx, idempotencyClaim("user:1", "k-1", hashA, now.Add(time.Hour))); ok {
		t.Fatal("a completed key was claimed again before its expiry")
	}

	// A streamed claim has no hash until it completes; released, the key
	// is free again.
	streamed, ok, err := keys.Claim(ctx, idempotencyClaim("user:1", "k-2", "", now))
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if seen, _, _ := keys.Claim(ctx, idempotencyClaim("user:1", "k-2", hashA, now)); seen.Hash != "" || seen.State != postgres.IdempotencyInProgress {
		t.Fatalf("streamed claim seen as %+v", seen)
	}
	if err := keys.Release(ctx, streamed); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := keys.Claim(ctx, idempotencyClaim("user:1", "k-2", hashB, now)); err != nil || !ok {
		t.Fatalf("claim after release: %v %v", ok, err)
	}
}

// A claim whose request stopped renewing it (its process died) is taken
// over once its lock passes, and the old holder can then neither complete
// nor release it.
func TestIdempotencyKeyAbandonedClaimIsTakenOver(t *testing.T) {
	ctx := context.Background()
	keys := postgres.NewIdempotencyKeys(pgtest.Open(t))
	now := time.Now().UTC().Truncate(time.Microsecond)
	old, ok, err := keys.Claim(ctx, idempotencyClaim("user:1", "k", hashA, now))
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if _, ok, _ := keys.Claim(ctx, idempotencyClaim("user:1", "k", hashA, now.Add(59*time.Second))); ok {
		t.Fatal("taken over before the lock passed")
	}
	taken, ok, err := keys.Claim(ctx, idempotencyClaim("user:1", "k", hashA, now.Add(time.Minute)))
	if err != nil || !ok || taken.Token == old.Token {
		t.Fatalf("take over: %+v %v %v", taken, ok, err)
	}
	if ok, err := keys.Extend(ctx, old, now.Add(time.Hour)); err != nil || ok {
		t.Fatalf("the old holder extended: %v %v", ok, err)
	}
	if ok, err := keys.Complete(ctx, old, hashA, postgres.IdempotentResponse{Status: 200}); err != nil || ok {
		t.Fatalf("the old holder completed: %v %v", ok, err)
	}
	if err := keys.Release(ctx, old); err != nil {
		t.Fatal(err)
	}
	if seen, ok, _ := keys.Claim(ctx, idempotencyClaim("user:1", "k", hashA, now.Add(time.Minute))); ok || seen.State != postgres.IdempotencyInProgress {
		t.Fatalf("the old holder's release freed the new claim: %+v %v", seen, ok)
	}
}

// Of concurrent claims of one key exactly one wins.
func TestIdempotencyKeyConcurrentClaims(t *testing.T) {
	ctx := context.Background()
	keys := postgres.NewIdempotencyKeys(pgtest.Open(t))
	now := time.Now().UTC()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins int
	)
	for range 20 {
		wg.Go(func() {
			_, ok, err := keys.Claim(ctx, idempotencyClaim("user:1", "race", hashA, now))
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d claims won, want 1", wins)
	}
}

// The sweep deletes expired keys, in batches, and nothing else; an
// expired key is claimed anew even before it is swept.
func TestIdempotencyKeysSweep(t *testing.T) {
	ctx := context.Background()
	db := pgtest.Open(t)
	keys := postgres.NewIdempotencyKeys(db)
	now := time.Now().UTC().Truncate(time.Microsecond)
	for i, age := range []time.Duration{25 * time.Hour, 30 * time.Hour, 48 * time.Hour, time.Hour, 23 * time.Hour} {
		k, ok, err := keys.Claim(ctx, idempotencyClaim("user:1", "k"+string(rune('a'+i)), hashA, now.Add(-age)))
		if err != nil || !ok {
			t.Fatal(ok, err)
		}
		if ok, err := keys.Complete(ctx, k, hashA, postgres.IdempotentResponse{Status: 201}); err != nil || !ok {
			t.Fatal(ok, err)
		}
	}
	if _, ok, err := keys.Claim(ctx, idempotencyClaim("user:1", "ka", hashB, now)); err != nil || !ok {
		t.Fatalf("an expired key was not claimed anew: %v %v", ok, err)
	}
	var total int64
	for {
		n, err := keys.DeleteExpired(ctx, now, 1)
		if err != nil {
			t.Fatal(err)
		}
		total += n
		if n < 1 {
			break
		}
	}
	if total != 2 {
		t.Fatalf("swept %d keys, want 2", total)
	}
	var left []string
	rows, err := db.SQL().Query(`SELECT key FROM idempotency_keys ORDER BY key`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		left = append(left, k)
	}
	if got := strings.Join(left, ","); got != "ka,kd,ke" {
		t.Fatalf("left %s, want ka,kd,ke", got)
	}
}

// The table refuses keys the API would refuse.
func TestIdempotencyKeyRule(t *testing.T) {
	ctx := context.Background()
	keys := postgres.NewIdempotencyKeys(pgtest.Open(t))
	now := time.Now()
	for _, key := range []string{"", strings.Repeat("k", 256), "ключ", "tab\tkey"} {
		_, _, err := keys.Claim(ctx, idempotencyClaim("user:1", key, hashA, now))
		if domain.ErrorCode(err) != domain.CodeInvalid {
			t.Errorf("key %q: %v, want invalid", key, err)
		}
	}
	if _, ok, err := keys.Claim(ctx, idempotencyClaim("user:1", " ~"+strings.Repeat("k", 253), hashA, now)); err != nil || !ok {
		t.Fatalf("a 255-character printable key: %v %v", ok, err)
	}
}
