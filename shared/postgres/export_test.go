package postgres

import (
	"context"

	"gorm.io/gorm"
)

// ClaimSQLForTest is the claim statement, for plan checks, and
// ClaimArgsForTest its arguments.
const ClaimSQLForTest = claimSQL

var ClaimArgsForTest = claimArgs

// FanOutForTest inserts one pending message per customer of mailout id's
// audience the way a start does: under the mailout's row lock, with the
// same statement, but without changing the mailout's status. It returns
// the number of new messages.
func (s *Sending) FanOutForTest(ctx context.Context, id int64) (int64, error) {
	var n int64
	err := s.db.tx(ctx, nil, func(tx *gorm.DB) error {
		if _, err := lockMailout(tx, id); err != nil {
			return err
		}
		var err error
		n, err = fanOut(tx, id)
		return err
	})
	return n, err
}
