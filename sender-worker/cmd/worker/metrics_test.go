package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"mailing/sender-worker/probesim"
	"mailing/shared/domain"
	"mailing/shared/metrics/metricstest"
	"mailing/shared/testkit"
)

// The worker's /metrics follows an outage of the external API: the
// breaker opens and closes again, failed requests are counted by class,
// and once the API is back every message is counted as sent and the
// mailout as finished. The output passes promtool.
func TestMetricsFollowAnOutage(t *testing.T) {
	p := startPipeline(t, map[string]string{"LOG_LEVEL": "info", "BREAKER_FAILURES": "3", "BREAKER_OPEN_TIMEOUT": "1s"})
	url := "http://" + p.workerAddr() + "/metrics"
	if err := p.sim.SetFaults(probesim.Faults{Down: true}); err != nil {
		t.Fatal(err)
	}
	p.customers(10, "916")
	now := time.Now()
	m := p.mailout(now.Add(-time.Second), now.Add(time.Hour), domain.Filter{})
	value := func(body []byte, name string, labels map[string]string) float64 {
		v, _ := metricstest.Value(t, body, name, labels)
		return v
	}
	testkit.Eventually(p.t, "the breaker to open", 30*time.Second, func() bool {
		return value(metricstest.Scrape(t, url), "mailing_probe_breaker_state", map[string]string{"state": "open"}) == 1
	})
	if err := p.sim.SetFaults(probesim.Faults{}); err != nil {
		t.Fatal(err)
	}
	if counts := p.settle(m.ID, 90*time.Second); counts["sent"] != 10 {
		t.Fatalf("messages %v, want 10 sent", counts)
	}
	checks := []struct {
		name   string
		labels map[string]string
		ok     func(float64) bool
	}{
		{"mailing_mailout_events_total", map[string]string{"event": "finished"}, func(v float64) bool { return v == 1 }},
		{"mailing_messages_final_total", map[string]string{"status": "sent"}, func(v float64) bool { return v == 10 }},
		{"mailing_mailout_events_total", map[string]string{"event": "started"}, func(v float64) bool { return v == 1 }},
		{"mailing_probe_requests_total", map[string]string{"outcome": "transient"}, func(v float64) bool { return v >= 3 }},
		{"mailing_probe_requests_total", map[string]string{"outcome": "sent"}, func(v float64) bool { return v == 10 }},
		{"mailing_probe_breaker_transitions_total", map[string]string{"from": "closed", "to": "open"}, func(v float64) bool { return v >= 1 }},
		{"mailing_probe_breaker_transitions_total", map[string]string{"from": "half-open", "to": "closed"}, func(v float64) bool { return v >= 1 }},
		{"mailing_probe_breaker_state", map[string]string{"state": "closed"}, func(v float64) bool { return v == 1 }},
		{"mailing_sender_retries_total", nil, func(v float64) bool { return v >= 3 }},
		{"mailing_delivery_lag_seconds", nil, func(v float64) bool { return v == 10 }},
		{"mailing_sender_in_flight", nil, func(v float64) bool { return v == 0 }},
		// The sender finishes the mailout moments after its last message,
		// the reconciler only if it gets there first: once in all (above).
		{"mailing_reconciler_repairs_total", map[string]string{"kind": "mailout_finished"}, func(v float64) bool { return v <= 1 }},
		{"mailing_reconciler_passes_total", map[string]string{"result": "ok"}, func(v float64) bool { return v >= 1 }},
		{"mailing_http_requests_total", map[string]string{"route": "/metrics", "status": "200"}, func(v float64) bool { return v >= 1 }},
		{"go_sql_open_connections", map[string]string{"db_name": "mailing"}, func(v float64) bool { return v >= 1 }},
	}
	// The messages are final in the database a moment before the sender
	// has counted them, so the figures are scraped until all are in.
	missing := func(body []byte) []string {
		var out []string
		for _, c := range checks {
			if v, found := metricstest.Value(t, body, c.name, c.labels); !found || !c.ok(v) {
				out = append(out, fmt.Sprintf("%s%v = %v (found %v)", c.name, c.labels, v, found))
			}
		}
		return out
	}
	var body []byte
	testkit.WaitFor(p.t, "every figure of the outage to be counted", 30*time.Second, func() (string, bool) {
		body = metricstest.Scrape(t, url)
		m := missing(body)
		return strings.Join(m, "; "), len(m) == 0
	})
	metricstest.Check(t, body)
}

// workerAddr is the health and metrics address the first worker logged
// (the pipeline's workers listen on a free port).
func (p *pipeline) workerAddr() string {
	p.t.Helper()
	var addr string
	testkit.Eventually(p.t, "the worker to listen", 30*time.Second, func() bool {
		sc := bufio.NewScanner(strings.NewReader(p.logs.String()))
		for sc.Scan() {
			var l struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == "listening" {
				addr = l.Addr
				return true
			}
		}
		return false
	})
	return addr
}
