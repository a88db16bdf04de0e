package proc

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"mailing/bench/internal/apiclient"
)

// apiUser is the admin account the API creates for the run (ADMIN_USERNAME)
// in the run's database.
const apiUser = "bench"

// APIConfig says how to run the API.
type APIConfig struct {
	Bin         string // bin/api
	DatabaseURL string // a migrated database of the run
	AMQPURL     string
	AMQPPrefix  string    // the run's broker topology
	Conns       int       // idle connections the client keeps to the API
	Output      io.Writer // receives the process's output
}

// API is the real API process (bin/api serve) on a free local port, with a
// client logged in as its admin.
type API struct {
	*Process
	URL    string
	Client *apiclient.Client
}

// StartAPI runs bin/api serve with the run's database and broker prefix, a
// random JWT secret and admin password, and waits until it answers
// /healthz and the client has logged in, so the latencies measured are
// those of the product, relay included. On failure the process is
// stopped.
func StartAPI(ctx context.Context, c APIConfig) (_ *API, err error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	password := rand.Text()
	vars := []string{
		"HTTP_ADDR=" + addr, "DATABASE_URL=" + c.DatabaseURL,
		"AMQP_URL=" + c.AMQPURL, "AMQP_PREFIX=" + c.AMQPPrefix,
		"JWT_SECRET=" + rand.Text() + rand.Text(), "JWT_TTL=24h",
		"ADMIN_USERNAME=" + apiUser, "ADMIN_PASSWORD=" + password,
		"APP_ENV=production", "LOG_LEVEL=warn",
	}
	p, err := Start("api", c.Bin, []string{"serve"}, vars, c.Output)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = p.Stop(20 * time.Second)
		}
	}()
	a := &API{Process: p, URL: "http://" + addr}
	if err := a.waitHealthy(ctx, 30*time.Second); err != nil {
		return nil, err
	}
	a.Client = apiclient.New(a.URL, max(c.Conns, 1))
	if err := a.Client.Login(ctx, apiUser, password); err != nil {
		return nil, err
	}
	return a, nil
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
func (a *API) waitHealthy(ctx context.Context, within time.Duration) error {
	deadline := time.Now().Add(within)
	hc := &http.Client{Timeout: time.Second}
	defer hc.CloseIdleConnections()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.URL+"/healthz", nil)
		if err != nil {
			return err
		}
		if resp, err := hc.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if a.Exited() {
			return fmt.Errorf("api exited during start-up: %v", a.Wait())
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
