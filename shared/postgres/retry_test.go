package postgres

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

func TestRetryConflictsRetriesOnlyDeadlocksAndSerializationFailures(t *testing.T) {
	deadlock := fmt.Errorf("message outcomes: %w", &pgconn.PgError{Code: "40P01"})
	serialization := &pgconn.PgError{Code: "40001"}
	other := &pgconn.PgError{Code: "23505"}
	for _, tc := range []struct {
		name      string
		errs      []error // what each call returns; nil after the list
		wantCalls int
		wantErr   error
	}{
		{"success", nil, 1, nil},
		{"deadlock then success", []error{deadlock}, 2, nil},
		{"serialization twice then success", []error{serialization, serialization}, 3, nil},
		{"deadlocks every time", []error{deadlock, deadlock, deadlock, deadlock}, 3, deadlock},
		{"other errors are not retried", []error{other}, 1, other},
		{"plain errors are not retried", []error{errors.New("connection refused")}, 1, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			err := retryConflicts(context.Background(), func() error {
				calls++
				if calls <= len(tc.errs) {
					return tc.errs[calls-1]
				}
				return nil
			})
			if calls != tc.wantCalls {
				t.Errorf("%d calls, want %d", calls, tc.wantCalls)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("error %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr == nil && calls > len(tc.errs) && err != nil {
				t.Errorf("error %v, want none", err)
			}
		})
	}
}
