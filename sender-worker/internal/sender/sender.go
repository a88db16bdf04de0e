// Package sender delivers message.send jobs: it claims the message in the
// database, honours the send window and the end time, calls the external
// API through the circuit-breaking client, records the outcome, schedules
// retries through the broker's delays, dead-letters failures, and acks the
// job only after all of that is committed. Claims and outcomes of
// concurrent jobs are batched into single statements.
package sender

import (
	"context"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"mailing/sender-worker/internal/probe"
	"mailing/sender-worker/internal/retry"
	"mailing/shared/broker"
	"mailing/shared/domain"
	"mailing/shared/logging"
)

// Store is what the sender needs of the database.
type Store interface {
	Claim(ctx context.Context, ids []int64, now time.Time) ([]domain.ClaimedMessage, error)
	Record(ctx context.Context, outs []domain.Outcome) (int64, error)
	MailoutStartAt(ctx context.Context, id int64) (time.Time, error)
	FinishMailoutsOf(ctx context.Context, now time.Time, ids []int64) ([]int64, error)
	MailoutStatus(ctx context.Context, id int64) (domain.MailoutStatus, error)
	ClaimTest(ctx context.Context, id int64, now time.Time) (*domain.ClaimedTest, error)
	RecordTest(ctx context.Context, id int64, status domain.MessageStatus, reason domain.Reason, lastError string, at time.Time) error
}

// Publisher sends messages to the broker with confirms.
type Publisher interface {
	Publish(ctx context.Context, msgs []broker.Outgoing) error
}

// Config holds the sender's dependencies and settings.
type Config struct {
	Store       Store
	Pub         Publisher
	Client      *probe.Client
	Log         *slog.Logger
	Policy      retry.Policy
	Concurrency int     // messages claimed and in flight at once
	Rate        float64 // messages per second; 0 means no cap
	// AuthPause is how long sending stops after the API refused our
	// credentials (401/403).
	AuthPause time.Duration
	Now       func() time.Time
	// Metrics counts jobs and outcomes; nil counts nothing.
	Metrics *Metrics
}

// Sender handles the send queue.
type Sender struct {
	cfg     Config
	slots   chan struct{}
	limiter *rate.Limiter
	claims  *group[int64, *domain.ClaimedMessage]
	records *group[result, struct{}]
	rndMu   sync.Mutex
	rnd     *rand.Rand
	// zones caches time zones by name: time.LoadLocation reads and parses
	// the zone file on every call. Names come from the reference table of
	// zones, so the cache stays small.
	zones sync.Map

	pauseMu     sync.Mutex
	pausedUntil time.Time

	// finishing holds the mailouts whose messages this sender has made
	// final since the last finishing pass.
	finishMu  sync.Mutex
	finishing map[int64]struct{}

	texts texts
}

// finishEvery spaces the sender's finishing passes: a mailout finishes
// within about this long of its last message, with one statement per pass
// whatever the throughput. The reconciler's pass remains the safety net.
const finishEvery = 250 * time.Millisecond

// result is a decided outcome with what must follow it.
type result struct {
	out      domain.Outcome
	job      *domain.ClaimedMessage
	followUp *broker.Outgoing // a delayed retry job or a dead letter
}

// New builds a Sender; call Start before handling deliveries.
func New(cfg Config) *Sender {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.AuthPause == 0 {
		cfg.AuthPause = 30 * time.Second
	}
	s := &Sender{cfg: cfg, slots: make(chan struct{}, max(cfg.Concurrency, 1)), rnd: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
		finishing: map[int64]struct{}{}}
	if cfg.Rate > 0 {
		s.limiter = rate.NewLimiter(rate.Limit(cfg.Rate), max(1, int(cfg.Rate/10)))
	}
	// A claim holds a sending slot, so its wait is short: it adds to every
	// message's time in a slot. Outcomes only delay the ack, so they wait
	// longer for bigger batches. Two batches of each may be in flight.
	s.claims = newGroup(256, time.Millisecond, 2, s.claimBatch)
	s.records = newGroup(500, 5*time.Millisecond, 2, s.recordBatch)
	return s
}

// Start runs the batching loops; stop ends them once no handler needs
// them any more (after the consumer has returned).
func (s *Sender) Start() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); s.claims.run(ctx) }()
	go func() { defer wg.Done(); s.records.run(ctx) }()
	go func() { defer wg.Done(); s.finishLoop(ctx) }()
	return func() { cancel(); wg.Wait() }
}

// finishLoop finishes, every finishEvery, the mailouts whose last
// messages this sender may have made final.
func (s *Sender) finishLoop(ctx context.Context) {
	t := time.NewTicker(finishEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.finishMu.Lock()
		if len(s.finishing) == 0 {
			s.finishMu.Unlock()
			continue
		}
		ids := make([]int64, 0, len(s.finishing))
		for id := range s.finishing {
			ids = append(ids, id)
		}
		clear(s.finishing)
		s.finishMu.Unlock()
		done, err := s.cfg.Store.FinishMailoutsOf(ctx, s.cfg.Now(), ids)
		if err != nil {
			if ctx.Err() == nil {
				s.cfg.Log.Warn("finishing mailouts failed; the reconciler will finish them", "mailouts", len(ids), "error", err.Error())
			}
			continue
		}
		s.cfg.Metrics.finished(len(done))
		s.texts.forget(done)
		for _, id := range done {
			s.cfg.Log.Info("mailout finished", logging.MailoutID, id)
		}
	}
}

// noteFinal remembers the mailouts of outcomes that made messages final.
func (s *Sender) noteFinal(rs []result) {
	s.finishMu.Lock()
	for _, r := range rs {
		if r.out.Status.Final() {
			s.finishing[r.job.MailoutID] = struct{}{}
		}
	}
	s.finishMu.Unlock()
}

// Handle processes one job. It blocks while the breaker is open or sending
// is paused, so an unhealthy API stops consumption instead of failing jobs.
func (s *Sender) Handle(ctx context.Context, d broker.Delivery) {
	var job domain.SendJob
	if err := json.Unmarshal(d.Body, &job); err != nil || job.MessageID == 0 {
		s.cfg.Metrics.job(jobMalformed)
		s.cfg.Log.Error("malformed send job dropped", "body", logging.Excerpt(string(d.Body), 256))
		_ = d.Nack(false)
		return
	}
	if err := s.waitUntilSendable(ctx); err != nil {
		s.cfg.Metrics.job(jobRequeued)
		_ = d.Nack(true) // shutting down: the job goes back to the queue
		return
	}
	if job.Test {
		s.handleTest(ctx, d, job)
		return
	}
	r, err := s.claimAndProcess(ctx, job.MessageID)
	if err != nil {
		s.cfg.Metrics.job(jobRequeued)
		if ctx.Err() == nil {
			s.jobLog(job.MessageID, job.MailoutID).Error("claim failed; job requeued", "error", err.Error())
			s.pause(ctx, time.Second)
		}
		_ = d.Nack(true)
		return
	}
	if r == nil {
		// Final, claimed elsewhere, not due yet, or its mailout is not
		// running: nothing to do for this copy of the job.
		s.cfg.Metrics.job(jobNotClaimable)
		s.cfg.Log.Debug("job not claimable; dropped", logging.MessageID, job.MessageID, logging.MailoutID, job.MailoutID)
		_ = d.Ack()
		return
	}
	if _, err := s.records.do(context.WithoutCancel(ctx), *r); err != nil {
		// The claim stays in sending; the reconciler takes it back.
		s.cfg.Metrics.job(jobRequeued)
		s.jobLog(job.MessageID, job.MailoutID).Error("recording the outcome failed; job requeued", "error", err.Error())
		_ = d.Nack(true)
		return
	}
	s.cfg.Metrics.job(jobProcessed)
	_ = d.Ack()
}

// claimAndProcess claims the message and makes its attempt, holding a
// sending slot from before the claim to the end of the attempt; nil means
// the message was not claimable. Claiming only with a free slot keeps
// claimed messages in flight rather than queued: a message claimed ahead
// of a slot would still be sent after its mailout was cancelled, and could
// wait past the stale-claim timeout and be sent twice.
func (s *Sender) claimAndProcess(ctx context.Context, messageID int64) (*result, error) {
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	s.cfg.Metrics.slotTaken()
	defer func() { s.cfg.Metrics.slotFreed(); <-s.slots }()
	claimed, err := s.claims.do(ctx, messageID)
	if err != nil || claimed == nil {
		return nil, err
	}
	r := s.process(ctx, claimed)
	return &r, nil
}

// waitUntilSendable blocks while sending is paused after an auth failure
// or the breaker refuses requests.
func (s *Sender) waitUntilSendable(ctx context.Context) error {
	s.pauseMu.Lock()
	until := s.pausedUntil
	s.pauseMu.Unlock()
	if d := time.Until(until); d > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d):
		}
	}
	return s.cfg.Client.WaitReady(ctx)
}

func (s *Sender) pause(ctx context.Context, d time.Duration) {
	s.pauseMu.Lock()
	if until := s.cfg.Now().Add(d); until.After(s.pausedUntil) {
		s.pausedUntil = until
	}
	s.pauseMu.Unlock()
}

func (s *Sender) claimBatch(ctx context.Context, ids []int64) ([]*domain.ClaimedMessage, error) {
	jobs, err := s.cfg.Store.Claim(ctx, ids, s.cfg.Now())
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]*domain.ClaimedMessage, len(jobs))
	for i := range jobs {
		byID[jobs[i].MessageID] = &jobs[i]
	}
	out := make([]*domain.ClaimedMessage, len(ids))
	for i, id := range ids {
		// Two copies of one job in a batch get one claim: only the first
		// copy sends.
		out[i] = byID[id]
		delete(byID, id)
	}
	return out, nil
}

// recordBatch commits a batch of outcomes, then publishes their retries and
// dead letters. A failed publish is logged, not returned: the outcome is
// committed, and the reconciler re-publishes a retry whose job is missing.
func (s *Sender) recordBatch(ctx context.Context, rs []result) ([]struct{}, error) {
	outs := make([]domain.Outcome, len(rs))
	var follow []broker.Outgoing
	for i, r := range rs {
		outs[i] = r.out
		if r.followUp != nil {
			follow = append(follow, *r.followUp)
		}
	}
	if _, err := s.cfg.Store.Record(ctx, outs); err != nil {
		return nil, err
	}
	s.noteFinal(rs)
	for _, r := range rs {
		s.logOutcome(r)
		s.cfg.Metrics.recorded(ctx, r, s.cfg.Store.MailoutStartAt)
	}
	s.publishFollowUps(ctx, follow, 200*time.Millisecond, time.Second, 3*time.Second)
	return make([]struct{}, len(rs)), nil
}

// publishFollowUps publishes retries and dead letters, trying again after
// short pauses. A dropped broker connection is the usual cause of a
// failure, and the publisher reconnects on its next use, so a second try
// mostly succeeds; without it a retry would wait for the reconciler's
// lost-job pass, which is minutes away.
func (s *Sender) publishFollowUps(ctx context.Context, follow []broker.Outgoing, pauses ...time.Duration) {
	if len(follow) == 0 {
		return
	}
	err := s.cfg.Pub.Publish(ctx, follow)
	for _, pause := range pauses {
		if err == nil || ctx.Err() != nil {
			break
		}
		s.cfg.Log.Warn("publishing retries and dead letters failed; trying again", "count", len(follow), "error", err.Error())
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
		err = s.cfg.Pub.Publish(ctx, follow)
	}
	if err != nil {
		s.cfg.Log.Error("publishing retries and dead letters failed; the reconciler will re-publish the retries",
			"count", len(follow), "error", err.Error())
	}
}

// logOutcome writes one info line per committed outcome: "message
// final" for sent, failed and expired; "retry scheduled" after a failed
// attempt; "message deferred" when the message was put back without an
// attempt (send window, open breaker, paused sending).
func (s *Sender) logOutcome(r result) {
	ctx := context.Background()
	if !s.cfg.Log.Enabled(ctx, slog.LevelInfo) {
		return // spare building the attributes of every message
	}
	attrs := make([]slog.Attr, 0, 9)
	attrs = append(attrs,
		slog.Int64(logging.MessageID, r.job.MessageID), slog.Int64(logging.MailoutID, r.job.MailoutID),
		slog.Int64(logging.CustomerID, r.job.CustomerID), slog.String("status", string(r.out.Status)),
		slog.Int(logging.Attempt, r.job.Attempts+boolInt(r.out.CountAttempt)))
	if r.out.Error != "" {
		attrs = append(attrs, slog.String("reason", r.out.Error))
	}
	msg := "message final"
	if r.out.Status == domain.MessagePending {
		msg = "retry scheduled"
		if !r.out.CountAttempt {
			msg = "message deferred"
		}
		attrs = append(attrs, slog.Time("next_attempt_at", r.out.NextAttemptAt))
		if r.out.Reason == domain.ReasonWindowWait {
			attrs = append(attrs, slog.String("timezone", r.job.Timezone))
		}
	}
	s.cfg.Log.LogAttrs(ctx, slog.LevelInfo, msg, attrs...)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// jobLog is the logger for one message's events. It is built only when
// something is logged: a logger with attributes pre-formats them, which
// every message would pay for.
func (s *Sender) jobLog(messageID, mailoutID int64) *slog.Logger {
	return s.cfg.Log.With(logging.MessageID, messageID, logging.MailoutID, mailoutID)
}

// location returns the named time zone, loaded once.
func (s *Sender) location(name string) (*time.Location, error) {
	if loc, ok := s.zones.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	s.zones.Store(name, loc)
	return loc, nil
}

func (s *Sender) jitter() float64 {
	s.rndMu.Lock()
	defer s.rndMu.Unlock()
	return s.rnd.Float64()
}
