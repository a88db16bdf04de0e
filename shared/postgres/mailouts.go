package postgres

import (
	"context"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"

	"mailing/shared/domain"
	"mailing/shared/smstext"
)

// Mailouts stores mailouts and their filters. Every status change it makes
// is a transition of domain's state machine, checked under the row lock.
type Mailouts struct{ db *DB }

// NewMailouts returns the store on db.
func NewMailouts(db *DB) *Mailouts { return &Mailouts{db: db} }

type mailoutRow struct {
	ID          int64
	Text        string
	StartAt     time.Time
	EndAt       time.Time
	WindowStart *int16
	WindowEnd   *int16
	Status      string
	Version     int64
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

func (r mailoutRow) domain() domain.Mailout {
	m := domain.Mailout{
		ID: r.ID, Text: r.Text, StartAt: r.StartAt.UTC(), EndAt: r.EndAt.UTC(),
		Status: domain.MailoutStatus(r.Status), Version: r.Version,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
		Filter: domain.Filter{Tags: []string{}, PhoneCodes: []string{}}, SMS: smstext.Count(r.Text),
	}
	if r.WindowStart != nil && r.WindowEnd != nil {
		m.SendWindow = &domain.SendWindow{Start: domain.Clock(*r.WindowStart), End: domain.Clock(*r.WindowEnd)}
	}
	return m
}

const mailoutSelect = `SELECT m.id, m.text, m.start_at, m.end_at, m.window_start, m.window_end,
	m.status, m.version, m.created_at, m.updated_at FROM mailouts m`

// CreateMailout stores m (already validated) as scheduled, registering its
// tags and phone codes, and queues its start event in the same transaction.
func (s *Mailouts) Create(ctx context.Context, m domain.Mailout) (domain.Mailout, error) {
	var created struct {
		ID      int64
		Version int64
	}
	err := s.db.tx(ctx, nil, func(tx *gorm.DB) error {
		ws, we := windowColumns(m.SendWindow)
		err := tx.Raw(`INSERT INTO mailouts (text, start_at, end_at, window_start, window_end)
			VALUES (?, ?, ?, ?, ?) RETURNING id, version`, m.Text, m.StartAt, m.EndAt, ws, we).Scan(&created).Error
		if err != nil {
			return translate(err, "mailout")
		}
		if err := linkFilter(tx, created.ID, m.Filter); err != nil {
			return err
		}
		if err := audit(ctx, tx, domain.AuditMailoutCreated, domain.AuditObjectMailout, created.ID, domain.Diff(nil, m)); err != nil {
			return err
		}
		return enqueue(tx, domain.TopicMailoutStart, domain.MailoutStartEvent{MailoutID: created.ID, Version: created.Version, StartAt: m.StartAt})
	})
	if err != nil {
		return domain.Mailout{}, err
	}
	return s.Get(ctx, created.ID)
}

// Mailout returns one mailout with its filter and current audience.
func (s *Mailouts) Get(ctx context.Context, id int64) (domain.Mailout, error) {
	list, err := s.readMailouts(s.db.q(ctx), `WHERE m.id = ?`, []any{id})
	if err != nil {
		return domain.Mailout{}, err
	}
	if len(list) == 0 {
		return domain.Mailout{}, domain.NotFound("mailout", id)
	}
	return list[0], nil
}

// Mailouts lists mailouts matching f in id order, one keyset page.
func (s *Mailouts) List(ctx context.Context, f domain.MailoutFilter, p domain.Page) ([]domain.Mailout, error) {
	where := "WHERE m.id > ?"
	args := []any{p.After}
	if len(f.Statuses) > 0 {
		statuses := make([]string, len(f.Statuses))
		for i, s := range f.Statuses {
			statuses[i] = string(s)
		}
		where += " AND m.status IN ?"
		args = append(args, statuses)
	}
	return s.readMailouts(s.db.q(ctx), where+fmt.Sprintf(" ORDER BY m.id LIMIT %d", p.Rows()), args)
}

// readMailouts runs three queries whatever the number of rows: the
// mailouts, their filters, and their audiences.
func (s *Mailouts) readMailouts(q *gorm.DB, tail string, args []any) ([]domain.Mailout, error) {
	var rows []mailoutRow
	if err := q.Raw(mailoutSelect+" "+tail, args...).Scan(&rows).Error; err != nil {
		return nil, translate(err, "mailouts")
	}
	if len(rows) == 0 {
		return []domain.Mailout{}, nil
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	filters, err := loadFilters(q, ids)
	if err != nil {
		return nil, err
	}
	audiences, err := countAudiences(q, filters)
	if err != nil {
		return nil, err
	}
	out := make([]domain.Mailout, len(rows))
	for i, r := range rows {
		m := r.domain()
		f := filters[r.ID]
		m.Filter = domain.Filter{Tags: f.tags, PhoneCodes: f.codes}
		m.Audience = audiences[r.ID]
		out[i] = m
	}
	return out, nil
}

// UpdateMailout changes a mailout under a row lock: change gets the current
// state and returns the next one (or an error that aborts). A change that
// alters nothing writes nothing; any other bumps the version and queues the
// event consumers need in the same transaction.
func (s *Mailouts) Update(ctx context.Context, id int64, change func(cur domain.Mailout) (domain.Mailout, error)) (domain.Mailout, error) {
	return s.changeMailout(ctx, id, func(_ *gorm.DB, cur domain.Mailout) (domain.Mailout, error) {
		return change(cur)
	})
}

// AddMailoutTag links tag (created if new) to a scheduled mailout's filter.
func (s *Mailouts) AddTag(ctx context.Context, id int64, tag string) (domain.Mailout, error) {
	return s.changeMailout(ctx, id, func(_ *gorm.DB, cur domain.Mailout) (domain.Mailout, error) {
		if _, err := cur.Status.Next(cur.ID, domain.ActionEdit); err != nil {
			return cur, err
		}
		next := cur
		next.Filter.Tags = withValue(cur.Filter.Tags, tag)
		return next, nil
	})
}

// RemoveMailoutTag unlinks a tag from a scheduled mailout's filter; not
// found when the tag is not linked.
func (s *Mailouts) RemoveTag(ctx context.Context, id, tagID int64) (domain.Mailout, error) {
	return s.changeMailout(ctx, id, func(tx *gorm.DB, cur domain.Mailout) (domain.Mailout, error) {
		if _, err := cur.Status.Next(cur.ID, domain.ActionEdit); err != nil {
			return cur, err
		}
		name, err := valueByID(tx, `SELECT name FROM tags WHERE id = ?`, tagID)
		if err != nil {
			return cur, err
		}
		if name == "" || !slices.Contains(cur.Filter.Tags, name) {
			return cur, domain.Errorf(domain.CodeNotFound, "tag %d is not linked to mailout %d", tagID, id)
		}
		next := cur
		next.Filter.Tags = withoutValue(cur.Filter.Tags, name)
		return next, nil
	})
}

// AddMailoutPhoneCode links a phone code (registered if new) to a scheduled
// mailout's filter.
func (s *Mailouts) AddPhoneCode(ctx context.Context, id int64, code string) (domain.Mailout, error) {
	return s.changeMailout(ctx, id, func(_ *gorm.DB, cur domain.Mailout) (domain.Mailout, error) {
		if _, err := cur.Status.Next(cur.ID, domain.ActionEdit); err != nil {
			return cur, err
		}
		next := cur
		next.Filter.PhoneCodes = withValue(cur.Filter.PhoneCodes, code)
		return next, nil
	})
}

// RemoveMailoutPhoneCode unlinks a phone code from a scheduled mailout's
// filter; not found when the code is not linked.
func (s *Mailouts) RemovePhoneCode(ctx context.Context, id, codeID int64) (domain.Mailout, error) {
	return s.changeMailout(ctx, id, func(tx *gorm.DB, cur domain.Mailout) (domain.Mailout, error) {
		if _, err := cur.Status.Next(cur.ID, domain.ActionEdit); err != nil {
			return cur, err
		}
		code, err := valueByID(tx, `SELECT code FROM phone_codes WHERE id = ?`, codeID)
		if err != nil {
			return cur, err
		}
		if code == "" || !slices.Contains(cur.Filter.PhoneCodes, code) {
			return cur, domain.Errorf(domain.CodeNotFound, "phone code %d is not linked to mailout %d", codeID, id)
		}
		next := cur
		next.Filter.PhoneCodes = withoutValue(cur.Filter.PhoneCodes, code)
		return next, nil
	})
}

// Cancel stops a mailout whose status allows it. Its messages not yet
// sent are cancelled in the same transaction; sent ones stay as history.
func (s *Mailouts) Cancel(ctx context.Context, id int64) (domain.Mailout, error) {
	err := s.db.tx(ctx, nil, func(tx *gorm.DB) error {
		cur, err := lockMailout(tx, id)
		if err != nil {
			return err
		}
		to, err := cur.Status.Next(id, domain.ActionCancel)
		if err != nil {
			return err
		}
		err = tx.Exec(`UPDATE mailouts SET status = ?, version = version + 1, updated_at = now() WHERE id = ?`, to, id).Error
		if err != nil {
			return translate(err, "mailout")
		}
		if err := cancelMessages(tx, "mailout_id", id, "mailout cancelled"); err != nil {
			return err
		}
		return audit(ctx, tx, domain.AuditMailoutCancelled, domain.AuditObjectMailout, id,
			map[string]domain.Change{"status": {From: cur.Status, To: to}})
	})
	if err != nil {
		return domain.Mailout{}, err
	}
	return s.Get(ctx, id)
}

// cancelMessages cancels the pending messages whose column (mailout_id or
// customer_id) is id, recording why.
func cancelMessages(tx *gorm.DB, column string, id int64, why string) error {
	err := tx.Exec(`UPDATE messages SET status = ?, last_error = ?, reason = ?, updated_at = now(), parked = false
		WHERE `+column+` = ? AND status = ?`,
		domain.MessageCancelled, why, domain.ReasonCancelled, id, domain.MessagePending).Error
	return translate(err, "messages")
}

// DeleteMailout removes a mailout that has no messages. Messages are
// delivery history, so a mailout that has any must be cancelled instead.
func (s *Mailouts) Delete(ctx context.Context, id int64) error {
	return s.db.tx(ctx, nil, func(tx *gorm.DB) error {
		// The row lock also holds off a concurrent fan-out: its message
		// inserts need a key-share lock on this row.
		if _, err := lockMailout(tx, id); err != nil {
			return err
		}
		var has bool
		if err := tx.Raw(`SELECT EXISTS (SELECT 1 FROM messages WHERE mailout_id = ?)`, id).Scan(&has).Error; err != nil {
			return translate(err, "mailout messages")
		}
		if has {
			return domain.Errorf(domain.CodeConflict,
				"mailout %d has messages, which are delivery history and cannot be deleted: cancel it instead (POST /api/mailouts/%d/cancel)", id, id)
		}
		if err := tx.Exec(`DELETE FROM mailouts WHERE id = ?`, id).Error; err != nil {
			return translate(err, "mailout")
		}
		return audit(ctx, tx, domain.AuditMailoutDeleted, domain.AuditObjectMailout, id, nil)
	})
}

// changeMailout is UpdateMailout with the transaction available to change.
func (s *Mailouts) changeMailout(ctx context.Context, id int64, change func(tx *gorm.DB, cur domain.Mailout) (domain.Mailout, error)) (domain.Mailout, error) {
	err := s.db.tx(ctx, nil, func(tx *gorm.DB) error {
		cur, err := lockMailout(tx, id)
		if err != nil {
			return err
		}
		next, err := change(tx, cur)
		if err != nil {
			return err
		}
		if cur.SameContent(next) {
			return nil
		}
		if err := writeMailout(tx, cur, next); err != nil {
			return err
		}
		return audit(ctx, tx, domain.AuditMailoutUpdated, domain.AuditObjectMailout, id, domain.Diff(cur, next))
	})
	if err != nil {
		return domain.Mailout{}, err
	}
	return s.Get(ctx, id)
}

// writeMailout stores next over cur and bumps the version; a mailout that
// has yet to start is (re)planned by a new start event, which makes the
// one queued before it stale.
func writeMailout(tx *gorm.DB, cur, next domain.Mailout) error {
	ws, we := windowColumns(next.SendWindow)
	var version int64
	err := tx.Raw(`UPDATE mailouts SET text = ?, start_at = ?, end_at = ?, window_start = ?, window_end = ?,
		version = version + 1, updated_at = now() WHERE id = ? RETURNING version`,
		next.Text, next.StartAt, next.EndAt, ws, we, cur.ID).Scan(&version).Error
	if err != nil {
		return translate(err, "mailout")
	}
	if !domain.SameSet(cur.Filter.Tags, next.Filter.Tags) || !domain.SameSet(cur.Filter.PhoneCodes, next.Filter.PhoneCodes) {
		if err := unlinkFilter(tx, cur.ID); err != nil {
			return err
		}
		if err := linkFilter(tx, cur.ID, next.Filter); err != nil {
			return err
		}
	}
	if !cur.Status.Allows(domain.ActionStart) {
		return nil // consumers re-read the rest when they claim
	}
	return enqueue(tx, domain.TopicMailoutStart, domain.MailoutStartEvent{MailoutID: cur.ID, Version: version, StartAt: next.StartAt})
}

// lockMailout reads a mailout and its filter, locking its row until the
// transaction ends so concurrent edits and status changes serialise.
func lockMailout(tx *gorm.DB, id int64) (domain.Mailout, error) {
	var rows []mailoutRow
	if err := tx.Raw(mailoutSelect+` WHERE m.id = ? FOR UPDATE`, id).Scan(&rows).Error; err != nil {
		return domain.Mailout{}, translate(err, "mailout")
	}
	if len(rows) == 0 {
		return domain.Mailout{}, domain.NotFound("mailout", id)
	}
	filters, err := loadFilters(tx, []int64{id})
	if err != nil {
		return domain.Mailout{}, err
	}
	m := rows[0].domain()
	m.Filter = domain.Filter{Tags: filters[id].tags, PhoneCodes: filters[id].codes}
	return m, nil
}

// linkFilter registers the filter's tags and codes and links them.
func linkFilter(tx *gorm.DB, id int64, f domain.Filter) error {
	if len(f.Tags) > 0 {
		if err := registerTags(tx, f.Tags); err != nil {
			return err
		}
		err := tx.Exec(`INSERT INTO mailout_tags (mailout_id, tag_id)
			SELECT ?, id FROM tags WHERE name IN ? ON CONFLICT DO NOTHING`, id, f.Tags).Error
		if err != nil {
			return translate(err, "mailout tags")
		}
	}
	if len(f.PhoneCodes) > 0 {
		if err := registerRefs(tx, f.PhoneCodes, nil); err != nil {
			return err
		}
		err := tx.Exec(`INSERT INTO mailout_phone_codes (mailout_id, phone_code_id)
			SELECT ?, id FROM phone_codes WHERE code IN ? ON CONFLICT DO NOTHING`, id, f.PhoneCodes).Error
		if err != nil {
			return translate(err, "mailout phone codes")
		}
	}
	return nil
}

func unlinkFilter(tx *gorm.DB, id int64) error {
	if err := tx.Exec(`DELETE FROM mailout_tags WHERE mailout_id = ?`, id).Error; err != nil {
		return translate(err, "mailout tags")
	}
	return translate(tx.Exec(`DELETE FROM mailout_phone_codes WHERE mailout_id = ?`, id).Error, "mailout phone codes")
}

func windowColumns(w *domain.SendWindow) (*int16, *int16) {
	if w == nil {
		return nil, nil
	}
	s, e := int16(w.Start), int16(w.End)
	return &s, &e
}

// valueByID reads one reference value by id; "" when there is none.
func valueByID(tx *gorm.DB, query string, id int64) (string, error) {
	var names []string
	if err := tx.Raw(query, id).Scan(&names).Error; err != nil {
		return "", translate(err, "reference")
	}
	if len(names) == 0 {
		return "", nil
	}
	return names[0], nil
}

func withValue(list []string, v string) []string {
	out := slices.Clone(list)
	if !slices.Contains(out, v) {
		out = append(out, v)
	}
	return out
}

func withoutValue(list []string, v string) []string {
	return slices.DeleteFunc(slices.Clone(list), func(s string) bool { return s == v })
}
