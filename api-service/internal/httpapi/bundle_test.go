package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"mailing/api-service/internal/auth"
	"mailing/api-service/internal/httpapi"
	"mailing/shared/postgres"
	"mailing/shared/postgres/pgtest"
	"mailing/shared/testkit"
)

const testSecret = "test-secret-0123456789-0123456789-abcdef"

// bundle is one test's API on its own database, with a valid token.
type bundle struct {
	t      *testing.T
	db     *postgres.DB
	srv    *httptest.Server
	tokens *auth.Tokens
	token  string
	logs   *testkit.Log
}

func setup(t *testing.T) *bundle {
	t.Helper()
	gin.SetMode(gin.TestMode)
	db := pgtest.Open(t)
	tokens, err := auth.NewTokens(testSecret, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	logs := &testkit.Log{}
	h := httpapi.New(httpapi.Config{
		Stores: httpapi.PostgresStores(db), Log: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Tokens: tokens, DefaultTimezone: "Europe/Moscow", Version: "test",
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	tok, err := tokens.Issue(auth.Claims{Subject: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	return &bundle{t: t, db: db, srv: srv, tokens: tokens, token: tok, logs: logs}
}

// do sends a request with the bundle's token; body may be nil, a string
// (sent as is) or any value (sent as JSON). It returns the status and the
// decoded JSON answer (nil when the answer is empty).
func (b *bundle) do(method, path string, body any) (int, map[string]any) {
	b.t.Helper()
	resp, raw := b.raw(method, path, body, "application/json", b.token)
	var out map[string]any
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			b.t.Fatalf("%s %s: answer is not a JSON object: %v: %s", method, path, err, raw)
		}
	}
	return resp.StatusCode, out
}

// raw sends a request and returns the response and its body.
func (b *bundle) raw(method, path string, body any, contentType, token string) (*http.Response, []byte) {
	b.t.Helper()
	var r io.Reader
	switch v := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(v)
	case []byte:
		r = bytes.NewReader(v)
	case io.Reader:
		r = v
	default:
		buf, err := json.Marshal(v)
		if err != nil {
			b.t.Fatal(err)
		}
		r = bytes.NewReader(buf)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, b.srv.URL+path, r)
	if err != nil {
		b.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return resp, raw
}

// must sends a request and fails the test unless the status is want.
func (b *bundle) must(want int, method, path string, body any) map[string]any {
	b.t.Helper()
	got, out := b.do(method, path, body)
	if got != want {
		b.t.Fatalf("%s %s: status %d, want %d: %v", method, path, got, want, out)
	}
	return out
}

// wantError checks the one error shape and its code.
func wantError(t *testing.T, out map[string]any, code string) map[string]any {
	t.Helper()
	e, ok := out["error"].(map[string]any)
	if !ok {
		t.Fatalf("no error object in %v", out)
	}
	if e["code"] != code {
		t.Fatalf("error code %v, want %s: %v", e["code"], code, e)
	}
	if msg, _ := e["message"].(string); msg == "" {
		t.Fatalf("error without message: %v", e)
	}
	fields, _ := e["fields"].(map[string]any)
	return fields
}

// items returns the items of a list answer.
func items(t *testing.T, out map[string]any) []map[string]any {
	t.Helper()
	raw, ok := out["items"].([]any)
	if !ok {
		t.Fatalf("no items in %v", out)
	}
	res := make([]map[string]any, len(raw))
	for i, v := range raw {
		res[i] = v.(map[string]any)
	}
	return res
}

// id reads the numeric id of an object answer.
func id(t *testing.T, obj map[string]any) int64 {
	t.Helper()
	f, ok := obj["id"].(float64)
	if !ok {
		t.Fatalf("no id in %v", obj)
	}
	return int64(f)
}
