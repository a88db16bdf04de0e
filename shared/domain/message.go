package domain

import "time"

// MessageStatus is the delivery state of one message.
type MessageStatus string

const (
	MessagePending   MessageStatus = "pending"
	MessageSending   MessageStatus = "sending"
	MessageSent      MessageStatus = "sent"
	MessageFailed    MessageStatus = "failed"
	MessageExpired   MessageStatus = "expired"
	MessageCancelled MessageStatus = "cancelled"
)

// Valid reports whether s is a known status.
func (s MessageStatus) Valid() bool {
	switch s {
	case MessagePending, MessageSending, MessageSent, MessageFailed, MessageExpired, MessageCancelled:
		return true
	}
	return false
}

// Message is the delivery record of one mailout to one customer. It is
// written by the sender only; clients read it.
type Message struct {
	ID         int64         `json:"id" example:"1001"`
	MailoutID  int64         `json:"mailout_id" example:"7"`
	CustomerID int64         `json:"customer_id" example:"42"`
	Status     MessageStatus `json:"status" example:"sent" enums:"pending,sending,sent,failed,expired,cancelled"`
	Attempts   int           `json:"attempts" example:"1"`
	LastError  string        `json:"last_error,omitempty" example:""`
	// Reason is a short code of why the message is not (yet) sent:
	// timeout, http_5xx, rejected_4xx, auth, expired, outside_window,
	// cancelled, ... (empty once sent).
	Reason        string     `json:"reason,omitempty" example:""`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	SentAt        *time.Time `json:"sent_at,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

// MessageFilter selects messages in lists.
type MessageFilter struct {
	MailoutID  int64
	CustomerID int64
	Status     MessageStatus
}

// Tag, PhoneCode and Timezone are the reference entities.
type Tag struct {
	ID   int64  `json:"id" example:"3"`
	Name string `json:"name" example:"vip"`
}

type PhoneCode struct {
	ID   int64  `json:"id" example:"5"`
	Code string `json:"code" example:"916"`
}

type Timezone struct {
	ID   int64  `json:"id" example:"2"`
	Name string `json:"name" example:"Europe/Moscow"`
}

// Page asks for at most Limit items with ids greater than After.
type Page struct {
	Limit int
	After int64
}

// MaxPageLimit bounds list pages.
const (
	DefaultPageLimit = 50
	MaxPageLimit     = 1000
)
