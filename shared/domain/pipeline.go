package domain

import "time"

// The types below are the contract between the sending pipeline (planner,
// sender, reconciler) and the store that records it.

// ClaimedMessage is a message a sender has claimed, with everything needed
// to send it.
type ClaimedMessage struct {
	MessageID  int64
	MailoutID  int64
	CustomerID int64
	Attempts   int // attempts made before this one
	// AttemptsBase is Attempts when an operator last retried the message:
	// its attempt budget and backoff count from there.
	AttemptsBase int
	Phone        string
	Timezone     string
	Text         string
	// Attributes is the customer's attributes as JSON, for rendering the
	// text's placeholders.
	Attributes []byte
	EndAt      time.Time
	Window     *SendWindow
}

// Outcome is the result of handling one claimed message.
type Outcome struct {
	MessageID int64
	// Status is the message's new status: sent, failed, expired, or
	// pending (retry later at NextAttemptAt).
	Status MessageStatus
	// CountAttempt is set when a request was made (or may have been): a
	// deferral by the send window or an open breaker is not an attempt.
	CountAttempt  bool
	NextAttemptAt time.Time
	// Error is the free-text last error: the reason with details (HTTP
	// status, why retrying stopped).
	Error string
	// Reason is why the message is not sent; statistics and metrics group
	// by it. Empty for a sent message.
	Reason Reason
	At     time.Time
	// MissingAttributes counts the placeholders of the text that had no
	// value and no default and rendered empty; a sent message with any is
	// counted as a missing_attribute warning.
	MissingAttributes int
}

// MessageRef names a message and its mailout: enough to publish its job.
type MessageRef struct {
	MessageID int64
	MailoutID int64
}

// MailoutRef names a mailout at a version.
type MailoutRef struct {
	ID      int64
	Version int64
}

// StartOutcome says what starting a mailout did with a start event.
type StartOutcome string

const (
	// StartStarted: the mailout is running and its messages exist (created
	// now, or by an earlier delivery of the same event).
	StartStarted StartOutcome = "started"
	// StartTooEarly: start_at is still ahead; re-deliver the event then.
	StartTooEarly StartOutcome = "too_early"
	// StartStale: the event's version is not the mailout's, or the mailout
	// is cancelled, finished or gone; drop the event.
	StartStale StartOutcome = "stale"
	// StartExpired: end_at passed before the mailout could start; it is
	// finished with no messages.
	StartExpired StartOutcome = "expired"
)

// StartResult reports a start.
type StartResult struct {
	Outcome  StartOutcome
	StartAt  time.Time
	EndAt    time.Time
	Created  int64 // message rows created by this start
	Mailout  int64
	Version  int64
	Reason   string // why the event was stale
	Existing bool   // the mailout was already running (a redelivered event)
}
