package postgres

import (
	"context"
	"strconv"
	"time"

	"mailing/shared/domain"
)

// MailoutStartAt returns a mailout's scheduled start, which the sender's
// delivery-lag metric measures from.
func (db *DB) MailoutStartAt(ctx context.Context, id int64) (time.Time, error) {
	var row struct{ StartAt time.Time }
	what := "mailout " + strconv.FormatInt(id, 10)
	res := db.q(ctx).Raw(`SELECT start_at FROM mailouts WHERE id = ?`, id).Scan(&row)
	if err := translate(res.Error, what); err != nil {
		return time.Time{}, err
	}
	if res.RowsAffected == 0 {
		return time.Time{}, domain.Errorf(domain.CodeNotFound, "%s not found", what)
	}
	return row.StartAt.UTC(), nil
}
