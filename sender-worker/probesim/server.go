// Package probesim is a stand-in for the external sending API (DESIGN.md
// §6): POST /v1/send/{id} with a bearer JWT (HS256) and a JSON body
// {"id", "phone", "text"}, answered 200 {"code": 0, "message": "OK"}.
// It checks the token and the body, records every accepted delivery
// (duplicates included, so double sends can be counted) and misbehaves on
// demand: latency with jitter, 500/400/429/503 answers, garbage or
// code != 0 bodies at given rates, hanging, or dropping connections.
//
// Faults are set when the Server is built, through its methods, or at
// runtime through the JSON control API under /control. The control API
// has no authentication: it is for tests and local use only and must
// never be reachable from outside a test or developer environment.
//
// The package is exported, not internal, so that the pipeline benchmark
// (bench/cmd/pipebench, a module of its own) can run it in-process.
package probesim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// maxSendBody bounds a send request; real texts are a few hundred bytes.
const maxSendBody = 64 << 10

// Options configure a Server.
type Options struct {
	Secret string // HS256 secret of the bearer tokens; required
	Seed   uint64 // seeds every random choice, so runs are reproducible
	Faults Faults // initial faults; the zero value is a healthy server
	Logger *slog.Logger
	Now    func() time.Time // clock of arrival times and token expiry; time.Now by default
}

// Server is the simulated external API. It is an http.Handler serving
// /v1/send/{id}, /control/... and /healthz.
type Server struct {
	log  *slog.Logger
	now  func() time.Time
	auth *verifier
	mux  *http.ServeMux
	seed uint64

	state atomic.Pointer[faultState]
	setMu sync.Mutex // serialises fault changes

	rngMu sync.Mutex
	rng   *rand.Rand

	rec      recorder
	requests atomic.Int64
	counts   [numOutcomes]atomic.Int64

	bufs      sync.Pool // *bytes.Buffer for request bodies
	closing   chan struct{}
	closeOnce sync.Once
}

// New builds a Server.
func New(opts Options) (*Server, error) {
	if opts.Secret == "" {
		return nil, errors.New("probe-sim: a token secret is required")
	}
	if err := opts.Faults.Validate(); err != nil {
		return nil, fmt.Errorf("probe-sim: %w", err)
	}
	s := &Server{
		log:     opts.Logger,
		now:     opts.Now,
		seed:    opts.Seed,
		rng:     newRand(opts.Seed),
		closing: make(chan struct{}),
		bufs:    sync.Pool{New: func() any { return new(bytes.Buffer) }},
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.auth = newVerifier(opts.Secret, s.now)
	s.state.Store(newFaultState(opts.Faults))
	s.mux = s.routes()
	return s, nil
}

func newRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/send/{id}", s.send)
	mux.HandleFunc("GET /control/faults", s.getFaults)
	mux.HandleFunc("PUT /control/faults", s.putFaults)
	mux.HandleFunc("POST /control/reset", s.reset)
	mux.HandleFunc("GET /control/deliveries", s.listDeliveries)
	mux.HandleFunc("GET /control/stats", s.getStats)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", jsonType)
		_, _ = io.WriteString(w, `{"status":"ok"}`)
	})
	return mux
}

// ServeHTTP serves the send endpoint and the control API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Close releases every request that hangs or sleeps out its latency (their
// connections are closed unanswered) so an http.Server can shut down;
// later requests that would hang or sleep are dropped at once. Call it
// before Shutdown.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.closing) })
}

// Faults returns the current faults.
func (s *Server) Faults() Faults { return s.state.Load().faults }

// SetFaults replaces every fault at once. Requests hanging when Hang is
// turned off are released (their connections closed unanswered).
func (s *Server) SetFaults(f Faults) error {
	if err := f.Validate(); err != nil {
		return err
	}
	s.setMu.Lock()
	defer s.setMu.Unlock()
	old := s.state.Load()
	next := newFaultState(f)
	if old.faults.Hang && f.Hang {
		next.release = old.release // still hanging: keep them waiting
	} else {
		close(old.release)
	}
	s.state.Store(next)
	return nil
}

// Reset forgets every delivery and counter, clears the faults and restarts
// the random sequence from the seed.
func (s *Server) Reset() {
	_ = s.SetFaults(Faults{}) // the zero value is always valid
	s.rec.reset()
	s.requests.Store(0)
	for i := range s.counts {
		s.counts[i].Store(0)
	}
	s.rngMu.Lock()
	s.rng = newRand(s.seed)
	s.rngMu.Unlock()
}

// Deliveries returns every accepted delivery in the order it was accepted.
func (s *Server) Deliveries() []Delivery {
	return slices.Collect(deliveries(s.rec.snapshot(), func(record) bool { return true }))
}

// DeliveriesSince returns the accepted deliveries that arrived at or after t.
func (s *Server) DeliveriesSince(t time.Time) []Delivery {
	return slices.Collect(s.deliveriesSince(t))
}

func (s *Server) deliveriesSince(t time.Time) iter.Seq[Delivery] {
	// UnixNano is only defined for years 1678–2262; clamp outside them.
	since := int64(math.MinInt64)
	switch {
	case t.After(time.Unix(0, math.MaxInt64)):
		since = math.MaxInt64
	case t.After(time.Unix(0, math.MinInt64)):
		since = t.UnixNano()
	}
	return deliveries(s.rec.snapshot(), func(r record) bool { return r.at >= since })
}

// Delivered returns how many times id was accepted (0, 1, or more for a
// double send).
func (s *Server) Delivered(id int64) int {
	n := 0
	for _, r := range s.rec.snapshot() {
		if r.id == id {
			n++
		}
	}
	return n
}

// Stats counts the requests to the send endpoint by outcome. Requests is
// counted on arrival and the outcome when it is decided, so the outcomes
// add up to Requests once no request is in flight.
type Stats struct {
	Requests     int64 `json:"requests"`
	Accepted     int64 `json:"accepted"`
	Status500    int64 `json:"500"`
	Status400    int64 `json:"400"`
	Status429    int64 `json:"429"`
	Status503    int64 `json:"503"`
	Garbage      int64 `json:"garbage"`
	CodeNonzero  int64 `json:"code_nonzero"`
	Unauthorized int64 `json:"unauthorized"`
	BadRequest   int64 `json:"bad_request"`
	Dropped      int64 `json:"dropped"` // down: connection closed unanswered
	Hung         int64 `json:"hung"`    // counted when the hang starts
	// Abandoned requests lost their client (or the server shut down)
	// before an answer was due; nothing was recorded.
	Abandoned int64 `json:"abandoned"`
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	c := func(o outcome) int64 { return s.counts[o].Load() }
	return Stats{
		Requests: s.requests.Load(), Accepted: c(outAccepted),
		Status500: c(out500), Status400: c(out400), Status429: c(out429), Status503: c(out503),
		Garbage: c(outGarbage), CodeNonzero: c(outCodeNonzero),
		Unauthorized: c(outUnauthorized), BadRequest: c(outBadRequest),
		Dropped: c(outDropped), Hung: c(outHung), Abandoned: c(outAbandoned),
	}
}

// float64 draws a uniform number in [0, 1) from the seeded source.
func (s *Server) float64() float64 {
	s.rngMu.Lock()
	u := s.rng.Float64()
	s.rngMu.Unlock()
	return u
}

// sleep waits d unless the client leaves or the server closes first; it
// reports whether the full delay passed.
func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
	case <-s.closing:
	}
	return false
}
