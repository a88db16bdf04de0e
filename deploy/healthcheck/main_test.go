package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRunReportsTheEndpointsHealth(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	closed := closedPort(t)

	cases := []struct {
		name string
		args []string
		env  map[string]string
		want int
	}{
		{"healthy through the variable", []string{"-addr-env", "HTTP_ADDR", "-addr", ":1"}, map[string]string{"HTTP_ADDR": ":" + port}, 0},
		{"healthy through -addr", []string{"-addr", "0.0.0.0:" + port}, nil, 0},
		{"unset variable falls back to -addr", []string{"-addr-env", "HTTP_ADDR", "-addr", "127.0.0.1:" + port}, nil, 0},
		{"error status", []string{"-addr", ":" + port, "-path", "/readyz"}, nil, 1},
		{"nothing listening", []string{"-addr", "127.0.0.1:" + closed}, nil, 1},
		{"no address", []string{"-path", "/healthz"}, nil, 2},
		{"bad address", []string{"-addr", "8080"}, nil, 2},
		{"unknown flag", []string{"-port", "8080"}, nil, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stderr strings.Builder
			got := run(c.args, func(k string) string { return c.env[k] }, &stderr)
			if got != c.want {
				t.Fatalf("exit code %d, want %d; stderr: %s", got, c.want, stderr.String())
			}
			if got != 0 && stderr.Len() == 0 {
				t.Fatal("a failing check must say why")
			}
		})
	}
}

// closedPort returns a port on which nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return port
}
