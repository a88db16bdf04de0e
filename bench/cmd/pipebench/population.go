package main

import (
	"context"
	"fmt"

	"mailing/bench/internal/population"
)

// importResult is the outcome of the import, with the API's memory.
type importResult struct {
	population.ImportReport
	Attributes []string `json:"attributes,omitempty"` // the CSV's attribute columns
	APIPeakRSS float64  `json:"api_peak_rss_mb"`      // VmHWM of the API right after
}

// importCustomers streams the whole directory to the API, every customer
// new, and reads the API's peak memory right after.
func (e *env) importCustomers(ctx context.Context, p population.Population) (importResult, error) {
	imp, err := population.Import(ctx, e.client, p, "skip")
	if err != nil {
		return importResult{}, err
	}
	if imp.Inserted != p.N {
		return importResult{}, fmt.Errorf("import: %d inserted, %d rejected; want %d inserted", imp.Inserted, imp.Rejected, p.N)
	}
	res := importResult{ImportReport: imp, Attributes: p.AttributeColumns()}
	rss, err := e.api.PeakRSSMiB()
	res.APIPeakRSS = mib2mb(rss)
	return res, err
}
