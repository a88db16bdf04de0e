// Command pipebench measures the whole service against the physical limit,
// on its own: it creates and migrates a database, starts probe-sim
// in-process, the real API process and real worker processes, imports a
// generated customer directory (with attributes) through the API, sends
// mailouts through the whole pipeline at zero latency with a plain and with
// a templated text and at a set probe latency, pauses and resumes one in
// full swing, loads the API meanwhile, measures the raw HTTP ceiling of probe-sim with an in-process
// load generator, and prints a Markdown table (and writes it as JSON).
//
// Build the binaries first, then run from the repository root:
//
//	make build
//	go run ./bench/cmd/pipebench                    # 1,000,000 customers
//	go run ./bench/cmd/pipebench -customers 20000   # a quick run
//
// or simply `make bench` (BENCH_FLAGS="-customers 20000"). Everything the
// run creates (database, broker topology, processes) is removed at the end.
package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"mailing/bench/internal/cli"
	"mailing/bench/internal/population"
)

func main() { cli.Main("pipebench", run) }

// options are the command-line flags.
type options struct {
	postgresURL      string
	databaseURL      string // derived: a fresh database on postgresURL's server
	amqpURL          string
	prefix           string
	customers        int
	latencyCustomers int
	latencyMS        int
	workers          int
	scaleWorkers     int
	concurrency      int
	prefetch         int
	apiClients       int
	apiPause         time.Duration
	apiIdle          time.Duration
	ceilingDuration  time.Duration
	apiBin           string
	workerBin        string
	workerEnv        envList
	pprofPort        int
	timeout          time.Duration
	outDir           string
	attributes       bool
	templated        bool
	pauseWorkers     int
	pauseLatencyMS   int
	pauseAt          float64
	pauseHold        time.Duration
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
	fs.StringVar(&o.postgresURL, "postgres-url", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "PostgreSQL server; the run creates its own database there and drops it at the end")
	fs.StringVar(&o.amqpURL, "amqp-url", cli.EnvOr("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"), "RabbitMQ URL (default $AMQP_URL)")
	fs.StringVar(&o.prefix, "prefix", "", "AMQP prefix of the run's topology; must be unused (default: a random one)")
	fs.IntVar(&o.customers, "customers", 1_000_000, "customers imported; the zero-latency mailout matches them all")
	fs.IntVar(&o.latencyCustomers, "latency-customers", 100_000, "about how many customers the mailouts at -latency-ms match (a few operator codes)")
	fs.IntVar(&o.latencyMS, "latency-ms", 50, "probe latency of the second and third runs")
	fs.IntVar(&o.workers, "workers", 1, "worker processes of the zero-latency run and of the first latency run")
	fs.IntVar(&o.scaleWorkers, "scale-workers", 2, "worker processes of the last latency run (0: skip it)")
	fs.IntVar(&o.concurrency, "concurrency", 200, "SENDER_CONCURRENCY of each worker, and the load generator's concurrency per worker")
	fs.IntVar(&o.prefetch, "prefetch", 0, "SENDER_PREFETCH of each worker (default 2×concurrency)")
	fs.IntVar(&o.apiClients, "api-clients", 1, "clients per measured API request during the zero-latency run")
	fs.DurationVar(&o.apiPause, "api-pause", 50*time.Millisecond, "pause of each API client between requests")
	fs.DurationVar(&o.apiIdle, "api-idle", 5*time.Second, "how long POST /api/mailouts is measured back to back before the runs, with the machine otherwise idle")
	fs.DurationVar(&o.ceilingDuration, "ceiling-duration", 8*time.Second, "length of each load-generator run against probe-sim")
	fs.StringVar(&o.apiBin, "api", "bin/api", "API binary (make build)")
	fs.StringVar(&o.workerBin, "worker", "bin/worker", "worker binary (make build)")
	fs.Var(&o.workerEnv, "worker-env", "extra KEY=VALUE for every worker (repeatable)")
	fs.IntVar(&o.pprofPort, "pprof-port", 0, "if set, worker i serves pprof on 127.0.0.1:port+i (PPROF_ADDR)")
	fs.DurationVar(&o.timeout, "timeout", 15*time.Minute, "give up on a mailout that has not settled by then")
	fs.StringVar(&o.outDir, "out-dir", "bench/results", "directory of the JSON results (<timestamp>.json)")
	fs.BoolVar(&o.attributes, "attributes", true, "import the customers with the attributes name and city (false: as before attributes existed)")
	fs.BoolVar(&o.templated, "templated", true, "also send the zero-latency mailout with a templated text (and vacuum the database before each of the two)")
	fs.IntVar(&o.pauseWorkers, "pause-workers", 2, "worker processes of the pause run, over the -latency-customers (0: skip it)")
	fs.IntVar(&o.pauseLatencyMS, "pause-latency-ms", 0, "probe latency of the pause run (default -latency-ms)")
	fs.Float64Var(&o.pauseAt, "pause-at", 0.25, "share of the pause run's audience delivered when it is paused")
	fs.DurationVar(&o.pauseHold, "pause-hold", 2*time.Second, "least time the pause run stays paused (it also waits for every job to be dropped)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.pauseLatencyMS == 0 {
		o.pauseLatencyMS = o.latencyMS
	}
	if err := o.validate(); err != nil {
		return o, err
	}
	if o.prefix == "" {
		o.prefix = "bench-" + strings.ToLower(rand.Text()[:10])
	}
	if o.prefetch == 0 {
		o.prefetch = 2 * o.concurrency
	}
	o.latencyCustomers = min(o.latencyCustomers, o.customers)
	u, err := url.Parse(o.postgresURL)
	if err != nil {
		return o, fmt.Errorf("-postgres-url: %w", err)
	}
	u.Path = "/bench_" + strings.ToLower(rand.Text()[:12])
	o.databaseURL = u.String()
	return o, nil
}

func (o options) validate() error {
	switch {
	case o.customers < 1 || o.customers > population.MaxCustomers:
		return fmt.Errorf("-customers must be between 1 and %d", population.MaxCustomers)
	case o.latencyCustomers < 1:
		return fmt.Errorf("-latency-customers must be at least 1")
	case o.workers < 1 || o.scaleWorkers < 0:
		return fmt.Errorf("-workers must be at least 1, -scale-workers not negative")
	case o.latencyMS < 1:
		return fmt.Errorf("-latency-ms must be at least 1")
	case o.concurrency < 1 || o.prefetch < 0 || (o.prefetch > 0 && o.prefetch < o.concurrency):
		return fmt.Errorf("-concurrency must be positive and -prefetch, if set, at least -concurrency")
	case o.apiClients < 1 || o.apiPause < 0 || o.apiIdle <= 0 || o.ceilingDuration <= 0:
		return fmt.Errorf("-api-clients must be positive, -api-pause not negative, -api-idle and -ceiling-duration positive")
	case o.pauseWorkers < 0 || o.pauseLatencyMS < 0 || o.pauseAt <= 0 || o.pauseAt >= 1 || o.pauseHold < 0:
		return fmt.Errorf("-pause-workers and -pause-latency-ms must not be negative, -pause-at between 0 and 1, -pause-hold not negative")
	}
	return nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	began := time.Now()
	env, err := openEnv(ctx, o, stderr)
	if err != nil {
		return err
	}
	defer env.close()
	rep, err := env.bench(ctx)
	if err != nil {
		return err
	}
	rep.WallSeconds = time.Since(began).Seconds()
	rep.Table = tableRows(rep)
	printReport(stdout, rep)
	path, err := writeResults(o.outDir, rep)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "results written to %s\n", path)
	return nil
}
