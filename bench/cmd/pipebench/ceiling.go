package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"mailing/bench/internal/population"
)

// ceilingResult is the raw throughput an in-process load generator
// reaches against probe-sim's send endpoint: the physical limit of this
// machine for the pipeline's last step, with nothing else to do.
type ceilingResult struct {
	LatencyMS   int     `json:"latency_ms"`
	Concurrency int     `json:"concurrency"`
	Seconds     float64 `json:"seconds"`
	Requests    uint64  `json:"requests"`
	Accepted    int64   `json:"accepted"` // recorded as deliveries by probe-sim
	PerSec      float64 `json:"per_sec"`  // successful requests per second
	SuccessRate float64 `json:"success_rate"`
	P50Ms       float64 `json:"p50_ms"`
	P99Ms       float64 `json:"p99_ms"`
	FirstError  string  `json:"first_error,omitempty"`
	OthersShare float64 `json:"others_share"` // as in cpuUse
}

// ceilingIDBase keeps the generator's message ids apart from real ones.
const ceilingIDBase = 1_000_000_000_000

// measureCeiling attacks probe-sim as fast as concurrency keep-alive
// connections allow, with valid tokens and bodies, so every request does
// the work of a real delivery on probe-sim's side.
func (e *env) measureCeiling(ctx context.Context, latencyMS, concurrency int) (ceilingResult, error) {
	res := ceilingResult{LatencyMS: latencyMS, Concurrency: concurrency}
	if err := e.setLatency(latencyMS); err != nil {
		return res, err
	}
	defer e.sim.Reset() // the generator's deliveries are no run's
	atk := vegeta.NewAttacker(
		vegeta.Workers(uint64(concurrency)), vegeta.MaxWorkers(uint64(concurrency)),
		vegeta.Connections(concurrency), vegeta.MaxConnections(concurrency),
		vegeta.KeepAlive(true), vegeta.Timeout(10*time.Second), vegeta.MaxBody(1<<10),
	)
	stop := context.AfterFunc(ctx, func() { atk.Stop() })
	defer stop()
	cpu0, err := e.cpuSnapshot()
	if err != nil {
		return res, err
	}
	var m vegeta.Metrics
	for r := range atk.Attack(e.sendTargeter(), vegeta.ConstantPacer{}, e.o.ceilingDuration, "ceiling") {
		m.Add(r)
	}
	m.Close()
	if err := ctx.Err(); err != nil {
		return res, err
	}
	cpu, err := e.cpuSince(cpu0)
	if err != nil {
		return res, err
	}
	res.OthersShare = cpu.OthersShare
	res.Seconds = (m.Duration + m.Wait).Seconds()
	res.Requests, res.PerSec, res.SuccessRate = m.Requests, m.Throughput, m.Success
	res.Accepted = e.sim.Stats().Accepted
	res.P50Ms, res.P99Ms = ms(m.Latencies.P50), ms(m.Latencies.P99)
	if len(m.Errors) > 0 {
		res.FirstError = m.Errors[0]
	}
	switch {
	case m.Requests == 0 || m.Success < 0.99:
		return res, fmt.Errorf("ceiling at %d ms: %d requests, %.1f%% successful (%s)", latencyMS, m.Requests, 100*m.Success, res.FirstError)
	case res.P50Ms < float64(latencyMS):
		// A figure at the wrong latency would compare nothing.
		return res, fmt.Errorf("ceiling at %d ms: p50 %.2f ms; probe-sim's latency is not in force", latencyMS, res.P50Ms)
	}
	return res, nil
}

// sendTargeter makes one valid POST /v1/send/{id} per call, each with a
// new id, as the workers send them.
func (e *env) sendTargeter() vegeta.Targeter {
	var next atomic.Int64
	header := http.Header{"Authorization": {"Bearer " + e.token}, "Content-Type": {"application/json"}}
	return func(t *vegeta.Target) error {
		id := ceilingIDBase + next.Add(1)
		body, err := json.Marshal(map[string]any{"id": id, "phone": population.FirstPhone + id%population.MaxCustomers, "text": "Pipeline benchmark: 30% off until Sunday"})
		if err != nil {
			return err
		}
		*t = vegeta.Target{Method: http.MethodPost, URL: e.simURL + "/send/" + strconv.FormatInt(id, 10), Body: body, Header: header}
		return nil
	}
}
