package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"mailing/shared/domain"
)

// The statistics read the counters of migration 00005 (kept by triggers in
// the same transactions as the messages they count) rather than the
// messages, so their cost follows the number of mailouts, not of messages.
// Each read runs in one read-only repeatable-read transaction: totals,
// pages and series come from one snapshot and agree with each other while
// workers keep sending.

// MessageStats returns the overall statistics of the mailouts matching f
// (mailouts by status, their messages by status) and one keyset page of
// those mailouts with their own counts, in id order.
func (db *DB) MessageStats(ctx context.Context, f domain.StatsFilter, p domain.Page) (domain.OverallStats, []domain.MailoutSummary, error) {
	var total domain.OverallStats
	var page []domain.MailoutSummary
	err := db.snapshot(ctx, func(tx pgx.Tx) error {
		where, args := statsWhere(f)
		var err error
		if total.Mailouts, err = mailoutCounts(ctx, tx, where, args); err != nil {
			return err
		}
		if total.Messages, err = messageTotals(ctx, tx, where, args); err != nil {
			return err
		}
		page, err = mailoutSummaries(ctx, tx, where, args, p)
		return err
	})
	if err != nil {
		return domain.OverallStats{}, nil, translate(err, "message statistics")
	}
	return total, page, nil
}

// snapshot runs fn in a read-only repeatable-read transaction.
func (db *DB) snapshot(ctx context.Context, fn func(pgx.Tx) error) error {
	return db.withPgx(ctx, func(pc *pgx.Conn) error {
		return pgx.BeginTxFunc(ctx, pc, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn)
	})
}

// statsWhere is the condition on mailouts m for f, with its arguments
// numbered from $1.
func statsWhere(f domain.StatsFilter) (string, []any) {
	conds := []string{"TRUE"}
	var args []any
	if len(f.Statuses) > 0 {
		statuses := make([]string, len(f.Statuses))
		for i, s := range f.Statuses {
			statuses[i] = string(s)
		}
		args = append(args, statuses)
		conds = append(conds, fmt.Sprintf("m.status = ANY ($%d::text[])", len(args)))
	}
	if f.CreatedFrom != nil {
		args = append(args, *f.CreatedFrom)
		conds = append(conds, fmt.Sprintf("m.created_at >= $%d", len(args)))
	}
	if f.CreatedTo != nil {
		args = append(args, *f.CreatedTo)
		conds = append(conds, fmt.Sprintf("m.created_at < $%d", len(args)))
	}
	return strings.Join(conds, " AND "), args
}

func mailoutCounts(ctx context.Context, tx pgx.Tx, where string, args []any) (domain.MailoutStatusCounts, error) {
	var out domain.MailoutStatusCounts
	rows, err := tx.Query(ctx, `SELECT m.status, count(*) FROM mailouts m WHERE `+where+` GROUP BY m.status`, args...)
	if err != nil {
		return out, fmt.Errorf("count mailouts: %w", err)
	}
	var status string
	var n int64
	_, err = pgx.ForEachRow(rows, []any{&status, &n}, func() error {
		out.Add(domain.MailoutStatus(status), n)
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("count mailouts: %w", err)
	}
	return out, nil
}

func messageTotals(ctx context.Context, tx pgx.Tx, where string, args []any) (domain.StatusCounts, error) {
	var out domain.StatusCounts
	rows, err := tx.Query(ctx, `SELECT c.status, sum(c.n)::bigint FROM mailout_message_counts c
		WHERE c.mailout_id IN (SELECT m.id FROM mailouts m WHERE `+where+`)
		GROUP BY c.status`, args...)
	if err != nil {
		return out, fmt.Errorf("count messages: %w", err)
	}
	var status string
	var n int64
	_, err = pgx.ForEachRow(rows, []any{&status, &n}, func() error {
		out.Add(domain.MessageStatus(status), n)
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("count messages: %w", err)
	}
	return out, nil
}

// mailoutSummaries reads one page of mailouts and then their counts, in
// two queries whatever the page size.
func mailoutSummaries(ctx context.Context, tx pgx.Tx, where string, args []any, p domain.Page) ([]domain.MailoutSummary, error) {
	args = append(args, p.After)
	rows, err := tx.Query(ctx, `SELECT m.id, m.status, m.start_at, m.end_at, m.started_at, m.finished_at, m.created_at
		FROM mailouts m WHERE `+where+fmt.Sprintf(` AND m.id > $%d ORDER BY m.id LIMIT %d`, len(args), pageLimit(p.Limit)), args...)
	if err != nil {
		return nil, fmt.Errorf("read mailouts: %w", err)
	}
	page, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (domain.MailoutSummary, error) {
		var s domain.MailoutSummary
		var status string
		err := r.Scan(&s.ID, &status, &s.StartAt, &s.EndAt, &s.StartedAt, &s.FinishedAt, &s.CreatedAt)
		s.Status = domain.MailoutStatus(status)
		s.StartAt, s.EndAt, s.CreatedAt = s.StartAt.UTC(), s.EndAt.UTC(), s.CreatedAt.UTC()
		s.StartedAt, s.FinishedAt = utcOrNil(s.StartedAt), utcOrNil(s.FinishedAt)
		return s, err
	})
	if err != nil || len(page) == 0 {
		if err != nil {
			err = fmt.Errorf("read mailouts: %w", err)
		}
		return []domain.MailoutSummary{}, err
	}
	return page, countPage(ctx, tx, page)
}

// countPage fills in the message counts of a page of mailouts.
func countPage(ctx context.Context, tx pgx.Tx, page []domain.MailoutSummary) error {
	ids := make([]int64, len(page))
	at := make(map[int64]int, len(page))
	for i, s := range page {
		ids[i], at[s.ID] = s.ID, i
	}
	rows, err := tx.Query(ctx, `SELECT mailout_id, status, sum(n)::bigint FROM mailout_message_counts
		WHERE mailout_id = ANY ($1::bigint[]) GROUP BY mailout_id, status`, ids)
	if err != nil {
		return fmt.Errorf("count mailout messages: %w", err)
	}
	var id, n int64
	var status string
	_, err = pgx.ForEachRow(rows, []any{&id, &status, &n}, func() error {
		s := &page[at[id]]
		s.Messages.Add(domain.MessageStatus(status), n)
		s.Audience = s.Messages.Total
		return nil
	})
	if err != nil {
		return fmt.Errorf("count mailout messages: %w", err)
	}
	return nil
}
