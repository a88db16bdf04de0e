package postgres

import (
	"context"
	"fmt"
	"strings"

	"gorm.io/gorm"

	"mailing/shared/domain"
)

// Stats reads delivery records and the statistics counters.
type Stats struct{ db *DB }

// NewStats returns the store on db.
func NewStats(db *DB) *Stats { return &Stats{db: db} }

// The statistics read the counters of migration 00005 (kept by triggers in
// the same transactions as the messages they count) rather than the
// messages, so their cost follows the number of mailouts, not of messages.
// Each read runs in one read-only repeatable-read transaction: totals,
// pages and series come from one snapshot and agree with each other while
// workers keep sending.

// MessageStats returns the overall statistics of the mailouts matching f
// (mailouts by status, their messages by status) and one keyset page of
// those mailouts with their own counts, in id order.
func (s *Stats) MessageStats(ctx context.Context, f domain.StatsFilter, p domain.Page) (domain.OverallStats, []domain.MailoutSummary, error) {
	var total domain.OverallStats
	var page []domain.MailoutSummary
	err := s.db.tx(ctx, snapshot, func(tx *gorm.DB) error {
		where, args := statsWhere(f)
		var err error
		if total.Mailouts, err = mailoutCounts(tx, where, args); err != nil {
			return err
		}
		if total.Messages, err = messageTotals(tx, where, args); err != nil {
			return err
		}
		page, err = mailoutSummaries(tx, where, args, p)
		return err
	})
	if err != nil {
		return domain.OverallStats{}, nil, translate(err, "message statistics")
	}
	return total, page, nil
}

// statsWhere is the condition on mailouts m for f, with its arguments.
func statsWhere(f domain.StatsFilter) (string, []any) {
	conds := []string{"TRUE"}
	var args []any
	if len(f.Statuses) > 0 {
		statuses := make([]string, len(f.Statuses))
		for i, s := range f.Statuses {
			statuses[i] = string(s)
		}
		args = append(args, statuses)
		conds = append(conds, "m.status IN ?")
	}
	if f.CreatedFrom != nil {
		args = append(args, *f.CreatedFrom)
		conds = append(conds, "m.created_at >= ?")
	}
	if f.CreatedTo != nil {
		args = append(args, *f.CreatedTo)
		conds = append(conds, "m.created_at < ?")
	}
	return strings.Join(conds, " AND "), args
}

func mailoutCounts(tx *gorm.DB, where string, args []any) (domain.MailoutStatusCounts, error) {
	var out domain.MailoutStatusCounts
	rows, err := tx.Raw(`SELECT m.status, count(*) FROM mailouts m WHERE `+where+` GROUP BY m.status`, args...).Rows()
	if err != nil {
		return out, fmt.Errorf("count mailouts: %w", err)
	}
	var status string
	var n int64
	err = eachRow(rows, []any{&status, &n}, func() error {
		out.Add(domain.MailoutStatus(status), n)
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("count mailouts: %w", err)
	}
	return out, nil
}

func messageTotals(tx *gorm.DB, where string, args []any) (domain.StatusCounts, error) {
	var out domain.StatusCounts
	rows, err := tx.Raw(`SELECT c.status, sum(c.n)::bigint FROM mailout_message_counts c
		WHERE c.mailout_id IN (SELECT m.id FROM mailouts m WHERE `+where+`)
		GROUP BY c.status`, args...).Rows()
	if err != nil {
		return out, fmt.Errorf("count messages: %w", err)
	}
	var status string
	var n int64
	err = eachRow(rows, []any{&status, &n}, func() error {
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
func mailoutSummaries(tx *gorm.DB, where string, args []any, p domain.Page) ([]domain.MailoutSummary, error) {
	args = append(args, p.After)
	rows, err := tx.Raw(`SELECT m.id, m.status, m.start_at, m.end_at, m.started_at, m.finished_at, m.created_at
		FROM mailouts m WHERE `+where+fmt.Sprintf(` AND m.id > ? ORDER BY m.id LIMIT %d`, p.Rows()), args...).Rows()
	if err != nil {
		return nil, fmt.Errorf("read mailouts: %w", err)
	}
	var page []domain.MailoutSummary
	var m domain.MailoutSummary
	err = eachRow(rows, []any{&m.ID, &m.Status, &m.StartAt, &m.EndAt, &m.StartedAt, &m.FinishedAt, &m.CreatedAt}, func() error {
		m.StartAt, m.EndAt, m.CreatedAt = m.StartAt.UTC(), m.EndAt.UTC(), m.CreatedAt.UTC()
		m.StartedAt, m.FinishedAt = utcOrNil(m.StartedAt), utcOrNil(m.FinishedAt)
		page = append(page, m)
		return nil
	})
	if err != nil || len(page) == 0 {
		if err != nil {
			err = fmt.Errorf("read mailouts: %w", err)
		}
		return []domain.MailoutSummary{}, err
	}
	return page, countPage(tx, page)
}

// countPage fills in the message counts of a page of mailouts.
func countPage(tx *gorm.DB, page []domain.MailoutSummary) error {
	ids := make([]int64, len(page))
	at := make(map[int64]int, len(page))
	for i, s := range page {
		ids[i], at[s.ID] = s.ID, i
	}
	rows, err := tx.Raw(`SELECT mailout_id, status, sum(n)::bigint FROM mailout_message_counts
		WHERE mailout_id IN ? GROUP BY mailout_id, status`, ids).Rows()
	if err != nil {
		return fmt.Errorf("count mailout messages: %w", err)
	}
	var id, n int64
	var status string
	err = eachRow(rows, []any{&id, &status, &n}, func() error {
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
