package domain

import (
	"fmt"
	"slices"
	"strings"
)

// MailoutStatus is the lifecycle state of a mailout.
type MailoutStatus string

const (
	MailoutScheduled MailoutStatus = "scheduled"
	MailoutRunning   MailoutStatus = "running"
	MailoutPaused    MailoutStatus = "paused"
	MailoutFinished  MailoutStatus = "finished"
	MailoutCancelled MailoutStatus = "cancelled"
)

// MailoutStatuses is every mailout status, in lifecycle order.
var MailoutStatuses = []MailoutStatus{MailoutScheduled, MailoutRunning, MailoutPaused, MailoutFinished, MailoutCancelled}

// Valid reports whether s is a known status.
func (s MailoutStatus) Valid() bool { return slices.Contains(MailoutStatuses, s) }

// MailoutAction is something that changes a mailout: a client's edit or
// command, or a step of the pipeline.
type MailoutAction string

const (
	// ActionEdit changes the text, start, window or filter.
	ActionEdit MailoutAction = "edit"
	// ActionEditEnd changes only the end time.
	ActionEditEnd MailoutAction = "edit_end"
	// ActionDelete removes a mailout that has no messages.
	ActionDelete MailoutAction = "delete"
	// ActionCancel stops it; its unsent messages are cancelled.
	ActionCancel MailoutAction = "cancel"
	// ActionStart fans it out when start_at has come.
	ActionStart MailoutAction = "start"
	// ActionExpire ends it without messages: end_at passed before it started.
	ActionExpire MailoutAction = "expire"
	// ActionFinish ends it once every message is final.
	ActionFinish MailoutAction = "finish"
	// ActionPause stops new delivery attempts until it is resumed.
	ActionPause MailoutAction = "pause"
	// ActionResume continues a paused mailout: running again, or scheduled
	// again when it had not started.
	ActionResume MailoutAction = "resume"
	// ActionRetry sends its failed (or, after an extended end, expired)
	// messages again.
	ActionRetry MailoutAction = "retry"
)

// mailoutTransitions is the mailout state machine: for each status, the
// actions allowed in it and the status each leads to. Nothing else
// decides whether a mailout may change; the store passes the statuses it
// derives from here to SQL as parameters.
var mailoutTransitions = map[MailoutStatus]map[MailoutAction]MailoutStatus{
	MailoutScheduled: {
		ActionEdit: MailoutScheduled, ActionEditEnd: MailoutScheduled, ActionDelete: MailoutScheduled,
		ActionCancel: MailoutCancelled, ActionStart: MailoutRunning, ActionExpire: MailoutFinished,
		ActionPause: MailoutPaused,
	},
	MailoutRunning: {
		ActionEditEnd: MailoutRunning, ActionCancel: MailoutCancelled, ActionFinish: MailoutFinished,
		ActionPause: MailoutPaused, ActionRetry: MailoutRunning,
	},
	// A paused mailout resumes as running, or as scheduled when it had not
	// started (the store decides by its start); it finishes like a running
	// one once every message is final, and its end time stays absolute.
	MailoutPaused: {
		ActionEditEnd: MailoutPaused, ActionCancel: MailoutCancelled, ActionFinish: MailoutFinished,
		ActionResume: MailoutRunning, ActionRetry: MailoutPaused,
	},
	MailoutFinished:  {ActionRetry: MailoutRunning},
	MailoutCancelled: {},
}

// Next returns the status action leads to from s, or a conflict error
// naming the mailout when s does not allow it.
func (s MailoutStatus) Next(id int64, a MailoutAction) (MailoutStatus, error) {
	if to, ok := mailoutTransitions[s][a]; ok {
		return to, nil
	}
	return s, refusal(id, s, a)
}

// Allows reports whether action a may happen in status s.
func (s MailoutStatus) Allows(a MailoutAction) bool {
	_, ok := mailoutTransitions[s][a]
	return ok
}

// StatusesAllowing lists the statuses in which a may happen, for SQL
// conditions such as "WHERE status = ANY (...)".
func StatusesAllowing(a MailoutAction) []string {
	var out []string
	for _, s := range MailoutStatuses {
		if s.Allows(a) {
			out = append(out, string(s))
		}
	}
	return out
}

// refusal explains why a mailout in status s cannot take action a.
func refusal(id int64, s MailoutStatus, a MailoutAction) error {
	switch a {
	case ActionCancel:
		return Errorf(CodeConflict, "mailout %d is %s and cannot be cancelled", id, s)
	case ActionPause:
		return Errorf(CodeConflict, "mailout %d is %s: only a scheduled or running mailout can be paused", id, s)
	case ActionResume:
		return Errorf(CodeConflict, "mailout %d is %s: only a paused mailout can be resumed", id, s)
	case ActionRetry:
		return Errorf(CodeConflict, "mailout %d is %s: only a running, paused or finished mailout's messages can be retried", id, s)
	case ActionEdit:
		if s.Allows(ActionEditEnd) {
			return Errorf(CodeConflict, "mailout %d is %s: only end_at may change", id, s)
		}
	}
	return Errorf(CodeConflict, "mailout %d is %s and can no longer be changed", id, s)
}

// StatusList is a human list of statuses for messages such as "must be
// scheduled, running, finished or cancelled".
func StatusList[S ~string](all []S) string {
	names := make([]string, len(all))
	for i, s := range all {
		names[i] = string(s)
	}
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return fmt.Sprintf("%s or %s", strings.Join(names[:len(names)-1], ", "), names[len(names)-1])
}
