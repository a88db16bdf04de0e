package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"mailing/bench/internal/population"
)

// bench runs every measurement in order: the import, then for each
// pipeline run the load generator's ceiling at the run's latency and total
// concurrency, followed by the run itself, so each ratio compares figures
// taken minutes apart on the same machine.
func (e *env) bench(ctx context.Context) (report, error) {
	rep := newReport(e.o)
	if err := rep.Machine.read(ctx, e); err != nil {
		return rep, err
	}
	pop := population.New(e.o.customers)
	pop.Attributes = e.o.attributes
	e.pop = pop
	fmt.Fprintf(e.stderr, "importing %d customers (attribute columns: %v)\n", pop.N, pop.AttributeColumns())
	imp, err := e.importCustomers(ctx, pop)
	if err != nil {
		return rep, err
	}
	rep.Import = imp
	fmt.Fprintf(e.stderr, "imported in %.1fs (%.0f rows/s)\n", imp.Seconds, imp.RowsPerSec)
	if rep.IdleCreate, err = e.measureIdleCreate(ctx); err != nil {
		return rep, err
	}

	for _, s := range e.runSpecs(pop) {
		var c ceilingResult
		if s.Ceiling {
			if c, err = e.measureCeiling(ctx, s.LatencyMS, s.Workers*e.o.concurrency); err != nil {
				return rep, err
			}
			fmt.Fprintf(e.stderr, "ceiling at %d ms, concurrency %d: %.0f req/s\n", c.LatencyMS, c.Concurrency, c.PerSec)
		}
		fmt.Fprintf(e.stderr, "run %q: %d messages\n", s.Name, s.Audience)
		r, err := e.runPipeline(ctx, s)
		if err != nil {
			return rep, fmt.Errorf("run %q: %w", s.Name, err)
		}
		fmt.Fprintf(e.stderr, "run %q: %.0f msg/s (first → last delivery)\n", s.Name, r.SteadyPerSec)
		rep.Runs = append(rep.Runs, runReport{Pipeline: r, Ceiling: c})
	}
	if rep.APIPeakRSSMB, err = e.api.PeakRSSMiB(); err != nil {
		return rep, err
	}
	rep.APIPeakRSSMB = mib2mb(rep.APIPeakRSSMB)
	rep.Finished = time.Now().UTC()
	rep.LoadAverage = loadAverage()
	return rep, nil
}

// runSpecs are the measured mailouts: every customer at zero latency with
// the API under load, with the plain text and then with the templated one
// (each on a freshly vacuumed database; the template's run has no ceiling
// of its own, it compares with the plain run); a few operator codes'
// customers at -latency-ms with -workers and with -scale-workers workers;
// and the same customers at -pause-latency-ms with -pause-workers workers,
// paused in full swing and resumed.
func (e *env) runSpecs(pop population.Population) []runSpec {
	codes, audience := pop.Subset(e.o.latencyCustomers)
	specs := []runSpec{{Name: "0 ms", Kind: kindZero, LatencyMS: 0, Workers: e.o.workers, Audience: pop.N,
		APILoad: true, Ceiling: true, Settle: e.o.templated}}
	if e.o.templated {
		specs = append(specs, runSpec{Name: "0 ms, templated", Kind: kindTemplated, LatencyMS: 0, Workers: e.o.workers,
			Audience: pop.N, APILoad: true, Templated: true, Settle: true})
	}
	specs = append(specs, runSpec{Name: fmt.Sprintf("%d ms", e.o.latencyMS), Kind: kindLatency, LatencyMS: e.o.latencyMS,
		Workers: e.o.workers, Codes: codes, Audience: audience, Ceiling: true})
	if e.o.scaleWorkers > 0 {
		specs = append(specs, runSpec{Name: fmt.Sprintf("%d ms, %d workers", e.o.latencyMS, e.o.scaleWorkers), Kind: kindLatency,
			LatencyMS: e.o.latencyMS, Workers: e.o.scaleWorkers, Codes: codes, Audience: audience, Ceiling: true})
	}
	if e.o.pauseWorkers > 0 {
		specs = append(specs, runSpec{Name: "pause", Kind: kindPause, LatencyMS: e.o.pauseLatencyMS,
			Workers: e.o.pauseWorkers, Codes: codes, Audience: audience, Pause: true})
	}
	return specs
}

// filterText describes a run's audience for the table.
func filterText(codes []string) string {
	if len(codes) == 0 {
		return "every customer"
	}
	return "operator codes " + strings.Join(codes, ", ")
}
