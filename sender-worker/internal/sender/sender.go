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
	"mailing/shared/postgres"
)

// Publisher sends messages to the broker with confirms.
type Publisher interface {
	Publish(ctx context.Context, msgs []broker.Outgoing) error
}

// Config holds the sender's dependencies and settings.
type Config struct {
	DB          *postgres.DB
	Pub         Publisher
	Client      *probe.Client
	Log         *slog.Logger
	Policy      retry.Policy
	Concurrency int     // requests in flight at once
	Rate        float64 // messages per second; 0 means no cap
	// AuthPause is how long sending stops after the API refused our
	// credentials (401/403).
	AuthPause time.Duration
	Now       func() time.Time
}

// Sender handles the send queue.
type Sender struct {
	cfg     Config
	slots   chan struct{}
	limiter *rate.Limiter
	claims  *group[int64, *postgres.Job]
	records *group[result, struct{}]
	rndMu   sync.Mutex
	rnd     *rand.Rand

	pauseMu     sync.Mutex
	pausedUntil time.Time
}

// result is a decided outcome with what must follow it.
type result struct {
	out      postgres.Outcome
	job      *postgres.Job
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
	s := &Sender{cfg: cfg, slots: make(chan struct{}, max(cfg.Concurrency, 1)), rnd: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
	if cfg.Rate > 0 {
		s.limiter = rate.NewLimiter(rate.Limit(cfg.Rate), max(1, int(cfg.Rate/10)))
	}
	s.claims = newGroup(200, 3*time.Millisecond, s.claimBatch)
	s.records = newGroup(500, 5*time.Millisecond, s.recordBatch)
	return s
}

// Start runs the batching loops; stop ends them once no handler needs
// them any more (after the consumer has returned).
func (s *Sender) Start() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); s.claims.run(ctx) }()
	go func() { defer wg.Done(); s.records.run(ctx) }()
	return func() { cancel(); wg.Wait() }
}

// Handle processes one job. It blocks while the breaker is open or sending
// is paused, so an unhealthy API stops consumption instead of failing jobs.
func (s *Sender) Handle(ctx context.Context, d broker.Delivery) {
	var job domain.SendJob
	if err := json.Unmarshal(d.Body, &job); err != nil || job.MessageID == 0 {
		s.cfg.Log.Error("malformed send job dropped", "body", string(d.Body))
		_ = d.Nack(false)
		return
	}
	log := s.cfg.Log.With(logging.MessageID, job.MessageID, logging.MailoutID, job.MailoutID)
	if err := s.waitUntilSendable(ctx); err != nil {
		_ = d.Nack(true) // shutting down: the job goes back to the queue
		return
	}
	claimed, err := s.claims.do(ctx, job.MessageID)
	if err != nil {
		log.Error("claim failed; job requeued", "error", err.Error())
		s.pause(ctx, time.Second)
		_ = d.Nack(true)
		return
	}
	if claimed == nil {
		// Final, claimed elsewhere, not due yet, or its mailout is not
		// running: nothing to do for this copy of the job.
		log.Debug("job not claimable; dropped")
		_ = d.Ack()
		return
	}
	r := s.process(ctx, claimed, log)
	if _, err := s.records.do(context.WithoutCancel(ctx), r); err != nil {
		// The claim stays in sending; the reconciler takes it back.
		log.Error("recording the outcome failed; job requeued", "error", err.Error())
		_ = d.Nack(true)
		return
	}
	_ = d.Ack()
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

func (s *Sender) claimBatch(ctx context.Context, ids []int64) ([]*postgres.Job, error) {
	jobs, err := s.cfg.DB.ClaimMessages(ctx, ids, s.cfg.Now())
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]*postgres.Job, len(jobs))
	for i := range jobs {
		byID[jobs[i].MessageID] = &jobs[i]
	}
	out := make([]*postgres.Job, len(ids))
	for i, id := range ids {
		out[i] = byID[id]
	}
	return out, nil
}

// recordBatch commits a batch of outcomes, then publishes their retries and
// dead letters. A failed publish is logged, not returned: the outcome is
// committed, and the reconciler re-publishes a retry whose job is missing.
func (s *Sender) recordBatch(ctx context.Context, rs []result) ([]struct{}, error) {
	outs := make([]postgres.Outcome, len(rs))
	var follow []broker.Outgoing
	for i, r := range rs {
		outs[i] = r.out
		if r.followUp != nil {
			follow = append(follow, *r.followUp)
		}
	}
	if _, err := s.cfg.DB.RecordOutcomes(ctx, outs); err != nil {
		return nil, err
	}
	for _, r := range rs {
		s.logOutcome(r)
	}
	if len(follow) > 0 {
		if err := s.cfg.Pub.Publish(ctx, follow); err != nil {
			s.cfg.Log.Warn("publishing retries and dead letters failed; the reconciler will repair", "count", len(follow), "error", err.Error())
		}
	}
	return make([]struct{}, len(rs)), nil
}

func (s *Sender) logOutcome(r result) {
	attrs := []any{logging.MessageID, r.job.MessageID, logging.MailoutID, r.job.MailoutID, logging.CustomerID, r.job.CustomerID,
		"status", string(r.out.Status), "attempt", r.job.Attempts + boolInt(r.out.CountAttempt)}
	if r.out.Error != "" {
		attrs = append(attrs, "reason", r.out.Error)
	}
	if r.out.Status == domain.MessagePending {
		attrs = append(attrs, "next_attempt_at", r.out.NextAttemptAt)
	}
	s.cfg.Log.Info("message outcome", attrs...)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (s *Sender) jitter() float64 {
	s.rndMu.Lock()
	defer s.rndMu.Unlock()
	return s.rnd.Float64()
}
