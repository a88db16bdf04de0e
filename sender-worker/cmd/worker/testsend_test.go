package main

import (
	"context"
	"testing"
	"time"

	"mailing/sender-worker/probesim"
	"mailing/shared/domain"
	"mailing/shared/postgres"
	"mailing/shared/testkit"
)

// A test send reaches the external API once, at once, even for a mailout
// that has not started, and its outcome — sent, or failed with the
// client's reason — is recorded on the test message, never among the
// mailout's messages.
func TestTestSendGoesOutOnceAndStaysOutOfTheStatistics(t *testing.T) {
	t.Parallel()
	p := startPipeline(t, nil)
	ctx := context.Background()
	now := time.Now()
	m := p.mailout(now.Add(time.Hour), now.Add(2*time.Hour), domain.Filter{})
	tests := postgres.NewTestMessages(p.db)
	send := func(phone string) domain.TestMessage {
		t.Helper()
		tm, err := tests.Create(ctx, domain.TestMessage{MailoutID: m.ID, Phone: phone, Text: "Test: Sale!"})
		if err != nil {
			t.Fatal(err)
		}
		var got domain.TestMessage
		testkit.Eventually(t, "test message final", 30*time.Second, func() bool {
			got, err = tests.Get(ctx, m.ID, tm.ID)
			return err == nil && got.Status.Final()
		})
		return got
	}
	ok := send("79160000001")
	if ok.Status != domain.MessageSent || ok.SentAt == nil {
		t.Fatalf("test message: %+v", ok)
	}
	var delivered []probesim.Delivery
	for _, d := range p.sim.Deliveries() {
		if d.ID == ok.ID {
			delivered = append(delivered, d)
		}
	}
	if len(delivered) != 1 || delivered[0].Text != "Test: Sale!" || delivered[0].Phone != 79160000001 {
		t.Fatalf("deliveries of the test: %+v", delivered)
	}
	p.setFaults(probesim.Faults{Rate400: 1})
	bad := send("79160000002")
	if bad.Status != domain.MessageFailed || bad.Reason != domain.ReasonRejected4xx {
		t.Fatalf("rejected test: %+v", bad)
	}
	if msgs := p.messages(m.ID); len(msgs) != 0 {
		t.Errorf("the mailout has %d messages after test sends", len(msgs))
	}
	if got := p.status(m.ID); got != domain.MailoutScheduled {
		t.Errorf("mailout %s after test sends, want scheduled", got)
	}
}
