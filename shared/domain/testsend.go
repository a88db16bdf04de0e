package domain

import "time"

// TestMessage is one test send of a mailout's text to one phone: sent at
// once, once, and never counted in the mailout's statistics.
type TestMessage struct {
	ID         int64  `json:"id" example:"1000000000000001"`
	MailoutID  int64  `json:"mailout_id" example:"7"`
	CustomerID *int64 `json:"customer_id" example:"42"`
	Phone      string `json:"phone" example:"79161234567"`
	// Text is what was sent: the mailout's text rendered with the
	// customer's attributes (none when the phone is nobody's).
	Text string `json:"text" example:"Hello, Anna!"`
	// Status is pending, sending, sent or failed.
	Status      MessageStatus `json:"status" swaggertype:"string" example:"sent"`
	Reason      Reason        `json:"reason,omitempty" swaggertype:"string" example:""`
	LastError   string        `json:"last_error,omitempty" example:""`
	RequestedBy string        `json:"requested_by" example:"user:3"`
	CreatedAt   time.Time     `json:"created_at"`
	SentAt      *time.Time    `json:"sent_at,omitempty"`
}

// TestSendInput names the recipient of a test send: a phone, or a
// customer (whose phone and attributes are used).
type TestSendInput struct {
	Phone      string `json:"phone" example:"79161234567"`
	CustomerID int64  `json:"customer_id" example:"0"`
}

// Validate checks that exactly one recipient is named, and well.
func (in TestSendInput) Validate() error {
	errs := FieldErrors{}
	switch {
	case in.Phone == "" && in.CustomerID == 0:
		errs["phone"] = "give a phone or a customer_id"
	case in.Phone != "" && in.CustomerID != 0:
		errs["phone"] = "give a phone or a customer_id, not both"
	case in.CustomerID < 0:
		errs["customer_id"] = "must be a customer id"
	case in.Phone != "":
		if p := ValidatePhone(in.Phone); p != "" {
			errs["phone"] = p
		}
	}
	return errs.Err()
}

// TopicMessageTest is the topic of the outbox event of a test send: the
// planner publishes its job to the send queue.
const TopicMessageTest = "message.test"

// MessageTestEvent is the payload of TopicMessageTest.
type MessageTestEvent struct {
	TestMessageID int64 `json:"test_message_id"`
	MailoutID     int64 `json:"mailout_id"`
}

// ClaimedTest is a test message a sender has claimed.
type ClaimedTest struct {
	ID, MailoutID int64
	CustomerID    *int64
	Phone, Text   string
}
