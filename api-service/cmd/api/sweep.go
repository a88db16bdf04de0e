package main

import (
	"context"
	"log/slog"
	"time"
)

// sessionSweeper deletes sessions that ended, in batches.
type sessionSweeper interface {
	DeleteEnded(ctx context.Context, cutoff time.Time, limit int) (int64, error)
}

const (
	sweepEvery = 10 * time.Minute
	// sweepKeep keeps an ended session a while, so a browser presenting
	// it is told it ended rather than that it never existed.
	sweepKeep  = time.Hour
	sweepBatch = 1000
)

// sweepSessions deletes ended sessions every sweepEvery until ctx ends.
// Every replica sweeps; their deletes do not conflict.
func sweepSessions(ctx context.Context, s sessionSweeper, log *slog.Logger) {
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := sweepOnce(ctx, s, time.Now().Add(-sweepKeep))
		if err != nil && ctx.Err() == nil {
			log.Warn("ended sessions not swept", "error", err.Error())
		}
		if n > 0 {
			log.Info("ended sessions swept", "deleted", n)
		}
	}
}

func sweepOnce(ctx context.Context, s sessionSweeper, cutoff time.Time) (int64, error) {
	var total int64
	for {
		n, err := s.DeleteEnded(ctx, cutoff, sweepBatch)
		total += n
		if err != nil || n < sweepBatch {
			return total, err
		}
	}
}
