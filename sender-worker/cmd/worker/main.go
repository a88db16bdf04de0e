// Command worker runs the sending side of the mailing service: the planner
// (start events → message jobs), the sender (jobs → external API) and the
// reconciler (repairs from the database). Any number may run at once.
package main

import (
	"context"
	"errors"
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
	if addr := getenv("PPROF_ADDR"); addr != "" {
		stopPprof, err := servePprof(addr, log)
		if err != nil {
			return err
		}
		defer stopPprof()
	}

	stopBatches := send.Start()
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	consume := func(queue string, prefetch int, h func(context.Context, broker.Delivery)) {
		defer wg.Done()
		c, err := broker.NewConsumer(bcfg)
		if err == nil {
			err = c.Consume(ctx, queue, prefetch, h)
		}
		if err != nil {
			errc <- fmt.Errorf("consume %s: %w", queue, err)
		}
	}
	wg.Add(4)
	go consume(broker.StartQueue, 4, plan.Handle)
	go consume(broker.SendQueue, cfg.Prefetch, send.Handle)
	go func() { defer wg.Done(); rec.Run(ctx) }()
	go func() {
		defer wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("serve health: %w", err)
		}
	}()
	log.Info("worker started", "concurrency", cfg.Concurrency, "prefetch", cfg.Prefetch, "probe_url", cfg.ProbeURL)

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
		log.Error("worker stopping after a failure", "error", runErr.Error())
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdownCtx)
	if runErr != nil {
		return runErr
	}
	wg.Wait()
	stopBatches()
	log.Info("stopped")
	return nil
}

// servePprof serves the runtime profiles (net/http/pprof) on addr, for
// profiling under load. It is off unless PPROF_ADDR is set: profiles expose
// internals and must never be reachable from outside.
func servePprof(addr string, log *slog.Logger) (stop func(), err error) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for pprof on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	log.Warn("serving pprof profiles", "addr", ln.Addr().String())
	return func() { _ = srv.Close() }, nil
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
