package metrics

import (
	"bufio"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Unmatched is the route label of requests that matched no route: the raw
// path would put an unbounded value (ids, scanners' probes) in a label.
const Unmatched = "unmatched"

// HTTP counts and times the HTTP requests a server answers, by method,
// route template and status.
type HTTP struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
}

// NewHTTP registers the HTTP server metrics on reg.
func NewHTTP(reg prometheus.Registerer) *HTTP {
	labels := []string{"method", "route", "status"}
	h := &HTTP{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "http", Name: "requests_total",
			Help: "HTTP requests answered, by method, route template and status code.",
		}, labels),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Subsystem: "http", Name: "request_duration_seconds",
			Help:    "Time from receiving an HTTP request to the end of its answer, by method, route template and status code.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, labels),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Subsystem: "http", Name: "requests_in_flight",
			Help: "HTTP requests being served.",
		}),
	}
	reg.MustRegister(h.requests, h.duration, h.inFlight)
	return h
}

// Begin marks a request as in flight; call Observe when it ends.
func (h *HTTP) Begin() {
	if h != nil {
		h.inFlight.Inc()
	}
}

// Observe records a finished request. route must be a route template
// (such as /api/customers/:id), never a raw path; status 0 means the
// connection was closed without an answer.
func (h *HTTP) Observe(method, route string, status int, d time.Duration) {
	if h == nil {
		return
	}
	h.inFlight.Dec()
	code := "none"
	if status > 0 {
		code = strconv.Itoa(status)
	}
	m, r := methodLabel(method), orUnmatched(route)
	h.requests.WithLabelValues(m, r, code).Inc()
	h.duration.WithLabelValues(m, r, code).Observe(d.Seconds())
}

// Middleware instruments a handler built on http.ServeMux: the route is
// the pattern the mux matched, without its method.
func (h *HTTP) Middleware(next http.Handler) http.Handler {
	if h == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		h.Begin()
		sw := &statusWriter{ResponseWriter: w}
		defer func() { h.Observe(r.Method, patternRoute(r.Pattern), sw.code(), time.Since(start)) }()
		next.ServeHTTP(sw, r)
	})
}

// patternRoute turns a ServeMux pattern ("POST /v1/send/{id}") into a
// route label ("/v1/send/{id}").
func patternRoute(pattern string) string {
	if _, path, ok := strings.Cut(pattern, " "); ok {
		return path
	}
	return pattern
}

func orUnmatched(route string) string {
	if route == "" {
		return Unmatched
	}
	return route
}

// methodLabel keeps the method label bounded: any method outside the
// standard ones is OTHER.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "OTHER"
}

// statusWriter records the status code written through it. Unwrap lets
// http.ResponseController reach the connection's Flush and deadlines;
// Hijack is its own method so that a hijacked connection is recorded as
// answered by nobody (status 0).
type statusWriter struct {
	http.ResponseWriter
	status   int
	hijacked bool
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.hijacked = true
	}
	return conn, rw, err
}

// code is the status to record: 0 for a hijacked connection, 200 for a
// handler that wrote nothing (net/http answers 200 then).
func (w *statusWriter) code() int {
	switch {
	case w.hijacked:
		return 0
	case w.status == 0:
		return http.StatusOK
	}
	return w.status
}
