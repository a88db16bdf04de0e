package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"mailing/api-service/internal/auth"
	"mailing/api-service/internal/httpapi"
	"mailing/shared/domain"
	"mailing/shared/postgres"
)

const (
	loginUser     = "alice"
	loginPassword = "correct horse battery staple"
)

// withUser stores the login user, a viewer.
func withUser(t *testing.T, b *bundle) domain.User {
	t.Helper()
	hash, err := auth.HashPassword(loginPassword)
	if err != nil {
		t.Fatal(err)
	}
	u, err := postgres.NewUsers(b.db).Create(context.Background(), domain.User{Username: loginUser, Role: domain.RoleViewer}, hash)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// postToken sends POST /auth/token and decodes the JSON answer.
func postToken(t *testing.T, baseURL, contentType, body string) (*http.Response, map[string]any) {
	t.Helper()
	resp, err := http.Post(baseURL+"/auth/token", contentType, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("token answer is not JSON: %v", err)
	}
	return resp, out
}

func loginForm(user, password string) string {
	return url.Values{"grant_type": {"password"}, "username": {user}, "password": {password}}.Encode()
}

func TestTokenGrant(t *testing.T) {
	b := setup(t)
	alice := withUser(t, b)
	jsonBody, _ := json.Marshal(map[string]string{"username": loginUser, "password": loginPassword})
	for _, tc := range []struct{ name, contentType, body string }{
		{"form", "application/x-www-form-urlencoded", loginForm(loginUser, loginPassword)},
		{"form without grant_type", "application/x-www-form-urlencoded; charset=utf-8", url.Values{"username": {loginUser}, "password": {loginPassword}}.Encode()},
		{"json", "application/json", string(jsonBody)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, out := postToken(t, b.srv.URL, tc.contentType, tc.body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %v", resp.StatusCode, out)
			}
			if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
				t.Fatalf("Cache-Control %q, want no-store", cc)
			}
			tok, _ := out["access_token"].(string)
			if tok == "" || out["token_type"] != "bearer" || out["expires_in"] != float64(3600) {
				t.Fatalf("token answer %v", out)
			}
			resp2, raw := b.raw("GET", "/api", nil, "", tok)
			if resp2.StatusCode != http.StatusOK {
				t.Fatalf("issued token refused on /api: %d %s", resp2.StatusCode, raw)
			}
			// The token names the user by id, at its generation.
			claims, err := b.tokens.Verify(tok)
			if err != nil || claims.Subject != itoa(alice.ID) || claims.Generation != alice.Generation {
				t.Fatalf("token claims %+v, %v; want user %d at generation %d", claims, err, alice.ID, alice.Generation)
			}
		})
	}
}

func TestTokenGrantErrors(t *testing.T) {
	b := setup(t)
	withUser(t, b)
	const form = "application/x-www-form-urlencoded"
	cases := []struct {
		name, contentType, body, want string
	}{
		{"wrong password", form, loginForm(loginUser, "wrong"), "invalid_grant"},
		{"unknown user", form, loginForm("mallory", loginPassword), "invalid_grant"},
		{"password of another length", form, loginForm(loginUser, loginPassword+strings.Repeat("x", 80)), "invalid_grant"},
		{"missing password", form, url.Values{"username": {loginUser}}.Encode(), "invalid_request"},
		{"missing username", form, url.Values{"password": {loginPassword}}.Encode(), "invalid_request"},
		{"blank username", form, loginForm("   ", loginPassword), "invalid_request"},
		{"empty form", form, "", "invalid_request"},
		{"empty json", "application/json", `{}`, "invalid_request"},
		{"malformed json", "application/json", `{"username":`, "invalid_request"},
		{"json array", "application/json", `[]`, "invalid_request"},
		{"client credentials", form, url.Values{"grant_type": {"client_credentials"}, "username": {loginUser}, "password": {loginPassword}}.Encode(), "unsupported_grant_type"},
		{"json client credentials", "application/json", `{"grant_type":"client_credentials","username":"alice","password":"x"}`, "unsupported_grant_type"},
		{"text body", "text/plain", loginForm(loginUser, loginPassword), "invalid_request"},
		{"multipart", "multipart/form-data; boundary=x", "--x--", "invalid_request"},
		{"no content type", "", loginForm(loginUser, loginPassword), "invalid_request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, out := postToken(t, b.srv.URL, tc.contentType, tc.body)
			if resp.StatusCode != http.StatusBadRequest || out["error"] != tc.want {
				t.Fatalf("status %d %v, want 400 %s", resp.StatusCode, out, tc.want)
			}
			if _, leaked := out["access_token"]; leaked {
				t.Fatalf("error answer carries a token: %v", out)
			}
			if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
				t.Fatalf("Cache-Control %q, want no-store", cc)
			}
		})
	}
}

func TestTokenRateLimit(t *testing.T) {
	b := setup(t)
	withUser(t, b)
	// A tight limiter: two attempts per client and user, then one an hour.
	h := httpapi.New(httpapi.Config{
		Stores: httpapi.PostgresStores(b.db), Log: slog.New(slog.NewJSONHandler(b.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Tokens: b.tokens, LoginLimiter: auth.NewLimiter(time.Hour, 2), DefaultTimezone: "Europe/Moscow", Version: "test",
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	const form = "application/x-www-form-urlencoded"
	for i := 0; i < 2; i++ {
		if resp, out := postToken(t, srv.URL, form, loginForm(loginUser, "wrong")); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("attempt %d: %d %v", i+1, resp.StatusCode, out)
		}
	}
	// Past the limit even the right password is refused, before any check.
	resp, out := postToken(t, srv.URL, form, loginForm(loginUser, loginPassword))
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("third attempt: %d %v", resp.StatusCode, out)
	}
	if _, ok := out["error"].(string); !ok {
		t.Fatalf("429 without an OAuth error: %v", out)
	}
	secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil || secs < 1 || secs > 3600 {
		t.Fatalf("Retry-After %q, want 1–3600 seconds", resp.Header.Get("Retry-After"))
	}
	// The limit is per user: another name from the same client still gets
	// an answer on its merits.
	if resp, out := postToken(t, srv.URL, form, loginForm("bob", "x")); resp.StatusCode != http.StatusBadRequest || out["error"] != "invalid_grant" {
		t.Fatalf("other user: %d %v", resp.StatusCode, out)
	}
	// The server of setup, with the default limiter, is not affected.
	if resp, out := postToken(t, b.srv.URL, form, loginForm(loginUser, loginPassword)); resp.StatusCode != http.StatusOK {
		t.Fatalf("default limiter: %d %v", resp.StatusCode, out)
	}
}

// apiRoutes lists every route of the /api group, ids filled in.
func apiRoutes() [][2]string {
	return [][2]string{
		{"GET", "/api"},
		{"POST", "/api/customers"}, {"GET", "/api/customers"}, {"POST", "/api/customers/import"},
		{"GET", "/api/customers/1"}, {"PUT", "/api/customers/1"}, {"PATCH", "/api/customers/1"},
		{"DELETE", "/api/customers/1"}, {"POST", "/api/customers/1/tags"}, {"DELETE", "/api/customers/1/tags/1"},
		{"POST", "/api/search"},
		{"POST", "/api/mailouts"}, {"GET", "/api/mailouts"}, {"GET", "/api/mailouts/1"}, {"PUT", "/api/mailouts/1"},
		{"PATCH", "/api/mailouts/1"}, {"DELETE", "/api/mailouts/1"}, {"POST", "/api/mailouts/1/cancel"},
		{"POST", "/api/mailouts/1/tags"}, {"DELETE", "/api/mailouts/1/tags/1"},
		{"POST", "/api/mailouts/1/phone_codes"}, {"DELETE", "/api/mailouts/1/phone_codes/1"},
		{"GET", "/api/messages"}, {"GET", "/api/messages/1"},
		{"GET", "/api/phone_codes"}, {"POST", "/api/phone_codes"}, {"GET", "/api/phone_codes/1"},
		{"PUT", "/api/phone_codes/1"}, {"DELETE", "/api/phone_codes/1"},
		{"GET", "/api/timezones"}, {"POST", "/api/timezones"}, {"GET", "/api/timezones/1"},
		{"PUT", "/api/timezones/1"}, {"DELETE", "/api/timezones/1"},
		{"GET", "/api/tags"}, {"PUT", "/api/tags/1"}, {"DELETE", "/api/tags/1"},
	}
}

// forgedToken signs claims with method and key, bypassing the service.
func forgedToken(t *testing.T, m jwt.SigningMethod, claims jwt.MapClaims, key any) string {
	t.Helper()
	s, err := jwt.NewWithClaims(m, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAPIRequiresToken(t *testing.T) {
	b := setup(t)
	now := time.Now()
	claims := func(exp time.Time) jwt.MapClaims {
		return jwt.MapClaims{"iss": "mailing-service", "sub": itoa(b.admin.ID), "gen": b.admin.Generation, "iat": now.Unix(), "exp": exp.Unix()}
	}
	valid := claims(now.Add(time.Hour))
	// The control: a token forged the way the service signs is accepted,
	// so the refusals below are about the defect each one carries.
	if resp, raw := b.raw("GET", "/api", nil, "", forgedToken(t, jwt.SigningMethodHS256, valid, []byte(testSecret))); resp.StatusCode != http.StatusOK {
		t.Fatalf("control token refused: %d %s", resp.StatusCode, raw)
	}
	headers := map[string]string{
		"none":          "",
		"expired":       "Bearer " + forgedToken(t, jwt.SigningMethodHS256, claims(now.Add(-time.Hour)), []byte(testSecret)),
		"alg none":      "Bearer " + forgedToken(t, jwt.SigningMethodNone, valid, jwt.UnsafeAllowNoneSignatureType),
		"other secret":  "Bearer " + forgedToken(t, jwt.SigningMethodHS256, valid, []byte("another-secret-0123456789-0123456789")),
		"alg HS512":     "Bearer " + forgedToken(t, jwt.SigningMethodHS512, valid, []byte(testSecret)),
		"scheme Token":  "Token abc",
		"scheme only":   "Bearer",
		"empty bearer":  "Bearer   ",
		"basic auth":    "Basic YWxpY2U6cGFzc3dvcmQ=",
		"garbage token": "Bearer abc.def.ghi",
	}
	for _, route := range apiRoutes() {
		for name, header := range headers {
			t.Run(route[0]+" "+route[1]+" "+name, func(t *testing.T) {
				req, err := http.NewRequest(route[0], b.srv.URL+route[1], bytes.NewReader([]byte(`{}`)))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/json")
				if header != "" {
					req.Header.Set("Authorization", header)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				raw, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != http.StatusUnauthorized {
					t.Fatalf("status %d: %s", resp.StatusCode, raw)
				}
				var out map[string]any
				if err := json.Unmarshal(raw, &out); err != nil {
					t.Fatalf("401 body is not JSON: %s", raw)
				}
				wantError(t, out, "unauthorized")
				if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Fatalf("WWW-Authenticate %q", resp.Header.Get("WWW-Authenticate"))
				}
			})
		}
	}
	// Nothing was created by the refused requests.
	var n int
	if err := b.db.SQL().QueryRow(`SELECT (SELECT count(*) FROM customers) + (SELECT count(*) FROM mailouts) + (SELECT count(*) FROM phone_codes)`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("refused requests stored %d rows (%v)", n, err)
	}
}
