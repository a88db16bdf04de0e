package domain_test

import (
	"slices"
	"testing"

	"mailing/shared/domain"
)

// The state machine is one table: every status answers every action, and
// the statuses SQL gets for an action are exactly those that allow it.
func TestMailoutStateMachine(t *testing.T) {
	for _, c := range []struct {
		from   domain.MailoutStatus
		action domain.MailoutAction
		to     domain.MailoutStatus // "" when refused
	}{
		{domain.MailoutScheduled, domain.ActionEdit, domain.MailoutScheduled},
		{domain.MailoutScheduled, domain.ActionStart, domain.MailoutRunning},
		{domain.MailoutScheduled, domain.ActionExpire, domain.MailoutFinished},
		{domain.MailoutScheduled, domain.ActionCancel, domain.MailoutCancelled},
		{domain.MailoutScheduled, domain.ActionFinish, ""},
		{domain.MailoutRunning, domain.ActionEditEnd, domain.MailoutRunning},
		{domain.MailoutRunning, domain.ActionEdit, ""},
		{domain.MailoutRunning, domain.ActionFinish, domain.MailoutFinished},
		{domain.MailoutRunning, domain.ActionCancel, domain.MailoutCancelled},
		{domain.MailoutRunning, domain.ActionStart, ""},
		{domain.MailoutFinished, domain.ActionEditEnd, ""},
		{domain.MailoutFinished, domain.ActionCancel, ""},
		{domain.MailoutCancelled, domain.ActionCancel, ""},
		{domain.MailoutCancelled, domain.ActionStart, ""},
		{domain.MailoutScheduled, domain.ActionPause, domain.MailoutPaused},
		{domain.MailoutRunning, domain.ActionPause, domain.MailoutPaused},
		{domain.MailoutPaused, domain.ActionPause, ""},
		{domain.MailoutPaused, domain.ActionResume, domain.MailoutRunning},
		{domain.MailoutRunning, domain.ActionResume, ""},
		{domain.MailoutPaused, domain.ActionEditEnd, domain.MailoutPaused},
		{domain.MailoutPaused, domain.ActionEdit, ""},
		{domain.MailoutPaused, domain.ActionCancel, domain.MailoutCancelled},
		{domain.MailoutPaused, domain.ActionFinish, domain.MailoutFinished},
		{domain.MailoutPaused, domain.ActionStart, ""},
		{domain.MailoutFinished, domain.ActionRetry, domain.MailoutRunning},
		{domain.MailoutRunning, domain.ActionRetry, domain.MailoutRunning},
		{domain.MailoutPaused, domain.ActionRetry, domain.MailoutPaused},
		{domain.MailoutScheduled, domain.ActionRetry, ""},
		{domain.MailoutCancelled, domain.ActionRetry, ""},
		{domain.MailoutFinished, domain.ActionPause, ""},
		{domain.MailoutCancelled, domain.ActionResume, ""},
	} {
		to, err := c.from.Next(7, c.action)
		switch {
		case c.to == "" && (err == nil || domain.ErrorCode(err) != domain.CodeConflict):
			t.Errorf("%s --%s--> %s, %v; want a conflict", c.from, c.action, to, err)
		case c.to != "" && (err != nil || to != c.to):
			t.Errorf("%s --%s--> %s, %v; want %s", c.from, c.action, to, err, c.to)
		}
		if c.from.Allows(c.action) != (c.to != "") {
			t.Errorf("%s allows %s: %v", c.from, c.action, c.from.Allows(c.action))
		}
		if slices.Contains(domain.StatusesAllowing(c.action), string(c.from)) != (c.to != "") {
			t.Errorf("StatusesAllowing(%s) = %v", c.action, domain.StatusesAllowing(c.action))
		}
	}
}

// Refusals keep the messages clients have always seen.
func TestMailoutRefusals(t *testing.T) {
	for _, c := range []struct {
		from   domain.MailoutStatus
		action domain.MailoutAction
		want   string
	}{
		{domain.MailoutRunning, domain.ActionEdit, "mailout 7 is running: only end_at may change"},
		{domain.MailoutFinished, domain.ActionEdit, "mailout 7 is finished and can no longer be changed"},
		{domain.MailoutCancelled, domain.ActionCancel, "mailout 7 is cancelled and cannot be cancelled"},
	} {
		_, err := c.from.Next(7, c.action)
		var de *domain.Error
		if e, ok := err.(*domain.Error); ok {
			de = e
		}
		if de == nil || de.Message != c.want {
			t.Errorf("%s %s: %v, want %q", c.from, c.action, err, c.want)
		}
	}
	if got := domain.StatusList(domain.MailoutStatuses); got != "scheduled, running, paused, finished or cancelled" {
		t.Errorf("StatusList = %q", got)
	}
}
