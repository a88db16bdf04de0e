package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"database/sql"

	"gorm.io/gorm"

	"mailing/shared/domain"
)

// rateWindow is the span of the current rate, in whole seconds.
const rateWindow = 60

// MailoutStats returns the detailed statistics of mailout id at time now
// (the current rate counts the deliveries of the 60 whole seconds up to
// and including now's).
func (s *Stats) MailoutStats(ctx context.Context, id int64, now time.Time) (domain.MailoutStats, error) {
	st := domain.MailoutStats{MailoutID: id, At: now.UTC()}
	err := s.db.tx(ctx, snapshot, func(tx *gorm.DB) error {
		if err := readMailoutTimes(tx, &st); err != nil {
			return err
		}
		if err := readCounts(tx, &st); err != nil {
			return err
		}
		if err := readDeliveries(tx, &st); err != nil {
			return err
		}
		if err := tx.Raw(`SELECT COALESCE(sum(n), 0)::bigint FROM mailout_warnings WHERE mailout_id = ? AND kind = ?`,
			st.MailoutID, warningMissingAttribute).Row().Scan(&st.Warnings.MissingAttribute); err != nil {
			return fmt.Errorf("read warnings: %w", err)
		}
		return readCurrentRate(tx, &st)
	})
	if err != nil {
		return domain.MailoutStats{}, translate(err, "mailout statistics")
	}
	st.Progress = domain.Progress{Final: st.Messages.Final(), Total: st.Messages.Total}
	if st.Progress.Total > 0 {
		st.Progress.Ratio = float64(st.Progress.Final) / float64(st.Progress.Total)
	}
	st.Rate.Average = averageRate(st)
	return st, nil
}

func readMailoutTimes(tx *gorm.DB, st *domain.MailoutStats) error {
	err := tx.Raw(`SELECT status, start_at, end_at, started_at, finished_at FROM mailouts WHERE id = ?`,
		st.MailoutID).Row().Scan(&st.Status, &st.StartAt, &st.EndAt, &st.StartedAt, &st.FinishedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.NotFound("mailout", st.MailoutID)
	}
	if err != nil {
		return fmt.Errorf("read mailout: %w", err)
	}
	st.StartAt, st.EndAt = st.StartAt.UTC(), st.EndAt.UTC()
	st.StartedAt, st.FinishedAt = utcOrNil(st.StartedAt), utcOrNil(st.FinishedAt)
	return nil
}

// readCounts sums the counter rows of the mailout by (status, reason,
// attempts): counts by status, failures and retries by reason group, and
// the attempts of final messages.
func readCounts(tx *gorm.DB, st *domain.MailoutStats) error {
	rows, err := tx.Raw(`SELECT status, reason, attempts, sum(n)::bigint FROM mailout_message_counts
		WHERE mailout_id = ? GROUP BY status, reason, attempts HAVING sum(n) <> 0`, st.MailoutID).Rows()
	if err != nil {
		return fmt.Errorf("read message counts: %w", err)
	}
	var s domain.MessageStatus
	var reason domain.Reason
	var attempts int
	var n int64
	byAttempts := map[int]int64{}
	err = eachRow(rows, []any{&s, &reason, &attempts, &n}, func() error {
		st.Messages.Add(s, n)
		switch s {
		case domain.MessageFailed, domain.MessageExpired:
			st.Failures.Add(s, reason, n)
		case domain.MessagePending:
			if retrying(reason) {
				st.Retrying.Add(s, reason, n)
			}
		}
		if s.Final() {
			byAttempts[attempts] += n
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read message counts: %w", err)
	}
	st.Attempts = make([]domain.AttemptCount, 0, len(byAttempts))
	for a, n := range byAttempts {
		st.Attempts = append(st.Attempts, domain.AttemptCount{Attempts: a, Messages: n})
	}
	slices.SortFunc(st.Attempts, func(x, y domain.AttemptCount) int { return x.Attempts - y.Attempts })
	return nil
}

// retrying tells a pending message that failed and waits for another
// attempt from one never tried or waiting for its send window.
func retrying(reason domain.Reason) bool {
	return reason != "" && reason != domain.ReasonWindowWait
}

// readDeliveries reads the per-minute series and the first and last
// delivery times.
func readDeliveries(tx *gorm.DB, st *domain.MailoutStats) error {
	rows, err := tx.Raw(`SELECT minute, sum(n)::bigint, min(first_at) FILTER (WHERE n > 0), max(last_at) FILTER (WHERE n > 0)
		FROM mailout_delivery_minutes WHERE mailout_id = ?
		GROUP BY minute HAVING sum(n) > 0 ORDER BY minute`, st.MailoutID).Rows()
	if err != nil {
		return fmt.Errorf("read deliveries: %w", err)
	}
	st.Deliveries = []domain.MinuteCount{}
	var minute time.Time
	var n int64
	var first, last *time.Time
	err = eachRow(rows, []any{&minute, &n, &first, &last}, func() error {
		st.Deliveries = append(st.Deliveries, domain.MinuteCount{Minute: minute.UTC(), Delivered: n})
		if st.FirstDeliveryAt == nil && first != nil {
			st.FirstDeliveryAt = utcOrNil(first)
		}
		if last != nil {
			st.LastDeliveryAt = utcOrNil(last)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read deliveries: %w", err)
	}
	return nil
}

// readCurrentRate sums the per-second ring over the last rateWindow
// seconds.
func readCurrentRate(tx *gorm.DB, st *domain.MailoutStats) error {
	nowSec := st.At.Unix()
	var n int64
	err := tx.Raw(`SELECT COALESCE(sum(n), 0)::bigint FROM mailout_delivery_seconds
		WHERE mailout_id = ? AND sec BETWEEN ? AND ?`,
		st.MailoutID, nowSec-rateWindow+1, nowSec).Row().Scan(&n)
	if err != nil {
		return fmt.Errorf("read current rate: %w", err)
	}
	st.Rate.Current = float64(n) / rateWindow
	return nil
}

// averageRate is deliveries per second since the start: up to now while
// the mailout runs, up to the last delivery once it is over or paused.
func averageRate(st domain.MailoutStats) float64 {
	if st.StartedAt == nil || st.Messages.Sent == 0 {
		return 0
	}
	end := st.At
	if st.Status != domain.MailoutRunning && st.LastDeliveryAt != nil {
		end = *st.LastDeliveryAt
	}
	secs := end.Sub(*st.StartedAt).Seconds()
	if secs <= 0 {
		return 0
	}
	return float64(st.Messages.Sent) / secs
}
