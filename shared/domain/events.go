package domain

import "time"

// Topics of the events the API writes to the outbox with each mailout
// change. Every event carries the mailout's version after the change, so a
// consumer holding a newer version, or finding the mailout cancelled, drops
// a stale event.
const (
	// TopicMailoutStart: a scheduled mailout was created or edited; the
	// planner (re)schedules its start.
	TopicMailoutStart = "mailout.start"
	// TopicMailoutUpdated: the end time of a running mailout changed.
	TopicMailoutUpdated = "mailout.updated"
	// TopicMailoutCancelled: the mailout was cancelled.
	TopicMailoutCancelled = "mailout.cancelled"
)

// MailoutStartEvent is the payload of TopicMailoutStart.
type MailoutStartEvent struct {
	MailoutID int64     `json:"mailout_id"`
	Version   int64     `json:"version"`
	StartAt   time.Time `json:"start_at"`
}

// MailoutUpdatedEvent is the payload of TopicMailoutUpdated.
type MailoutUpdatedEvent struct {
	MailoutID int64     `json:"mailout_id"`
	Version   int64     `json:"version"`
	EndAt     time.Time `json:"end_at"`
}

// MailoutCancelledEvent is the payload of TopicMailoutCancelled.
type MailoutCancelledEvent struct {
	MailoutID int64 `json:"mailout_id"`
	Version   int64 `json:"version"`
}

// SendJob is the body of a message.send job: one message to deliver.
// The sender re-reads everything else from the database when it claims it.
type SendJob struct {
	MessageID int64 `json:"message_id"`
	MailoutID int64 `json:"mailout_id"`
}
