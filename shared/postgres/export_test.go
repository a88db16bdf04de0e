package postgres

import (
	"context"

	"gorm.io/gorm"
)

// FanOutForTest inserts one pending message per customer of mailout id's audience,
// the way the sender's fan-out does: under the mailout's row lock, with the
// audience query of audienceOf. It returns the number of new messages.
func (db *DB) FanOutForTest(ctx context.Context, id int64) (int64, error) {
	var n int64
	err := db.tx(ctx, func(tx *gorm.DB) error {
		if _, err := lockMailout(tx, id); err != nil {
			return err
		}
		audience, args, err := audienceOf(tx, id)
		if err != nil {
			return err
		}
		res := tx.Exec(`INSERT INTO messages (mailout_id, customer_id)
			SELECT ?, a.id FROM (`+audience+`) a
			ON CONFLICT (mailout_id, customer_id) DO NOTHING`, append([]any{id}, args...)...)
		n = res.RowsAffected
		return translate(res.Error, "messages")
	})
	return n, err
}
