package domain

import (
	"slices"
	"time"
)

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

// MessageStatuses is every message status, in lifecycle order.
var MessageStatuses = []MessageStatus{MessagePending, MessageSending, MessageSent, MessageFailed, MessageExpired, MessageCancelled}

// Valid reports whether s is a known status.
func (s MessageStatus) Valid() bool { return slices.Contains(MessageStatuses, s) }

// Final reports whether a message in status s will not change any more.
func (s MessageStatus) Final() bool { return s.Valid() && s != MessagePending && s != MessageSending }

// Message is the delivery record of one mailout to one customer. It is
// written by the sender only; clients read it.
type Message struct {
	ID         int64         `json:"id" example:"1001"`
	MailoutID  int64         `json:"mailout_id" example:"7"`
	CustomerID int64         `json:"customer_id" example:"42"`
	Status     MessageStatus `json:"status" example:"sent"`
	Attempts   int           `json:"attempts" example:"1"`
	LastError  string        `json:"last_error,omitempty" example:""`
	// Reason is a short code of why the message is not (yet) sent:
	// timeout, http_5xx, rejected_4xx, auth, expired, outside_window,
	// cancelled, ... (empty once sent).
	Reason        Reason     `json:"reason,omitempty" swaggertype:"string" example:""`
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

// DefaultPageLimit is the page size when none is asked for; MaxPageLimit
// the largest a client may ask for.
const (
	DefaultPageLimit = 50
	MaxPageLimit     = 1000
)

// Lookahead is p with one row more: a list asks its store for it, and the
// extra row only proves that another page follows.
func (p Page) Lookahead() Page { return Page{Limit: p.Limit + 1, After: p.After} }

// Rows is how many rows a store reads for p: the default when unset, at
// most one past the largest page (the lookahead row).
func (p Page) Rows() int {
	switch {
	case p.Limit <= 0:
		return DefaultPageLimit
	case p.Limit > MaxPageLimit+1:
		return MaxPageLimit + 1
	}
	return p.Limit
}
