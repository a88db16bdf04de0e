package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"mailing/shared/postgres/pgtest"
	"mailing/shared/testkit"
)

// TestRunEndToEnd migrates a fresh database, starts the real binary's run()
// on a free port, drives it over HTTP and shuts it down gracefully.
func TestRunEndToEnd(t *testing.T) {
	// Not a migrated clone: the migrate command must build the schema.
	dsn := pgtest.EmptyDSN(t)
	vars := map[string]string{
		"DATABASE_URL": dsn, "HTTP_ADDR": "127.0.0.1:0",
		"JWT_SECRET": strings.Repeat("s", 40), "ADMIN_USERNAME": "ops", "ADMIN_PASSWORD": "correct horse",
		"LOG_LEVEL": "debug",
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := run(ctx, []string{"migrate"}, testkit.Env(vars), io.Discard); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if err := run(ctx, []string{"migrate"}, testkit.Env(vars), io.Discard); err != nil {
		t.Fatalf("second migrate must be a no-op: %v", err)
	}

	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, testkit.Env(vars), pw); _ = pw.Close() }()
	base := waitListening(t, pr, done)

	form := url.Values{"username": {"ops"}, "password": {"correct horse"}, "grant_type": {"password"}}
	resp, err := http.PostForm(base+"/auth/token", form)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	decode(t, resp, http.StatusOK, &tok)
	if tok.AccessToken == "" || tok.TokenType != "bearer" {
		t.Fatalf("token answer: %+v", tok)
	}

	call := func(method, path, body string, want int, out any) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		decode(t, resp, want, out)
	}
	var cust struct {
		ID       int64  `json:"id"`
		Timezone string `json:"timezone"`
	}
	call("POST", "/api/customers", `{"phone":"79161234567","tags":["vip"]}`, http.StatusCreated, &cust)
	if cust.ID == 0 || cust.Timezone != "Europe/Moscow" {
		t.Fatalf("customer: %+v", cust)
	}
	start := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	end := time.Now().Add(2 * time.Hour).UTC().Format(time.RFC3339)
	var m struct {
		ID       int64  `json:"id"`
		Status   string `json:"status"`
		Audience int64  `json:"audience"`
	}
	call("POST", "/api/mailouts", `{"text":"hello","start_at":"`+start+`","end_at":"`+end+`","filter":{"tags":["vip"]}}`, http.StatusCreated, &m)
	if m.ID == 0 || m.Status != "scheduled" || m.Audience != 1 {
		t.Fatalf("mailout: %+v", m)
	}
	unauth, err := http.Get(base + "/api/customers")
	if err != nil {
		t.Fatal(err)
	}
	decode(t, unauth, http.StatusUnauthorized, &map[string]any{})

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run after shutdown: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run did not return after its context was cancelled")
	}
}

// waitListening reads run's JSON log until the "listening" line and
// returns the server's base URL; the rest of the log is drained.
func waitListening(t *testing.T, r io.Reader, done <-chan error) string {
	t.Helper()
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		sent := false
		for sc.Scan() {
			var line struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if !sent && json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" {
				addr <- line.Addr
				sent = true
			}
		}
	}()
	select {
	case a := <-addr:
		return "http://" + a
	case err := <-done:
		t.Fatalf("run stopped before listening: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("server did not start listening")
	}
	return ""
}

func decode(t *testing.T, resp *http.Response, want int, out any) {
	t.Helper()
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d: %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, want, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
}

func TestConfigRefusesMissingOrShortSecret(t *testing.T) {
	ctx := context.Background()
	err := run(ctx, nil, testkit.Env(map[string]string{}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "JWT_SECRET is required") {
		t.Fatalf("no secret: %v", err)
	}
	err = run(ctx, nil, testkit.Env(map[string]string{"JWT_SECRET": "short"}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "at least 32 bytes") {
		t.Fatalf("short secret: %v", err)
	}
	err = run(ctx, nil, testkit.Env(map[string]string{"APP_ENV": "dev", "DEFAULT_TIMEZONE": "Nowhere/Land"}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "DEFAULT_TIMEZONE") {
		t.Fatalf("bad zone: %v", err)
	}
	err = run(ctx, nil, testkit.Env(map[string]string{"APP_ENV": "dev", "ADMIN_USERNAME": "x"}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "set together") {
		t.Fatalf("half admin pair: %v", err)
	}
	err = run(ctx, nil, testkit.Env(map[string]string{"APP_ENV": "dev", "JWT_TTL": "soon"}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "JWT_TTL") {
		t.Fatalf("bad ttl: %v", err)
	}
	err = run(ctx, []string{"frobnicate"}, testkit.Env(map[string]string{}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "unknown command") {
		t.Fatalf("unknown command: %v", err)
	}
}

func TestDevModeUsesFixedSecret(t *testing.T) {
	cfg, err := loadConfig(testkit.Env(map[string]string{"APP_ENV": "dev"}), true)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.JWTSecret != devSecret || !cfg.devSecretUsed {
		t.Fatalf("dev mode did not take the dev secret: %+v", cfg)
	}
	cfg, err = loadConfig(testkit.Env(map[string]string{}), false)
	if err != nil {
		t.Fatalf("migrate must not need a secret: %v", err)
	}
	if cfg.HTTPAddr != ":8080" || cfg.JWTTTL != time.Hour || cfg.DefaultTimezone != "Europe/Moscow" {
		t.Fatalf("defaults: %+v", cfg)
	}
}
