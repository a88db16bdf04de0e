package metrics

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"mailing/shared/metrics/metricstest"
	"mailing/shared/testkit"
)

func TestRegistryServesRuntimeAndHTTPMetrics(t *testing.T) {
	reg := NewRegistry()
	h := NewHTTP(reg)
	NewMailouts(reg).Event(MailoutCreated)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	mux.HandleFunc("POST /drop", func(w http.ResponseWriter, _ *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	})
	mux.Handle("GET /metrics", Handler(reg, slog.New(slog.DiscardHandler)))
	srv := httptest.NewServer(h.Middleware(mux))
	defer srv.Close()
	for _, path := range []string{"/items/1", "/items/2", "/nowhere/3"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	// A POST is not retried by the client when the connection drops.
	if _, err := http.Post(srv.URL+"/drop", "text/plain", nil); err == nil {
		t.Fatal("the dropped connection answered")
	}
	// The middleware counts the dropped request after the handler returns,
	// which may be after the client has seen the connection close.
	body := testkit.WaitFor(t, "the dropped request counted", 10*time.Second, func() ([]byte, bool) {
		body := metricstest.Scrape(t, srv.URL+"/metrics")
		_, ok := metricstest.Value(t, body, "mailing_http_requests_total", map[string]string{"route": "/drop", "status": "none", "method": "POST"})
		return body, ok
	})
	metricstest.Check(t, body)
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"mailing_http_requests_total", map[string]string{"route": "/items/{id}", "status": "418", "method": "GET"}, 2},
		{"mailing_http_requests_total", map[string]string{"route": Unmatched, "status": "404"}, 1},
		{"mailing_http_requests_total", map[string]string{"route": "/drop", "status": "none", "method": "POST"}, 1},
		{"mailing_http_request_duration_seconds", map[string]string{"route": "/items/{id}"}, 2},
		{"mailing_mailout_events_total", map[string]string{"event": "created"}, 1},
		{"mailing_mailout_events_total", map[string]string{"event": "finished"}, 0},
	} {
		if got, ok := metricstest.Value(t, body, c.name, c.labels); !ok || got != c.want {
			t.Errorf("%s%v = %v (found %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes"} {
		if _, ok := metricstest.Value(t, body, name, nil); !ok {
			t.Errorf("%s missing: the runtime and process collectors must be registered", name)
		}
	}
}

func TestNilMetricsAreNoOps(t *testing.T) {
	var h *HTTP
	h.Begin()
	h.Observe("GET", "/", 200, time.Millisecond)
	var m *Mailouts
	m.Event(MailoutStarted)
	if got := h.Middleware(http.NotFoundHandler()); got == nil {
		t.Fatal("nil HTTP must pass the handler through")
	}
}

func TestMethodLabelIsBounded(t *testing.T) {
	if methodLabel("GET") != "GET" || methodLabel("BREW") != "OTHER" {
		t.Fatal("unknown methods must share one label")
	}
}
