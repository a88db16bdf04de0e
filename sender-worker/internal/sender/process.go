package sender

import (
	"context"
	"strconv"
	"time"

	"mailing/sender-worker/internal/planner"
	"mailing/sender-worker/internal/probe"
	"mailing/sender-worker/internal/retry"
	"mailing/shared/broker"
	"mailing/shared/domain"
	"mailing/shared/postgres"
)

// Reasons recorded by the sender itself, beside the client's.
const (
	ReasonOutsideWindow = "outside_window"
	ReasonWindowWait    = "window_wait"
	ReasonAuthPause     = "auth_paused"
)

// endDuringAttempt is the error of a message whose end time came while
// its attempt was in flight.
const endDuringAttempt = "end time reached during the attempt"

// process decides what happens to one claimed message: deferral by the
// send window, or one attempt at the external API and its consequences.
func (s *Sender) process(ctx context.Context, job *postgres.Job) result {
	now := s.cfg.Now()
	loc, err := s.location(job.Timezone)
	if err != nil {
		loc = time.UTC // zones are validated on input; this is a last resort
	}
	at, ok := domain.NextSendTime(now, job.EndAt, job.Window, loc)
	if !ok {
		return s.final(job, domain.MessageExpired, ReasonOutsideWindow, false, now)
	}
	if at.After(now) {
		// Logged as "message deferred" once the deferral is committed.
		return s.retryAt(job, at, ReasonWindowWait, false, now)
	}
	if s.limiter != nil {
		if err := s.limiter.Wait(ctx); err != nil {
			return s.retryAt(job, now.Add(time.Second), probe.ReasonCancelled, false, now)
		}
	}
	// The caller holds a sending slot. The end time is absolute: the
	// attempt is cancelled when it comes.
	sendCtx, cancel := context.WithDeadline(ctx, job.EndAt)
	res := s.cfg.Client.Send(sendCtx, probe.Message{
		ID: job.MessageID, Phone: job.Phone, Text: job.Text, Attempt: job.Attempts + 1,
		MailoutID: job.MailoutID, CustomerID: job.CustomerID,
	})
	cancel()
	return withReason(s.decide(job, res, s.cfg.Now()), res)
}

// decide maps a client result to the message's next state.
func (s *Sender) decide(job *postgres.Job, res probe.Result, now time.Time) result {
	switch res.Outcome {
	case probe.Sent:
		return result{job: job, out: postgres.Outcome{MessageID: job.MessageID, Status: domain.MessageSent, CountAttempt: true, At: now}}
	case probe.Permanent:
		return s.final(job, domain.MessageFailed, reasonText(res), true, now)
	case probe.Auth:
		s.jobLog(job.MessageID, job.MailoutID).Error("external API refused our credentials (401/403): sending paused; check PROBE_TOKEN",
			"http_status", res.HTTPStatus, "pause_s", s.cfg.AuthPause.Seconds())
		s.pause(context.Background(), s.cfg.AuthPause)
		return s.retryOrExpire(job, now.Add(s.cfg.AuthPause), ReasonAuthPause, false, now)
	case probe.Deferred:
		return s.retryOrExpire(job, now.Add(max(res.RetryAfter, time.Second)), res.Reason, false, now)
	}
	// Transient, including an attempt cut by the end time or by shutdown.
	switch res.Reason {
	case probe.ReasonDeadline:
		return s.final(job, domain.MessageExpired, endDuringAttempt, true, now)
	case probe.ReasonCancelled:
		return s.retryOrExpire(job, now.Add(time.Second), res.Reason, true, now)
	}
	d := retry.Decide(now, job.Attempts+1, s.cfg.Policy, job.EndAt, res.RetryAfter, s.jitter)
	if !d.Retry {
		status := domain.MessageFailed
		if d.GiveUp == retry.Expired {
			status = domain.MessageExpired
		}
		return s.final(job, status, d.GiveUp+": "+reasonText(res), true, now)
	}
	return s.retryAt(job, d.At, reasonText(res), true, now)
}

// retryOrExpire retries at at unless that is at or after the end time.
func (s *Sender) retryOrExpire(job *postgres.Job, at time.Time, reason string, counted bool, now time.Time) result {
	if !at.Before(job.EndAt) {
		return s.final(job, domain.MessageExpired, reason, counted, now)
	}
	return s.retryAt(job, at, reason, counted, now)
}

// retryAt returns the message to pending and schedules its job for at.
func (s *Sender) retryAt(job *postgres.Job, at time.Time, reason string, counted bool, now time.Time) result {
	delay := retry.CeilSecond(at.Sub(now))
	next := planner.Jobs(job.MailoutID, []int64{job.MessageID}, min(delay, broker.MaxDelay))[0]
	return result{job: job, followUp: &next, out: postgres.Outcome{
		MessageID: job.MessageID, Status: domain.MessagePending, CountAttempt: counted,
		NextAttemptAt: now.Add(delay), Error: reason, Reason: reason, At: now,
	}}
}

// final ends the message as failed or expired and dead-letters it so the
// broker's management UI shows it.
func (s *Sender) final(job *postgres.Job, status domain.MessageStatus, reason string, counted bool, now time.Time) result {
	dl := broker.DeadLetter(string(status)+": "+reason, job.MailoutID, job.MessageID,
		[]byte(`{"message_id":`+itoa(job.MessageID)+`,"mailout_id":`+itoa(job.MailoutID)+`}`))
	return result{job: job, followUp: &dl, out: postgres.Outcome{
		MessageID: job.MessageID, Status: status, CountAttempt: counted, Error: reason, Reason: reason, At: now,
	}}
}

// withReason sets the outcome's reason code to the client's: the reason
// texts above add details (HTTP status, why retrying stopped) that would
// split the statistics' groups. An attempt cut by the end time is expired.
func withReason(r result, res probe.Result) result {
	switch {
	case r.out.Status == domain.MessageSent:
		r.out.Reason = ""
	case res.Reason == probe.ReasonDeadline:
		r.out.Reason = "expired"
	default:
		r.out.Reason = res.Reason
	}
	return r
}

func reasonText(res probe.Result) string {
	if res.HTTPStatus != 0 {
		return res.Reason + " (HTTP " + itoa(int64(res.HTTPStatus)) + ")"
	}
	return res.Reason
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
