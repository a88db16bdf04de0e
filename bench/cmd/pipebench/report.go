package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// report is everything a run measured; the JSON results hold it with the
// table's rows.
type report struct {
	StartedAt    time.Time     `json:"started_at"`
	Finished     time.Time     `json:"finished_at"`
	WallSeconds  float64       `json:"wall_seconds"` // the whole run, set-up included
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
	}}
}

// printReport prints the Markdown table, led by the machine and settings.
func printReport(w io.Writer, r report) {
	s := r.Settings
	fmt.Fprintf(w, "## Benchmark, %s\n\n", r.StartedAt.Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(w, "Machine: %s.\n", r.Machine)
	fmt.Fprintf(w, "Workers: SENDER_CONCURRENCY=%d, SENDER_PREFETCH=%d each; probe-sim and the load generator run inside the bench process.\n\n", s.Concurrency, s.Prefetch)
	fmt.Fprintf(w, "| Measure | Result | Target | Met |\n|---|---|---|---|\n")
	for _, row := range r.Table {
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", row.Measure, row.Result, row.Target, row.Met)
	}
	fmt.Fprintf(w, "\nWhole run (set-up, import, %d ceilings and mailouts; clean-up excluded): %.0f s.\n", len(r.Runs), r.WallSeconds)
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
