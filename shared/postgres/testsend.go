package postgres

import (
	"context"
	"time"

	"gorm.io/gorm"

	"mailing/shared/domain"
)

// TestMessages stores test sends.
type TestMessages struct{ db *DB }

// NewTestMessages returns the store on db.
func NewTestMessages(db *DB) *TestMessages { return &TestMessages{db: db} }

type testRow struct {
	ID          int64
	MailoutID   int64
	CustomerID  *int64
	Phone       string
	Text        string
	Status      string
	Reason      string
	LastError   string
	RequestedBy string
	CreatedAt   time.Time
	SentAt      *time.Time
}

const testColumns = `id, mailout_id, customer_id, phone, text, status, reason, last_error, requested_by, created_at, sent_at`

func (r testRow) domain() domain.TestMessage {
	return domain.TestMessage{ID: r.ID, MailoutID: r.MailoutID, CustomerID: r.CustomerID, Phone: r.Phone, Text: r.Text,
		Status: domain.MessageStatus(r.Status), Reason: domain.Reason(r.Reason), LastError: r.LastError,
		RequestedBy: r.RequestedBy, CreatedAt: r.CreatedAt.UTC(), SentAt: utcPtr(r.SentAt)}
}

// Recipient finds a test send's customer: by id, or by phone (nobody's
// phone is fine: no customer, no attributes). It returns the customer id
// (nil for nobody), the phone and the attributes as JSON.
func (s *TestMessages) Recipient(ctx context.Context, in domain.TestSendInput) (*int64, string, []byte, error) {
	var rows []struct {
		ID         int64
		Phone      string
		Attributes string
	}
	q, arg := `SELECT id, phone, attributes::text AS attributes FROM customers WHERE phone = ?`, any(in.Phone)
	if in.CustomerID != 0 {
		q, arg = `SELECT id, phone, attributes::text AS attributes FROM customers WHERE id = ?`, in.CustomerID
	}
	if err := s.db.q(ctx).Raw(q, arg).Scan(&rows).Error; err != nil {
		return nil, "", nil, translate(err, "customer")
	}
	switch {
	case len(rows) == 1:
		return &rows[0].ID, rows[0].Phone, []byte(rows[0].Attributes), nil
	case in.CustomerID != 0:
		return nil, "", nil, domain.NotFound("customer", in.CustomerID)
	}
	return nil, in.Phone, nil, nil
}

// Create stores a test send of mailout tm.MailoutID (which must exist) and
// its event for the planner, and audits it, in one transaction.
func (s *TestMessages) Create(ctx context.Context, tm domain.TestMessage) (domain.TestMessage, error) {
	var out domain.TestMessage
	err := s.db.tx(ctx, nil, func(tx *gorm.DB) error {
		var rows []testRow
		err := tx.Raw(`INSERT INTO test_messages (mailout_id, customer_id, phone, text, requested_by)
			SELECT id, ?, ?, ?, ? FROM mailouts WHERE id = ? RETURNING `+testColumns,
			tm.CustomerID, tm.Phone, tm.Text, tm.RequestedBy, tm.MailoutID).Scan(&rows).Error
		if err != nil {
			return translate(err, "test message")
		}
		if len(rows) == 0 {
			return domain.NotFound("mailout", tm.MailoutID)
		}
		out = rows[0].domain()
		if err := enqueue(tx, domain.TopicMessageTest, domain.MessageTestEvent{TestMessageID: out.ID, MailoutID: out.MailoutID}); err != nil {
			return err
		}
		return audit(ctx, tx, domain.AuditMailoutTestSent, domain.AuditObjectMailout, tm.MailoutID,
			map[string]any{"test_message_id": out.ID, "phone": out.Phone})
	})
	return out, err
}

// Get returns test message id of mailout mailoutID.
func (s *TestMessages) Get(ctx context.Context, mailoutID, id int64) (domain.TestMessage, error) {
	var rows []testRow
	if err := s.db.q(ctx).Raw(`SELECT `+testColumns+` FROM test_messages WHERE id = ? AND mailout_id = ?`, id, mailoutID).Scan(&rows).Error; err != nil {
		return domain.TestMessage{}, translate(err, "test message")
	}
	if len(rows) == 0 {
		return domain.TestMessage{}, domain.NotFound("test message", id)
	}
	return rows[0].domain(), nil
}

// List returns one keyset page of a mailout's test messages, in id order.
func (s *TestMessages) List(ctx context.Context, mailoutID int64, p domain.Page) ([]domain.TestMessage, error) {
	var rows []testRow
	err := s.db.q(ctx).Raw(`SELECT `+testColumns+` FROM test_messages WHERE mailout_id = ? AND id > ? ORDER BY id LIMIT ?`,
		mailoutID, p.After, p.Rows()).Scan(&rows).Error
	if err != nil {
		return nil, translate(err, "test messages")
	}
	out := make([]domain.TestMessage, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// ClaimTest marks a pending test message as sending and returns it; nil
// when it is not pending (sent already, or claimed elsewhere): a test is
// sent once.
func (s *Sending) ClaimTest(ctx context.Context, id int64, now time.Time) (*domain.ClaimedTest, error) {
	var rows []testRow
	err := s.db.q(ctx).Raw(`UPDATE test_messages SET status = ?, updated_at = ? WHERE id = ? AND status = ?
		RETURNING `+testColumns, domain.MessageSending, now, id, domain.MessagePending).Scan(&rows).Error
	if err != nil || len(rows) == 0 {
		return nil, translate(err, "test message")
	}
	r := rows[0]
	return &domain.ClaimedTest{ID: r.ID, MailoutID: r.MailoutID, CustomerID: r.CustomerID, Phone: r.Phone, Text: r.Text}, nil
}

// RecordTest writes a test message's outcome: sent, or failed with why.
func (s *Sending) RecordTest(ctx context.Context, id int64, status domain.MessageStatus, reason domain.Reason, lastError string, at time.Time) error {
	err := s.db.q(ctx).Exec(`UPDATE test_messages SET status = ?, reason = ?, last_error = ?, updated_at = ?,
		sent_at = CASE WHEN ? = 'sent' THEN ?::timestamptz END WHERE id = ? AND status = ?`,
		status, reason, truncate(lastError, 500), at, status, at, id, domain.MessageSending).Error
	return translate(err, "test message")
}
