package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"net/http"
	"time"
)

// benchUser is the admin account the run creates in its own database.
const benchUser = "bench"

// startAPI runs the real API process (bin/api serve) on a free local port,
// with the run's database and broker prefix, so the import and the API
// latencies are those of the product, relay included.
func (e *env) startAPI(ctx context.Context) error {
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	password := rand.Text()
	vars := []string{
		"HTTP_ADDR=" + addr, "DATABASE_URL=" + e.o.databaseURL,
		"AMQP_URL=" + e.o.amqpURL, "AMQP_PREFIX=" + e.o.prefix,
		"JWT_SECRET=" + rand.Text() + rand.Text(), "JWT_TTL=24h",
		"ADMIN_USERNAME=" + benchUser, "ADMIN_PASSWORD=" + password,
		"APP_ENV=production", "LOG_LEVEL=warn",
	}
	if e.api, err = startProcess("api", e.o.apiBin, []string{"serve"}, vars, e.stderr); err != nil {
		return err
	}
	e.apiURL = "http://" + addr
	if err := e.waitHealthy(ctx, 30*time.Second); err != nil {
		return err
	}
	e.client = newClient(e.apiURL, 4*max(e.o.apiClients, 1)+4)
	return e.client.Login(ctx, benchUser, password)
}

// freeAddr finds a free local port. Another process could take it before
// the API listens; the API then fails to start and the run says so.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// waitHealthy polls /healthz until the API answers, failing early when
// the process exits.
func (e *env) waitHealthy(ctx context.Context, within time.Duration) error {
	deadline := time.Now().Add(within)
	hc := &http.Client{Timeout: time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.apiURL+"/healthz", nil)
		if err != nil {
			return err
		}
		if resp, err := hc.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if e.api.exited() {
			return fmt.Errorf("api exited during start-up: %v", <-e.api.done)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("api not healthy after %s", within)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
