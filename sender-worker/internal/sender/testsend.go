package sender

import (
	"context"

	"mailing/sender-worker/internal/probe"
	"mailing/shared/broker"
	"mailing/shared/domain"
)

// handleTest sends a test message: one attempt, through the same client,
// breaker and classification as every message, holding a sending slot,
// whatever its mailout's status, window or end. Its outcome is recorded
// on the test message only, never in the mailout's statistics.
func (s *Sender) handleTest(ctx context.Context, d broker.Delivery, job domain.SendJob) {
	log := s.jobLog(job.MessageID, job.MailoutID)
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		_ = d.Nack(true)
		return
	}
	defer func() { <-s.slots }()
	t, err := s.cfg.Store.ClaimTest(ctx, job.MessageID, s.cfg.Now())
	if err != nil {
		log.Error("test claim failed; job requeued", "error", err.Error())
		_ = d.Nack(true)
		return
	}
	if t == nil {
		_ = d.Ack() // sent already or claimed elsewhere
		return
	}
	var customerID int64
	if t.CustomerID != nil {
		customerID = *t.CustomerID
	}
	// The client bounds the attempt by PROBE_TIMEOUT.
	res := s.cfg.Client.Send(ctx, probe.Message{ID: t.ID, Phone: t.Phone, Text: t.Text, Attempt: 1, MailoutID: t.MailoutID, CustomerID: customerID})
	status, reason, text := domain.MessageSent, domain.Reason(""), ""
	if res.Outcome != probe.Sent {
		status, reason, text = domain.MessageFailed, res.Reason, reasonText(res)
	}
	if err := s.cfg.Store.RecordTest(context.WithoutCancel(ctx), t.ID, status, reason, text, s.cfg.Now()); err != nil {
		log.Error("test outcome not recorded", "error", err.Error())
	}
	log.Info("test message sent", "test_message_id", t.ID, "status", string(status), "reason", string(reason))
	_ = d.Ack()
}
