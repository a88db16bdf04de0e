package domain_test

import (
	"testing"

	"mailing/shared/domain"
)

func TestStatsGroup(t *testing.T) {
	for _, c := range []struct {
		status domain.MessageStatus
		reason domain.Reason
		want   domain.ReasonGroup
	}{
		{domain.MessageFailed, "timeout", "timeout"},
		{domain.MessageFailed, "http_408", "timeout"},
		{domain.MessagePending, "connection", "connection"},
		{domain.MessageFailed, "http_5xx", "http_5xx"},
		{domain.MessagePending, "http_503", "http_5xx"},
		{domain.MessagePending, "http_429", "rate_limited"},
		{domain.MessageFailed, "bad_response", "bad_response"},
		{domain.MessageFailed, "code_nonzero", "bad_response"},
		{domain.MessageFailed, "unexpected_status", "bad_response"},
		{domain.MessageFailed, "rejected_4xx", "rejected_4xx"},
		{domain.MessageFailed, "invalid_message", "rejected_4xx"},
		{domain.MessagePending, "auth", "auth"},
		{domain.MessagePending, "auth_paused", "auth"},
		// Expired is about the end time, whatever failed before it.
		{domain.MessageExpired, "expired", "expired"},
		{domain.MessageExpired, "timeout", "expired"},
		{domain.MessageExpired, "", "expired"},
		{domain.MessageExpired, "outside_window", "outside_window"},
		{domain.MessageExpired, "window_wait", "outside_window"},
		{domain.MessagePending, "worker_lost", "other"},
		{domain.MessagePending, "breaker_open", "other"},
		{domain.MessageFailed, "", "other"},
	} {
		if got := domain.StatsGroup(c.status, c.reason); got != c.want {
			t.Errorf("StatsGroup(%s, %q) = %s, want %s", c.status, c.reason, got, c.want)
		}
	}
}

func TestCountsAdd(t *testing.T) {
	var r domain.ReasonCounts
	r.Add(domain.MessageFailed, "http_503", 2)
	r.Add(domain.MessageExpired, "window_wait", 3)
	r.Add(domain.MessageFailed, "something new", 1)
	if r != (domain.ReasonCounts{Total: 6, HTTP5xx: 2, OutsideWindow: 3, Other: 1}) {
		t.Fatalf("reason counts: %+v", r)
	}
	var s domain.StatusCounts
	for _, st := range []domain.MessageStatus{"pending", "sending", "sent", "failed", "expired", "cancelled", "bogus"} {
		s.Add(st, 1)
	}
	if s.Total != 6 || s.Final() != 4 {
		t.Fatalf("status counts: %+v final %d", s, s.Final())
	}
	var m domain.MailoutStatusCounts
	for _, st := range []domain.MailoutStatus{"scheduled", "running", "finished", "cancelled", "bogus"} {
		m.Add(st, 2)
	}
	if m != (domain.MailoutStatusCounts{Total: 8, Scheduled: 2, Running: 2, Finished: 2, Cancelled: 2}) {
		t.Fatalf("mailout counts: %+v", m)
	}
}

// Only known codes become metric label values.
func TestReasonLabelIsBounded(t *testing.T) {
	for r, want := range map[domain.Reason]string{
		domain.ReasonHTTP5xx:           "http_5xx",
		domain.ReasonWindowWait:        "window_wait",
		domain.ReasonAttemptsExhausted: "attempts_exhausted",
		"http_5xx (HTTP 500)":          "other",
		"something else entirely":      "other",
		"":                             "other",
	} {
		if got := r.Label(); got != want {
			t.Errorf("Reason(%q).Label() = %q, want %q", r, got, want)
		}
	}
}
