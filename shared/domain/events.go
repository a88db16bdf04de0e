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

// TopicMailoutDispatch is the topic of the event written when a mailout
// has parked messages that need jobs: a resume, or a retry of failed
// messages. The planner publishes one job per parked message while the
// mailout is running (and unparks it); a paused mailout's stay parked
// until it is resumed.
const TopicMailoutDispatch = "mailout.dispatch"

// MailoutDispatchEvent is the payload of TopicMailoutDispatch.
type MailoutDispatchEvent struct {
	MailoutID int64 `json:"mailout_id"`
	Version   int64 `json:"version"`
}

// RetrySelection chooses which final messages of a mailout a retry sends
// again: those in any of Statuses (failed, expired; default failed) and,
// when Reasons is given, with one of those reasons.
type RetrySelection struct {
	Statuses []MessageStatus `json:"statuses" swaggertype:"array,string" example:"failed"`
	Reasons  []Reason        `json:"reasons" swaggertype:"array,string" example:"http_5xx,timeout"`
}

// Validate defaults the statuses and checks both lists.
func (r *RetrySelection) Validate() error {
	errs := FieldErrors{}
	if len(r.Statuses) == 0 {
		r.Statuses = []MessageStatus{MessageFailed}
	}
	for _, s := range r.Statuses {
		if s != MessageFailed && s != MessageExpired {
			errs["statuses"] = "may hold failed and expired only: sent and cancelled messages are never sent again"
		}
	}
	for _, reason := range r.Reasons {
		if reason == "" || len(reason) > 32 {
			errs["reasons"] = "must be reason codes such as http_5xx, timeout, rejected_4xx"
		}
	}
	if len(r.Reasons) > 32 {
		errs["reasons"] = "at most 32 reasons"
	}
	return errs.Err()
}

// RetryResult says what a retry did.
type RetryResult struct {
	Mailout Mailout `json:"mailout"`
	// Requeued is how many messages went back to pending.
	Requeued int64 `json:"requeued" example:"120"`
}

// SendJob is the body of a message.send job: one message to deliver.
// The sender re-reads everything else from the database when it claims it.
type SendJob struct {
	MessageID int64 `json:"message_id"`
	MailoutID int64 `json:"mailout_id"`
	// Test marks the job of a test message (MessageID is its id).
	Test bool `json:"test,omitempty"`
}
