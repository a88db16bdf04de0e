// Command statsbench measures the statistics endpoints at scale: it fills
// a dedicated database with finished mailouts whose messages are written
// straight into the messages table (generate_series, with the counting
// triggers on), fans out one more mailout through the store as the
// planner does, keeps that mailout being sent by in-process senders that
// claim and record outcomes through the store functions the workers use,
// and meanwhile measures the latency of the statistics endpoints of the
// real API process (bin/api on a free local port, as make bench runs it)
// with concurrent clients. It then stops sending and checks the answers
// against a ground truth computed with GROUP BYs over the messages. It
// prints a Markdown table (and JSON with -out).
//
// Build the binaries first, then run from the repository root:
//
//	make build
//	go run ./bench/cmd/statsbench                     # 10,000,000 rows, 100 mailouts
//	go run ./bench/cmd/statsbench -messages 200000 -running 50000
//
// The database named by -database-url is dropped and created again, and
// dropped at the end unless -keep is given. The API relays the running
// mailout's start event to a broker topology of the run's own (a random
// AMQP prefix), deleted at the end.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"mailing/bench/internal/cli"
)

func main() { cli.Main("statsbench", run) }

// options are the command-line flags.
type options struct {
	databaseURL string
	amqpURL     string
	apiBin      string
	keep        bool
	reuse       bool
	messages    int
	mailouts    int
	running     int
	rate        int
	senders     int
	batch       int
	requests    int
	concurrency int
	warmup      int
	out         string
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("statsbench", flag.ContinueOnError)
	fs.StringVar(&o.databaseURL, "database-url", "postgres://postgres@127.0.0.1:5432/statsbench?sslmode=disable",
		"database to create, fill and drop (it is dropped first if it exists)")
	fs.StringVar(&o.amqpURL, "amqp-url", cli.EnvOr("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"), "RabbitMQ URL of the API's relay (default $AMQP_URL)")
	fs.StringVar(&o.apiBin, "api", "bin/api", "API binary (make build)")
	fs.BoolVar(&o.keep, "keep", false, "keep the database at the end")
	fs.BoolVar(&o.reuse, "reuse", false, "measure on a database kept by an earlier run (-keep) instead of filling a new one")
	fs.IntVar(&o.messages, "messages", 10_000_000, "message rows in total")
	fs.IntVar(&o.mailouts, "mailouts", 100, "mailouts in total: one running, the others finished")
	fs.IntVar(&o.running, "running", 1_000_000, "messages (and customers) of the running mailout")
	fs.IntVar(&o.rate, "rate", 5000, "messages per second the senders claim and record during the measurement (0: no sending)")
	fs.IntVar(&o.senders, "senders", 2, "concurrent senders, as workers")
	fs.IntVar(&o.batch, "batch", 200, "messages per claim and per outcome statement")
	fs.IntVar(&o.requests, "requests", 2000, "measured requests per endpoint")
	fs.IntVar(&o.concurrency, "concurrency", 4, "concurrent clients")
	fs.IntVar(&o.warmup, "warmup", 100, "unmeasured requests before each endpoint")
	fs.StringVar(&o.out, "out", "", "also write the results as JSON to this file")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case o.mailouts < 2:
		return o, fmt.Errorf("-mailouts must be at least 2 (one running, one finished)")
	case o.running < 1 || o.running >= o.messages:
		return o, fmt.Errorf("-running must be at least 1 and less than -messages")
	case o.messages-o.running < o.mailouts-1:
		return o, fmt.Errorf("-messages leaves fewer than one message per finished mailout")
	case o.rate < 0 || o.senders < 1 || o.batch < 1:
		return o, fmt.Errorf("-rate must not be negative, -senders and -batch must be positive")
	case o.requests < 1 || o.concurrency < 1 || o.warmup < 0:
		return o, fmt.Errorf("-requests and -concurrency must be positive, -warmup not negative")
	}
	return o, nil
}

// report is everything measured, as written by -out.
type report struct {
	StartedAt   time.Time       `json:"started_at"`
	Messages    int             `json:"messages"`
	Mailouts    int             `json:"mailouts"`
	Running     int             `json:"running"`
	Concurrency int             `json:"concurrency"`
	Populate    populateTimes   `json:"populate"`
	Sending     sendingReport   `json:"sending"`
	Requests    []latencyReport `json:"requests"`
	Exact       []check         `json:"exact"`
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	rep := report{StartedAt: time.Now().UTC(), Messages: o.messages, Mailouts: o.mailouts, Running: o.running, Concurrency: o.concurrency}
	if _, err := os.Stat(o.apiBin); err != nil {
		return fmt.Errorf("binary: %w (run make build first, or pass -api)", err)
	}
	b, err := openBench(ctx, o.databaseURL, o.reuse)
	if err != nil {
		return err
	}
	defer b.close(ctx, o.keep || o.reuse, stderr)
	if o.reuse {
		err = b.findRunning(ctx)
	} else {
		rep.Populate, err = b.populate(ctx, o, stderr)
	}
	if err != nil {
		return err
	}
	srv, err := startServer(ctx, o, stderr)
	if err != nil {
		return err
	}
	defer srv.close(stderr)

	snd := b.startSending(ctx, o)
	rep.Requests, err = measureAll(ctx, srv, b.runningID, o)
	rep.Sending = snd.stop()
	if err != nil {
		return err
	}
	if snd.err != nil {
		return fmt.Errorf("sending: %w", snd.err)
	}
	if rep.Exact, err = verify(ctx, b, srv); err != nil {
		return err
	}
	printReport(stdout, rep)
	if err := cli.WriteJSON(o.out, rep); err != nil {
		return err
	}
	for _, c := range rep.Exact {
		if !c.Equal {
			return fmt.Errorf("%s: the API says %v, the messages say %v", c.Name, c.API, c.Truth)
		}
	}
	return nil
}
