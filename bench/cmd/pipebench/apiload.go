package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// apiRequest is one kind of measured API request; want is the status that
// counts as success.
type apiRequest struct {
	name  string
	want  int
	build func(ctx context.Context, i int) (*http.Request, error)
}

// loadRequests are the requests measured while a mailout is being sent.
// The created mailouts start in 30 days, so they add no sends, and match
// every customer, so their audience is the largest there is.
func (e *env) loadRequests(mailoutID int64) []apiRequest {
	get := func(path string) func(context.Context, int) (*http.Request, error) {
		return func(ctx context.Context, _ int) (*http.Request, error) {
			return e.client.NewRequest(ctx, http.MethodGet, path, nil, "")
		}
	}
	return []apiRequest{
		{name: "POST /api/mailouts", want: http.StatusCreated, build: func(ctx context.Context, i int) (*http.Request, error) {
			body, err := mailoutBody("Benchmark mailout "+strconv.Itoa(i), time.Now().Add(30*24*time.Hour), nil)
			if err != nil {
				return nil, err
			}
			return e.client.NewRequest(ctx, http.MethodPost, "/api/mailouts", bytes.NewReader(body), "application/json")
		}},
		{name: "GET /api/mailouts/{id}/stats", want: http.StatusOK, build: get("/api/mailouts/" + strconv.FormatInt(mailoutID, 10) + "/stats")},
		{name: "GET /api/messages/stats", want: http.StatusOK, build: get("/api/messages/stats")},
	}
}

// latencyResult is the measurement of one kind of request. An endpoint
// that never answered with the wanted status (not deployed yet, say) is
// reported as unavailable, not as a failure of the run.
type latencyResult struct {
	Name       string         `json:"name"`
	Clients    int            `json:"clients"`
	Requests   int            `json:"requests"`
	Errors     int            `json:"errors"`
	Statuses   map[string]int `json:"statuses"`
	FirstError string         `json:"first_error,omitempty"`
	Available  bool           `json:"available"`
	P50Ms      float64        `json:"p50_ms"`
	P99Ms      float64        `json:"p99_ms"`
	MaxMs      float64        `json:"max_ms"`
}

// recorder collects one request kind's latencies from several clients.
type latencyRecorder struct {
	mu   sync.Mutex
	res  latencyResult
	lats []time.Duration
}

func (r *latencyRecorder) add(lat time.Duration, status int, problem string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.res.Requests++
	r.res.Statuses[statusKey(status)]++
	if problem != "" {
		r.res.Errors++
		if r.res.FirstError == "" {
			r.res.FirstError = problem
		}
		return
	}
	r.lats = append(r.lats, lat)
}

func statusKey(status int) string {
	if status == 0 {
		return "transport error"
	}
	return strconv.Itoa(status)
}

func (r *latencyRecorder) result() latencyResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := r.res
	slices.Sort(r.lats)
	if len(r.lats) > 0 {
		res.Available = true
		res.P50Ms, res.P99Ms = ms(quantile(r.lats, 0.50)), ms(quantile(r.lats, 0.99))
		res.MaxMs = ms(r.lats[len(r.lats)-1])
	}
	return res
}

// startAPILoad runs o.apiClients clients per request kind, each pausing
// between requests: during a run, a steady load that measures latency
// without saturating the two cores the pipeline needs. stop ends the load
// and returns the measurements.
func (e *env) startAPILoad(ctx context.Context, reqs []apiRequest, pause time.Duration) (stop func() []latencyResult) {
	ctx, cancel := context.WithCancel(ctx)
	recs := make([]*latencyRecorder, len(reqs))
	var wg sync.WaitGroup
	for k, r := range reqs {
		recs[k] = &latencyRecorder{res: latencyResult{Name: r.name, Clients: e.o.apiClients, Statuses: map[string]int{}}}
		for c := range e.o.apiClients {
			wg.Go(func() { e.apiClient(ctx, r, recs[k], c, pause) })
		}
	}
	return func() []latencyResult {
		cancel()
		wg.Wait()
		out := make([]latencyResult, len(recs))
		for k, r := range recs {
			out[k] = r.result()
		}
		return out
	}
}

// measureIdleCreate measures POST /api/mailouts with nothing else running,
// back to back: the reference its latency under the pipeline's load is
// compared with.
func (e *env) measureIdleCreate(ctx context.Context) (latencyResult, error) {
	stop := e.startAPILoad(ctx, e.loadRequests(0)[:1], 0)
	select {
	case <-ctx.Done():
	case <-time.After(e.o.apiIdle):
	}
	res := stop()[0]
	if err := ctx.Err(); err != nil {
		return res, err
	}
	if !res.Available || res.Errors > 0 {
		return res, fmt.Errorf("POST /api/mailouts with the machine idle: %d of %d failed (%s)", res.Errors, res.Requests, res.FirstError)
	}
	return res, nil
}

// apiClient sends r until ctx ends; client numbers its requests apart from
// the other clients'.
func (e *env) apiClient(ctx context.Context, r apiRequest, rec *latencyRecorder, client int, pause time.Duration) {
	for i := client; ctx.Err() == nil; i += e.o.apiClients {
		lat, status, problem := e.once(ctx, r, i)
		if ctx.Err() != nil {
			return // cut off by the end of the load, not an answer
		}
		rec.add(lat, status, problem)
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
	}
}

// once sends one request and reads the whole answer; a transport error or
// a wrong status is a problem.
func (e *env) once(ctx context.Context, r apiRequest, i int) (time.Duration, int, string) {
	req, err := r.build(ctx, i)
	if err != nil {
		return 0, 0, "build request: " + err.Error()
	}
	start := time.Now()
	resp, err := e.client.HTTP.Do(req)
	if err != nil {
		return time.Since(start), 0, err.Error()
	}
	defer resp.Body.Close()
	if resp.StatusCode != r.want {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		return time.Since(start), resp.StatusCode, fmt.Sprintf("status %d: %s", resp.StatusCode, bytes.TrimSpace(body))
	}
	_, err = io.Copy(io.Discard, resp.Body)
	lat := time.Since(start)
	if err != nil {
		return lat, resp.StatusCode, "read answer: " + err.Error()
	}
	return lat, resp.StatusCode, ""
}
