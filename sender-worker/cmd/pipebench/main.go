// Command pipebench measures the sending pipeline end to end: it creates a
// directory of customers, starts probe-sim in-process and K real worker
// processes, creates one mailout that starts at once and matches every
// generated customer, relays its start event as the API would, and measures
// how long the fan-out and the deliveries take. It prints a Markdown table
// (and JSON with -out).
//
// Build the worker first, then run from the repository root:
//
//	make build
//	go run ./sender-worker/cmd/pipebench -create-db -customers 100000
//	go run ./sender-worker/cmd/pipebench -create-db -latency-ms 50 \
//	    -concurrency 200 -prefetch 400 -workers 2
//
// With -create-db the tool creates the database named by -database-url,
// migrates it and drops it at the end. Without it the database must exist
// (createdb pipebench, or psql -c 'CREATE DATABASE pipebench'); it is
// migrated, and the generated customers and the mailout stay in it. A
// dedicated database is best: a run relays every unpublished outbox event
// it finds. The broker topology lives under a fresh -prefix and is deleted
// at the end.
package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "pipebench:", err)
		os.Exit(1)
	}
}

// options are the command-line flags.
type options struct {
	databaseURL string
	createDB    bool
	amqpURL     string
	prefix      string
	customers   int
	latencyMS   int
	jitterMS    int
	workers     int
	concurrency int
	prefetch    int
	workerBin   string
	workerEnv   envList
	pprofPort   int
	duration    time.Duration
	timeout     time.Duration
	out         string
}

// envList collects repeated -worker-env KEY=VALUE flags.
type envList []string

func (e *envList) String() string { return strings.Join(*e, ",") }

func (e *envList) Set(v string) error {
	if k, _, ok := strings.Cut(v, "="); !ok || k == "" {
		return fmt.Errorf("want KEY=VALUE, got %q", v)
	}
	*e = append(*e, v)
	return nil
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("pipebench", flag.ContinueOnError)
	fs.StringVar(&o.databaseURL, "database-url", envOr("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pipebench?sslmode=disable"), "database to run in (default $DATABASE_URL)")
	fs.BoolVar(&o.createDB, "create-db", false, "create and migrate the database first and drop it at the end")
	fs.StringVar(&o.amqpURL, "amqp-url", envOr("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"), "RabbitMQ URL (default $AMQP_URL)")
	fs.StringVar(&o.prefix, "prefix", "", "AMQP prefix of the run's topology; must be unused (default: a random one)")
	fs.IntVar(&o.customers, "customers", 100000, "matching customers, hence messages (at most 9,999,999)")
	fs.IntVar(&o.latencyMS, "latency-ms", 0, "probe-sim latency per request")
	fs.IntVar(&o.jitterMS, "jitter-ms", 0, "probe-sim latency jitter (uniform ±)")
	fs.IntVar(&o.workers, "workers", 1, "worker processes")
	fs.IntVar(&o.concurrency, "concurrency", 0, "SENDER_CONCURRENCY of each worker (0: the worker's default)")
	fs.IntVar(&o.prefetch, "prefetch", 0, "SENDER_PREFETCH of each worker (0: the worker's default, or 2×concurrency when that is larger)")
	fs.StringVar(&o.workerBin, "worker", "bin/worker", "worker binary (make build)")
	fs.Var(&o.workerEnv, "worker-env", "extra KEY=VALUE for every worker (repeatable)")
	fs.IntVar(&o.pprofPort, "pprof-port", 0, "if set, worker i serves pprof on 127.0.0.1:port+i (PPROF_ADDR)")
	fs.DurationVar(&o.duration, "mailout-duration", time.Hour, "end_at - start_at of the mailout")
	fs.DurationVar(&o.timeout, "timeout", 15*time.Minute, "give up when the mailout has not settled by then")
	fs.StringVar(&o.out, "out", "", "also write the results as JSON to this file")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case o.customers < 1 || o.customers > 9_999_999:
		return o, fmt.Errorf("-customers must be between 1 and 9,999,999")
	case o.workers < 1:
		return o, fmt.Errorf("-workers must be at least 1")
	case o.latencyMS < 0 || o.jitterMS < 0 || o.concurrency < 0 || o.prefetch < 0:
		return o, fmt.Errorf("-latency-ms, -jitter-ms, -concurrency and -prefetch must not be negative")
	}
	if o.prefix == "" {
		o.prefix = "pipebench-" + strings.ToLower(rand.Text()[:10])
	}
	if o.prefetch == 0 && o.concurrency > 0 {
		o.prefetch = max(256, 2*o.concurrency)
	}
	return o, nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// report is everything measured, as written by -out.
type report struct {
	StartedAt   time.Time  `json:"started_at"`
	Customers   int        `json:"customers"`
	Workers     int        `json:"workers"`
	Concurrency int        `json:"concurrency"` // 0: the worker's default
	Prefetch    int        `json:"prefetch"`    // 0: the worker's default
	LatencyMS   int        `json:"latency_ms"`
	JitterMS    int        `json:"jitter_ms"`
	Setup       setupTimes `json:"setup"`
	Run         runResult  `json:"run"`
}

// setupTimes are the unmeasured preparation steps, for orientation.
type setupTimes struct {
	CustomersSeconds float64 `json:"customers_seconds"`
	WorkersSeconds   float64 `json:"workers_ready_seconds"`
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	rep := report{StartedAt: time.Now().UTC(), Customers: o.customers, Workers: o.workers,
		Concurrency: o.concurrency, Prefetch: o.prefetch, LatencyMS: o.latencyMS, JitterMS: o.jitterMS}

	env, err := openEnv(ctx, o, stderr)
	if err != nil {
		return err
	}
	defer env.close(stderr)

	started := time.Now()
	code, err := env.createCustomers(ctx, o.customers)
	if err != nil {
		return err
	}
	rep.Setup.CustomersSeconds = time.Since(started).Seconds()
	fmt.Fprintf(stderr, "created %d customers with code %s in %.1fs\n", o.customers, code, rep.Setup.CustomersSeconds)

	started = time.Now()
	if err := env.startWorkers(ctx, o); err != nil {
		return err
	}
	rep.Setup.WorkersSeconds = time.Since(started).Seconds()
	fmt.Fprintf(stderr, "%d worker(s) consuming after %.1fs\n", o.workers, rep.Setup.WorkersSeconds)

	res, err := env.measure(ctx, o, code, stderr)
	if err != nil {
		return err
	}
	rep.Run = res
	printReport(stdout, rep)
	return writeResults(o.out, rep)
}

// writeResults writes the report as JSON to path, if one is given.
func writeResults(path string, rep report) error {
	if path == "" {
		return nil
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("encode results: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	return nil
}

func printReport(w io.Writer, r report) {
	conc, pre := "default", "default"
	if r.Concurrency > 0 {
		conc = fmt.Sprint(r.Concurrency)
	}
	if r.Prefetch > 0 {
		pre = fmt.Sprint(r.Prefetch)
	}
	x := r.Run
	fmt.Fprintf(w, "## Pipeline: %d messages, %d worker(s), concurrency %s, prefetch %s, probe latency %d±%d ms\n\n",
		r.Customers, r.Workers, conc, pre, r.LatencyMS, r.JitterMS)
	fmt.Fprintf(w, "| measure | value |\n|---|---:|\n")
	row := func(name, format string, v ...any) {
		fmt.Fprintf(w, "| %s | "+format+" |\n", append([]any{name}, v...)...)
	}
	row("fan-out: creation → running with all rows", "%.2f s", x.FanOutSeconds)
	row("creation → first delivery", "%.2f s", x.FirstDeliverySeconds)
	row("creation → last delivery", "%.2f s", x.LastDeliverySeconds)
	row("creation → every message final in the database", "%.2f s", x.SettledSeconds)
	row("messages/s (creation → last delivery)", "%.0f", x.MessagesPerSec)
	row("messages/s (first → last delivery)", "%.0f", x.SteadyPerSec)
	row("delivery lag p50 (arrival − start_at)", "%.2f s", x.LagP50Seconds)
	row("delivery lag p99", "%.2f s", x.LagP99Seconds)
	row("delivered (distinct messages)", "%d", x.Delivered)
	row("duplicate deliveries", "%d", x.Duplicates)
	row("messages by status", "%s", formatCounts(x.Statuses))
	row("probe requests", "%d", x.ProbeRequests)
	row("worker peak RSS (max, MiB)", "%.1f", x.WorkerPeakRSSMiB)
	row("worker CPU (sum, s)", "%.1f", x.WorkerCPUSeconds)
	row("RabbitMQ CPU (s)", "%.1f", x.BrokerCPUSeconds)
	row("PostgreSQL CPU (s)", "%.1f", x.DatabaseCPUSeconds)
	row("pipebench + probe-sim CPU (s)", "%.1f", x.SelfCPUSeconds)
	row("machine CPU busy during the run", "%.0f%%", 100*x.MachineBusy)
	fmt.Fprintln(w)
}
