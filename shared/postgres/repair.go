package postgres

import (
	"context"
	"time"

	"mailing/shared/domain"
)

// The reconciler's repairs: each is one idempotent set-based statement, so
// any number of workers may run them at once.

// ExpireOverdue marks pending messages of running or paused mailouts
// whose end time has passed as expired (a pause never extends the end)
// and returns how many changed. A message that was
// waiting for its send window expires as outside_window: the window never
// opened again before the end.
func (s *Sending) ExpireOverdue(ctx context.Context, now time.Time) (int64, error) {
	res := s.db.q(ctx).Exec(`UPDATE messages m SET status = ?, last_error = 'end time reached',
			reason = CASE WHEN m.reason = ? THEN ? ELSE ? END, updated_at = ?, parked = false
		FROM mailouts mo
		WHERE mo.status IN ? AND mo.end_at <= ? AND m.mailout_id = mo.id AND m.status = ?`,
		domain.MessageExpired, domain.ReasonWindowWait, domain.ReasonOutsideWindow, domain.ReasonExpired, now,
		[]string{string(domain.MailoutRunning), string(domain.MailoutPaused)}, now, domain.MessagePending)
	return res.RowsAffected, translate(res.Error, "messages")
}

// ReleaseStaleClaims returns messages claimed longer ago than olderThan
// (their worker died) to pending, counting the attempt that may have
// reached the external API; past the end time they expire instead. It
// returns the messages put back to pending: their jobs were taken by the
// dead worker, so the caller publishes them again.
func (s *Sending) ReleaseStaleClaims(ctx context.Context, now time.Time, olderThan time.Duration) ([]domain.MessageRef, error) {
	var refs []domain.MessageRef
	err := s.db.q(ctx).Raw(`WITH released AS (
			UPDATE messages m SET
				status = CASE WHEN mo.end_at <= ? THEN ? ELSE ? END,
				attempts = m.attempts + 1, last_error = 'claim abandoned by a stopped worker',
				reason = CASE WHEN mo.end_at <= ? THEN ? ELSE ? END,
				next_attempt_at = NULL, updated_at = ?
			FROM mailouts mo
			WHERE m.status = ? AND m.updated_at < ? AND mo.id = m.mailout_id
			RETURNING m.id, m.mailout_id, m.status)
		SELECT id AS message_id, mailout_id FROM released WHERE status = ? ORDER BY id`,
		now, domain.MessageExpired, domain.MessagePending,
		now, domain.ReasonExpired, domain.ReasonWorkerLost,
		now, domain.MessageSending, now.Add(-olderThan), domain.MessagePending).Scan(&refs).Error
	return refs, translate(err, "messages")
}

// LostJobs takes up to limit pending messages of running mailouts whose
// job should have arrived more than grace ago (due retries, or messages
// untouched since then): their jobs may be lost and are published again.
// It stamps them as touched now, so the next pass does not pick them again
// before another grace period. Re-publishing is harmless: the claim sends
// only once.
func (s *Sending) LostJobs(ctx context.Context, now time.Time, grace time.Duration, limit int) ([]domain.MessageRef, error) {
	var refs []domain.MessageRef
	err := s.db.q(ctx).Raw(`UPDATE messages m SET next_attempt_at = NULL, updated_at = ?
		WHERE m.id IN (
			SELECT m2.id FROM messages m2 JOIN mailouts mo ON mo.id = m2.mailout_id
			WHERE m2.status = ? AND mo.status = ?
			  AND COALESCE(m2.next_attempt_at, m2.updated_at) < ?
			ORDER BY m2.id LIMIT ? FOR UPDATE OF m2 SKIP LOCKED)
		RETURNING m.id AS message_id, m.mailout_id`,
		now, domain.MessagePending, domain.MailoutRunning, now.Add(-grace), limit).Scan(&refs).Error
	return refs, translate(err, "messages")
}

// FinishMailouts marks mailouts that may finish and whose messages are all
// final as finished, and returns their ids. A paused mailout that never
// started has no messages: it finishes only once its end has passed.
func (s *Sending) FinishMailouts(ctx context.Context, now time.Time) ([]int64, error) {
	return s.finish(ctx, now, nil)
}

// FinishMailoutsOf is FinishMailouts for the given mailouts only: the
// sender calls it for the mailouts whose messages it has just made final,
// so a mailout finishes moments after its last message.
func (s *Sending) FinishMailoutsOf(ctx context.Context, now time.Time, ids []int64) ([]int64, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return s.finish(ctx, now, ids)
}

func (s *Sending) finish(ctx context.Context, now time.Time, only []int64) ([]int64, error) {
	q := `UPDATE mailouts mo SET status = ?, finished_at = ?, updated_at = ?
		WHERE mo.status IN ? AND (mo.started_at IS NOT NULL OR mo.end_at <= ?) AND NOT EXISTS (
			SELECT 1 FROM messages m WHERE m.mailout_id = mo.id AND m.status IN ?)`
	args := []any{domain.MailoutFinished, now, now, domain.StatusesAllowing(domain.ActionFinish), now, openMessageStatuses()}
	if only != nil {
		q += ` AND mo.id IN ?`
		args = append(args, only)
	}
	var ids []int64
	err := s.db.q(ctx).Raw(q+` RETURNING mo.id`, args...).Scan(&ids).Error
	return ids, translate(err, "mailouts")
}

// CancelStaleMessages cancels pending messages whose mailout is cancelled
// (normally done by the cancel itself; this repairs anything that slipped).
func (s *Sending) CancelStaleMessages(ctx context.Context, now time.Time) (int64, error) {
	res := s.db.q(ctx).Exec(`UPDATE messages m SET status = ?, last_error = 'mailout cancelled', reason = ?, updated_at = ?, parked = false
		FROM mailouts mo WHERE mo.id = m.mailout_id AND mo.status = ? AND m.status = ?`,
		domain.MessageCancelled, domain.ReasonCancelled, now, domain.MailoutCancelled, domain.MessagePending)
	return res.RowsAffected, translate(res.Error, "messages")
}

// openMessageStatuses are the statuses of messages that may still change.
func openMessageStatuses() []string {
	var out []string
	for _, s := range domain.MessageStatuses {
		if !s.Final() {
			out = append(out, string(s))
		}
	}
	return out
}
