package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"mailing/bench/internal/population"
)

// report is everything a run measured; the JSON results hold it with the
// table's rows.
type report struct {
	StartedAt    time.Time     `json:"started_at"`
	Finished     time.Time     `json:"finished_at"`
	WallSeconds  float64       `json:"wall_seconds"` // the whole run, set-up included
	LoadAverage  string        `json:"load_average_at_end"`
	Machine      machine       `json:"machine"`
	Settings     settings      `json:"settings"`
	Import       importResult  `json:"import"`
	IdleCreate   latencyResult `json:"idle_create"` // POST /api/mailouts before the runs
	Runs         []runReport   `json:"runs"`
	APIPeakRSSMB float64       `json:"api_peak_rss_mb"`
	Table        []row         `json:"table"`
}

// settings are the options that shape the figures.
type settings struct {
	Database         string        `json:"database"`    // created and dropped by the run
	AMQPPrefix       string        `json:"amqp_prefix"` // topology deleted at the end
	Customers        int           `json:"customers"`
	LatencyCustomers int           `json:"latency_customers"`
	LatencyMS        int           `json:"latency_ms"`
	Workers          int           `json:"workers"`
	ScaleWorkers     int           `json:"scale_workers"`
	Concurrency      int           `json:"concurrency_per_worker"`
	Prefetch         int           `json:"prefetch_per_worker"`
	APIClients       int           `json:"api_clients_per_request"`
	APIPause         time.Duration `json:"api_pause_ns"`
	CeilingSeconds   float64       `json:"ceiling_seconds"`
	Attributes       bool          `json:"attributes"`
	Templated        bool          `json:"templated"`
	PauseWorkers     int           `json:"pause_workers"`
	PauseLatencyMS   int           `json:"pause_latency_ms"`
	PauseAt          float64       `json:"pause_at"`
	PauseHold        time.Duration `json:"pause_hold_ns"`
}

// runReport is one pipeline run with the ceiling measured just before it
// at the same latency and total concurrency.
type runReport struct {
	Pipeline pipelineResult `json:"pipeline"`
	Ceiling  ceilingResult  `json:"ceiling"`
}

// ratio is the pipeline's delivery rate over the ceiling's.
func (r runReport) ratio() float64 {
	if r.Ceiling.PerSec == 0 {
		return 0
	}
	return r.Pipeline.SteadyPerSec / r.Ceiling.PerSec
}

func newReport(o options) report {
	return report{StartedAt: time.Now().UTC(), Settings: settings{
		Database: databaseName(o.databaseURL), AMQPPrefix: o.prefix,
		Customers: o.customers, LatencyCustomers: o.latencyCustomers, LatencyMS: o.latencyMS,
		Workers: o.workers, ScaleWorkers: o.scaleWorkers, Concurrency: o.concurrency, Prefetch: o.prefetch,
		APIClients: o.apiClients, APIPause: o.apiPause, CeilingSeconds: o.ceilingDuration.Seconds(),
		Attributes: o.attributes, Templated: o.templated, PauseWorkers: o.pauseWorkers, PauseLatencyMS: o.pauseLatencyMS, PauseAt: o.pauseAt, PauseHold: o.pauseHold,
	}}
}

// printReport prints the Markdown table, led by the machine and settings.
func printReport(w io.Writer, r report) {
	s := r.Settings
	fmt.Fprintf(w, "## Benchmark, %s\n\n", r.StartedAt.Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(w, "Machine: %s.\n", r.Machine)
	fmt.Fprintf(w, "Load average (1, 5, 15 min) at the start: %s; at the end: %s.\n", r.Machine.LoadAverage, r.LoadAverage)
	fmt.Fprintf(w, "Workers: SENDER_CONCURRENCY=%d, SENDER_PREFETCH=%d each; probe-sim and the load generator run inside the bench process.\n", s.Concurrency, s.Prefetch)
	fmt.Fprintf(w, "The plain text is `%s`", plainText)
	if s.Templated {
		fmt.Fprintf(w, ", the templated one `%s`", templatedText)
	}
	if len(r.Import.Attributes) > 0 {
		fmt.Fprintf(w, "; customers have the attributes %s (%.1f%% without a name, %.1f%% without a city)",
			strings.Join(r.Import.Attributes, " and "), float64(population.NoNamePerMille)/10, float64(population.NoCityPerMille)/10)
	}
	fmt.Fprint(w, ".\n\n")
	fmt.Fprintf(w, "| Measure | Result | Target | Met |\n|---|---|---|---|\n")
	for _, row := range r.Table {
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", row.Measure, row.Result, row.Target, row.Met)
	}
	ceilings := 0
	for _, run := range r.Runs {
		if run.Ceiling.Concurrency > 0 {
			ceilings++
		}
	}
	fmt.Fprintf(w, "\nWhole run (set-up, import, %d ceilings and %d mailouts; clean-up excluded): %.0f s.\n", ceilings, len(r.Runs), r.WallSeconds)
}

// writeResults writes the report as JSON to dir/<timestamp>.json, through
// a temporary file so a reader never sees half a file.
func writeResults(dir string, rep report) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("results directory: %w", err)
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return "", fmt.Errorf("encode results: %w", err)
	}
	path := filepath.Join(dir, rep.StartedAt.Format("20060102T150405Z")+".json")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return "", fmt.Errorf("write results: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("write results: %w", err)
	}
	return path, nil
}
