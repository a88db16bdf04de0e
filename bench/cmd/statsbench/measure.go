package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"mailing/bench/internal/proc"
	"mailing/shared/broker"
)

// server is the real API process on the bench database, on loopback, with
// the broker topology its relay publishes to.
type server struct {
	api  *proc.API
	bcfg broker.Config
}

// startServer declares a broker topology under a random prefix and starts
// the API on the bench database with it.
func startServer(ctx context.Context, o options, stderr io.Writer) (_ *server, err error) {
	prefix := "statsbench-" + strings.ToLower(rand.Text()[:10])
	s := &server{bcfg: broker.Config{URL: o.amqpURL, Prefix: prefix, Name: prefix, Logger: slog.New(slog.DiscardHandler)}}
	if err := broker.Declare(ctx, s.bcfg); err != nil {
		return nil, fmt.Errorf("declare topology: %w", err)
	}
	defer func() {
		if err != nil {
			s.deleteTopology(stderr)
		}
	}()
	s.api, err = proc.StartAPI(ctx, proc.APIConfig{
		Bin: o.apiBin, DatabaseURL: o.databaseURL, AMQPURL: o.amqpURL, AMQPPrefix: prefix,
		Conns: 2 * o.concurrency, Output: stderr,
	})
	if err != nil {
		return nil, err
	}
	s.api.Client.HTTP.Timeout = time.Minute
	return s, nil
}

// close stops the API and deletes the topology, reporting failures on
// stderr: a half-finished clean-up should not hide the results.
func (s *server) close(stderr io.Writer) {
	if err := s.api.Stop(20 * time.Second); err != nil {
		fmt.Fprintf(stderr, "statsbench: stop api: %v\n", err)
	}
	s.deleteTopology(stderr)
}

func (s *server) deleteTopology(stderr io.Writer) {
	if err := broker.DeleteTopology(context.Background(), s.bcfg); err != nil {
		fmt.Fprintf(stderr, "statsbench: delete topology %s: %v\n", s.bcfg.Prefix, err)
	}
}

// get fetches path and returns the status and body.
func (s *server) get(ctx context.Context, path string) (int, []byte, error) {
	req, err := s.api.Client.NewRequest(ctx, http.MethodGet, path, nil, "")
	if err != nil {
		return 0, nil, err
	}
	resp, err := s.api.Client.HTTP.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// latencyReport is the measurement of one endpoint.
type latencyReport struct {
	Name      string  `json:"name"`
	Requests  int     `json:"requests"`
	Errors    int     `json:"errors"`
	P50MS     float64 `json:"p50_ms"`
	P99MS     float64 `json:"p99_ms"`
	MaxMS     float64 `json:"max_ms"`
	PerSecond float64 `json:"per_second"`
	Bytes     int     `json:"bytes"` // size of one answer
}

// measureAll measures each endpoint in turn while the senders run.
func measureAll(ctx context.Context, s *server, runningID int64, o options) ([]latencyReport, error) {
	if o.rate > 0 {
		// Let the senders reach their pace first.
		select {
		case <-time.After(2 * time.Second):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	id := strconv.FormatInt(runningID, 10)
	paths := []struct{ name, path string }{
		{"GET /api/mailouts/{id}/stats (the running mailout)", "/api/mailouts/" + id + "/stats"},
		{fmt.Sprintf("GET /api/messages/stats?limit=%d (every mailout on one page)", min(o.mailouts, 1000)),
			fmt.Sprintf("/api/messages/stats?limit=%d", min(o.mailouts, 1000))},
		{"GET /api/mailouts/{id}/messages?limit=100", "/api/mailouts/" + id + "/messages?limit=100"},
		{"GET /api/mailouts/{id}/messages?status=sent&limit=100", "/api/mailouts/" + id + "/messages?status=sent&limit=100"},
	}
	var out []latencyReport
	for _, p := range paths {
		r, err := measure(ctx, s, p.name, p.path, o)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

// measure sends warm-up requests, then o.requests requests from
// o.concurrency clients, and reports their latencies.
func measure(ctx context.Context, s *server, name, path string, o options) (latencyReport, error) {
	r := latencyReport{Name: name, Requests: o.requests}
	st, body, err := s.get(ctx, path)
	if err != nil || st != http.StatusOK {
		return r, fmt.Errorf("%s: status %d: %v: %.200s", path, st, err, body)
	}
	r.Bytes = len(body)
	run := func(n int, record bool) []time.Duration {
		var next, errs atomic.Int64
		lat := make([]time.Duration, n)
		var wg sync.WaitGroup
		for range o.concurrency {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := int(next.Add(1)) - 1; i < n && ctx.Err() == nil; i = int(next.Add(1)) - 1 {
					start := time.Now()
					st, _, err := s.get(ctx, path)
					lat[i] = time.Since(start)
					if err != nil || st != http.StatusOK {
						errs.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		if record {
			r.Errors = int(errs.Load())
		}
		return lat
	}
	run(o.warmup, false)
	start := time.Now()
	lat := run(o.requests, true)
	elapsed := time.Since(start)
	if err := ctx.Err(); err != nil {
		return r, err
	}
	slices.Sort(lat)
	r.P50MS, r.P99MS, r.MaxMS = ms(percentile(lat, 50)), ms(percentile(lat, 99)), ms(lat[len(lat)-1])
	r.PerSecond = float64(o.requests) / elapsed.Seconds()
	return r, nil
}

// percentile of sorted latencies, nearest rank.
func percentile(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100
	return sorted[max(i-1, 0)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
