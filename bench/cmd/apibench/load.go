package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"mailing/bench/internal/population"
)

// scenario is one kind of measured request. build makes the i-th request
// (i counts from 0 across warm-up and measurement); want is the status that
// counts as success.
type scenario struct {
	name  string
	want  int
	build func(ctx context.Context, i int) (*http.Request, error)
}

// scenarios lists every measured request; add new ones here.
func scenarios(ctx context.Context, c *client, p population.Population) ([]scenario, error) {
	deep, err := deepCursor(ctx, c, p)
	if err != nil {
		return nil, err
	}
	get := func(path string) func(context.Context, int) (*http.Request, error) {
		return func(ctx context.Context, _ int) (*http.Request, error) {
			return c.NewRequest(ctx, http.MethodGet, path, nil, "")
		}
	}
	return []scenario{
		{name: "GET /api/customers?tag=t3&limit=100", want: http.StatusOK, build: get("/api/customers?tag=t3&limit=100")},
		{name: "GET /api/customers?tag=t3&limit=100&after=<90%>", want: http.StatusOK,
			build: get("/api/customers?tag=t3&limit=100&after=" + strconv.FormatInt(deep, 10))},
		{name: "GET /api/customers?tag=t9&limit=100", want: http.StatusOK, build: get("/api/customers?tag=t9&limit=100")},
		{name: "GET /api/customers/{id}", want: http.StatusOK, build: func(ctx context.Context, i int) (*http.Request, error) {
			return c.NewRequest(ctx, http.MethodGet, "/api/customers/"+strconv.Itoa(1+i%p.N), nil, "")
		}},
		previewScenario(c, "tag t1", map[string]any{"tags": []string{"t1"}}),
		previewScenario(c, "code 916", map[string]any{"phone_codes": []string{"916"}}),
		previewScenario(c, "tag t1 and code 916", map[string]any{"tags": []string{"t1"}, "phone_codes": []string{"916"}}),
		previewScenario(c, "tags t1 or t2", map[string]any{"tags": []string{"t1", "t2"}}),
		previewScenario(c, "everyone", map[string]any{}),
		// Writes go last so that they do not change what the reads see.
		createMailoutScenario(c),
	}, nil
}

// previewScenario previews a templated draft with a send window for the
// customers filter selects: the audience, the count inside the window at
// a moment when some of the population's zones are in it and some are
// not, and 10 rendered samples.
func previewScenario(c *client, name string, filter map[string]any) scenario {
	body, err := json.Marshal(map[string]any{
		"text":        `Здравствуйте, {{ name | default: "клиент" }}! Скидка 20% в {{ city }}`,
		"filter":      filter,
		"send_window": map[string]string{"start": "09:00", "end": "18:00"},
		// 09:30 in Moscow, 13:30 in Novosibirsk, 16:30 in Vladivostok;
		// 08:30 in Kaliningrad.
		"at": "2026-11-27T06:30:00Z",
	})
	// No commas in the name: -only splits at them.
	return scenario{name: "POST /api/mailouts/preview " + name + " (window)", want: http.StatusOK,
		build: func(ctx context.Context, _ int) (*http.Request, error) {
			if err != nil {
				return nil, err
			}
			return c.NewRequest(ctx, http.MethodPost, "/api/mailouts/preview", bytes.NewReader(body), "application/json")
		}}
}

// createMailoutScenario creates a mailout for the customers tagged t1,
// starting in an hour.
func createMailoutScenario(c *client) scenario {
	return scenario{name: "POST /api/mailouts (filter tags=[t1])", want: http.StatusCreated,
		build: func(ctx context.Context, i int) (*http.Request, error) {
			now := time.Now().UTC()
			body, err := json.Marshal(map[string]any{
				"text":     fmt.Sprintf("bench mailout %d", i),
				"start_at": now.Add(time.Hour).Format(time.RFC3339),
				"end_at":   now.Add(2 * time.Hour).Format(time.RFC3339),
				"filter":   map[string]any{"tags": []string{"t1"}},
			})
			if err != nil {
				return nil, err
			}
			return c.NewRequest(ctx, http.MethodPost, "/api/mailouts", bytes.NewReader(body), "application/json")
		}}
}

// deepCursor is the id of the customer 90% into the directory, found by its
// phone, so "after" pages start deep in the table.
func deepCursor(ctx context.Context, c *client, p population.Population) (int64, error) {
	phone := p.Customer(p.N * 9 / 10).Phone
	req, err := c.NewRequest(ctx, http.MethodGet, "/api/customers?limit=1&phone_prefix="+strconv.FormatInt(phone, 10), nil, "")
	if err != nil {
		return 0, err
	}
	var page struct {
		Items []struct {
			ID int64 `json:"id"`
		} `json:"items"`
	}
	if err := c.DoJSON(req, http.StatusOK, &page); err != nil {
		return 0, fmt.Errorf("find the deep cursor: %w", err)
	}
	if len(page.Items) == 0 {
		return 0, fmt.Errorf("find the deep cursor: customer %d is not stored; import first", phone)
	}
	return page.Items[0].ID, nil
}

// selectScenarios keeps the scenarios named in only (comma-separated
// prefixes), or all of them.
func selectScenarios(ctx context.Context, c *client, p population.Population, only string) ([]scenario, error) {
	all, err := scenarios(ctx, c, p)
	if err != nil || only == "" {
		return all, err
	}
	var out []scenario
	for _, sc := range all {
		for _, want := range strings.Split(only, ",") {
			if want = strings.TrimSpace(want); want != "" && strings.HasPrefix(sc.name, want) {
				out = append(out, sc)
				break
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("-only %q matches no scenario", only)
	}
	return out, nil
}

// latencyReport is the measurement of one scenario.
type latencyReport struct {
	Name        string  `json:"name"`
	Requests    int     `json:"requests"`
	Errors      int     `json:"errors"`
	FirstError  string  `json:"first_error,omitempty"`
	Concurrency int     `json:"concurrency"`
	Seconds     float64 `json:"seconds"`
	RPS         float64 `json:"requests_per_second"`
	P50Ms       float64 `json:"p50_ms"`
	P90Ms       float64 `json:"p90_ms"`
	P99Ms       float64 `json:"p99_ms"`
	MaxMs       float64 `json:"max_ms"`
}

// measure runs warmup unmeasured requests, then n measured ones from
// concurrency clients.
func measure(ctx context.Context, c *client, sc scenario, n, concurrency, warmup int) (latencyReport, error) {
	if warmup > 0 {
		if _, err := fire(ctx, c, sc, 0, warmup, concurrency); err != nil {
			return latencyReport{}, err
		}
	}
	start := time.Now()
	run, err := fire(ctx, c, sc, warmup, n, concurrency)
	if err != nil {
		return latencyReport{}, err
	}
	elapsed := time.Since(start)
	lat := run.latencies
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return latencyReport{
		Name: sc.name, Requests: n, Errors: run.errors, FirstError: run.firstError,
		Concurrency: concurrency, Seconds: elapsed.Seconds(), RPS: float64(n) / elapsed.Seconds(),
		P50Ms: ms(percentile(lat, 50)), P90Ms: ms(percentile(lat, 90)), P99Ms: ms(percentile(lat, 99)), MaxMs: ms(lat[len(lat)-1]),
	}, nil
}

type firing struct {
	latencies  []time.Duration
	errors     int
	firstError string
}

// fire sends n requests numbered from offset with concurrency workers.
func fire(ctx context.Context, c *client, sc scenario, offset, n, concurrency int) (firing, error) {
	out := firing{latencies: make([]time.Duration, n)}
	var next atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	var fatal error
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				lat, problem, err := once(ctx, c, sc, offset+i)
				out.latencies[i] = lat
				if problem == "" && err == nil {
					continue
				}
				mu.Lock()
				if err != nil && fatal == nil {
					fatal = err
				}
				out.errors++
				if out.firstError == "" {
					out.firstError = problem
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if fatal == nil {
		fatal = ctx.Err()
	}
	return out, fatal
}

// once sends one request and reads the whole answer. A wrong status is a
// problem (counted); failing to build a request is an error (fatal).
func once(ctx context.Context, c *client, sc scenario, i int) (time.Duration, string, error) {
	req, err := sc.build(ctx, i)
	if err != nil {
		return 0, "", fmt.Errorf("%s: build request: %w", sc.name, err)
	}
	start := time.Now()
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return time.Since(start), err.Error(), nil
	}
	defer resp.Body.Close()
	if resp.StatusCode == sc.want {
		// Drain without keeping the body: the generator shares the CPU
		// with the server when both run on one machine.
		_, err = io.Copy(io.Discard, resp.Body)
		lat := time.Since(start)
		if err != nil {
			return lat, "read answer: " + err.Error(), nil
		}
		return lat, "", nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
	return time.Since(start), fmt.Sprintf("status %d: %s", resp.StatusCode, bytes.TrimSpace(body)), nil
}

// percentile uses the nearest-rank method on sorted latencies.
func percentile(sorted []time.Duration, p int) time.Duration {
	rank := (p*len(sorted) + 99) / 100
	if rank < 1 {
		rank = 1
	}
	return sorted[rank-1]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func printImport(w io.Writer, r population.ImportReport) {
	fmt.Fprintf(w, "## Import\n\n| rows | seconds | rows/s | inserted | updated | skipped | rejected |\n|---:|---:|---:|---:|---:|---:|---:|\n")
	fmt.Fprintf(w, "| %d | %.2f | %.0f | %d | %d | %d | %d |\n\n", r.Rows, r.Seconds, r.RowsPerSec, r.Inserted, r.Updated, r.Skipped, r.Rejected)
}

func printTags(w io.Writer, tags []population.TagFrequency) {
	fmt.Fprintf(w, "## Generated tags\n\n| tag | customers | share |\n|---|---:|---:|\n")
	for _, t := range tags {
		fmt.Fprintf(w, "| %s | %d | %.1f%% |\n", t.Tag, t.Customers, 100*t.Share)
	}
	fmt.Fprintln(w)
}

func printLatencies(w io.Writer, rs []latencyReport, concurrency int) {
	fmt.Fprintf(w, "## Requests (%d concurrent clients)\n\n", concurrency)
	fmt.Fprintf(w, "| request | n | errors | req/s | p50 ms | p90 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rs {
		fmt.Fprintf(w, "| %s | %d | %d | %.0f | %.2f | %.2f | %.2f | %.2f |\n", r.Name, r.Requests, r.Errors, r.RPS, r.P50Ms, r.P90Ms, r.P99Ms, r.MaxMs)
	}
	for _, r := range rs {
		if r.FirstError != "" {
			fmt.Fprintf(w, "\n%s: first error: %s\n", r.Name, r.FirstError)
		}
	}
}
