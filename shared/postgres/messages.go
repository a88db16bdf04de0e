package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"mailing/shared/domain"
)

type messageRow struct {
	ID            int64
	MailoutID     int64
	CustomerID    int64
	Status        domain.MessageStatus
	Attempts      int
	LastError     string
	Reason        domain.Reason
	NextAttemptAt *time.Time
	SentAt        *time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

func (r messageRow) domain() domain.Message {
	return domain.Message{
		ID: r.ID, MailoutID: r.MailoutID, CustomerID: r.CustomerID,
		Status: r.Status, Attempts: r.Attempts, LastError: r.LastError, Reason: r.Reason,
		NextAttemptAt: utcOrNil(r.NextAttemptAt), SentAt: utcOrNil(r.SentAt),
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
}

const messageSelect = `SELECT m.id, m.mailout_id, m.customer_id, m.status, m.attempts, m.last_error, m.reason,
	m.next_attempt_at, m.sent_at, m.created_at, m.updated_at FROM messages m`

// Message returns one message.
func (s *Stats) Message(ctx context.Context, id int64) (domain.Message, error) {
	var rows []messageRow
	if err := s.db.q(ctx).Raw(messageSelect+` WHERE m.id = ?`, id).Scan(&rows).Error; err != nil {
		return domain.Message{}, translate(err, "message")
	}
	if len(rows) == 0 {
		return domain.Message{}, domain.NotFound("message", id)
	}
	return rows[0].domain(), nil
}

// Messages lists messages matching f in id order, one keyset page. The
// indexes messages(mailout_id, status, id) and messages(customer_id, id)
// serve the filtered lists.
func (s *Stats) Messages(ctx context.Context, f domain.MessageFilter, p domain.Page) ([]domain.Message, error) {
	where := []string{"m.id > ?"}
	args := []any{p.After}
	if f.MailoutID != 0 {
		where = append(where, "m.mailout_id = ?")
		args = append(args, f.MailoutID)
	}
	if f.CustomerID != 0 {
		where = append(where, "m.customer_id = ?")
		args = append(args, f.CustomerID)
	}
	if f.Status != "" {
		where = append(where, "m.status = ?")
		args = append(args, string(f.Status))
	}
	q := messageSelect + " WHERE " + strings.Join(where, " AND ") + fmt.Sprintf(" ORDER BY m.id LIMIT %d", p.Rows())
	return s.scanMessages(ctx, q, args...)
}

// scanMessages runs a query selecting messageSelect's columns.
func (s *Stats) scanMessages(ctx context.Context, q string, args ...any) ([]domain.Message, error) {
	var rows []messageRow
	if err := s.db.q(ctx).Raw(q, args...).Scan(&rows).Error; err != nil {
		return nil, translate(err, "messages")
	}
	out := make([]domain.Message, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

func utcOrNil(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
