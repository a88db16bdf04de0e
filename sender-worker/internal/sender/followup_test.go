package sender

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"mailing/shared/broker"
)

// flakyPublisher fails its first failures calls.
type flakyPublisher struct {
	failures int
	calls    int
	got      []broker.Outgoing
}

func (p *flakyPublisher) Publish(_ context.Context, msgs []broker.Outgoing) error {
	p.calls++
	if p.calls <= p.failures {
		return errors.New("connection closed")
	}
	p.got = append(p.got, msgs...)
	return nil
}

func TestFollowUpsArePublishedAgainAfterABrokerDrop(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	follow := []broker.Outgoing{{Queue: broker.SendQueue, Body: []byte("1")}, {Queue: broker.SendQueue, Body: []byte("2")}}
	for _, tc := range []struct {
		failures, wantCalls, wantGot int
	}{
		{0, 1, 2},
		{2, 3, 2},
		{5, 4, 0}, // three pauses: four tries in all, then the reconciler's turn
	} {
		pub := &flakyPublisher{failures: tc.failures}
		s := &Sender{cfg: Config{Pub: pub, Log: quiet}}
		s.publishFollowUps(context.Background(), follow, time.Millisecond, time.Millisecond, time.Millisecond)
		if pub.calls != tc.wantCalls || len(pub.got) != tc.wantGot {
			t.Errorf("%d failures: %d calls, %d published; want %d calls, %d published",
				tc.failures, pub.calls, len(pub.got), tc.wantCalls, tc.wantGot)
		}
	}
	// A stopping worker does not wait out the pauses.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	pub := &flakyPublisher{failures: 5}
	(&Sender{cfg: Config{Pub: pub, Log: quiet}}).publishFollowUps(ctx, follow, time.Hour)
	if pub.calls != 1 {
		t.Errorf("with a cancelled context: %d calls, want 1", pub.calls)
	}
}
