package main

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"mailing/shared/domain"
	"mailing/shared/postgres"
)

// sending keeps the running mailout being sent while the endpoints are
// measured: senders claim batches of its pending messages and record
// their outcomes with the store functions the workers use, at a fixed
// overall pace, so the counters change under the readers as in
// production.
type sending struct {
	quit     chan struct{}
	wg       sync.WaitGroup
	start    time.Time
	recorded atomic.Int64
	o        options

	mu  sync.Mutex
	err error
}

// sendingReport says how much was sent during the measurement.
type sendingReport struct {
	TargetPerSecond int     `json:"target_per_second"`
	Senders         int     `json:"senders"`
	Batch           int     `json:"batch"`
	Recorded        int64   `json:"recorded"`
	Seconds         float64 `json:"seconds"`
	PerSecond       float64 `json:"per_second"`
}

// startSending starts the senders. They stop between two batches when
// stop is called: a statement cancelled half-way may still commit after
// its client has given up, and change the counts the check compares.
func (b *bench) startSending(ctx context.Context, o options) *sending {
	s := &sending{quit: make(chan struct{}), start: time.Now(), o: o}
	if o.rate == 0 {
		return s
	}
	batches := make(chan []int64, o.senders)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(batches)
		s.fail(produce(ctx, b.db, b.runningID, o.batch, batches, s.quit))
	}()
	// Each sender takes its share of the pace.
	interval := time.Duration(float64(time.Second) * float64(o.batch*o.senders) / float64(o.rate))
	for range o.senders {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.fail(s.send(ctx, b.db, batches, interval))
		}()
	}
	return s
}

// produce streams the mailout's pending message ids in batches, in id
// order, until there are none left or quit is closed.
func produce(ctx context.Context, db *postgres.DB, mailoutID int64, batch int, out chan<- []int64, quit <-chan struct{}) error {
	var after int64
	for {
		ids, err := postgres.NewSending(db).PendingMessageIDs(ctx, mailoutID, after, batch*10)
		if err != nil || len(ids) == 0 {
			return err
		}
		after = ids[len(ids)-1]
		for len(ids) > 0 {
			n := min(batch, len(ids))
			select {
			case out <- ids[:n]:
			case <-quit:
				return nil
			}
			ids = ids[n:]
		}
	}
}

// send claims and records batches every interval.
func (s *sending) send(ctx context.Context, db *postgres.DB, batches <-chan []int64, interval time.Duration) error {
	next := time.Now()
	for ids := range batches {
		select {
		case <-s.quit:
			return nil
		default:
		}
		if wait := time.Until(next); wait > 0 {
			select {
			case <-time.After(wait):
			case <-s.quit:
				return nil
			}
		} else if wait < -time.Second {
			next = time.Now() // fell behind: do not burst to catch up
		}
		next = next.Add(interval)
		now := time.Now().UTC()
		jobs, err := postgres.NewSending(db).Claim(ctx, ids, now)
		if err != nil {
			return err
		}
		n, err := postgres.NewSending(db).Record(ctx, outcomes(jobs, time.Now().UTC()))
		if err != nil {
			return err
		}
		s.recorded.Add(n)
	}
	return nil
}

// outcomes decides a batch as a healthy external API would: 97% sent, 2%
// retried later after a timeout, 1% failed with a 5xx.
func outcomes(jobs []domain.ClaimedMessage, now time.Time) []domain.Outcome {
	outs := make([]domain.Outcome, len(jobs))
	for i, j := range jobs {
		o := domain.Outcome{MessageID: j.MessageID, Status: domain.MessageSent, CountAttempt: true, At: now}
		switch j.MessageID % 100 {
		case 97, 98:
			o.Status, o.Reason, o.NextAttemptAt = domain.MessagePending, "timeout", now.Add(time.Hour)
		case 99:
			o.Status, o.Reason = domain.MessageFailed, "http_5xx"
		}
		o.Error = string(o.Reason)
		outs[i] = o
	}
	return outs
}

func (s *sending) fail(err error) {
	if err == nil || errors.Is(err, context.Canceled) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
}

// stop ends sending, once the statements in flight are done, and reports
// it.
func (s *sending) stop() sendingReport {
	close(s.quit)
	s.wg.Wait()
	secs := time.Since(s.start).Seconds()
	r := sendingReport{TargetPerSecond: s.o.rate, Senders: s.o.senders, Batch: s.o.batch, Recorded: s.recorded.Load(), Seconds: secs}
	if secs > 0 {
		r.PerSecond = float64(r.Recorded) / secs
	}
	return r
}
