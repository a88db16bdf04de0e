package sender

import (
	"context"
	"strconv"
	"time"

	"mailing/sender-worker/internal/probe"
	"mailing/sender-worker/internal/retry"
	"mailing/shared/broker"
	"mailing/shared/domain"
)

// endDuringAttempt is the error of a message whose end time came while
// its attempt was in flight.
const endDuringAttempt = "end time reached during the attempt"

// process decides what happens to one claimed message: deferral by the
// send window, or one attempt at the external API and its consequences.
func (s *Sender) process(ctx context.Context, job *domain.ClaimedMessage) result {
	now := s.cfg.Now()
	loc, err := s.location(job.Timezone)
	if err != nil {
		loc = time.UTC // zones are validated on input; this is a last resort
	}
	at, ok := domain.NextSendTime(now, job.EndAt, job.Window, loc)
	if !ok {
		return s.final(job, domain.MessageExpired, domain.ReasonOutsideWindow, string(domain.ReasonOutsideWindow), false, now)
	}
	if at.After(now) {
		// Logged as "message deferred" once the deferral is committed.
		return s.retryAt(job, at, domain.ReasonWindowWait, string(domain.ReasonWindowWait), false, now)
	}
	if s.limiter != nil {
		began := time.Now()
		if err := s.limiter.Wait(ctx); err != nil {
			return s.retryAt(job, now.Add(time.Second), domain.ReasonCancelled, string(domain.ReasonCancelled), false, now)
		}
		// The claim saw the mailout running; after a long wait for the
		// rate limit it may have been paused or cancelled since, and a
		// pause must stop new attempts within a second.
		if time.Since(began) > recheckAfter {
			if st, err := s.cfg.Store.MailoutStatus(ctx, job.MailoutID); err == nil && st != domain.MailoutRunning {
				return s.holdBack(job, s.cfg.Now())
			}
		}
	}
	// The caller holds a sending slot. The end time is absolute: the
	// attempt is cancelled when it comes.
	text, missing := s.texts.render(job)
	sendCtx, cancel := context.WithDeadline(ctx, job.EndAt)
	res := s.cfg.Client.Send(sendCtx, probe.Message{
		ID: job.MessageID, Phone: job.Phone, Text: text, Attempt: job.Attempts + 1,
		MailoutID: job.MailoutID, CustomerID: job.CustomerID,
	})
	cancel()
	r := s.decide(job, res, s.cfg.Now())
	r.out.MissingAttributes = missing
	return r
}

// decide maps a client result to the message's next state. The outcome's
// reason is the client's code, which statistics and metrics group by; its
// error text adds the details (HTTP status, why retrying stopped). An
// attempt cut by the end time is expired.
func (s *Sender) decide(job *domain.ClaimedMessage, res probe.Result, now time.Time) result {
	switch res.Outcome {
	case probe.Sent:
		return result{job: job, out: domain.Outcome{MessageID: job.MessageID, Status: domain.MessageSent, CountAttempt: true, At: now}}
	case probe.Permanent:
		return s.final(job, domain.MessageFailed, res.Reason, reasonText(res), true, now)
	case probe.Auth:
		s.jobLog(job.MessageID, job.MailoutID).Error("external API refused our credentials (401/403): sending paused; check PROBE_TOKEN",
			"http_status", res.HTTPStatus, "pause_s", s.cfg.AuthPause.Seconds())
		s.pause(context.Background(), s.cfg.AuthPause)
		return s.retryOrExpire(job, now.Add(s.cfg.AuthPause), res.Reason, string(domain.ReasonAuthPaused), false, now)
	case probe.Deferred:
		return s.retryOrExpire(job, now.Add(max(res.RetryAfter, time.Second)), res.Reason, string(res.Reason), false, now)
	}
	// Transient, including an attempt cut by the end time or by shutdown.
	switch res.Reason {
	case domain.ReasonDeadline:
		return s.final(job, domain.MessageExpired, domain.ReasonExpired, endDuringAttempt, true, now)
	case domain.ReasonCancelled:
		return s.retryOrExpire(job, now.Add(time.Second), res.Reason, string(res.Reason), true, now)
	}
	// An operator's retry gives the message a fresh budget: count from it.
	d := retry.Decide(now, job.Attempts-job.AttemptsBase+1, s.cfg.Policy, job.EndAt, res.RetryAfter, s.jitter)
	if !d.Retry {
		status := domain.MessageFailed
		if d.GiveUp == domain.ReasonExpired {
			status = domain.MessageExpired
		}
		return s.final(job, status, res.Reason, string(d.GiveUp)+": "+reasonText(res), true, now)
	}
	return s.retryAt(job, d.At, res.Reason, reasonText(res), true, now)
}

// recheckAfter is how long a claimed message may wait for the rate limit
// before its mailout's status is read again.
const recheckAfter = 250 * time.Millisecond

// holdBack returns a message whose mailout stopped running while it
// waited, without an attempt: pending and parked, so a resume publishes
// it (a cancel cancels it).
func (s *Sender) holdBack(job *domain.ClaimedMessage, now time.Time) result {
	return result{job: job, out: domain.Outcome{
		MessageID: job.MessageID, Status: domain.MessagePending, NextAttemptAt: now,
		Error: "mailout paused before the attempt", Reason: domain.ReasonPaused, At: now,
	}}
}

// retryOrExpire retries at at unless that is at or after the end time.
func (s *Sender) retryOrExpire(job *domain.ClaimedMessage, at time.Time, reason domain.Reason, text string, counted bool, now time.Time) result {
	if !at.Before(job.EndAt) {
		return s.final(job, domain.MessageExpired, reason, text, counted, now)
	}
	return s.retryAt(job, at, reason, text, counted, now)
}

// retryAt returns the message to pending and schedules its job for at.
func (s *Sender) retryAt(job *domain.ClaimedMessage, at time.Time, reason domain.Reason, text string, counted bool, now time.Time) result {
	delay := retry.CeilSecond(at.Sub(now))
	next := broker.SendJobs(job.MailoutID, []int64{job.MessageID}, min(delay, broker.MaxDelay))[0]
	return result{job: job, followUp: &next, out: domain.Outcome{
		MessageID: job.MessageID, Status: domain.MessagePending, CountAttempt: counted,
		NextAttemptAt: now.Add(delay), Error: text, Reason: reason, At: now,
	}}
}

// final ends the message as failed or expired and dead-letters it so the
// broker's management UI shows it.
func (s *Sender) final(job *domain.ClaimedMessage, status domain.MessageStatus, reason domain.Reason, text string, counted bool, now time.Time) result {
	dl := broker.DeadSendJob(domain.SendJob{MessageID: job.MessageID, MailoutID: job.MailoutID}, string(status)+": "+text)
	return result{job: job, followUp: &dl, out: domain.Outcome{
		MessageID: job.MessageID, Status: status, CountAttempt: counted, Error: text, Reason: reason, At: now,
	}}
}

func reasonText(res probe.Result) string {
	if res.HTTPStatus != 0 {
		return string(res.Reason) + " (HTTP " + strconv.Itoa(res.HTTPStatus) + ")"
	}
	return string(res.Reason)
}
