package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// retryConflicts runs fn again, up to three times in all, when PostgreSQL
// aborted it for a deadlock or a serialization failure. The statements it
// wraps are conditional single-statement updates, so a retry is safe, and
// giving up would cost more than the retry: an outcome that fails to be
// recorded leaves its message claimed until the reconciler takes it back
// and sends it again.
func retryConflicts(ctx context.Context, fn func() error) error {
	var err error
	for try := range 3 {
		if err = fn(); err == nil || !isConflict(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(try+1) * 10 * time.Millisecond):
		}
	}
	return err
}

// isConflict tells whether err is a deadlock or a serialization failure.
func isConflict(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && (pg.Code == "40P01" || pg.Code == "40001")
}
