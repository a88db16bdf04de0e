package main

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"mailing/shared/postgres/pgtest"
	"mailing/shared/testkit"
)

// TestBootstrapAdminAcrossRestarts: ADMIN_USERNAME/ADMIN_PASSWORD make an
// admin; a restart with the same password keeps its tokens good, and one
// with a new password refuses them.
func TestBootstrapAdminAcrossRestarts(t *testing.T) {
	vars := map[string]string{
		"DATABASE_URL": pgtest.DSN(t), "HTTP_ADDR": "127.0.0.1:0", "JWT_SECRET": strings.Repeat("s", 40),
		"ADMIN_USERNAME": "ops", "ADMIN_PASSWORD": "correct horse battery",
	}
	start := func() (string, func()) {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		pr, pw := io.Pipe()
		done := make(chan error, 1)
		go func() { done <- run(ctx, nil, testkit.Env(vars), pw); _ = pw.Close() }()
		base := waitListening(t, pr, done)
		return base, func() {
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("run: %v", err)
			}
		}
	}
	login := func(base, password string) string {
		t.Helper()
		resp, err := http.PostForm(base+"/auth/token", url.Values{"username": {"ops"}, "password": {password}})
		if err != nil {
			t.Fatal(err)
		}
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		decode(t, resp, http.StatusOK, &tok)
		return tok.AccessToken
	}
	status := func(base, token, path string) int {
		t.Helper()
		resp, _, err := testkit.Do(context.Background(), http.DefaultClient, "GET", base+path, "", "Authorization", "Bearer "+token)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode
	}

	base, stop := start()
	tok := login(base, "correct horse battery")
	if got := status(base, tok, "/api/users"); got != http.StatusOK {
		t.Fatalf("the bootstrap admin lists users: %d", got)
	}
	stop()

	base, stop = start()
	if got := status(base, tok, "/api/users"); got != http.StatusOK {
		t.Fatalf("after a restart with the same password the token gets %d", got)
	}
	stop()

	vars["ADMIN_PASSWORD"] = "a new horse battery"
	base, stop = start()
	defer stop()
	if got := status(base, tok, "/api"); got != http.StatusUnauthorized {
		t.Fatalf("after a restart with a new password the old token gets %d", got)
	}
	tok = login(base, "a new horse battery")
	if got := status(base, tok, "/api/users"); got != http.StatusOK {
		t.Fatalf("new token: %d", got)
	}
}

func TestConfigRefusesWeakAdminPasswordAndBadCacheTTL(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := run(ctx, nil, testkit.Env(map[string]string{"APP_ENV": "dev", "ADMIN_USERNAME": "ops", "ADMIN_PASSWORD": "elevenchars"}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "ADMIN_PASSWORD must be at least 12 characters") {
		t.Fatalf("short admin password: %v", err)
	}
	err = run(ctx, nil, testkit.Env(map[string]string{"APP_ENV": "dev", "AUTH_CACHE_TTL": "-1s"}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "AUTH_CACHE_TTL") {
		t.Fatalf("bad cache TTL: %v", err)
	}
}
