package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"mailing/bench/internal/benchtest"
	"mailing/bench/internal/population"
	"mailing/shared/broker"
	"mailing/shared/broker/brokertest"
	"mailing/shared/postgres/pgtest"
	"mailing/shared/testkit"
)

// The small mode: the whole run end to end with 2,000 customers, so the
// tool is built and run by every test pass and cannot rot.
func TestSmallRunMeasuresEverythingAndCleansUp(t *testing.T) {
	// The run executes the product's real binaries.
	bins := testkit.BuildBinaries(t, "mailing/api-service/cmd/api", "mailing/sender-worker/cmd/worker")
	outDir := t.TempDir()
	prefix := "bench-test-" + strings.ToLower(rand.Text()[:10])
	var stdout bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	err := run(ctx, []string{
		"-postgres-url", pgtest.AdminURL(), "-amqp-url", brokertest.URL(), "-prefix", prefix,
		"-customers", "2000", "-latency-customers", "300", "-latency-ms", "5",
		"-concurrency", "16", "-ceiling-duration", "1s", "-api-pause", "10ms", "-api-idle", "1s",
		"-pause-latency-ms", "100", "-pause-hold", "200ms",
		"-api", bins["api"], "-worker", bins["worker"], "-out-dir", outDir,
	}, &stdout, io.Discard)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	rep := readResults(t, outDir)
	assertImported(t, rep)
	assertRuns(t, rep)
	assertAPIMeasured(t, rep)
	if rep.APIPeakRSSMB < 1 || rep.APIPeakRSSMB < rep.Import.APIPeakRSS {
		t.Errorf("API peak RSS %.1f MB, %.1f MB after the import", rep.APIPeakRSSMB, rep.Import.APIPeakRSS)
	}
	for _, want := range []string{"| Import of 2,000 customers with attributes name, city", "| 0 ms: pipeline ÷ ceiling |", "| Peak RSS of each worker, MB |",
		"5 ms, 2 workers × concurrency 16", "| Messages not sent, duplicate deliveries (all runs) | 0, 0 | 0, 0 | yes |",
		"| 0 ms, templated vs plain text: CPU per message", "a warning per customer without a city | yes |",
		"| Pause latency: ", "| every message sent once | yes |"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, stdout.String())
		}
	}
	benchtest.AssertNoDatabase(t, rep.Settings.Database)
	assertTopologyDeleted(t, prefix)
}

func readResults(t *testing.T, dir string) report {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) != 1 {
		t.Fatalf("results files %v (%v): want one", files, err)
	}
	var rep report
	benchtest.ReadJSON(t, files[0], &rep)
	if len(rep.Table) == 0 || rep.Machine.Cores < 1 || rep.Machine.PostgreSQL == "" {
		t.Errorf("results lack the table or the machine: %+v", rep.Machine)
	}
	return rep
}

func assertImported(t *testing.T, rep report) {
	t.Helper()
	if i := rep.Import; i.Rows != 2000 || i.Inserted != 2000 || i.Seconds <= 0 || i.RowsPerSec <= 0 {
		t.Errorf("import: %+v", i)
	}
}

func assertRuns(t *testing.T, rep report) {
	t.Helper()
	if len(rep.Runs) != 5 {
		t.Fatalf("%d runs, want 5 (0 ms plain and templated, 5 ms, 5 ms with 2 workers, the pause)", len(rep.Runs))
	}
	pop := population.New(2000)
	pop.Attributes = true
	codes, subset := pop.Subset(300)
	for i, want := range []struct {
		kind                                    string
		latency, workers, messages, concurrency int // concurrency of the ceiling; 0: none
	}{
		{kindZero, 0, 1, 2000, 16}, {kindTemplated, 0, 1, 2000, 0}, {kindLatency, 5, 1, subset, 16}, {kindLatency, 5, 2, subset, 32},
		{kindPause, 100, 2, subset, 0},
	} {
		p, c := rep.Runs[i].Pipeline, rep.Runs[i].Ceiling
		if p.Kind != want.kind || p.LatencyMS != want.latency || p.Workers != want.workers || p.Messages != want.messages {
			t.Errorf("run %d: %s, %d ms, %d workers, %d messages; want %+v", i, p.Kind, p.LatencyMS, p.Workers, p.Messages, want)
		}
		if p.Delivered != p.Messages || p.Duplicates != 0 || p.Statuses["sent"] != int64(p.Messages) || len(p.Statuses) != 1 {
			t.Errorf("run %d: delivered %d, duplicates %d, statuses %v: want %d sent once each", i, p.Delivered, p.Duplicates, p.Statuses, p.Messages)
		}
		if p.FanOutSeconds <= 0 || p.FirstDeliverySeconds <= 0 || p.LastDeliverySeconds < p.FirstDeliverySeconds ||
			p.SettledSeconds < p.LastDeliverySeconds || p.LagP50Seconds > p.LagP99Seconds || p.SteadyPerSec <= 0 {
			t.Errorf("run %d: inconsistent times: %+v", i, p)
		}
		if len(p.WorkerPeakRSSMB) != want.workers || p.WorkerPeakRSSMB[0] < 1 || p.CPU.WorkersSeconds <= 0 {
			t.Errorf("run %d: worker resources not measured: rss %v MB, cpu %.2f s", i, p.WorkerPeakRSSMB, p.CPU.WorkersSeconds)
		}
		// Every text reached probe-sim as rendered for its customer; only
		// the template's customers without a city warn.
		wantWarnings := 0
		if want.kind == kindTemplated {
			wantWarnings = withoutCity(pop, nil)
		}
		if p.Texts.Checked != p.Messages || p.Texts.Wrong != 0 || p.MissingAttributeWarnings != int64(wantWarnings) || p.Texts.WithoutCity != wantWarnings {
			t.Errorf("run %d: texts %+v, %d warnings; want %d right, %d warnings", i, p.Texts, p.MissingAttributeWarnings, p.Messages, wantWarnings)
		}
		if want.concurrency == 0 {
			if c.Concurrency != 0 {
				t.Errorf("run %d: a ceiling was measured: %+v", i, c)
			}
			continue
		}
		// Every generator request was a valid delivery, at the run's latency.
		if c.Concurrency != want.concurrency || c.Requests == 0 || c.Accepted != int64(c.Requests) ||
			c.PerSec <= 0 || c.P50Ms < float64(want.latency) {
			t.Errorf("run %d: ceiling %+v", i, c)
		}
	}
	if wantWarnings := withoutCity(pop, nil); wantWarnings == 0 || withoutCity(pop, codes) > wantWarnings {
		t.Errorf("%d of 2,000 customers without a city: the warnings are not exercised", wantWarnings)
	}
	assertPaused(t, rep.Runs[4].Pipeline)
}

// The pause took hold during the run and the resume finished it; whether
// an attempt started after the commit is the figure, not a condition of
// the tool.
func assertPaused(t *testing.T, p pipelineResult) {
	t.Helper()
	ps := p.Pause
	if ps == nil {
		t.Fatal("the pause run has no pause figures")
	}
	if ps.AtDelivered < int64(p.Messages)/4 || ps.AtDelivered >= int64(p.Messages) || ps.RequestMS <= 0 || ps.ResumeMS <= 0 ||
		ps.Parked <= 0 || ps.Parked+ps.AtDelivered+int64(ps.InFlight+ps.NewAttempts) != int64(p.Messages) ||
		ps.HeldSeconds < 0.2 || ps.ResumeToLastSeconds <= 0 || ps.PauseLatencyMS < 0 {
		t.Errorf("pause figures: %+v", *ps)
	}
}

func assertAPIMeasured(t *testing.T, rep report) {
	t.Helper()
	api := rep.Runs[0].Pipeline.API
	if len(api) != 3 {
		t.Fatalf("%d API request kinds measured, want 3", len(api))
	}
	for _, a := range api {
		if a.Requests == 0 {
			t.Errorf("%s: no request sent", a.Name)
		}
	}
	// Creating a mailout is core; the statistics are reported either way.
	for _, post := range []latencyResult{api[0], rep.IdleCreate} {
		if post.Name != "POST /api/mailouts" || !post.Available || post.Errors != 0 || post.P50Ms <= 0 || post.P99Ms < post.P50Ms {
			t.Errorf("POST /api/mailouts: %+v", post)
		}
	}
}

func assertTopologyDeleted(t *testing.T, prefix string) {
	t.Helper()
	conn, err := amqp.Dial(brokertest.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := consumers(conn, prefix+"."+broker.SendQueue); err == nil {
		t.Errorf("queue %s.%s left behind", prefix, broker.SendQueue)
		_ = broker.DeleteTopology(context.Background(), broker.Config{URL: brokertest.URL(), Prefix: prefix})
	}
}

// A missing binary stops the run before it creates anything.
func TestRunWithoutBinariesCreatesNothing(t *testing.T) {
	err := run(context.Background(), []string{"-api", "/nonexistent/api", "-worker", "/nonexistent/worker", "-customers", "1"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "make build") {
		t.Fatalf("run without binaries: %v, want a hint to build them", err)
	}
}

func TestParseFlagsRejectsNonsense(t *testing.T) {
	for _, args := range [][]string{
		{"-customers", "0"},
		{"-customers", "100000001"},
		{"-workers", "0"},
		{"-latency-ms", "0"},
		{"-concurrency", "0"},
		{"-concurrency", "10", "-prefetch", "5"},
		{"-ceiling-duration", "0s"},
		{"-api-clients", "0"},
		{"-worker-env", "NOEQUALS"},
	} {
		if _, err := parseFlags(args); err == nil {
			t.Errorf("parseFlags(%q) accepted", args)
		}
	}
	o, err := parseFlags([]string{"-concurrency", "300", "-customers", "500"})
	if err != nil {
		t.Fatal(err)
	}
	if o.prefetch != 600 || o.latencyCustomers != 500 || !strings.HasPrefix(o.prefix, "bench-") ||
		!strings.HasPrefix(databaseName(o.databaseURL), "bench_") {
		t.Errorf("prefetch %d, latency customers %d, prefix %q, database %q: want 2×concurrency, capped, generated names",
			o.prefetch, o.latencyCustomers, o.prefix, o.databaseURL)
	}
}
