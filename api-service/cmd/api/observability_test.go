package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"mailing/shared/broker/brokertest"
	"mailing/shared/metrics/metricstest"
	"mailing/shared/postgres/pgtest"
	"mailing/shared/testkit"
)

// logLine is one decoded JSON log line.
type logLine map[string]any

// TestLogsAndMetricsFollowOneMailout runs the API in-process with a worker
// and probe-sim as processes. A customer is created and edited, a mailout
// is created for it, the external API fails the first attempt and accepts
// the retry. Filtering the JSON logs of the API and the worker by the
// mailout, message and customer ids must then find every stage that
// docs/logging.md promises; phones are masked and texts cut. The three
// /metrics endpoints must pass promtool and show the same story.
func TestLogsAndMetricsFollowOneMailout(t *testing.T) {
	dsn := pgtest.DSN(t)
	bcfg := brokertest.Config(t)
	bins := testkit.BuildBinaries(t, "mailing/sender-worker/cmd/worker", "mailing/sender-worker/cmd/probe-sim")

	const simSecret = "observability-test-secret-0123456789abcdef"
	sim := startProcess(t, bins["probe-sim"], nil, map[string]string{"PROBE_SIM_ADDR": "127.0.0.1:0", "PROBE_SIM_SECRET": simSecret})
	token, err := exec.Command(bins["probe-sim"], "token", "-secret", simSecret).Output()
	if err != nil {
		t.Fatalf("probe-sim token: %v", err)
	}
	front := failFirstSend(t, "http://"+sim.addr)
	worker := startProcess(t, bins["worker"], nil, map[string]string{
		"DATABASE_URL": dsn, "AMQP_URL": bcfg.URL, "AMQP_PREFIX": bcfg.Prefix,
		"PROBE_URL": front + "/v1", "PROBE_TOKEN": strings.TrimSpace(string(token)),
		"WORKER_HTTP_ADDR": "127.0.0.1:0", "RECONCILE_INTERVAL": "1s",
		"SENDER_BACKOFF_BASE": "1s", "SENDER_BACKOFF_MAX": "2s",
		// Debug adds the "probe request" line before each request; every
		// other line checked here is written at the default level, info.
		"LOG_LEVEL": "debug",
	})

	vars := map[string]string{
		"DATABASE_URL": dsn, "HTTP_ADDR": "127.0.0.1:0", "AMQP_URL": bcfg.URL, "AMQP_PREFIX": bcfg.Prefix,
		"JWT_SECRET": strings.Repeat("k", 40), "ADMIN_USERNAME": "ops", "ADMIN_PASSWORD": "correct horse",
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := run(ctx, []string{"migrate"}, testkit.Env(vars), io.Discard); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	apiLogs := &testkit.Log{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, testkit.Env(vars), apiLogs) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("api run: %v", err)
		}
		if t.Failed() {
			t.Logf("API log:\n%s", apiLogs.String())
		}
	})
	base := "http://" + testkit.WaitFor(t, "API listening", time.Minute, func() (string, bool) { return listening(apiLogs) })
	api := newClient(t, base, "ops", "correct horse")

	const phone = "79161234567"
	var cust struct {
		ID int64 `json:"id"`
	}
	api.call("POST", "/api/customers", `{"phone":"`+phone+`","tags":["observed"]}`, http.StatusCreated, &cust)
	api.call("PATCH", fmt.Sprintf("/api/customers/%d", cust.ID), `{"timezone":"Asia/Yekaterinburg"}`, http.StatusOK, nil)
	text := "Spring sale: everything in the shop is thirty percent off until Sunday night"
	now := time.Now().UTC()
	var m struct {
		ID int64 `json:"id"`
	}
	api.call("POST", "/api/mailouts", fmt.Sprintf(`{"text":%q,"start_at":%q,"end_at":%q,"filter":{"tags":["observed"]}}`,
		text, now.Add(-time.Second).Format(time.RFC3339), now.Add(10*time.Minute).Format(time.RFC3339)), http.StatusCreated, &m)

	var msgID int64
	testkit.WaitFor(t, "the message to be sent after its retry", time.Minute, func() (string, bool) {
		var page struct {
			Items []struct {
				ID       int64  `json:"id"`
				Status   string `json:"status"`
				Attempts int    `json:"attempts"`
			} `json:"items"`
		}
		api.call("GET", fmt.Sprintf("/api/messages?mailout_id=%d", m.ID), "", http.StatusOK, &page)
		if len(page.Items) != 1 {
			return fmt.Sprint(page.Items), false
		}
		msgID = page.Items[0].ID
		return fmt.Sprint(page.Items), page.Items[0].Status == "sent" && page.Items[0].Attempts == 2
	})
	testkit.WaitFor(t, "the worker to log the final status", time.Minute, func() (string, bool) {
		return "", len(find(parseLog(t, worker.out.String()), "message_id", msgID, "message final")) == 1
	})

	apiLines, workerLines := parseLog(t, apiLogs.String()), parseLog(t, worker.out.String())
	all := append(append([]logLine{}, apiLines...), workerLines...)
	for _, l := range all {
		if s := fmt.Sprint(l); strings.Contains(s, phone) || strings.Contains(s, text) {
			t.Errorf("a log line holds the full phone or text: %v", l)
		}
	}

	t.Run("by mailout id", func(t *testing.T) {
		byMailout := selectID(all, "mailout_id", m.ID)
		wantLine(t, byMailout, "http request", map[string]any{"route": "/api/mailouts", "method": "POST", "http_status": 201})
		wantLine(t, byMailout, "http request", map[string]any{"route": "/api/messages", "method": "GET"})
		wantLine(t, byMailout, "mailout created", map[string]any{"audience": 1})
		wantLine(t, byMailout, "outbox event published", map[string]any{"topic": "mailout.start"})
		wantLine(t, byMailout, "start event received", nil)
		wantLine(t, byMailout, "mailout started", map[string]any{"messages": 1})
		wantLine(t, byMailout, "fan-out published", map[string]any{"jobs": 1})
		wantLine(t, byMailout, "probe request", map[string]any{"message_id": msgID, "attempt": 1})
		wantLine(t, byMailout, "probe request", map[string]any{"message_id": msgID, "attempt": 2})
		wantLine(t, byMailout, "probe response", map[string]any{"message_id": msgID, "attempt": 1})
		wantLine(t, byMailout, "probe response", map[string]any{"message_id": msgID, "attempt": 2})
		wantLine(t, byMailout, "message final", map[string]any{"message_id": msgID})
	})
	t.Run("by message id", func(t *testing.T) {
		byMessage := selectID(all, "message_id", msgID)
		wantLine(t, byMessage, "probe request", map[string]any{"attempt": 1, "phone": "*******4567", "customer_id": cust.ID})
		wantLine(t, byMessage, "probe response", map[string]any{"attempt": 1, "outcome": "transient", "http_status": 500, "reason": "http_5xx", "level": "INFO"})
		wantLine(t, byMessage, "retry scheduled", map[string]any{"attempt": 1, "status": "pending", "level": "INFO"})
		wantLine(t, byMessage, "probe request", map[string]any{"attempt": 2})
		wantLine(t, byMessage, "probe response", map[string]any{"attempt": 2, "outcome": "sent", "http_status": 200, "level": "INFO"})
		wantLine(t, byMessage, "message final", map[string]any{"attempt": 2, "status": "sent", "mailout_id": m.ID, "customer_id": cust.ID, "level": "INFO"})
		for _, l := range find(byMessage, "", 0, "probe response") {
			if _, ok := l["latency_ms"].(float64); !ok {
				t.Errorf("probe response without latency_ms: %v", l)
			}
		}
		for _, l := range find(byMessage, "", 0, "probe response") {
			if body, _ := l["body"].(string); l["attempt"] == 1.0 && strings.TrimSpace(body) != "server error" {
				t.Errorf("the failed attempt's response line has body %q, want the answer's excerpt", body)
			}
		}
	})
	t.Run("by customer id", func(t *testing.T) {
		byCustomer := selectID(all, "customer_id", cust.ID)
		wantLine(t, byCustomer, "customer created", map[string]any{"phone": "*******4567"})
		wantLine(t, byCustomer, "http request", map[string]any{"route": "/api/customers", "method": "POST", "http_status": 201})
		wantLine(t, byCustomer, "customer updated", map[string]any{"timezone": "Asia/Yekaterinburg"})
		wantLine(t, byCustomer, "http request", map[string]any{"route": "/api/customers/:id", "method": "PATCH"})
		wantLine(t, byCustomer, "message final", map[string]any{"message_id": msgID, "status": "sent"})
	})
	t.Run("request ids", func(t *testing.T) {
		for _, l := range find(apiLines, "", 0, "http request") {
			if rid, _ := l["request_id"].(string); rid == "" {
				t.Errorf("request line without request_id: %v", l)
			}
		}
	})

	t.Run("metrics", func(t *testing.T) {
		// Each process counts in its own time: the worker counts a final
		// status after it has logged it, the relay a publication after the
		// broker confirmed it. Scrape until every figure is in; a figure
		// that never comes fails with what was last scraped.
		const fromAPI, fromWorker, fromSim = "api", "worker", "probe-sim"
		urls := map[string]string{fromAPI: base + "/metrics", fromWorker: "http://" + worker.addr + "/metrics", fromSim: "http://" + sim.addr + "/metrics"}
		exactly := func(want float64) func(float64) bool { return func(v float64) bool { return v == want } }
		wants := []struct {
			from   string
			name   string
			labels map[string]string
			ok     func(float64) bool
			want   string
		}{
			{fromAPI, "mailing_http_requests_total", map[string]string{"route": "/api/customers", "method": "POST", "status": "201"}, exactly(1), "1"},
			{fromAPI, "mailing_mailout_events_total", map[string]string{"event": "created"}, exactly(1), "1"},
			{fromAPI, "mailing_customer_events_total", map[string]string{"event": "updated"}, exactly(1), "1"},
			{fromAPI, "mailing_outbox_published_total", map[string]string{"topic": "mailout.start"}, exactly(1), "1"},
			{fromAPI, "mailing_outbox_backlog", nil, exactly(0), "0"},
			{fromAPI, "go_sql_max_open_connections", map[string]string{"db_name": "mailing"}, exactly(20), "20"},
			{fromWorker, "mailing_mailout_events_total", map[string]string{"event": "started"}, exactly(1), "1"},
			// The reconciler may start the mailout before its start event
			// arrives; the event then re-publishes its jobs: a second fan-out.
			{fromWorker, "mailing_fanout_jobs", nil, func(v float64) bool { return v >= 1 }, "at least 1 fan-out"},
			{fromWorker, "mailing_probe_requests_total", map[string]string{"outcome": "transient", "reason": "http_5xx"}, exactly(1), "1"},
			{fromWorker, "mailing_probe_requests_total", map[string]string{"outcome": "sent", "reason": "ok"}, exactly(1), "1"},
			{fromWorker, "mailing_sender_retries_total", map[string]string{"reason": "http_5xx"}, exactly(1), "1"},
			{fromWorker, "mailing_messages_final_total", map[string]string{"status": "sent"}, exactly(1), "1"},
			{fromWorker, "mailing_delivery_lag_seconds", nil, exactly(1), "1 observation"},
			{fromWorker, "mailing_probe_breaker_state", map[string]string{"state": "closed"}, exactly(1), "1"},
			{fromSim, "probesim_outcomes_total", map[string]string{"outcome": "accepted"}, exactly(1), "1"},
		}
		var bodies map[string][]byte
		testkit.WaitFor(t, "every metric to count the mailout", 30*time.Second, func() (string, bool) {
			bodies = map[string][]byte{}
			for from, u := range urls {
				bodies[from] = metricstest.Scrape(t, u)
			}
			var wrong []string
			for _, w := range wants {
				if v, found := metricstest.Value(t, bodies[w.from], w.name, w.labels); !found || !w.ok(v) {
					wrong = append(wrong, fmt.Sprintf("%s: %s%v = %v (found %v), want %s", w.from, w.name, w.labels, v, found, w.want))
				}
			}
			return strings.Join(wrong, "; "), len(wrong) == 0
		})
		for _, body := range bodies {
			metricstest.Check(t, body)
		}

		// Tests run in their package's directory, three levels down.
		docs, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "metrics.md"))
		if err != nil {
			t.Fatal(err)
		}
		for _, body := range bodies {
			for name := range metricstest.Families(t, body) {
				own := strings.HasPrefix(name, "mailing_") || strings.HasPrefix(name, "probesim_") || strings.HasPrefix(name, "go_sql_")
				if own && !strings.Contains(string(docs), "`"+name+"`") {
					t.Errorf("docs/metrics.md does not document %s", name)
				}
			}
		}
	})
}

// failFirstSend is a front for the external API that answers the first
// send with a 500 and passes everything else on to target.
func failFirstSend(t *testing.T, target string) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	var sends atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1/send/") && sends.Add(1) == 1 {
			_, _ = io.Copy(io.Discard, r.Body)
			http.Error(w, "server error", http.StatusInternalServerError)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func parseLog(t *testing.T, s string) []logLine {
	t.Helper()
	var out []logLine
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var l logLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("log line is not JSON: %v: %s", err, sc.Text())
		}
		out = append(out, l)
	}
	return out
}

// selectID is jq's select(.key == id): the ids are top-level numbers.
func selectID(lines []logLine, key string, id int64) []logLine {
	var out []logLine
	for _, l := range lines {
		if v, ok := l[key].(float64); ok && int64(v) == id {
			out = append(out, l)
		}
	}
	return out
}

// find returns the lines with message msg (and key == id when key is set).
func find(lines []logLine, key string, id int64, msg string) []logLine {
	if key != "" {
		lines = selectID(lines, key, id)
	}
	var out []logLine
	for _, l := range lines {
		if l["msg"] == msg {
			out = append(out, l)
		}
	}
	return out
}

// wantLine fails unless some line has message msg and every given field.
func wantLine(t *testing.T, lines []logLine, msg string, fields map[string]any) {
	t.Helper()
	for _, l := range find(lines, "", 0, msg) {
		ok := true
		for k, v := range fields {
			if fmt.Sprint(l[k]) != fmt.Sprint(v) {
				ok = false
				break
			}
		}
		if ok {
			return
		}
	}
	var msgs []string
	for _, l := range lines {
		msgs = append(msgs, fmt.Sprint(l["msg"]))
	}
	t.Errorf("no %q line with %v among %d lines: %q", msg, fields, len(lines), msgs)
}

// LOG_PII=true writes phones in full; by default they are masked; a bad
// value is refused.
func TestLogPII(t *testing.T) {
	base := map[string]string{"JWT_SECRET": strings.Repeat("k", 40)}
	for value, wantFull := range map[string]bool{"": false, "false": false, "true": true} {
		vars := map[string]string{"LOG_PII": value}
		for k, v := range base {
			vars[k] = v
		}
		cfg, err := loadConfig(testkit.Env(vars), true)
		if err != nil {
			t.Fatalf("LOG_PII=%q: %v", value, err)
		}
		var buf strings.Builder
		log, err := newLogger(cfg, &buf)
		if err != nil {
			t.Fatal(err)
		}
		log.Info("customer created", "phone", "79161234567")
		if full := strings.Contains(buf.String(), "79161234567"); full != wantFull {
			t.Errorf("LOG_PII=%q: phone written in full %v, want %v: %s", value, full, wantFull, buf.String())
		}
	}
	if _, err := loadConfig(testkit.Env(map[string]string{"JWT_SECRET": strings.Repeat("k", 40), "LOG_PII": "maybe"}), true); err == nil {
		t.Fatal("LOG_PII=maybe accepted")
	}
}
