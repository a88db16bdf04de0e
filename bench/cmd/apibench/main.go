// Command apibench loads a running API: it imports a generated customer
// directory through POST /api/customers/import and then measures the
// latency of a set of requests, printing a Markdown table (and JSON with
// -out).
//
//	go run ./bench/cmd/apibench -url http://127.0.0.1:8080 \
//	    -user admin -password admin-password -customers 1000000
//
// It needs nothing but the standard library and this repository.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"mailing/bench/internal/apiclient"
	"mailing/bench/internal/cli"
	"mailing/bench/internal/population"
)

func main() {
	cli.Main("apibench", func(ctx context.Context, args []string, stdout, _ io.Writer) error { return run(ctx, args, stdout) })
}

// options are the command-line flags.
type options struct {
	url         string
	user        string
	password    string
	customers   int
	requests    int
	concurrency int
	warmup      int
	only        string
	out         string
	skipImport  bool
	onConflict  string
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("apibench", flag.ContinueOnError)
	fs.StringVar(&o.url, "url", "http://127.0.0.1:8080", "base URL of the API")
	fs.StringVar(&o.user, "user", "admin", "user name for POST /auth/token")
	fs.StringVar(&o.password, "password", "", "password for POST /auth/token")
	fs.IntVar(&o.customers, "customers", 100000, "customers to generate and import")
	fs.IntVar(&o.requests, "requests", 2000, "measured requests per scenario (0: import only)")
	fs.IntVar(&o.concurrency, "concurrency", 8, "concurrent clients")
	fs.IntVar(&o.warmup, "warmup", 50, "unmeasured requests before each scenario")
	fs.StringVar(&o.only, "only", "", "comma-separated scenario names to run (default: all)")
	fs.StringVar(&o.out, "out", "", "also write the results as JSON to this file")
	fs.BoolVar(&o.skipImport, "skip-import", false, "measure requests on the data already stored")
	fs.StringVar(&o.onConflict, "on-conflict", "skip", "on_conflict for the import: skip or update")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case o.customers < 1:
		return o, fmt.Errorf("-customers must be at least 1")
	case o.requests < 0 || o.concurrency < 1 || o.warmup < 0:
		return o, fmt.Errorf("-concurrency must be positive, -requests and -warmup not negative")
	case o.password == "":
		return o, fmt.Errorf("-password is required")
	}
	o.url = strings.TrimRight(o.url, "/")
	return o, nil
}

// report is everything measured, as written by -out.
type report struct {
	URL         string                    `json:"url"`
	Customers   int                       `json:"customers"`
	Concurrency int                       `json:"concurrency"`
	StartedAt   time.Time                 `json:"started_at"`
	Import      *population.ImportReport  `json:"import,omitempty"`
	Tags        []population.TagFrequency `json:"tag_frequencies"`
	Requests    []latencyReport           `json:"requests"`
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	c := newClient(o.url, o.concurrency)
	if err := c.Login(ctx, o.user, o.password); err != nil {
		return err
	}
	pop := population.New(o.customers)
	rep := report{URL: o.url, Customers: o.customers, Concurrency: o.concurrency, StartedAt: time.Now().UTC()}
	if !o.skipImport {
		imp, err := population.Import(ctx, c, pop, o.onConflict)
		if err != nil {
			return err
		}
		rep.Import = &imp
		printImport(stdout, imp)
	}
	rep.Tags = pop.TagFrequencies()
	printTags(stdout, rep.Tags)

	if o.requests == 0 {
		return cli.WriteJSON(o.out, rep)
	}
	scenarios, err := selectScenarios(ctx, c, pop, o.only)
	if err != nil {
		return err
	}
	for _, sc := range scenarios {
		res, err := measure(ctx, c, sc, o.requests, o.concurrency, o.warmup)
		if err != nil {
			return err
		}
		rep.Requests = append(rep.Requests, res)
	}
	printLatencies(stdout, rep.Requests, o.concurrency)
	return cli.WriteJSON(o.out, rep)
}

// client is the API client of the load.
type client = apiclient.Client

func newClient(base string, concurrency int) *client { return apiclient.New(base, concurrency*2) }
