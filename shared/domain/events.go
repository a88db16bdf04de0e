package domain

import "time"

// TopicMailoutStart is the topic of the event the store writes to the
// outbox, in the same transaction, when a scheduled mailout is created or
// its schedule may have changed: the planner (re)schedules its start. The
// event carries the mailout's version after the change, so a consumer
// finding a newer version, or the mailout no longer scheduled, drops it.
//
// Other changes (a running mailout's new end time, a cancel) write no
// event: every consumer re-reads the mailout's status and end time from
// the database when it claims a message, so such an event would tell
// nobody anything. A change that needs a consumer to act gets its own
// topic, and the planner's table of handlers an entry for it.
const TopicMailoutStart = "mailout.start"

// MailoutStartEvent is the payload of TopicMailoutStart.
type MailoutStartEvent struct {
	MailoutID int64     `json:"mailout_id"`
	Version   int64     `json:"version"`
	StartAt   time.Time `json:"start_at"`
}

// SendJob is the body of a message.send job: one message to deliver.
// The sender re-reads everything else from the database when it claims it.
type SendJob struct {
	MessageID int64 `json:"message_id"`
	MailoutID int64 `json:"mailout_id"`
}
