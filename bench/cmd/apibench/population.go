package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"mailing/bench/internal/population"
)

// importReport is the outcome of the import.
type importReport struct {
	Rows       int     `json:"rows"`
	Seconds    float64 `json:"seconds"`
	RowsPerSec float64 `json:"rows_per_second"`
	Inserted   int     `json:"inserted"`
	Updated    int     `json:"updated"`
	Skipped    int     `json:"skipped"`
	Rejected   int     `json:"rejected"`
}

// importPopulation streams the directory to the import endpoint through a
// pipe: the file never exists in memory or on disk.
func importPopulation(ctx context.Context, c *client, p population.Population, onConflict string) (importReport, error) {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(p.WriteCSV(pw)) }()
	req, err := c.NewRequest(ctx, http.MethodPost, "/api/customers/import?on_conflict="+onConflict, pr, "text/csv")
	if err != nil {
		return importReport{}, err
	}
	var ans struct {
		Inserted, Updated, Skipped, Rejected int
	}
	start := time.Now()
	err = c.DoJSON(req, http.StatusOK, &ans)
	elapsed := time.Since(start)
	_ = pr.Close() // stops the writer if the server answered early
	if err != nil {
		return importReport{}, fmt.Errorf("import: %w", err)
	}
	return importReport{
		Rows: p.N, Seconds: elapsed.Seconds(), RowsPerSec: float64(p.N) / elapsed.Seconds(),
		Inserted: ans.Inserted, Updated: ans.Updated, Skipped: ans.Skipped, Rejected: ans.Rejected,
	}, nil
}
