package population

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"mailing/bench/internal/apiclient"
)

// ImportReport is the outcome of an import of a directory.
type ImportReport struct {
	Rows       int     `json:"rows"`
	Seconds    float64 `json:"seconds"`
	RowsPerSec float64 `json:"rows_per_second"`
	Inserted   int     `json:"inserted"`
	Updated    int     `json:"updated"`
	Skipped    int     `json:"skipped"`
	Rejected   int     `json:"rejected"`
}

// Import streams the directory to POST /api/customers/import with the
// given on_conflict through a pipe: the file never exists in memory or on
// disk.
func Import(ctx context.Context, c *apiclient.Client, p Population, onConflict string) (ImportReport, error) {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(p.WriteCSV(pw)) }()
	req, err := c.NewRequest(ctx, http.MethodPost, "/api/customers/import?on_conflict="+onConflict, pr, "text/csv")
	if err != nil {
		return ImportReport{}, err
	}
	var ans struct {
		Inserted, Updated, Skipped, Rejected int
	}
	start := time.Now()
	err = c.DoJSON(req, http.StatusOK, &ans)
	elapsed := time.Since(start)
	_ = pr.Close() // stops the writer if the server answered early
	if err != nil {
		return ImportReport{}, fmt.Errorf("import: %w", err)
	}
	return ImportReport{
		Rows: p.N, Seconds: elapsed.Seconds(), RowsPerSec: float64(p.N) / elapsed.Seconds(),
		Inserted: ans.Inserted, Updated: ans.Updated, Skipped: ans.Skipped, Rejected: ans.Rejected,
	}, nil
}
