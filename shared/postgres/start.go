package postgres

import (
	"context"
	"strconv"
	"time"

	"gorm.io/gorm"

	"mailing/shared/domain"
)

// Start starts mailout id if the event's version is current and start_at
// has come: under the mailout's row lock it inserts one pending message per
// customer of the audience with one set-based statement (idempotent thanks
// to UNIQUE (mailout_id, customer_id)) and marks the mailout running. A
// redelivered event for a running mailout of the same version reports
// StartStarted with Existing set, so the caller re-publishes the pending
// jobs it may not have published before.
func (s *Sending) Start(ctx context.Context, id, version int64, now time.Time) (domain.StartResult, error) {
	res := domain.StartResult{Mailout: id, Version: version}
	err := s.db.tx(ctx, nil, func(tx *gorm.DB) error {
		m, err := lockMailout(tx, id)
		if domain.ErrorCode(err) == domain.CodeNotFound {
			res.Outcome, res.Reason = domain.StartStale, "mailout not found"
			return nil
		}
		if err != nil {
			return err
		}
		res.StartAt, res.EndAt = m.StartAt, m.EndAt
		switch {
		case m.Version != version:
			res.Outcome, res.Reason = domain.StartStale, "version changed"
			return nil
		case m.Status == domain.MailoutRunning:
			res.Outcome, res.Existing = domain.StartStarted, true
			return nil
		case !m.Status.Allows(domain.ActionStart):
			res.Outcome, res.Reason = domain.StartStale, "mailout is "+string(m.Status)
			return nil
		case now.Before(m.StartAt):
			res.Outcome = domain.StartTooEarly
			return nil
		case !now.Before(m.EndAt):
			res.Outcome = domain.StartExpired
			to, _ := m.Status.Next(id, domain.ActionExpire)
			return translate(tx.Exec(`UPDATE mailouts SET status = ?, started_at = ?, finished_at = ?,
				updated_at = now() WHERE id = ?`, to, now, now, id).Error, "mailout")
		}
		created, err := fanOut(tx, id)
		if err != nil {
			return err
		}
		res.Created, res.Outcome = created, domain.StartStarted
		to, _ := m.Status.Next(id, domain.ActionStart)
		return translate(tx.Exec(`UPDATE mailouts SET status = ?, started_at = ?, updated_at = now()
			WHERE id = ?`, to, now, id).Error, "mailout")
	})
	return res, err
}

// fanOut inserts one pending message per customer of mailout id's
// audience and returns how many it created. The caller holds the
// mailout's row lock, so the filter cannot change under it.
func fanOut(tx *gorm.DB, id int64) (int64, error) {
	audience, args, err := audienceOf(tx, id)
	if err != nil {
		return 0, err
	}
	ins := tx.Exec(`INSERT INTO messages (mailout_id, customer_id)
		SELECT ?, a.id FROM (`+audience+`) a ORDER BY a.id
		ON CONFLICT (mailout_id, customer_id) DO NOTHING`, append([]any{id}, args...)...)
	return ins.RowsAffected, translate(ins.Error, "messages")
}

// DueMailouts returns mailouts that may start and whose start_at has come,
// with their versions: the reconciler starts them when their event was
// lost.
func (s *Sending) DueMailouts(ctx context.Context, now time.Time, limit int) ([]domain.MailoutRef, error) {
	var refs []domain.MailoutRef
	err := s.db.q(ctx).Raw(`SELECT id, version FROM mailouts WHERE status IN ? AND start_at <= ?
		ORDER BY start_at LIMIT ?`, domain.StatusesAllowing(domain.ActionStart), now, limit).Scan(&refs).Error
	return refs, translate(err, "mailouts")
}

// PendingMessageIDs returns up to limit ids of mailout's pending messages
// after afterID, in id order: the fan-out streams jobs in such pages instead
// of holding every id in memory.
func (s *Sending) PendingMessageIDs(ctx context.Context, mailoutID, afterID int64, limit int) ([]int64, error) {
	var ids []int64
	err := s.db.q(ctx).Raw(`SELECT id FROM messages WHERE mailout_id = ? AND status = ? AND id > ?
		ORDER BY id LIMIT ?`, mailoutID, domain.MessagePending, afterID, limit).Scan(&ids).Error
	return ids, translate(err, "messages")
}

// NextJobPage takes the next page of up to limit pending messages of the
// mailout whose jobs the fan-out has yet to publish, in id order, and
// moves the mailout's fan-out cursor past them in the same statement: the
// caller publishes them, and no other publisher takes the same page. A
// publisher that dies holding a page leaves its jobs to the reconciler's
// lost-job pass.
func (s *Sending) NextJobPage(ctx context.Context, mailoutID int64, limit int) ([]int64, error) {
	var ids []int64
	err := s.db.q(ctx).Raw(`WITH cur AS (
			SELECT jobs_published_through AS after FROM mailouts WHERE id = ? FOR UPDATE
		), page AS (
			SELECT m.id FROM messages m, cur WHERE m.mailout_id = ? AND m.status = ? AND m.id > cur.after
			ORDER BY m.id LIMIT ?
		), moved AS (
			UPDATE mailouts SET jobs_published_through = (SELECT max(id) FROM page)
			WHERE id = ? AND EXISTS (SELECT 1 FROM page)
		)
		SELECT id FROM page ORDER BY id`, mailoutID, mailoutID, domain.MessagePending, limit, mailoutID).Scan(&ids).Error
	return ids, translate(err, "messages")
}

// ReturnJobPage moves the mailout's fan-out cursor back before firstID,
// after the page starting there could not be published, so the next
// publisher (the start event redelivered) takes it again.
func (s *Sending) ReturnJobPage(ctx context.Context, mailoutID, firstID int64) error {
	err := s.db.q(ctx).Exec(`UPDATE mailouts SET jobs_published_through = ? WHERE id = ? AND jobs_published_through >= ?`,
		firstID-1, mailoutID, firstID).Error
	return translate(err, "mailout")
}

// MailoutStatus returns a mailout's status.
func (s *Sending) MailoutStatus(ctx context.Context, id int64) (domain.MailoutStatus, error) {
	var st []string
	if err := s.db.q(ctx).Raw(`SELECT status FROM mailouts WHERE id = ?`, id).Scan(&st).Error; err != nil {
		return "", translate(err, "mailout")
	}
	if len(st) == 0 {
		return "", domain.NotFound("mailout", id)
	}
	return domain.MailoutStatus(st[0]), nil
}

// MailoutStartAt returns a mailout's scheduled start, which the sender's
// delivery-lag metric measures from.
func (s *Sending) MailoutStartAt(ctx context.Context, id int64) (time.Time, error) {
	var row struct{ StartAt time.Time }
	what := "mailout " + strconv.FormatInt(id, 10)
	res := s.db.q(ctx).Raw(`SELECT start_at FROM mailouts WHERE id = ?`, id).Scan(&row)
	if err := translate(res.Error, what); err != nil {
		return time.Time{}, err
	}
	if res.RowsAffected == 0 {
		return time.Time{}, domain.Errorf(domain.CodeNotFound, "%s not found", what)
	}
	return row.StartAt.UTC(), nil
}
