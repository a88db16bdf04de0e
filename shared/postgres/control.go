package postgres

import (
	"context"
	"time"

	"gorm.io/gorm"

	"mailing/shared/domain"
)

// Pause stops a scheduled or running mailout: claims of its messages fail
// from the commit on, so no new attempt starts; attempts in flight finish
// and are recorded. Its jobs are dropped as they arrive and their messages
// parked, for Resume.
func (s *Mailouts) Pause(ctx context.Context, id int64) (domain.Mailout, error) {
	err := s.db.tx(ctx, nil, func(tx *gorm.DB) error {
		cur, err := lockMailout(tx, id)
		if err != nil {
			return err
		}
		to, err := cur.Status.Next(id, domain.ActionPause)
		if err != nil {
			return err
		}
		if err := setStatus(tx, id, to); err != nil {
			return err
		}
		return audit(ctx, tx, domain.AuditMailoutPaused, domain.AuditObjectMailout, id,
			map[string]domain.Change{"status": {From: cur.Status, To: to}})
	})
	if err != nil {
		return domain.Mailout{}, err
	}
	return s.Get(ctx, id)
}

// Resume continues a paused mailout. One that had started runs again and a
// dispatch event has the planner publish one job per parked message; one
// that had not is scheduled again, with a new start event (the version
// changes, so a start event queued before the pause is stale).
func (s *Mailouts) Resume(ctx context.Context, id int64) (domain.Mailout, error) {
	err := s.db.tx(ctx, nil, func(tx *gorm.DB) error {
		cur, err := lockMailout(tx, id)
		if err != nil {
			return err
		}
		to, err := cur.Status.Next(id, domain.ActionResume)
		if err != nil {
			return err
		}
		var started bool
		if err := tx.Raw(`SELECT started_at IS NOT NULL FROM mailouts WHERE id = ?`, id).Scan(&started).Error; err != nil {
			return translate(err, "mailout")
		}
		if !started {
			to = domain.MailoutScheduled
		}
		version, err := setStatusVersion(tx, id, to)
		if err != nil {
			return err
		}
		if started {
			err = enqueue(tx, domain.TopicMailoutDispatch, domain.MailoutDispatchEvent{MailoutID: id, Version: version})
		} else {
			err = enqueue(tx, domain.TopicMailoutStart, domain.MailoutStartEvent{MailoutID: id, Version: version, StartAt: cur.StartAt})
		}
		if err != nil {
			return err
		}
		return audit(ctx, tx, domain.AuditMailoutResumed, domain.AuditObjectMailout, id,
			map[string]domain.Change{"status": {From: cur.Status, To: to}})
	})
	if err != nil {
		return domain.Mailout{}, err
	}
	return s.Get(ctx, id)
}

// Retry puts the mailout's final messages that sel chooses back to
// pending, parked, with a fresh attempt budget (their attempts and last
// error stay as history), and has the planner publish their jobs. A
// finished mailout runs again; a paused one sends them once resumed. The
// end time must still be ahead. Messages of customers deleted since are
// left alone; sent and cancelled ones are never chosen.
func (s *Mailouts) Retry(ctx context.Context, id int64, sel domain.RetrySelection, now time.Time) (domain.RetryResult, error) {
	var requeued int64
	err := s.db.tx(ctx, nil, func(tx *gorm.DB) error {
		cur, err := lockMailout(tx, id)
		if err != nil {
			return err
		}
		to, err := cur.Status.Next(id, domain.ActionRetry)
		if err != nil {
			return err
		}
		if !cur.EndAt.After(now) {
			return domain.Errorf(domain.CodeConflict, "mailout %d ended at %s: extend end_at first, then retry", id, cur.EndAt.Format(time.RFC3339))
		}
		q := `UPDATE messages m SET status = ?, parked = true, attempts_base = m.attempts, next_attempt_at = NULL, updated_at = ?
			WHERE m.mailout_id = ? AND m.status IN ? AND EXISTS (SELECT 1 FROM customers c WHERE c.id = m.customer_id)`
		args := []any{domain.MessagePending, now, id, strs(sel.Statuses)}
		if len(sel.Reasons) > 0 {
			q += ` AND m.reason IN ?`
			args = append(args, strs(sel.Reasons))
		}
		res := tx.Exec(q, args...)
		if err := translate(res.Error, "messages"); err != nil {
			return err
		}
		requeued = res.RowsAffected
		if requeued == 0 {
			return nil
		}
		version, err := setStatusVersion(tx, id, to)
		if err != nil {
			return err
		}
		if err := enqueue(tx, domain.TopicMailoutDispatch, domain.MailoutDispatchEvent{MailoutID: id, Version: version}); err != nil {
			return err
		}
		diff := map[string]any{"requeued": requeued, "statuses": sel.Statuses}
		if len(sel.Reasons) > 0 {
			diff["reasons"] = sel.Reasons
		}
		if to != cur.Status {
			diff["status"] = domain.Change{From: cur.Status, To: to}
		}
		return audit(ctx, tx, domain.AuditMailoutRetried, domain.AuditObjectMailout, id, diff)
	})
	if err != nil {
		return domain.RetryResult{}, err
	}
	m, err := s.Get(ctx, id)
	return domain.RetryResult{Mailout: m, Requeued: requeued}, err
}

func setStatus(tx *gorm.DB, id int64, to domain.MailoutStatus) error {
	_, err := setStatusVersion(tx, id, to)
	return err
}

// setStatusVersion moves mailout id to status to, bumping its version; a
// mailout running again is no longer finished.
func setStatusVersion(tx *gorm.DB, id int64, to domain.MailoutStatus) (int64, error) {
	var version int64
	err := tx.Raw(`UPDATE mailouts SET status = ?, version = version + 1, updated_at = now(),
			finished_at = CASE WHEN ? IN ('running', 'paused', 'scheduled') THEN NULL ELSE finished_at END
		WHERE id = ? RETURNING version`, to, to, id).Scan(&version).Error
	return version, translate(err, "mailout")
}

// UnparkJobs takes up to limit parked messages of mailout id while it is
// running, in id order, unparking them: the caller publishes one job for
// each. Parked messages of a paused mailout stay parked.
func (s *Sending) UnparkJobs(ctx context.Context, mailoutID int64, limit int) ([]int64, error) {
	var ids []int64
	err := s.db.q(ctx).Raw(`UPDATE messages m SET parked = false, updated_at = now()
		WHERE m.id IN (
			SELECT m2.id FROM messages m2
			WHERE m2.mailout_id = ? AND m2.parked AND m2.status = ?
			  AND EXISTS (SELECT 1 FROM mailouts mo WHERE mo.id = m2.mailout_id AND mo.status = ?)
			ORDER BY m2.id LIMIT ? FOR UPDATE SKIP LOCKED)
		RETURNING m.id`, mailoutID, domain.MessagePending, domain.MailoutRunning, limit).Scan(&ids).Error
	return ids, translate(err, "messages")
}

// Repark parks again messages unparked for jobs that could not be
// published, so the dispatch event's redelivery (or the reconciler)
// publishes them again at once rather than after the lost-job grace.
func (s *Sending) Repark(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	err := s.db.q(ctx).Exec(`UPDATE messages SET parked = true WHERE id IN ? AND status = ?`, ids, domain.MessagePending).Error
	return translate(err, "messages")
}

// ParkedRunning lists running mailouts that have parked messages: a job
// dropped while the mailout was paused whose message was parked after its
// resume had already unparked the rest. The reconciler dispatches them.
func (s *Sending) ParkedRunning(ctx context.Context, limit int) ([]int64, error) {
	var ids []int64
	err := s.db.q(ctx).Raw(`SELECT mo.id FROM mailouts mo WHERE mo.status = ?
		AND EXISTS (SELECT 1 FROM messages m WHERE m.mailout_id = mo.id AND m.parked AND m.status = ?)
		ORDER BY mo.id LIMIT ?`, domain.MailoutRunning, domain.MessagePending, limit).Scan(&ids).Error
	return ids, translate(err, "mailouts")
}

// strs converts a list of string-typed values for an IN condition.
func strs[S ~string](in []S) []string {
	out := make([]string, len(in))
	for i, v := range in {
		out[i] = string(v)
	}
	return out
}
