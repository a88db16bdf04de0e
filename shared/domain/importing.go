package domain

// The types below are the contract between the customer import engine,
// which reads and validates an upload, and the store, which writes it in
// batches.

// ImportConflict says what an import does with a phone that is already stored.
type ImportConflict string

const (
	// ImportSkip leaves the stored customer as it is.
	ImportSkip ImportConflict = "skip"
	// ImportUpdate overwrites the stored phone code and time zone and
	// replaces the stored tags with the row's.
	ImportUpdate ImportConflict = "update"
)

// Valid reports whether c is one of the conflict modes.
func (c ImportConflict) Valid() bool { return c == ImportSkip || c == ImportUpdate }

// ImportRow is one validated customer and the line of the upload it came from.
type ImportRow struct {
	Line     int64
	Customer Customer
}

// ImportDuplicate is a row not written because an earlier row of the same
// batch had its phone.
type ImportDuplicate struct {
	Line  int64
	Phone string
}

// ImportedCustomer is a row an import wrote.
type ImportedCustomer struct {
	Line     int64
	ID       int64
	Inserted bool // false: an existing customer was updated
}

// ImportBatch is what writing one batch stored.
type ImportBatch struct {
	Inserted, Updated, Skipped int
	Duplicates                 []ImportDuplicate  // in line order
	Written                    []ImportedCustomer // in line order
}
