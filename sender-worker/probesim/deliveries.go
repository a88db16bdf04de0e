package probesim

import (
	"iter"
	"sync"
	"time"
)

// Delivery is one accepted send, as the external API saw it.
type Delivery struct {
	ID    int64     `json:"id"`
	Phone int64     `json:"phone"`
	Text  string    `json:"text"`
	At    time.Time `json:"at"` // arrival of the request, UTC, nanoseconds
	// Nth is 1 for the first accepted delivery of this id, 2 for its first
	// duplicate, and so on.
	Nth int `json:"nth"`
	// Count is how many times this id had been delivered when the list
	// was read; more than 1 means a double send.
	Count int `json:"count"`
}

// record is the stored form of a delivery: 40 bytes plus the text, which
// is shared between consecutive deliveries of the same mailout.
type record struct {
	id, phone int64
	at        int64 // Unix nanoseconds
	text      string
}

// recorder keeps accepted deliveries in the order they were accepted.
// Adding is one append under a mutex; per-id counts are derived when the
// list is read, so the hot path keeps no index.
type recorder struct {
	mu       sync.Mutex
	recs     []record
	lastText string
}

func (r *recorder) add(rec record) {
	r.mu.Lock()
	if rec.text == r.lastText {
		rec.text = r.lastText // one copy of a mailout's text, not one per message
	} else {
		r.lastText = rec.text
	}
	r.recs = append(r.recs, rec)
	r.mu.Unlock()
}

// snapshot returns the records so far. Records are never modified after
// the append and the capacity is clipped, so the caller may read the
// slice without the lock while new records are added.
func (r *recorder) snapshot() []record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.recs[:len(r.recs):len(r.recs)]
}

func (r *recorder) reset() {
	r.mu.Lock()
	r.recs, r.lastText = nil, ""
	r.mu.Unlock()
}

// deliveries yields records as Deliveries, only those for which keep is
// true, without building the whole list (a load test leaves a million).
// Nth and Count consider every record.
func deliveries(recs []record, keep func(record) bool) iter.Seq[Delivery] {
	return func(yield func(Delivery) bool) {
		// One map for both numbers: the total in the high half, the
		// running count of the second pass in the low half.
		counts := make(map[int64]uint64, len(recs))
		for _, rec := range recs {
			counts[rec.id] += 1 << 32
		}
		for _, rec := range recs {
			c := counts[rec.id] + 1
			counts[rec.id] = c
			if !keep(rec) {
				continue
			}
			d := Delivery{
				ID: rec.id, Phone: rec.phone, Text: rec.text, At: time.Unix(0, rec.at).UTC(),
				Nth: int(uint32(c)), Count: int(c >> 32),
			}
			if !yield(d) {
				return
			}
		}
	}
}
