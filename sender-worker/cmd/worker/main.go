// Command worker runs the sending side of the mailing service: the planner
// (start events → message jobs), the sender (jobs → external API) and the
// reconciler (repairs from the database). Any number may run at once.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	// Time zones compiled in: no zoneinfo needed on the host or in the image.
	_ "time/tzdata"

	"mailing/sender-worker/internal/planner"
	"mailing/sender-worker/internal/probe"
	"mailing/sender-worker/internal/reconciler"
	"mailing/sender-worker/internal/retry"
	"mailing/sender-worker/internal/sender"
	"mailing/shared/broker"
	"mailing/shared/logging"
	"mailing/shared/metrics"
	"mailing/shared/postgres"
)

// version is stamped at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	log, err := logging.New(stdout, cfg.LogLevel, cfg.LogFormat, "worker", logging.PII(cfg.LogPII))
	if err != nil {
		return err
	}
	db, err := postgres.Open(ctx, cfg.DatabaseURL, log)
	if err != nil {
		return err
	}
	defer db.Close()
	met := newWorkerMetrics(db)
	// The connection name shows in the management UI; the prefix tells
	// apart workers of different deployments (or tests) on one broker.
	bcfg := broker.Config{URL: cfg.AMQPURL, Prefix: cfg.BrokerPrefix, Name: strings.Trim(cfg.BrokerPrefix+"-worker", "-"), Logger: log}
	pub, err := broker.NewPublisher(bcfg)
	if err != nil {
		return err
	}
	defer pub.Close()
	client, err := probe.New(probe.Config{
		URL: cfg.ProbeURL, Token: cfg.ProbeToken, Timeout: cfg.ProbeTimeout, MaxConns: cfg.Concurrency,
		Breaker: probe.BreakerConfig{ConsecutiveFailures: uint32(cfg.BreakerFailures), OpenTimeout: cfg.BreakerOpen},
		Metrics: met.probe,
	}, log)
	if err != nil {
		return err
	}
	defer client.Close()

	sending := postgres.NewSending(db)
	plan := &planner.Planner{Store: sending, Pub: pub, Log: log, Metrics: met.planner}
	send := sender.New(sender.Config{
		Store: sending, Pub: pub, Client: client, Log: log, Concurrency: cfg.Concurrency, Rate: float64(cfg.Rate),
		Policy:  retry.Policy{MaxAttempts: cfg.MaxAttempts, Base: cfg.BackoffBase, Max: cfg.BackoffMax},
		Metrics: met.sender,
	})
	rec := &reconciler.Reconciler{Store: sending, Starter: plan, Pub: pub, Log: log, Interval: cfg.ReconcileInterval,
		StaleClaim: cfg.StaleClaimAfter, Grace: cfg.LostJobAfter, Metrics: met.reconciler}

	srv, ln, err := healthServer(cfg.HTTPAddr, db, pub, met, log)
	if err != nil {
		return err
	}
	log.Info("listening", "addr", ln.Addr().String(), "version", version)
	parts := []part{
		{"consume " + broker.StartQueue, consume(bcfg, broker.StartQueue, 4, plan.Handle)},
		{"consume " + broker.SendQueue, consume(bcfg, broker.SendQueue, cfg.Prefetch, send.Handle)},
		{"reconciler", func(ctx context.Context) error { rec.Run(ctx); return nil }},
		{"health server", serveHTTP(srv, ln, 15*time.Second)},
	}
	if addr := getenv("PPROF_ADDR"); addr != "" {
		psrv, pln, err := pprofServer(addr, log)
		if err != nil {
			_ = ln.Close()
			return err
		}
		parts = append(parts, part{"pprof server", serveHTTP(psrv, pln, time.Second)})
	}

	stopBatches := send.Start()
	log.Info("worker started", "concurrency", cfg.Concurrency, "prefetch", cfg.Prefetch, "probe_url", cfg.ProbeURL)
	err = runParts(ctx, log, parts...)
	// Only now: the consumers' handlers feed the batchers until they return.
	stopBatches()
	if err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

// part is one long-running piece of the worker. run returns nil once its
// context ends, or an error when the piece cannot go on.
type part struct {
	name string
	run  func(ctx context.Context) error
}

// runParts runs every part until ctx ends or one of them fails. Either way
// it ends the others' context and waits until every part has returned, so
// nothing a part started outlives the worker; it returns the first
// failure.
func runParts(ctx context.Context, log *slog.Logger, parts ...part) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for _, p := range parts {
		wg.Go(func() {
			err := p.run(ctx)
			if err == nil {
				return
			}
			once.Do(func() {
				first = fmt.Errorf("%s: %w", p.name, err)
				log.Error("worker stopping after a failure", "error", first.Error())
				cancel()
			})
		})
	}
	wg.Wait()
	return first
}

// consume consumes queue with its own connection until ctx ends.
func consume(bcfg broker.Config, queue string, prefetch int, h func(context.Context, broker.Delivery)) func(context.Context) error {
	return func(ctx context.Context) error {
		c, err := broker.NewConsumer(bcfg)
		if err != nil {
			return err
		}
		return c.Consume(ctx, queue, prefetch, h)
	}
}

// serveHTTP serves srv on ln until ctx ends, then shuts it down, giving
// the requests in flight up to grace before closing their connections,
// and returns once the server has stopped.
func serveHTTP(srv *http.Server, ln net.Listener, grace time.Duration) func(context.Context) error {
	return func(ctx context.Context) error {
		served := make(chan error, 1)
		go func() { served <- srv.Serve(ln) }()
		select {
		case err := <-served:
			_ = srv.Close() // the connections accepted before the failure
			return err      // never http.ErrServerClosed: only Shutdown causes it
		case <-ctx.Done():
		}
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
		defer cancel()
		if err := srv.Shutdown(shutdownCtx); err != nil {
			_ = srv.Close()
		}
		<-served
		return nil
	}
}

// pprofServer serves the runtime profiles (net/http/pprof) on addr, for
// profiling under load. It is off unless PPROF_ADDR is set: profiles expose
// internals and must never be reachable from outside.
func pprofServer(addr string, log *slog.Logger) (*http.Server, net.Listener, error) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen for pprof on %s: %w", addr, err)
	}
	log.Warn("serving pprof profiles", "addr", ln.Addr().String())
	return &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, ln, nil
}

// healthServer serves /healthz (alive), /readyz (database and broker) and
// /metrics.
func healthServer(addr string, db *postgres.DB, pub *broker.Publisher, met *workerMetrics, log *slog.Logger) (*http.Server, net.Listener, error) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics.Handler(met.reg, log))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"ok"}`)
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		if err := db.Ping(ctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `{"status":"unavailable","error":"database unreachable"}`)
			return
		}
		if err := pub.Ping(ctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `{"status":"unavailable","error":"broker unreachable"}`)
			return
		}
		_, _ = io.WriteString(w, `{"status":"ok"}`)
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return &http.Server{Handler: met.http.Middleware(mux), ReadHeaderTimeout: 5 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}, ln, nil
}
