// Command healthcheck exits 0 when a service's health endpoint answers
// 2xx, and 1 otherwise. The service images are distroless (no shell, no
// curl), so their Docker HEALTHCHECK and docker-compose healthchecks run
// this small probe.
//
//	healthcheck -addr-env HTTP_ADDR -addr :8080 -path /healthz
//
// The address comes from the same variable the service listens on, so a
// container started with another HTTP_ADDR is still probed on its port.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stderr))
}

// run returns the exit code: 0 healthy, 1 unhealthy, 2 bad usage.
func run(args []string, getenv func(string) string, stderr io.Writer) int {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addrEnv := fs.String("addr-env", "", "variable holding the service's listen address; wins over -addr when set")
	addr := fs.String("addr", "", "listen address of the service, e.g. :8080")
	path := fs.String("path", "/healthz", "path to request")
	timeout := fs.Duration("timeout", 3*time.Second, "deadline of the whole check")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *addrEnv != "" && getenv(*addrEnv) != "" {
		*addr = getenv(*addrEnv)
	}
	url, err := targetURL(*addr, *path)
	if err != nil {
		fmt.Fprintln(stderr, "healthcheck:", err)
		return 2
	}
	if err := check(url, *timeout); err != nil {
		fmt.Fprintln(stderr, "healthcheck:", err)
		return 1
	}
	return 0
}

// targetURL turns a listen address into a loopback URL: a service that
// listens on every interface (":8080", "0.0.0.0:8080") is reached through
// 127.0.0.1 from inside its own container.
func targetURL(addr, path string) (string, error) {
	if addr == "" {
		return "", errors.New("no address: set -addr or the variable named by -addr-env")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("address %q: %w", addr, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + path, nil
}

func check(url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("request %s: %w", url, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
	}
	return nil
}
