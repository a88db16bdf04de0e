// Package devoidctest starts the development OpenID Provider in-process for
// tests, on a free loopback port. Tests import it; production code never
// does.
package devoidctest

import (
	"net"
	"net/http/httptest"
	"testing"

	"mailing/api-service/internal/devoidc"
)

// Start serves a provider built from cfg until the test ends and returns
// its issuer: http://127.0.0.1:<port> followed by path, which is "/" for
// the usual issuer with a trailing slash, or e.g. "/realms/mailing" for
// one with a path and none. cfg.Issuer is ignored.
func Start(t testing.TB, path string, cfg devoidc.Config) string {
	t.Helper()
	// The issuer names the port, so the port is taken before the provider
	// is built.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	cfg.Issuer = "http://" + ln.Addr().String() + path
	p, err := devoidc.New(cfg)
	if err != nil {
		_ = ln.Close()
		t.Fatalf("devoidc.New: %v", err)
	}
	srv := httptest.NewUnstartedServer(p)
	_ = srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return cfg.Issuer
}
