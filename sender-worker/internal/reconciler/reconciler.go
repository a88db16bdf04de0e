// Package reconciler repairs the pipeline from the database, which is the
// source of truth: it starts due mailouts whose start event was lost,
// re-publishes jobs that never arrived, takes back claims of dead workers,
// expires what the end time overtook and finishes completed mailouts. Every
// step is an idempotent statement, so any number of workers may run it.
package reconciler

import (
	"context"
	"log/slog"
	"time"

	"mailing/shared/broker"
	"mailing/shared/domain"
	"mailing/shared/logging"
)

// Store is what the reconciler needs of the database: one repair each.
type Store interface {
	DueMailouts(ctx context.Context, now time.Time, limit int) ([]domain.MailoutRef, error)
	ReleaseStaleClaims(ctx context.Context, now time.Time, olderThan time.Duration) ([]domain.MessageRef, error)
	ExpireOverdue(ctx context.Context, now time.Time) (int64, error)
	CancelStaleMessages(ctx context.Context, now time.Time) (int64, error)
	LostJobs(ctx context.Context, now time.Time, grace time.Duration, limit int) ([]domain.MessageRef, error)
	FinishMailouts(ctx context.Context, now time.Time) ([]int64, error)
	ParkedRunning(ctx context.Context, limit int) ([]int64, error)
}

// Starter starts a due mailout and publishes its jobs (the planner); a nil
// event means nothing is re-published when it is early. Dispatch publishes
// the jobs of a running mailout's parked messages.
type Starter interface {
	Start(ctx context.Context, id, version int64, event []byte) error
	Dispatch(ctx context.Context, mailoutID int64) (int, error)
}

// Publisher sends messages to the broker with confirms.
type Publisher interface {
	Publish(ctx context.Context, msgs []broker.Outgoing) error
}

// Reconciler runs repair passes on an interval.
type Reconciler struct {
	Store   Store
	Starter Starter
	Pub     Publisher
	Log     *slog.Logger
	// Interval between passes.
	Interval time.Duration
	// StaleClaim is how long a message may stay claimed before its worker
	// is presumed dead; it must exceed the longest attempt.
	StaleClaim time.Duration
	// Grace is how late a job may be before it is presumed lost.
	Grace time.Duration
	Now   func() time.Time
	// Metrics counts repairs; nil counts nothing.
	Metrics *Metrics
}

// Run repairs until ctx ends.
func (r *Reconciler) Run(ctx context.Context) {
	t := time.NewTicker(r.Interval)
	defer t.Stop()
	for {
		err := r.Pass(ctx)
		if ctx.Err() == nil {
			r.Metrics.pass(err)
		}
		if err != nil && ctx.Err() == nil {
			r.Log.Warn("reconcile pass failed", "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Pass runs every repair once.
func (r *Reconciler) Pass(ctx context.Context) error {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	due, err := r.Store.DueMailouts(ctx, now(), 100)
	if err != nil {
		return err
	}
	for _, m := range due {
		r.Log.Info("reconciler: starting a due mailout whose start event did not arrive", logging.MailoutID, m.ID)
		if err := r.Starter.Start(ctx, m.ID, m.Version, nil); err != nil {
			return err
		}
		r.Metrics.repaired(repairMailoutStarted, 1)
	}
	released, err := r.Store.ReleaseStaleClaims(ctx, now(), r.StaleClaim)
	if err != nil {
		return err
	}
	if len(released) > 0 {
		r.Metrics.repaired(repairClaimReleased, len(released))
		r.Log.Warn("reconciler: released claims of stopped workers", "messages", len(released))
		// The dead worker took their jobs with it; waiting for the lost-job
		// grace period would hold them back for no reason.
		if err := r.publish(ctx, released, "reconciler: re-published jobs of released claims"); err != nil {
			return err
		}
	}
	if n, err := r.Store.ExpireOverdue(ctx, now()); err != nil {
		return err
	} else if n > 0 {
		r.Metrics.repaired(repairMessageExpired, int(n))
		r.Log.Info("reconciler: expired messages past their end time", "messages", n)
	}
	if n, err := r.Store.CancelStaleMessages(ctx, now()); err != nil {
		return err
	} else if n > 0 {
		r.Metrics.repaired(repairMessageCanceled, int(n))
		r.Log.Info("reconciler: cancelled pending messages of cancelled mailouts", "messages", n)
	}
	if err := r.republishLost(ctx, now()); err != nil {
		return err
	}
	if err := r.dispatchParked(ctx); err != nil {
		return err
	}
	done, err := r.Store.FinishMailouts(ctx, now())
	if err != nil {
		return err
	}
	r.Metrics.repaired(repairMailoutFinished, len(done))
	for _, id := range done {
		r.Log.Info("mailout finished", logging.MailoutID, id)
	}
	return nil
}

// dispatchParked publishes the jobs of messages parked after their
// mailout's resume had already been dispatched: a claim that read the
// mailout as paused committed after the resume.
func (r *Reconciler) dispatchParked(ctx context.Context) error {
	ids, err := r.Store.ParkedRunning(ctx, 100)
	if err != nil {
		return err
	}
	for _, id := range ids {
		n, err := r.Starter.Dispatch(ctx, id)
		if err != nil {
			return err
		}
		if n > 0 {
			r.Metrics.repaired(repairJobRepublished, n)
			r.Log.Info("reconciler: published jobs of parked messages of a running mailout", logging.MailoutID, id, "messages", n)
		}
	}
	return nil
}

func (r *Reconciler) republishLost(ctx context.Context, now time.Time) error {
	lost, err := r.Store.LostJobs(ctx, now, r.Grace, 5000)
	if err != nil || len(lost) == 0 {
		return err
	}
	if err := r.publish(ctx, lost, "reconciler: re-published jobs that did not arrive"); err != nil {
		return err
	}
	r.Metrics.repaired(repairJobRepublished, len(lost))
	return nil
}

// publish sends one job per message, a batch per mailout.
func (r *Reconciler) publish(ctx context.Context, refs []domain.MessageRef, logMsg string) error {
	byMailout := map[int64][]int64{}
	for _, j := range refs {
		byMailout[j.MailoutID] = append(byMailout[j.MailoutID], j.MessageID)
	}
	for mailoutID, ids := range byMailout {
		if err := r.Pub.Publish(ctx, broker.SendJobs(mailoutID, ids, 0)); err != nil {
			return err
		}
		r.Log.Info(logMsg, logging.MailoutID, mailoutID, "messages", len(ids))
	}
	return nil
}
