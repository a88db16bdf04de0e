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
	with := ""
	if len(imp.Attributes) > 0 {
		with = " with attributes " + strings.Join(imp.Attributes, ", ")
	}
	rows := []row{{
		Measure: fmt.Sprintf("Import of %s customers%s (CSV stream, `POST /api/customers/import`)", thousands(float64(imp.Rows)), with),
		Result:  fmt.Sprintf("%.1f s (%s rows/s)", imp.Seconds, thousands(imp.RowsPerSec)),
		Target:  "≤ 30 s per 1,000,000 (≥ 33,333 rows/s)", Met: met(imp.RowsPerSec >= targetImportPerSec),
	}}
	zero, ok := r.run(kindZero)
	if !ok {
		return rows
	}
	rows = append(rows, zeroRows(zero)...)
	if t, ok := r.run(kindTemplated); ok {
		rows = append(rows, templatedRows(t, zero)...)
	}
	first, ok := r.run(kindLatency)
	for _, run := range r.Runs {
		if ok && run.Pipeline.Kind == kindLatency {
			rows = append(rows, latencyRows(run, zero, first)...)
		}
	}
	if p, ok := r.run(kindPause); ok && p.Pipeline.Pause != nil {
		rows = append(rows, pauseRows(p.Pipeline)...)
	}
	rows = append(rows, apiRows(zero.Pipeline, r.IdleCreate)...)
	return append(rows, resourceRows(r)...)
}

// run is the report's first run of a kind.
func (r report) run(kind string) (runReport, bool) {
	for _, run := range r.Runs {
		if run.Pipeline.Kind == kind {
			return run, true
		}
	}
	return runReport{}, false
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

// templatedRows compare the run with the templated text with the plain
// one: throughput, CPU per message by process, and whether what reached
// probe-sim was rendered for each customer.
func templatedRows(t, zero runReport) []row {
	p, z := t.Pipeline, zero.Pipeline
	tc := p.Texts
	return []row{
		{Measure: fmt.Sprintf("0 ms, templated text, %s messages (%s), %s: `POST` → last delivery",
			thousands(float64(p.Messages)), filterText(p.Codes), workersText(p.Workers, p.Concurrency)),
			Result: fmt.Sprintf("%.1f s (%s msg/s; plain text %s msg/s)", p.LastDeliverySeconds, thousands(p.MessagesPerSec), thousands(z.MessagesPerSec)),
			Target: "≥ 3,300 msg/s (1,000,000 in ≤ 5 min)", Met: met(p.MessagesPerSec >= targetZeroPerSec)},
		{Measure: "0 ms, templated vs plain text: delivery rate (first → last delivery)",
			Result: fmt.Sprintf("%s vs %s msg/s (%s)", thousands(p.SteadyPerSec), thousands(z.SteadyPerSec), change(p.SteadyPerSec, z.SteadyPerSec))},
		{Measure: "0 ms, templated vs plain text: CPU per message, ms (worker; PostgreSQL; RabbitMQ; API; probe-sim and clients; all)",
			Result: cpuPerMessageText(p, z)},
		{Measure: "0 ms, templated: texts received by probe-sim; `warnings.missing_attribute` of the mailout",
			Result: fmt.Sprintf("%s of %s as rendered for their customer; %s warnings (%s customers have no city)",
				thousands(float64(tc.Checked-tc.Wrong)), thousands(float64(tc.Checked)), thousands(float64(p.MissingAttributeWarnings)), thousands(float64(tc.WithoutCity))),
			Target: "every text right; a warning per customer without a city",
			Met:    met(tc.Wrong == 0 && tc.Checked == p.Messages && p.MissingAttributeWarnings == int64(tc.WithoutCity))},
	}
}

// cpuPerMessageText puts a's CPU per delivered message beside b's, part
// by part.
func cpuPerMessageText(a, b pipelineResult) string {
	per := func(p pipelineResult, s float64) float64 {
		if p.Delivered == 0 {
			return 0
		}
		return 1000 * s / float64(p.Delivered)
	}
	parts := []struct {
		name string
		of   func(cpuUse) float64
	}{
		{"worker", func(c cpuUse) float64 { return c.WorkersSeconds }},
		{"PostgreSQL", func(c cpuUse) float64 { return c.DatabaseSeconds }},
		{"RabbitMQ", func(c cpuUse) float64 { return c.BrokerSeconds }},
		{"API", func(c cpuUse) float64 { return c.APISeconds }},
		{"probe-sim and clients", func(c cpuUse) float64 { return c.BenchSeconds }},
		{"all", cpuUse.total},
	}
	out := make([]string, len(parts))
	for i, part := range parts {
		out[i] = fmt.Sprintf("%s %.3f vs %.3f", part.name, per(a, part.of(a.CPU)), per(b, part.of(b.CPU)))
	}
	return strings.Join(out, "; ") + fmt.Sprintf(" (CPU taken by others %s vs %s)", percent(a.CPU.OthersShare), percent(b.CPU.OthersShare))
}

// change is a relative to b as a signed percentage.
func change(a, b float64) string {
	if b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%+.1f%%", 100*(a/b-1))
}

// pauseRows describe the pause: how fast it took hold, what was in flight,
// and that the resumed mailout sent every message once.
func pauseRows(p pipelineResult) []row {
	ps := p.Pause
	inFlight := fmt.Sprintf("%s attempts in flight", thousands(float64(ps.InFlight)))
	if ps.InFlightDuringRequest > 0 {
		inFlight += fmt.Sprintf(" (%d of them arrived while the request ran)", ps.InFlightDuringRequest)
	}
	latency := fmt.Sprintf("%.1f ms: %s attempt(s) arrived after the answer (the median %.1f ms after it, %d more than 1 s after it)",
		ps.PauseLatencyMS, thousands(float64(ps.NewAttempts)), ps.NewP50MS, ps.NewAfter1s)
	if ps.NewAttempts == 0 {
		latency = fmt.Sprintf("0 ms: no attempt arrived after the answer (the last one %.1f ms before it)", -ps.LastArrivalMS)
	}
	if ps.NewRequests != int64(ps.NewAttempts) {
		latency += fmt.Sprintf("; %d request(s) of any outcome did", ps.NewRequests)
	}
	sent := p.Statuses["sent"]
	return []row{
		{Measure: fmt.Sprintf("Pause at %d ms, %s, %s messages (%s): `POST /api/mailouts/{id}/pause` at %s delivered",
			p.LatencyMS, workersText(p.Workers, p.Concurrency), thousands(float64(p.Messages)), filterText(p.Codes), thousands(float64(ps.AtDelivered))),
			Result: fmt.Sprintf("answered in %.1f ms; %s at the answer; probe-sim's last delivery before the resume %.0f ms after the answer; every other message parked (%s) %.1f s after it",
				ps.RequestMS, inFlight, ps.QuietMS, thousands(float64(ps.Parked)), ps.ParkedSeconds)},
		{Measure: "Pause latency: last new attempt's arrival at probe-sim − the pause's answer (attempts in flight at the answer excluded)",
			Result: latency, Target: "no new attempt after the commit", Met: met(ps.NewAttempts == 0 && ps.NewRequests == 0)},
		{Measure: fmt.Sprintf("Pause: held %.1f s, `POST …/resume` answered in %.1f ms; resume → last delivery; messages sent, duplicates", ps.HeldSeconds, ps.ResumeMS),
			Result: fmt.Sprintf("%.1f s; %s of %s sent, %d duplicates", ps.ResumeToLastSeconds, thousands(float64(sent)), thousands(float64(p.Messages)), p.Duplicates),
			Target: "every message sent once", Met: met(sent == int64(p.Messages) && p.Delivered == p.Messages && p.Duplicates == 0)},
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
