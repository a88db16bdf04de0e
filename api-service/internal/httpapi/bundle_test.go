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
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"mailing/api-service/internal/auth"
	"mailing/api-service/internal/httpapi"
	"mailing/shared/domain"
	"mailing/shared/postgres"
	"mailing/shared/postgres/pgtest"
	"mailing/shared/testkit"
)

const testSecret = "test-secret-0123456789-0123456789-abcdef"

// bundle is one test's API on its own database, with the token of an
// admin, the bootstrap admin of a real deployment.
type bundle struct {
	t      testing.TB
	db     *postgres.DB
	srv    *httptest.Server
	api    *httpapi.Server
	authn  *auth.Authenticator
	tokens *auth.Tokens
	admin  domain.User
	token  string
	logs   *testkit.Log
	// skew moves the authenticator's clock (sessions' and keys' expiry)
	// ahead of the wall clock.
	skew *atomic.Int64
}

func setup(t testing.TB) *bundle {
	t.Helper()
	gin.SetMode(gin.TestMode)
	db := pgtest.Open(t)
	tokens, err := auth.NewTokens(testSecret, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// The admin never logs in here: its token is issued directly, and an
	// unusable password hash spares each test a bcrypt hashing.
	admin, err := postgres.NewUsers(db).Create(context.Background(), domain.User{Username: "tester", Role: domain.RoleAdmin}, "!")
	if err != nil {
		t.Fatal(err)
	}
	b := &bundle{t: t, db: db, tokens: tokens, admin: admin, logs: &testkit.Log{}, skew: new(atomic.Int64)}
	b.api, b.authn = b.server()
	b.srv = httptest.NewServer(b.api)
	t.Cleanup(b.srv.Close)
	b.token = b.tokenOf(admin)
	return b
}

// server builds an API on the bundle's database the way the binary does:
// its authenticator listens for changes to users and keys until the test
// ends.
func (b *bundle) server() (*httpapi.Server, *auth.Authenticator) {
	b.t.Helper()
	stores := httpapi.PostgresStores(b.db)
	log := slog.New(slog.NewJSONHandler(b.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	changes := b.db.Listener(postgres.AccessChannel)
	authn := auth.NewAuthenticator(auth.AuthenticatorConfig{
		Tokens: b.tokens, Users: stores.Users, Keys: stores.Keys, Sessions: stores.Sessions, Log: log, TouchEvery: 50 * time.Millisecond,
		Now:  func() time.Time { return time.Now().Add(time.Duration(b.skew.Load())) },
		Feed: auth.Feed{Listen: func(ctx context.Context, sub auth.Subscriber) { changes.Listen(ctx, sub) }, Sync: changes.Sync},
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		authn.Run(ctx)
	}()
	b.t.Cleanup(func() { cancel(); <-done })
	h := httpapi.New(httpapi.Config{
		Stores: stores, Log: log, Tokens: b.tokens, Authenticator: authn, DefaultTimezone: "Europe/Moscow", Version: "test",
		TestSendWait: 200 * time.Millisecond,
	})
	return h, authn
}

// tokenOf issues a token for u as POST /auth/token would.
func (b *bundle) tokenOf(u domain.User) string {
	b.t.Helper()
	tok, err := b.tokens.Issue(auth.Claims{Subject: itoa(u.ID), Generation: u.Generation})
	if err != nil {
		b.t.Fatal(err)
	}
	return tok
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
	return b.rawAt(b.srv.URL, method, path, body, contentType, token)
}

// rawAt is raw to the server at base.
func (b *bundle) rawAt(base, method, path string, body any, contentType, token string) (*http.Response, []byte) {
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
	req, err := http.NewRequestWithContext(context.Background(), method, base+path, r)
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
func wantError(t testing.TB, out map[string]any, code string) map[string]any {
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
func items(t testing.TB, out map[string]any) []map[string]any {
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
func id(t testing.TB, obj map[string]any) int64 {
	t.Helper()
	f, ok := obj["id"].(float64)
	if !ok {
		t.Fatalf("no id in %v", obj)
	}
	return int64(f)
}
