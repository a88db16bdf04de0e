package mailouts

import (
	"context"

	"mailing/shared/domain"
	"mailing/shared/logging"
	"mailing/shared/msgtemplate"
)

// TestStore keeps test sends.
type TestStore interface {
	Recipient(ctx context.Context, in domain.TestSendInput) (customerID *int64, phone string, attributes []byte, err error)
	Create(ctx context.Context, tm domain.TestMessage) (domain.TestMessage, error)
	Get(ctx context.Context, mailoutID, id int64) (domain.TestMessage, error)
	List(ctx context.Context, mailoutID int64, p domain.Page) ([]domain.TestMessage, error)
}

// Tests sends mailouts' texts to single phones, now, as tests.
type Tests struct {
	mailouts *Service
	store    TestStore
}

// NewTests returns the test sender of the mailouts svc manages.
func NewTests(svc *Service, store TestStore) *Tests { return &Tests{mailouts: svc, store: store} }

// Send renders mailout id's text for the recipient in names (with the
// customer's attributes when the phone is a customer's) and queues it to
// be sent once, at once. The answer is the pending test message.
func (t *Tests) Send(ctx context.Context, id int64, in domain.TestSendInput) (domain.TestMessage, error) {
	if err := in.Validate(); err != nil {
		return domain.TestMessage{}, err
	}
	m, err := t.mailouts.Get(ctx, id)
	if err != nil {
		return domain.TestMessage{}, err
	}
	customerID, phone, attrs, err := t.store.Recipient(ctx, in)
	if err != nil {
		return domain.TestMessage{}, err
	}
	text := m.Text
	if tmpl, err := msgtemplate.Parse(m.Text); err == nil {
		out, _ := tmpl.RenderJSON(attrs, nil)
		text = string(out)
	}
	p, _ := domain.PrincipalFrom(ctx)
	tm, err := t.store.Create(ctx, domain.TestMessage{MailoutID: id, CustomerID: customerID, Phone: phone, Text: text, RequestedBy: p.Actor()})
	if err != nil {
		return domain.TestMessage{}, err
	}
	logging.FromContext(ctx, t.mailouts.log).Info("test message queued", logging.MailoutID, id, "test_message_id", tm.ID,
		"phone", phone) // masked by the logger unless LOG_PII
	return tm, nil
}

// Get returns a test message of mailout id.
func (t *Tests) Get(ctx context.Context, id, testID int64) (domain.TestMessage, error) {
	return t.store.Get(ctx, id, testID)
}

// List returns a page of mailout id's test messages.
func (t *Tests) List(ctx context.Context, id int64, p domain.Page) ([]domain.TestMessage, error) {
	if _, err := t.mailouts.Get(ctx, id); err != nil {
		return nil, err
	}
	return t.store.List(ctx, id, p)
}
