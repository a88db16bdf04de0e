package main

import (
	"strings"
	"testing"
	"time"

	"mailing/bench/internal/population"
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
	run := func(kind string, latency, workers int, steady float64) runReport {
		return runReport{
			Pipeline: pipelineResult{Name: "r", Kind: kind, LatencyMS: latency, Workers: workers, Concurrency: 200, Messages: 100, Delivered: 100,
				SteadyPerSec: steady, MessagesPerSec: steady, Statuses: map[string]int64{"sent": 100}, WorkerPeakRSSMB: []float64{50}},
			Ceiling: ceilingResult{PerSec: 10000},
		}
	}
	tmpl := run(kindTemplated, 0, 1, 3000)
	tmpl.Pipeline.Texts = textCheck{Checked: 100, WithoutCity: 2}
	tmpl.Pipeline.MissingAttributeWarnings = 2
	paused := run(kindPause, 50, 2, 1000)
	paused.Pipeline.Pause = &pauseResult{NewAttempts: 1, NewRequests: 1, PauseLatencyMS: 3}
	rep := report{APIPeakRSSMB: 60, Runs: []runReport{run(kindZero, 0, 1, 5000), tmpl, run(kindLatency, 50, 1, 3000), run(kindLatency, 50, 2, 4100), paused}}
	rep.Import.Rows, rep.Import.RowsPerSec, rep.Import.Attributes = 1000, 40000, []string{"name", "city"}
	got := map[string]string{}
	for _, r := range tableRows(rep) {
		if r.Met != "" {
			got[r.Measure] = r.Met
		}
	}
	wantMet := map[string]string{
		"Import of 1,000 customers with attributes name, city (CSV stream, `POST /api/customers/import`)":                         "yes",
		"0 ms, templated text, 100 messages (every customer), 1 worker × concurrency 200: `POST` → last delivery":                 "no", // 3,000 < 3,300
		"0 ms, templated: texts received by probe-sim; `warnings.missing_attribute` of the mailout":                               "yes",
		"Pause latency: last new attempt's arrival at probe-sim − the pause's answer (attempts in flight at the answer excluded)": "no",
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

// Deliveries are sorted by when they were accepted and when they arrived:
// accepted before the pause was sent, in flight (arrived before the
// answer, accepted after the request was sent), or new.
func TestClassifyPauseSeparatesInFlightFromNewAttempts(t *testing.T) {
	sent := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	answered := sent.Add(4 * time.Millisecond)
	at := func(ms float64) time.Time { return sent.Add(time.Duration(ms * float64(time.Millisecond))) }
	ds := []probesim.Delivery{
		{ID: 1, At: at(-80)}, {ID: 2, At: at(-60)}, // accepted before the pause was sent
		{ID: 3, At: at(-45)}, {ID: 4, At: at(-10)}, {ID: 5, At: at(2)}, // in flight
		{ID: 6, At: at(9)}, {ID: 7, At: at(4)}, // new, the last arriving 5 ms after the answer
	}
	var res pauseResult
	classifyPause(&res, ds, 2, sent, answered)
	if res.InFlight != 3 || res.InFlightDuringRequest != 1 || res.NewAttempts != 2 || res.PauseLatencyMS != 5 || res.LastArrivalMS != 5 ||
		res.NewP50MS != 0 || res.NewAfter1s != 0 {
		t.Fatalf("%+v", res)
	}
	res = pauseResult{}
	classifyPause(&res, ds[:5], 2, sent, answered)
	if res.InFlight != 3 || res.NewAttempts != 0 || res.PauseLatencyMS != 0 || res.LastArrivalMS != -2 {
		t.Fatalf("without new attempts: %+v", res)
	}
}

// The expected texts are the template rendered by hand: the name's
// default stands in, a missing city renders empty.
func TestCheckTextsComparesWithEachCustomersRendering(t *testing.T) {
	p := population.New(2000)
	p.Attributes = true
	noName, noCity := -1, -1
	for i := range p.N {
		switch c := p.Customer(i); {
		case c.Name < 0 && c.City >= 0:
			noName = i
		case c.City < 0 && c.Name >= 0:
			noCity = i
		}
	}
	if noName < 0 || noCity < 0 {
		t.Fatal("the directory lacks customers without a name or a city")
	}
	c0 := p.Customer(0)
	if want := "Здравствуйте, " + p.Names[c0.Name] + "! Скидка в городе " + p.Cities[c0.City] + "."; c0.Name < 0 || c0.City < 0 || expectedText(p, true, c0) != want {
		t.Fatalf("customer 0: %q, want %q", expectedText(p, true, c0), want)
	}
	if got := expectedText(p, true, p.Customer(noName)); !strings.HasPrefix(got, "Здравствуйте, клиент! Скидка в городе ") {
		t.Fatalf("without a name: %q", got)
	}
	if got := expectedText(p, true, p.Customer(noCity)); !strings.HasSuffix(got, "! Скидка в городе .") {
		t.Fatalf("without a city: %q", got)
	}
	phone := func(i int) int64 { return population.FirstPhone + int64(i) }
	ds := []probesim.Delivery{
		{Phone: phone(0), Text: expectedText(p, true, c0)},
		{Phone: phone(noCity), Text: expectedText(p, true, p.Customer(noCity))},
		{Phone: phone(noName), Text: templatedText}, // not rendered
		{Phone: phone(5000), Text: plainText},       // nobody's
	}
	tc := checkTexts(p, true, ds)
	if tc.Checked != 4 || tc.Wrong != 2 || !strings.Contains(tc.Example, "{{name") {
		t.Fatalf("%+v", tc)
	}
	if tc := checkTexts(p, false, []probesim.Delivery{{Phone: phone(1), Text: plainText}}); tc.Wrong != 0 {
		t.Fatalf("plain: %+v", tc)
	}
	if n := withoutCity(p, nil); n < 3 || n > 25 {
		t.Fatalf("%d of 2,000 without a city, want about 0.5%%", n)
	}
}

// Backends name their database in their title; the server's own
// processes name none.
func TestPostgresDatabaseReadsTheProcessTitle(t *testing.T) {
	for title, want := range map[string]string{
		"postgres: 15/main: postgres bench_abc 127.0.0.1(44550) idle                 ": "bench_abc",
		"postgres: 15/main: app test_x [local] SELECT":                                 "test_x",
		"postgres: app shop 10.0.0.1(5000) idle in transaction":                        "shop",
		"postgres: 15/main: autovacuum worker bench_abc":                               "bench_abc",
		"postgres: 15/main: checkpointer":                                              "",
		"postgres: 15/main: logical replication launcher":                              "",
		"/usr/lib/postgresql/15/bin/postgres\x00-D\x00/var/lib/postgresql/15/main\x00": "",
	} {
		if got, leader := postgresDatabase(title); got != want || leader != "" {
			t.Errorf("postgresDatabase(%q) = %q, %q; want %q", title, got, leader, want)
		}
	}
	if db, leader := postgresDatabase("postgres: 15/main: parallel worker for PID 8306 "); db != "" || leader != "8306" {
		t.Errorf("parallel worker: %q, leader %q; want its leader 8306", db, leader)
	}
}
