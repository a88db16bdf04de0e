package postgres

import (
	"context"
	"time"

	"gorm.io/gorm"

	"mailing/shared/domain"
)

// StartOutcome says what StartMailout did with a start event.
type StartOutcome string

const (
	// StartStarted: the mailout is running and its messages exist (created
	// now, or by an earlier delivery of the same event).
	StartStarted StartOutcome = "started"
	// StartTooEarly: start_at is still ahead; re-deliver the event then.
	StartTooEarly StartOutcome = "too_early"
	// StartStale: the event's version is not the mailout's, or the mailout
	// is cancelled, finished or gone; drop the event.
	StartStale StartOutcome = "stale"
	// StartExpired: end_at passed before the mailout could start; it is
	// finished with no messages.
	StartExpired StartOutcome = "expired"
)

// StartResult reports a StartMailout call.
type StartResult struct {
	Outcome  StartOutcome
	StartAt  time.Time
	EndAt    time.Time
	Created  int64 // message rows created by this call
	Mailout  int64
	Version  int64
	Reason   string // why the event was stale
	Existing bool   // the mailout was already running (a redelivered event)
}

// StartMailout starts mailout id if the event's version is current and
// start_at has come: under the mailout's row lock it inserts one pending
// message per customer of the audience with one set-based statement
// (idempotent thanks to UNIQUE (mailout_id, customer_id)) and marks the
// mailout running. A redelivered event for a running mailout of the same
// version reports StartStarted with Existing set, so the caller re-publishes
// the pending jobs it may not have published before.
func (db *DB) StartMailout(ctx context.Context, id, version int64, now time.Time) (StartResult, error) {
	res := StartResult{Mailout: id, Version: version}
	err := db.tx(ctx, func(tx *gorm.DB) error {
		m, err := lockMailout(tx, id)
		if domain.ErrorCode(err) == domain.CodeNotFound {
			res.Outcome, res.Reason = StartStale, "mailout not found"
			return nil
		}
		if err != nil {
			return err
		}
		res.StartAt, res.EndAt = m.StartAt, m.EndAt
		switch {
		case m.Version != version:
			res.Outcome, res.Reason = StartStale, "version changed"
			return nil
		case m.Status == domain.MailoutRunning:
			res.Outcome, res.Existing = StartStarted, true
			return nil
		case m.Status != domain.MailoutScheduled:
			res.Outcome, res.Reason = StartStale, "mailout is "+string(m.Status)
			return nil
		case now.Before(m.StartAt):
			res.Outcome = StartTooEarly
			return nil
		case !now.Before(m.EndAt):
			res.Outcome = StartExpired
			return translate(tx.Exec(`UPDATE mailouts SET status = 'finished', started_at = ?, finished_at = ?,
				updated_at = now() WHERE id = ?`, now, now, id).Error, "mailout")
		}
		audience, args, err := audienceOf(tx, id)
		if err != nil {
			return err
		}
		ins := tx.Exec(`INSERT INTO messages (mailout_id, customer_id)
			SELECT ?, a.id FROM (`+audience+`) a ORDER BY a.id
			ON CONFLICT (mailout_id, customer_id) DO NOTHING`, append([]any{id}, args...)...)
		if ins.Error != nil {
			return translate(ins.Error, "messages")
		}
		res.Created, res.Outcome = ins.RowsAffected, StartStarted
		return translate(tx.Exec(`UPDATE mailouts SET status = 'running', started_at = ?, updated_at = now()
			WHERE id = ?`, now, id).Error, "mailout")
	})
	return res, err
}

// DueMailouts returns scheduled mailouts whose start_at has come, with
// their versions: the reconciler starts them when their event was lost.
func (db *DB) DueMailouts(ctx context.Context, now time.Time, limit int) ([]MailoutRef, error) {
	var refs []MailoutRef
	err := db.q(ctx).Raw(`SELECT id, version FROM mailouts WHERE status = 'scheduled' AND start_at <= ?
		ORDER BY start_at LIMIT ?`, now, limit).Scan(&refs).Error
	return refs, translate(err, "mailouts")
}

// MailoutRef names a mailout at a version.
type MailoutRef struct {
	ID      int64
	Version int64
}

// PendingMessageIDs returns up to limit ids of mailout's pending messages
// after afterID, in id order: the fan-out streams jobs in such pages instead
// of holding every id in memory.
func (db *DB) PendingMessageIDs(ctx context.Context, mailoutID, afterID int64, limit int) ([]int64, error) {
	var ids []int64
	err := db.q(ctx).Raw(`SELECT id FROM messages WHERE mailout_id = ? AND status = 'pending' AND id > ?
		ORDER BY id LIMIT ?`, mailoutID, afterID, limit).Scan(&ids).Error
	return ids, translate(err, "messages")
}
