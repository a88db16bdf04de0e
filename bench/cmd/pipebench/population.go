package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"mailing/bench/internal/population"
)

// importResult is the outcome of the import.
type importResult struct {
	Rows       int     `json:"rows"`
	Seconds    float64 `json:"seconds"`
	RowsPerSec float64 `json:"rows_per_second"`
	Inserted   int     `json:"inserted"`
	Rejected   int     `json:"rejected"`
	APIPeakRSS float64 `json:"api_peak_rss_mb"` // VmHWM of the API right after
}

// importCustomers streams the directory to POST /api/customers/import
// through a pipe: the file never exists in memory or on disk.
func (e *env) importCustomers(ctx context.Context, p population.Population) (importResult, error) {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(p.WriteCSV(pw)) }()
	req, err := e.client.NewRequest(ctx, http.MethodPost, "/api/customers/import?on_conflict=skip", pr, "text/csv")
	if err != nil {
		return importResult{}, err
	}
	var ans struct {
		Inserted, Rejected int
	}
	start := time.Now()
	err = e.client.DoJSON(req, http.StatusOK, &ans)
	elapsed := time.Since(start)
	_ = pr.Close() // stops the writer if the server answered early
	if err != nil {
		return importResult{}, fmt.Errorf("import: %w", err)
	}
	if ans.Inserted != p.N {
		return importResult{}, fmt.Errorf("import: %d inserted, %d rejected; want %d inserted", ans.Inserted, ans.Rejected, p.N)
	}
	res := importResult{Rows: p.N, Seconds: elapsed.Seconds(), RowsPerSec: float64(p.N) / elapsed.Seconds(),
		Inserted: ans.Inserted, Rejected: ans.Rejected}
	rss, err := e.api.PeakRSSMiB()
	res.APIPeakRSS = mib2mb(rss)
	return res, err
}
