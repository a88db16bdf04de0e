package auth

import (
	"sync"
	"time"
)

// cache keeps lookups for ttl, but only while it is live: while the feed
// of changes that invalidates it is connected. Every invalidation moves
// its epoch, and a lookup that began before an invalidation is not stored
// after it, so a read from before a change can never outlive the change's
// notification in the cache.
type cache[K comparable, V any] struct {
	mu      sync.Mutex
	ttl     time.Duration
	max     int
	live    bool
	epoch   uint64
	entries map[K]cacheEntry[V]
}

type cacheEntry[V any] struct {
	v     V
	until time.Time
}

func newCache[K comparable, V any](ttl time.Duration, max int) *cache[K, V] {
	return &cache[K, V]{ttl: ttl, max: max, entries: map[K]cacheEntry[V]{}}
}

// get returns the value cached for k at now.
func (c *cache[K, V]) get(k K, now time.Time) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok || !now.Before(e.until) {
		var zero V
		return zero, false
	}
	return e.v, true
}

// begin is called before a lookup whose result may be put: the epoch to
// give put, and whether the cache is live at all.
func (c *cache[K, V]) begin() (uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.epoch, c.live
}

// put stores v for k unless the cache was invalidated since epoch or is
// not live. A full cache first drops what expired, then anything.
func (c *cache[K, V]) put(k K, v V, epoch uint64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.live || epoch != c.epoch {
		return
	}
	if len(c.entries) >= c.max {
		for key, e := range c.entries {
			if !now.Before(e.until) {
				delete(c.entries, key)
			}
		}
		for key := range c.entries {
			if len(c.entries) < c.max {
				break
			}
			delete(c.entries, key)
		}
	}
	c.entries[k] = cacheEntry[V]{v: v, until: now.Add(c.ttl)}
}

// drop forgets the entries match selects.
func (c *cache[K, V]) drop(match func(K, V) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	for k, e := range c.entries {
		if match(k, e.v) {
			delete(c.entries, k)
		}
	}
}

// reset forgets everything and makes the cache live or not.
func (c *cache[K, V]) reset(live bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	c.live = live
	clear(c.entries)
}
