package httpapi_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"mailing/api-service/internal/httpapi"
	"mailing/shared/postgres/pgtest"
)

// getNoRedirect sends a GET without following redirects and returns the
// response with its body.
func getNoRedirect(t *testing.T, url string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, raw
}

func TestRedirectsToDocs(t *testing.T) {
	b := setup(t)
	for path, status := range map[string]int{"/": http.StatusFound, "/docs": http.StatusMovedPermanently} {
		resp, _ := getNoRedirect(t, b.srv.URL+path, nil)
		if resp.StatusCode != status || resp.Header.Get("Location") != "/docs/" {
			t.Fatalf("GET %s: %d Location %q, want %d to /docs/", path, resp.StatusCode, resp.Header.Get("Location"), status)
		}
	}
}

func TestSwaggerUI(t *testing.T) {
	b := setup(t)
	resp, raw := getNoRedirect(t, b.srv.URL+"/docs/", nil)
	if resp.StatusCode != http.StatusOK {
		// gin-swagger picks the file from Request.RequestURI, not URL.Path.
		t.Fatalf("GET /docs/: %d %s", resp.StatusCode, raw)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("Content-Type %q, want HTML", ct)
	}
	if body := strings.ToLower(string(raw)); !strings.Contains(body, "swagger") || !strings.Contains(body, "<html") {
		t.Fatalf("not the Swagger UI page: %.300s", raw)
	}
}

func TestOpenAPISpec(t *testing.T) {
	b := setup(t)
	resp, raw := getNoRedirect(t, b.srv.URL+"/docs/doc.json", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /docs/doc.json: %d", resp.StatusCode)
	}
	var spec struct {
		Swagger string                    `json:"swagger"`
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(raw, &spec); err != nil {
		t.Fatalf("doc.json is not JSON: %v", err)
	}
	if spec.Swagger == "" && spec.OpenAPI == "" {
		t.Fatal("doc.json has neither a swagger nor an openapi version")
	}
	if _, ok := spec.Paths["/api/customers"]["post"]; !ok {
		t.Fatalf("doc.json does not describe POST /api/customers; paths: %d", len(spec.Paths))
	}
}

func TestHealth(t *testing.T) {
	b := setup(t)
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, raw := getNoRedirect(t, b.srv.URL+path, nil)
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(raw), `"status":"ok"`) {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, raw)
		}
	}

	// A server whose database has gone away is alive but not ready.
	db := pgtest.Open(t)
	h := httpapi.New(httpapi.Config{
		Stores: httpapi.PostgresStores(db), Log: slog.New(slog.NewJSONHandler(b.logs, nil)),
		Tokens: b.tokens, DefaultTimezone: "Europe/Moscow", Version: "test",
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	if resp, _ := getNoRedirect(t, srv.URL+"/readyz", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("readyz before close: %d", resp.StatusCode)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	resp, raw := getNoRedirect(t, srv.URL+"/readyz", nil)
	var health map[string]any
	if err := json.Unmarshal(raw, &health); err != nil {
		t.Fatalf("readyz body: %s", raw)
	}
	if resp.StatusCode != http.StatusServiceUnavailable || health["status"] == "ok" || health["error"] == nil {
		t.Fatalf("readyz on a closed database: %d %v", resp.StatusCode, health)
	}
	if resp, _ := getNoRedirect(t, srv.URL+"/healthz", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz on a closed database: %d", resp.StatusCode)
	}
}

func TestAPIIndex(t *testing.T) {
	b := setup(t)
	out := b.must(http.StatusOK, "GET", "/api", nil)
	if out["service"] != "mailing-service" || out["version"] != "test" {
		t.Fatalf("index %v", out)
	}
	links, _ := out["links"].(map[string]any)
	for name, path := range map[string]string{
		"customers": "/api/customers", "mailouts": "/api/mailouts", "messages": "/api/messages",
		"tags": "/api/tags", "phone_codes": "/api/phone_codes", "timezones": "/api/timezones",
		"docs": "/docs/", "token": "/auth/token",
	} {
		if links[name] != path {
			t.Fatalf("link %s = %v, want %s (links %v)", name, links[name], path, links)
		}
	}
}

func TestUnknownRoute(t *testing.T) {
	b := setup(t)
	for _, path := range []string{"/nope", "/api/nope", "/api/customers/1/nope"} {
		st, out := b.do("GET", path, nil)
		if st != http.StatusNotFound {
			t.Fatalf("GET %s: %d %v", path, st, out)
		}
		wantError(t, out, "not_found")
	}
	st, out := b.do("DELETE", "/healthz", nil)
	if st != http.StatusMethodNotAllowed {
		t.Fatalf("DELETE /healthz: %d %v", st, out)
	}
	wantError(t, out, "method_not_allowed")
}

func TestRequestID(t *testing.T) {
	b := setup(t)
	resp, _ := getNoRedirect(t, b.srv.URL+"/healthz", map[string]string{"X-Request-ID": "trace-42.a:b_c"})
	if got := resp.Header.Get("X-Request-ID"); got != "trace-42.a:b_c" {
		t.Fatalf("given id not echoed: %q", got)
	}
	generated := regexp.MustCompile(`^[0-9a-f]{24}$`)
	seen := map[string]bool{}
	for _, given := range []string{"", "has spaces", strings.Repeat("x", 129), "semi;colon", "slash/id"} {
		header := map[string]string{}
		if given != "" {
			header["X-Request-ID"] = given
		}
		resp, _ := getNoRedirect(t, b.srv.URL+"/healthz", header)
		got := resp.Header.Get("X-Request-ID")
		if !generated.MatchString(got) || seen[got] {
			t.Fatalf("given %q: id %q, want a fresh generated one", given, got)
		}
		seen[got] = true
	}
	// The id is on the request's log line, so one request can be followed.
	for _, l := range b.logs.Lines(t) {
		if l["msg"] == "http request" && l["request_id"] == "trace-42.a:b_c" {
			return
		}
	}
	t.Fatal("no request log line carries the given request id")
}
