package main

import (
	"testing"
	"time"

	"mailing/sender-worker/probesim"
)

func TestDeliveryFiguresCountFromCreationAndLagFromStart(t *testing.T) {
	created := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	start := created.Add(time.Second)
	at := func(s float64) time.Time { return created.Add(time.Duration(s * float64(time.Second))) }
	ds := []probesim.Delivery{
		{ID: 1, At: at(2), Nth: 1}, {ID: 2, At: at(3), Nth: 1}, {ID: 1, At: at(4), Nth: 2}, {ID: 3, At: at(6), Nth: 1},
	}
	var res pipelineResult
	deliveryFigures(ds, created, start, &res)
	if res.Delivered != 3 || res.Duplicates != 1 {
		t.Fatalf("delivered %d, duplicates %d; want 3, 1", res.Delivered, res.Duplicates)
	}
	if res.FirstDeliverySeconds != 2 || res.LastDeliverySeconds != 6 || res.MessagesPerSec != 0.5 || res.SteadyPerSec != 0.75 {
		t.Fatalf("times %+v", res)
	}
	if res.LagP50Seconds != 2 || res.LagP99Seconds != 5 {
		t.Fatalf("lags p50 %v, p99 %v; want 2 s and 5 s", res.LagP50Seconds, res.LagP99Seconds)
	}
}

func TestQuantileIsNearestRank(t *testing.T) {
	xs := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 5}, {0.99, 10}, {0.1, 1}, {0, 1}, {1, 10}} {
		if got := quantile(xs, c.q); got != c.want {
			t.Errorf("quantile(%v) = %v, want %v", c.q, got, c.want)
		}
	}
	if quantile(nil, 0.5) != 0 {
		t.Error("quantile of nothing is not 0")
	}
}

func TestThousands(t *testing.T) {
	for x, want := range map[float64]string{0: "0", 999.4: "999", 999.5: "1,000", 1234567: "1,234,567", -4321: "-4,321"} {
		if got := thousands(x); got != want {
			t.Errorf("thousands(%v) = %q, want %q", x, got, want)
		}
	}
}

// The targets are judged on the figures: a slow run is reported as missing
// them, a fast one as meeting them.
func TestTableJudgesTheTargets(t *testing.T) {
	run := func(latency, workers int, steady float64) runReport {
		return runReport{
			Pipeline: pipelineResult{Name: "r", LatencyMS: latency, Workers: workers, Concurrency: 200, Messages: 100,
				SteadyPerSec: steady, MessagesPerSec: steady, Statuses: map[string]int64{"sent": 100}, WorkerPeakRSSMB: []float64{50}},
			Ceiling: ceilingResult{PerSec: 10000},
		}
	}
	rep := report{APIPeakRSSMB: 60, Runs: []runReport{run(0, 1, 5000), run(50, 1, 3000), run(50, 2, 4100)}}
	rep.Import.Rows, rep.Import.RowsPerSec = 1000, 40000
	got := map[string]string{}
	for _, r := range tableRows(rep) {
		if r.Met != "" {
			got[r.Measure] = r.Met
		}
	}
	wantMet := map[string]string{
		"Import of 1,000 customers (CSV stream, `POST /api/customers/import`)": "yes",
		"0 ms: pipeline ÷ ceiling": "yes", // 50%
		"50 ms, 1 worker × concurrency 200, 100 messages (every customer): delivery rate (first → last delivery)":  "no",  // 3,000 < 80% of 4,000
		"50 ms, 2 workers × concurrency 200, 100 messages (every customer): delivery rate (first → last delivery)": "yes", // 4,100 ≥ 80% of 5,000
		"Peak RSS of the API (whole run, import included)":                                                         "yes",
	}
	for k, want := range wantMet {
		if got[k] != want {
			t.Errorf("%q: met %q, want %q (all: %v)", k, got[k], want, got)
		}
	}
}

// A process that exited between two readings must not take its lifetime's
// CPU out of the total; one started since counts whole.
func TestGrownComparesProcessByProcess(t *testing.T) {
	before := map[int]float64{1: 10, 2: 500, 3: 4}
	now := map[int]float64{1: 12, 3: 4.5, 4: 1}
	if got := grown(before, now); got != 3.5 {
		t.Fatalf("grown = %v, want 2 + 0.5 + 1", got)
	}
}
