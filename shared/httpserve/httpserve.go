// Package httpserve is how every binary of the service serves HTTP: one
// server configuration, and a graceful shutdown when the context ends.
package httpserve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// NewServer returns a server for h with the timeouts every binary uses,
// logging the server's own errors through log at warn.
func NewServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// Options tune Serve.
type Options struct {
	// Grace is how long the shutdown waits for requests in flight; zero
	// means 10 s.
	Grace time.Duration
	// BeforeShutdown, when set, runs once ctx has ended, before the
	// server stops: it releases requests that would otherwise hold the
	// shutdown until Grace runs out.
	BeforeShutdown func()
}

// Serve serves srv on ln until ctx ends or serving fails, then shuts srv
// down, letting requests in flight finish within the grace period.
func Serve(ctx context.Context, srv *http.Server, ln net.Listener, log *slog.Logger, opts Options) error {
	if opts.Grace == 0 {
		opts.Grace = 10 * time.Second
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	if opts.BeforeShutdown != nil {
		opts.BeforeShutdown()
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), opts.Grace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("stopped")
	return nil
}
