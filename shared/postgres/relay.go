package postgres

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Outbox is the transactional outbox as the relay sees it: the events the
// other stores write with their changes, published and purged here.
type Outbox struct{ db *DB }

// NewOutbox returns the store on db.
func NewOutbox(db *DB) *Outbox { return &Outbox{db: db} }

// OutboxEvent is one event waiting to be published.
type OutboxEvent struct {
	ID        int64
	Topic     string
	Payload   []byte
	CreatedAt time.Time
}

// RelayOutbox takes up to limit due, unpublished events in id order, hands
// them to publish and marks them published when publish succeeds, all in one
// transaction. Rows are taken FOR UPDATE SKIP LOCKED, so several relays (one
// per API replica) share the backlog without publishing the same row twice
// at once; a relay that dies mid-publish rolls back and the events are
// published again later, which consumers tolerate (events are idempotent).
// When publish fails the events are retried after retryIn.
func (s *Outbox) Relay(ctx context.Context, limit int, retryIn time.Duration, publish func(context.Context, []OutboxEvent) error) (int, error) {
	var events []OutboxEvent
	var pubErr error
	err := s.db.tx(ctx, nil, func(tx *gorm.DB) error {
		err := tx.Raw(`SELECT id, topic, payload, created_at FROM outbox
			WHERE published_at IS NULL AND available_at <= now()
			ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED`, limit).Scan(&events).Error
		if err != nil || len(events) == 0 {
			return translate(err, "outbox")
		}
		ids := make([]int64, len(events))
		for i, e := range events {
			ids[i] = e.ID
		}
		if pubErr = publish(ctx, events); pubErr != nil {
			msg := pubErr.Error()
			if len(msg) > 500 {
				msg = msg[:500]
			}
			return translate(tx.Exec(`UPDATE outbox SET attempts = attempts + 1, last_error = ?,
				available_at = now() + make_interval(secs => ?) WHERE id IN ?`, msg, retryIn.Seconds(), ids).Error, "outbox")
		}
		return translate(tx.Exec(`UPDATE outbox SET published_at = now(), attempts = attempts + 1, last_error = ''
			WHERE id IN ?`, ids).Error, "outbox")
	})
	if err != nil {
		return 0, err
	}
	if pubErr != nil {
		return 0, fmt.Errorf("publish %d outbox events: %w", len(events), pubErr)
	}
	return len(events), nil
}

// OutboxBacklog returns the number of unpublished events and the age of
// the oldest one.
func (s *Outbox) Backlog(ctx context.Context) (int64, time.Duration, error) {
	var row struct {
		N      int64
		Oldest *time.Time
	}
	err := s.db.q(ctx).Raw(`SELECT count(*) AS n, min(created_at) AS oldest FROM outbox WHERE published_at IS NULL`).Scan(&row).Error
	if err != nil {
		return 0, 0, translate(err, "outbox")
	}
	if row.Oldest == nil {
		return row.N, 0, nil
	}
	return row.N, time.Since(*row.Oldest), nil
}

// PurgeOutbox deletes events published more than olderThan ago.
func (s *Outbox) Purge(ctx context.Context, olderThan time.Duration) (int64, error) {
	res := s.db.q(ctx).Exec(`DELETE FROM outbox WHERE published_at < now() - make_interval(secs => ?)`, olderThan.Seconds())
	return res.RowsAffected, translate(res.Error, "outbox")
}
