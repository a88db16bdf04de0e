package postgres

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"mailing/shared/domain"
)

// Job is a claimed message with everything needed to send it.
type Job struct {
	MessageID  int64
	MailoutID  int64
	CustomerID int64
	Attempts   int // attempts made before this one
	Phone      string
	Timezone   string
	Text       string
	EndAt      time.Time
	Window     *domain.SendWindow
}

// claimSQL claims messages by id, and reaches messages only through the
// primary key whatever the statistics say. Written as one UPDATE ... FROM
// mailouts, the planner may instead read every pending message of the
// mailout through messages_mailout_status_idx and filter the ids out of
// them, because the statistics of a mailout that has just been fanned out
// (or of any new mailout id) say it has almost no pending messages: a scan
// of the whole remaining audience per batch. So each id is looked up on its
// own in a LATERAL subquery, whose LIMIT keeps the planner from merging it
// into a join, and the UPDATE matches the result as an array of ids, which
// only the primary key serves. FOR UPDATE OF m waits for a concurrent claim
// of the same row and re-checks the status afterwards, so the UPDATE, which
// only touches rows locked that way, claims each message once. Ids are
// locked in ascending order (the caller sorts them), so overlapping batches
// of two workers cannot deadlock.
const claimSQL = `WITH due AS MATERIALIZED (
		SELECT d.id FROM unnest($1::bigint[]) AS u(id)
		CROSS JOIN LATERAL (
			SELECT m.id FROM messages m
			WHERE m.id = u.id AND m.status = 'pending'
			  AND (m.next_attempt_at IS NULL OR m.next_attempt_at <= $2::timestamptz + interval '1 second')
			  AND EXISTS (SELECT 1 FROM mailouts mo WHERE mo.id = m.mailout_id AND mo.status = 'running' AND mo.end_at > $2)
			  AND EXISTS (SELECT 1 FROM customers c WHERE c.id = m.customer_id)
			LIMIT 1 FOR UPDATE OF m) d
	), claimed AS (
		UPDATE messages m SET status = 'sending', updated_at = $2::timestamptz
		WHERE m.id = ANY (ARRAY(SELECT id FROM due))
		RETURNING m.id, m.mailout_id, m.customer_id, m.attempts
	)
	SELECT cl.id, cl.mailout_id, cl.customer_id, cl.attempts, c.phone, c.timezone,
	       mo.text, mo.end_at, mo.window_start, mo.window_end
	FROM claimed cl JOIN mailouts mo ON mo.id = cl.mailout_id JOIN customers c ON c.id = cl.customer_id`

// ClaimMessages marks the given messages as sending and returns them as
// jobs, in one statement. Only a pending message of a running mailout whose
// end time is after now, whose customer exists and whose retry time has
// come is claimed; a message claimed by another worker, already final, or
// early is left alone, so a redelivered or duplicated job never sends twice.
func (db *DB) ClaimMessages(ctx context.Context, ids []int64, now time.Time) ([]Job, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var jobs []Job
	sorted := slices.Sorted(slices.Values(ids))
	err := retryConflicts(ctx, func() error {
		return db.withPgx(ctx, func(pc *pgx.Conn) error {
			rows, err := pc.Query(ctx, claimSQL, sorted, now)
			if err != nil {
				return err
			}
			jobs, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Job, error) {
				var j Job
				var ws, we *int16
				err := r.Scan(&j.MessageID, &j.MailoutID, &j.CustomerID, &j.Attempts, &j.Phone, &j.Timezone,
					&j.Text, &j.EndAt, &ws, &we)
				j.EndAt = j.EndAt.UTC()
				if ws != nil && we != nil {
					j.Window = &domain.SendWindow{Start: domain.Clock(*ws), End: domain.Clock(*we)}
				}
				return j, err
			})
			return err
		})
	})
	if err != nil {
		return nil, translate(err, "message claims")
	}
	return jobs, nil
}

// Outcome is the result of handling one claimed message.
type Outcome struct {
	MessageID int64
	// Status is the message's new status: sent, failed, expired, or
	// pending (retry later at NextAttemptAt).
	Status domain.MessageStatus
	// CountAttempt is set when a request was made (or may have been): a
	// deferral by the send window or an open breaker is not an attempt.
	CountAttempt  bool
	NextAttemptAt time.Time
	Error         string
	// Reason is a short machine-readable code of why the message is not
	// sent (the client's reason, outside_window, expired, ...); statistics
	// group failures by it. Empty for a sent message.
	Reason string
	At     time.Time
}

// RecordOutcomes writes a batch of outcomes in one statement. Only messages
// still in status sending change: an outcome for a claim the reconciler
// has already taken back is dropped. It returns how many rows changed.
func (db *DB) RecordOutcomes(ctx context.Context, outs []Outcome) (int64, error) {
	if len(outs) == 0 {
		return 0, nil
	}
	// Rows are locked in id order, as claims lock them, so that a claim
	// and an outcome batch touching the same rows do not deadlock.
	outs = slices.SortedFunc(slices.Values(outs), func(a, b Outcome) int { return cmp.Compare(a.MessageID, b.MessageID) })
	n := len(outs)
	ids, statuses, incs, errs := make([]int64, n), make([]string, n), make([]int32, n), make([]string, n)
	nexts, ats, reasons := make([]pgtype.Timestamptz, n), make([]time.Time, n), make([]string, n)
	for i, o := range outs {
		ids[i], statuses[i], errs[i], ats[i] = o.MessageID, string(o.Status), truncate(o.Error, 500), o.At
		reasons[i] = truncate(o.Reason, 32)
		if o.CountAttempt {
			incs[i] = 1
		}
		if o.Status == domain.MessagePending {
			nexts[i] = pgtype.Timestamptz{Time: o.NextAttemptAt, Valid: true}
		}
	}
	var changed int64
	err := retryConflicts(ctx, func() error {
		return db.withPgx(ctx, func(pc *pgx.Conn) error {
			tag, err := pc.Exec(ctx, `UPDATE messages m SET status = u.status, attempts = m.attempts + u.inc,
				last_error = u.err, reason = u.reason, next_attempt_at = u.next,
				sent_at = CASE WHEN u.status = 'sent' THEN u.at ELSE m.sent_at END,
				updated_at = u.at
			FROM unnest($1::bigint[], $2::text[], $3::int[], $4::text[], $5::timestamptz[], $6::timestamptz[], $7::text[])
			     AS u(id, status, inc, err, next, at, reason)
			WHERE m.id = u.id AND m.status = 'sending'`, ids, statuses, incs, errs, nexts, ats, reasons)
			changed = tag.RowsAffected()
			return err
		})
	})
	if err != nil {
		return 0, translate(err, "message outcomes")
	}
	return changed, nil
}

// ExpireOverdue marks pending messages of mailouts whose end time has
// passed as expired and returns how many changed. A message that was
// waiting for its send window expires as outside_window: the window never
// opened again before the end.
func (db *DB) ExpireOverdue(ctx context.Context, now time.Time) (int64, error) {
	res := db.q(ctx).Exec(`UPDATE messages m SET status = 'expired', last_error = 'end time reached',
			reason = CASE WHEN m.reason = 'window_wait' THEN 'outside_window' ELSE 'expired' END, updated_at = ?
		FROM mailouts mo
		WHERE mo.status = 'running' AND mo.end_at <= ? AND m.mailout_id = mo.id AND m.status = 'pending'`, now, now)
	return res.RowsAffected, translate(res.Error, "messages")
}

// ReleaseStaleClaims returns messages claimed longer ago than olderThan
// (their worker died) to pending, counting the attempt that may have
// reached the external API; past the end time they expire instead. It
// returns the messages put back to pending: their jobs were taken by the
// dead worker, so the caller publishes them again.
func (db *DB) ReleaseStaleClaims(ctx context.Context, now time.Time, olderThan time.Duration) ([]JobRef, error) {
	var refs []JobRef
	err := db.q(ctx).Raw(`WITH released AS (
			UPDATE messages m SET
				status = CASE WHEN mo.end_at <= ? THEN 'expired' ELSE 'pending' END,
				attempts = m.attempts + 1, last_error = 'claim abandoned by a stopped worker',
				reason = CASE WHEN mo.end_at <= ? THEN 'expired' ELSE 'worker_lost' END,
				next_attempt_at = NULL, updated_at = ?
			FROM mailouts mo
			WHERE m.status = 'sending' AND m.updated_at < ? AND mo.id = m.mailout_id
			RETURNING m.id, m.mailout_id, m.status)
		SELECT id AS message_id, mailout_id FROM released WHERE status = 'pending' ORDER BY id`,
		now, now, now, now.Add(-olderThan)).Scan(&refs).Error
	return refs, translate(err, "messages")
}

// JobRef names a message and its mailout.
type JobRef struct {
	MessageID int64
	MailoutID int64
}

// LostJobs takes up to limit pending messages of running mailouts whose
// job should have arrived more than grace ago (due retries, or messages
// untouched since then): their jobs may be lost and are published again.
// It stamps them as touched now, so the next pass does not pick them again
// before another grace period. Re-publishing is harmless: the claim sends
// only once.
func (db *DB) LostJobs(ctx context.Context, now time.Time, grace time.Duration, limit int) ([]JobRef, error) {
	var refs []JobRef
	err := db.q(ctx).Raw(`UPDATE messages m SET next_attempt_at = NULL, updated_at = ?
		WHERE m.id IN (
			SELECT m2.id FROM messages m2 JOIN mailouts mo ON mo.id = m2.mailout_id
			WHERE m2.status = 'pending' AND mo.status = 'running'
			  AND COALESCE(m2.next_attempt_at, m2.updated_at) < ?
			ORDER BY m2.id LIMIT ? FOR UPDATE OF m2 SKIP LOCKED)
		RETURNING m.id AS message_id, m.mailout_id`, now, now.Add(-grace), limit).Scan(&refs).Error
	return refs, translate(err, "messages")
}

// FinishMailouts marks running mailouts whose messages are all final as
// finished and returns their ids.
func (db *DB) FinishMailouts(ctx context.Context, now time.Time) ([]int64, error) {
	var ids []int64
	err := db.q(ctx).Raw(`UPDATE mailouts mo SET status = 'finished', finished_at = ?, updated_at = ?
		WHERE mo.status = 'running' AND NOT EXISTS (
			SELECT 1 FROM messages m WHERE m.mailout_id = mo.id AND m.status IN ('pending', 'sending'))
		RETURNING mo.id`, now, now).Scan(&ids).Error
	return ids, translate(err, "mailouts")
}

// CancelStaleMessages cancels pending messages whose mailout is cancelled
// (normally done by the cancel itself; this repairs anything that slipped).
func (db *DB) CancelStaleMessages(ctx context.Context, now time.Time) (int64, error) {
	res := db.q(ctx).Exec(`UPDATE messages m SET status = 'cancelled', last_error = 'mailout cancelled', reason = 'cancelled', updated_at = ?
		FROM mailouts mo WHERE mo.id = m.mailout_id AND mo.status = 'cancelled' AND m.status = 'pending'`, now)
	return res.RowsAffected, translate(res.Error, "messages")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a character boundary: PostgreSQL rejects invalid UTF-8.
	return strings.ToValidUTF8(s[:n], "")
}
