package httpapi_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/fstest"

	"mailing/api-service/internal/httpapi"
	"mailing/api-service/internal/webui"
)

// The admin UI is mounted at /admin/ beside the API: deep links reach its
// index, /admin gets its slash, and the API's own routes are untouched.
func TestAdminUIIsMountedBesideTheAPI(t *testing.T) {
	ui, err := webui.New(fstest.MapFS{"index.html": {Data: []byte("<!doctype html><title>admin</title>")}}, "/admin/")
	if err != nil {
		t.Fatal(err)
	}
	srv := httpapi.New(httpapi.Config{Log: slog.New(slog.DiscardHandler), WebUI: ui})
	for _, c := range []struct {
		method, target string
		status         int
		location       string
	}{
		{"GET", "/admin/", http.StatusOK, ""},
		{"HEAD", "/admin/mailouts/7", http.StatusOK, ""},
		{"GET", "/admin/customers?after=9", http.StatusOK, ""},
		{"GET", "/admin", http.StatusMovedPermanently, "/admin/"},
		{"GET", "/", http.StatusFound, "/docs/"},
		{"POST", "/admin/", http.StatusMethodNotAllowed, ""},
	} {
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, httptest.NewRequest(c.method, c.target, nil))
		if w.Code != c.status || w.Header().Get("Location") != c.location {
			t.Errorf("%s %s: %d, Location %q; want %d, %q", c.method, c.target, w.Code, w.Header().Get("Location"), c.status, c.location)
		}
		if c.status == http.StatusOK && w.Header().Get("Content-Security-Policy") != webui.ContentSecurityPolicy {
			t.Errorf("%s %s: Content-Security-Policy %q", c.method, c.target, w.Header().Get("Content-Security-Policy"))
		}
	}

	// Without a UI the prefix is an unknown route like any other.
	srv = httpapi.New(httpapi.Config{Log: slog.New(slog.DiscardHandler)})
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, httptest.NewRequest("GET", "/admin/", nil))
	if w.Code != http.StatusNotFound {
		t.Errorf("GET /admin/ without a UI: %d; want 404", w.Code)
	}
}
