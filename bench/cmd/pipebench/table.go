package main

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Targets on the reference machine (2 cores, everything co-located).
const (
	targetImportPerSec    = 1_000_000.0 / 30 // 1,000,000 customers in 30 s
	targetZeroPerSec      = 3_300.0          // 1,000,000 messages in 5 minutes
	targetLatencyShare    = 0.80             // of min(concurrency ÷ latency, zero-latency rate)
	targetCeilingShare    = 0.25             // pipeline ÷ raw HTTP ceiling
	targetCreateP99Ms     = 20.0
	targetAPIPeakRSSMB    = 100.0
	targetWorkerPeakRSSMB = 200.0
)

// row is one line of the table; Met is "yes", "no" or "" (no target).
type row struct {
	Measure string `json:"measure"`
	Result  string `json:"result"`
	Target  string `json:"target"`
	Met     string `json:"met"`
}

func met(ok bool) string {
	if ok {
		return "yes"
	}
	return "no"
}

// tableRows turns the report into the table's rows.
func tableRows(r report) []row {
	imp := r.Import
	rows := []row{{
		Measure: fmt.Sprintf("Import of %s customers (CSV stream, `POST /api/customers/import`)", thousands(float64(imp.Rows))),
		Result:  fmt.Sprintf("%.1f s (%s rows/s)", imp.Seconds, thousands(imp.RowsPerSec)),
		Target:  "≤ 30 s per 1,000,000 (≥ 33,333 rows/s)", Met: met(imp.RowsPerSec >= targetImportPerSec),
	}}
	if len(r.Runs) == 0 {
		return rows
	}
	zero := r.Runs[0]
	rows = append(rows, zeroRows(zero)...)
	for _, run := range r.Runs[1:] {
		rows = append(rows, latencyRows(run, zero, r.Runs[1])...)
	}
	rows = append(rows, apiRows(zero.Pipeline, r.IdleCreate)...)
	return append(rows, resourceRows(r)...)
}

func zeroRows(z runReport) []row {
	p, c := z.Pipeline, z.Ceiling
	name := fmt.Sprintf("0 ms, %s messages (%s), %s", thousands(float64(p.Messages)), filterText(p.Codes), workersText(p.Workers, p.Concurrency))
	return []row{
		{Measure: fmt.Sprintf("Fan-out of a mailout matching all %s (`POST` → every message row stored)", thousands(float64(p.Messages))),
			Result: fmt.Sprintf("%.1f s", p.FanOutSeconds)},
		{Measure: name + ": `POST` → last delivery",
			Result: fmt.Sprintf("%.1f s (%s msg/s)", p.LastDeliverySeconds, thousands(p.MessagesPerSec)),
			Target: "≥ 3,300 msg/s (1,000,000 in ≤ 5 min)", Met: met(p.MessagesPerSec >= targetZeroPerSec)},
		{Measure: "0 ms: delivery rate (first → last delivery)", Result: thousands(p.SteadyPerSec) + " msg/s"},
		{Measure: "0 ms: lag scheduled → delivered, p50 / p99", Result: fmt.Sprintf("%.1f s / %.1f s", p.LagP50Seconds, p.LagP99Seconds)},
		{Measure: fmt.Sprintf("0 ms: ceiling, load generator (vegeta) → probe-sim, concurrency %d", c.Concurrency),
			Result: fmt.Sprintf("%s req/s (p50 %.2f ms, p99 %.2f ms; CPU taken by others %s)", thousands(c.PerSec), c.P50Ms, c.P99Ms, percent(c.OthersShare))},
		{Measure: "0 ms: pipeline ÷ ceiling", Result: percent(z.ratio()), Target: "≥ 25%", Met: met(z.ratio() >= targetCeilingShare)},
	}
}

// latencyRows describe a run at the probe latency; first is the first such
// run, against which a run with more workers shows its scaling.
func latencyRows(run, zero, first runReport) []row {
	p, c := run.Pipeline, run.Ceiling
	limit := min(float64(p.Workers*p.Concurrency)*1000/float64(p.LatencyMS), zero.Pipeline.SteadyPerSec)
	prefix := fmt.Sprintf("%d ms, %s", p.LatencyMS, workersText(p.Workers, p.Concurrency))
	result := thousands(p.SteadyPerSec) + " msg/s"
	if run.Pipeline.Workers != first.Pipeline.Workers && first.Pipeline.SteadyPerSec > 0 {
		result += fmt.Sprintf(" (×%.2f of %d worker(s))", p.SteadyPerSec/first.Pipeline.SteadyPerSec, first.Pipeline.Workers)
	}
	return []row{
		{Measure: fmt.Sprintf("%s, %s messages (%s): delivery rate (first → last delivery)", prefix, thousands(float64(p.Messages)), filterText(p.Codes)),
			Result: result,
			Target: fmt.Sprintf("≥ 80%% of min(%d ÷ %d ms, 0 ms rate) = %s", p.Workers*p.Concurrency, p.LatencyMS, thousands(targetLatencyShare*limit)),
			Met:    met(p.SteadyPerSec >= targetLatencyShare*limit)},
		{Measure: prefix + ": lag scheduled → delivered, p50 / p99", Result: fmt.Sprintf("%.1f s / %.1f s", p.LagP50Seconds, p.LagP99Seconds)},
		{Measure: fmt.Sprintf("%s: ceiling at concurrency %d; pipeline ÷ ceiling", prefix, c.Concurrency),
			Result: fmt.Sprintf("%s req/s (CPU taken by others %s); %s", thousands(c.PerSec), percent(c.OthersShare), percent(run.ratio()))},
	}
}

func apiRows(p pipelineResult, idle latencyResult) []row {
	rows := []row{
		{Measure: fmt.Sprintf("`POST /api/mailouts` of the run's mailout (audience %s)", thousands(float64(p.Messages))),
			Result: fmt.Sprintf("%.1f ms", p.CreateMS), Target: "≤ 20 ms", Met: met(p.CreateMS <= targetCreateP99Ms)},
		{Measure: fmt.Sprintf("`POST /api/mailouts` before the runs (nothing sending), %d client back to back (audience %s)", idle.Clients, thousands(float64(p.Messages))),
			Result: latencyText(idle), Target: "p99 ≤ 20 ms", Met: met(idle.Available && idle.Errors == 0 && idle.P99Ms <= targetCreateP99Ms)},
	}
	for _, a := range p.API {
		r := row{Measure: fmt.Sprintf("`%s` during the 0 ms run, %d client(s)", a.Name, a.Clients)}
		if a.Name == "POST /api/mailouts" {
			r.Measure += fmt.Sprintf(" (audience %s, start in 30 days)", thousands(float64(p.Messages)))
		}
		r.Result = latencyText(a)
		if a.Name == "POST /api/mailouts" {
			r.Target, r.Met = "p99 ≤ 20 ms", met(a.Available && a.Errors == 0 && a.P99Ms <= targetCreateP99Ms)
		}
		rows = append(rows, r)
	}
	return rows
}

func latencyText(a latencyResult) string {
	if !a.Available {
		return "not available (" + formatStatuses(a.Statuses) + ")"
	}
	return fmt.Sprintf("p50 %.1f ms, p99 %.1f ms (%s requests, %d errors)", a.P50Ms, a.P99Ms, thousands(float64(a.Requests)), a.Errors)
}

func resourceRows(r report) []row {
	var parts, others []string
	worst, dups, unsent := 0.0, 0, 0
	for _, run := range r.Runs {
		p := run.Pipeline
		mbs := make([]string, len(p.WorkerPeakRSSMB))
		for i, mb := range p.WorkerPeakRSSMB {
			mbs[i] = fmt.Sprintf("%.0f", mb)
			worst = max(worst, mb)
		}
		parts = append(parts, p.Name+": "+strings.Join(mbs, ", "))
		others = append(others, p.Name+": "+percent(p.CPU.OthersShare))
		dups += p.Duplicates
		unsent += p.Messages - int(p.Statuses["sent"])
	}
	return []row{
		{Measure: "Peak RSS of the API (whole run, import included)", Result: fmt.Sprintf("%.0f MB (%.0f MB after the import)", r.APIPeakRSSMB, r.Import.APIPeakRSS),
			Target: "≤ 100 MB", Met: met(r.APIPeakRSSMB <= targetAPIPeakRSSMB)},
		{Measure: "Peak RSS of each worker, MB", Result: strings.Join(parts, "; "), Target: "≤ 200 MB", Met: met(worst <= targetWorkerPeakRSSMB)},
		{Measure: "Messages not sent, duplicate deliveries (all runs)", Result: fmt.Sprintf("%d, %d", unsent, dups), Target: "0, 0", Met: met(unsent == 0 && dups == 0)},
		{Measure: "CPU taken by processes outside the run during each run (share of all cores; noise)", Result: strings.Join(others, "; ")},
	}
}

func workersText(workers, concurrency int) string {
	if workers == 1 {
		return fmt.Sprintf("1 worker × concurrency %d", concurrency)
	}
	return fmt.Sprintf("%d workers × concurrency %d", workers, concurrency)
}

func percent(x float64) string { return fmt.Sprintf("%.0f%%", 100*x) }

func formatStatuses(c map[string]int) string {
	parts := make([]string, 0, len(c))
	for _, k := range slices.Sorted(maps.Keys(c)) {
		parts = append(parts, fmt.Sprintf("%s ×%d", k, c[k]))
	}
	return strings.Join(parts, ", ")
}

// thousands formats x rounded, with comma separators: 1234567 → 1,234,567.
func thousands(x float64) string {
	s := strconv.FormatInt(int64(math.Round(math.Abs(x))), 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if x <= -0.5 {
		return "-" + b.String()
	}
	return b.String()
}
