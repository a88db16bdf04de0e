package auth

import (
	"testing"
	"time"
)

// fakeClock is a settable clock for the limiter.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newTestLimiter(interval time.Duration, burst int) (*Limiter, *fakeClock) {
	clock := &fakeClock{t: time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)}
	l := NewLimiter(interval, burst)
	l.now = clock.now
	return l, clock
}

func TestLimiterBurstThenRefuse(t *testing.T) {
	l, clock := newTestLimiter(time.Second, 3)
	for i := 0; i < 3; i++ {
		if ok, wait := l.Allow("1.2.3.4\x00alice"); !ok || wait != 0 {
			t.Fatalf("attempt %d of the burst refused (wait %v)", i+1, wait)
		}
	}
	ok, wait := l.Allow("1.2.3.4\x00alice")
	if ok {
		t.Fatal("attempt past the burst allowed")
	}
	if wait <= 0 || wait > time.Second {
		t.Fatalf("wait %v, want in (0, 1s]", wait)
	}
	// Refusals do not use up future attempts.
	for i := 0; i < 5; i++ {
		if ok, _ := l.Allow("1.2.3.4\x00alice"); ok {
			t.Fatal("allowed again without time passing")
		}
	}
	clock.advance(wait)
	if ok, _ := l.Allow("1.2.3.4\x00alice"); !ok {
		t.Fatalf("refused after waiting %v", wait)
	}
	if ok, _ := l.Allow("1.2.3.4\x00alice"); ok {
		t.Fatal("one interval earned more than one attempt")
	}
	// A long pause refills the burst, and no more.
	clock.advance(time.Hour)
	for i := 0; i < 3; i++ {
		if ok, _ := l.Allow("1.2.3.4\x00alice"); !ok {
			t.Fatalf("attempt %d after a pause refused", i+1)
		}
	}
	if ok, _ := l.Allow("1.2.3.4\x00alice"); ok {
		t.Fatal("a pause refilled more than the burst")
	}
}

func TestLimiterKeysIndependent(t *testing.T) {
	l, _ := newTestLimiter(time.Minute, 2)
	for i := 0; i < 2; i++ {
		l.Allow("1.2.3.4\x00alice")
	}
	if ok, _ := l.Allow("1.2.3.4\x00alice"); ok {
		t.Fatal("alice from 1.2.3.4 is not limited")
	}
	for _, key := range []string{"1.2.3.4\x00bob", "5.6.7.8\x00alice"} {
		if ok, wait := l.Allow(key); !ok {
			t.Fatalf("key %q limited by another key's attempts (wait %v)", key, wait)
		}
	}
}

func TestLimiterForgetsIdleKeys(t *testing.T) {
	l, clock := newTestLimiter(time.Minute, 1)
	l.Allow("old")
	if ok, _ := l.Allow("old"); ok {
		t.Fatal("burst of 1 allowed twice")
	}
	clock.advance(11 * time.Minute)
	l.Allow("new")
	if _, kept := l.entries["old"]; kept {
		t.Fatal("an idle key was kept")
	}
	if _, kept := l.entries["new"]; !kept {
		t.Fatal("the active key was dropped")
	}
}
