package probe

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"mailing/shared/domain"
	"mailing/shared/logging"
	"mailing/shared/testkit"
)

// One case per class of answer the external API can give.
func TestSendClassifiesAnswers(t *testing.T) {
	in2min := time.Now().Add(2 * time.Minute).UTC().Format(http.TimeFormat)
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		outcome    Outcome
		reason     domain.Reason
		status     int
		retryAtMin time.Duration // RetryAfter bounds, inclusive
		retryAtMax time.Duration
		excerpt    string // expected substring of BodyExcerpt
	}{
		{name: "200 ok", handler: answerWith(200, okBody), outcome: Sent, reason: domain.ReasonOK, status: 200},
		{name: "200 ok compact with extra field", handler: answerWith(200, `{"code":0,"message":"OK","extra":1}`), outcome: Sent, reason: domain.ReasonOK, status: 200},
		{name: "200 garbage", handler: answerWith(200, "<html>oops</html>"), outcome: Transient, reason: domain.ReasonBadResponse, status: 200, excerpt: "<html>oops</html>"},
		{name: "200 empty body", handler: answerWith(200, ""), outcome: Transient, reason: domain.ReasonBadResponse, status: 200},
		{name: "200 without code", handler: answerWith(200, `{"message":"OK"}`), outcome: Transient, reason: domain.ReasonBadResponse, status: 200},
		{name: "200 null", handler: answerWith(200, `null`), outcome: Transient, reason: domain.ReasonBadResponse, status: 200},
		{name: "200 code as string", handler: answerWith(200, `{"code":"0"}`), outcome: Transient, reason: domain.ReasonBadResponse, status: 200},
		{name: "200 trailing garbage", handler: answerWith(200, `{"code":0} x`), outcome: Transient, reason: domain.ReasonBadResponse, status: 200},
		{name: "200 oversized", handler: answerWith(200, `{"code":0,"message":"`+strings.Repeat("a", maxBody)+`"}`), outcome: Transient, reason: domain.ReasonBadResponse, status: 200},
		{name: "200 code 1", handler: answerWith(200, `{"code": 1, "message": "queue full"}`), outcome: Transient, reason: domain.ReasonCodeNonzero, status: 200, excerpt: "queue full"},
		{name: "201", handler: answerWith(201, okBody), outcome: Transient, reason: domain.ReasonUnexpectedStatus, status: 201},
		{name: "302", handler: answerWith(302, "", "Location", "/elsewhere"), outcome: Transient, reason: domain.ReasonUnexpectedStatus, status: 302},
		{name: "500", handler: answerWith(500, "boom"), outcome: Transient, reason: domain.ReasonHTTP5xx, status: 500, excerpt: "boom"},
		{name: "500 ignores Retry-After", handler: answerWith(500, "", "Retry-After", "30"), outcome: Transient, reason: domain.ReasonHTTP5xx, status: 500},
		{name: "502", handler: answerWith(502, "bad gateway"), outcome: Transient, reason: domain.ReasonHTTP5xx, status: 502},
		{name: "503 no Retry-After", handler: answerWith(503, ""), outcome: Transient, reason: domain.ReasonHTTP503, status: 503},
		{
			name: "503 Retry-After seconds", handler: answerWith(503, "", "Retry-After", "17"),
			outcome: Transient, reason: domain.ReasonHTTP503, status: 503, retryAtMin: 17 * time.Second, retryAtMax: 17 * time.Second,
		},
		{
			name: "429 Retry-After HTTP date", handler: answerWith(429, "slow down", "Retry-After", in2min),
			outcome: Transient, reason: domain.ReasonHTTP429, status: 429, retryAtMin: 100 * time.Second, retryAtMax: 121 * time.Second,
		},
		{name: "429 Retry-After garbage", handler: answerWith(429, "", "Retry-After", "soon"), outcome: Transient, reason: domain.ReasonHTTP429, status: 429},
		{name: "408", handler: answerWith(408, ""), outcome: Transient, reason: domain.ReasonHTTP408, status: 408},
		{name: "400", handler: answerWith(400, `{"error":"bad phone"}`), outcome: Permanent, reason: domain.ReasonRejected4xx, status: 400, excerpt: "bad phone"},
		{name: "404", handler: answerWith(404, ""), outcome: Permanent, reason: domain.ReasonRejected4xx, status: 404},
		{name: "422", handler: answerWith(422, ""), outcome: Permanent, reason: domain.ReasonRejected4xx, status: 422},
		{name: "409", handler: answerWith(409, ""), outcome: Permanent, reason: domain.ReasonRejected4xx, status: 409},
		{name: "401", handler: answerWith(401, "token expired"), outcome: Auth, reason: domain.ReasonAuth, status: 401},
		{name: "403", handler: answerWith(403, ""), outcome: Auth, reason: domain.ReasonAuth, status: 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.handler)
			c := newClient(t, srv.base(), nil, nil)
			r := c.Send(context.Background(), msg(1))
			if r.Outcome != tt.outcome || r.Reason != tt.reason || r.HTTPStatus != tt.status {
				t.Fatalf("Send = %+v, want outcome %s reason %s status %d", r, tt.outcome, tt.reason, tt.status)
			}
			if r.RetryAfter < tt.retryAtMin || r.RetryAfter > tt.retryAtMax {
				t.Fatalf("RetryAfter = %v, want in [%v, %v]", r.RetryAfter, tt.retryAtMin, tt.retryAtMax)
			}
			if !strings.Contains(r.BodyExcerpt, tt.excerpt) || len(r.BodyExcerpt) > maxExcerpt {
				t.Fatalf("BodyExcerpt = %q, want it to contain %q and be at most %d bytes", r.BodyExcerpt, tt.excerpt, maxExcerpt)
			}
			if r.Latency <= 0 {
				t.Fatalf("Latency = %v, want > 0", r.Latency)
			}
			if got := srv.hits.Load(); got != 1 {
				t.Fatalf("server hits = %d, want exactly 1 (no redirect followed, no retry)", got)
			}
		})
	}
}

func TestSendRequestShape(t *testing.T) {
	type seen struct {
		method, path, auth, ctype string
		body                      map[string]json.RawMessage
		err                       error
	}
	got := make(chan seen, 1)
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		s := seen{method: r.Method, path: r.URL.Path, auth: r.Header.Get("Authorization"), ctype: r.Header.Get("Content-Type")}
		s.err = json.NewDecoder(r.Body).Decode(&s.body)
		got <- s
		answerWith(200, okBody)(w, r)
	})
	// A trailing slash on the base must not double the separator.
	c := newClient(t, srv.base()+"/", nil, nil)
	m := Message{ID: 9007199254740993, Phone: "79161234567", Text: "Привет, \"мир\"", Attempt: 2}
	if r := c.Send(context.Background(), m); r.Outcome != Sent {
		t.Fatalf("Send = %+v, want sent", r)
	}
	s := <-got
	if s.err != nil {
		t.Fatalf("decode body: %v", s.err)
	}
	if s.method != http.MethodPost || s.path != "/v1/send/9007199254740993" {
		t.Fatalf("request %s %s, want POST /v1/send/9007199254740993", s.method, s.path)
	}
	if s.auth != "Bearer "+testToken || s.ctype != "application/json" {
		t.Fatalf("Authorization %q, Content-Type %q", s.auth, s.ctype)
	}
	// Exact JSON types: id and phone are numbers (an int64 beyond 2^53
	// survives), text a string; nothing else is sent.
	want := map[string]string{"id": "9007199254740993", "phone": "79161234567", "text": `"Привет, \"мир\""`}
	if len(s.body) != len(want) {
		t.Fatalf("body fields %v, want exactly id, phone, text", s.body)
	}
	for k, v := range want {
		if string(s.body[k]) != v {
			t.Fatalf("body[%s] = %s, want %s", k, s.body[k], v)
		}
	}
}

func TestSendInvalidPhoneMakesNoRequest(t *testing.T) {
	srv := newServer(t, answerWith(200, okBody))
	c := newClient(t, srv.base(), nil, nil)
	for _, phone := range []string{"", "7916123456", "791612345678", "+7916123456", "7916123456a"} {
		m := msg(1)
		m.Phone = phone
		r := c.Send(context.Background(), m)
		if r.Outcome != Permanent || r.Reason != domain.ReasonInvalidMessage {
			t.Fatalf("phone %q: %+v, want permanent invalid_message", phone, r)
		}
	}
	if n := srv.hits.Load(); n != 0 {
		t.Fatalf("server hits = %d, want 0", n)
	}
}

func TestSendConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, "http://"+addr+"/v1", nil, nil)
	r := c.Send(context.Background(), msg(1))
	if r.Outcome != Transient || r.Reason != domain.ReasonConnection || r.HTTPStatus != 0 || r.Err == nil {
		t.Fatalf("Send = %+v, want transient connection with an error", r)
	}
}

// hangingServer never answers until the client goes away (or the test ends).
func hangingServer(t *testing.T) *testServer {
	t.Helper()
	release := make(chan struct{})
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	// Registered after the server's Close, so it runs first and unblocks it.
	t.Cleanup(func() { close(release) })
	return srv
}

func TestSendPerAttemptTimeout(t *testing.T) {
	srv := hangingServer(t)
	c := newClient(t, srv.base(), nil, func(cfg *Config) { cfg.Timeout = 200 * time.Millisecond })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	r := c.Send(ctx, msg(1))
	if r.Outcome != Transient || r.Reason != domain.ReasonTimeout || r.HTTPStatus != 0 {
		t.Fatalf("Send = %+v, want transient timeout", r)
	}
	if took := time.Since(start); took < 200*time.Millisecond || took > 30*time.Second {
		t.Fatalf("Send took %v, want at least the 200ms timeout and far less than the caller's minute", took)
	}
}

func TestSendCallerDeadline(t *testing.T) {
	srv := hangingServer(t)
	c := newClient(t, srv.base(), nil, func(cfg *Config) { cfg.Timeout = time.Minute })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	r := c.Send(ctx, msg(1))
	if r.Outcome != Transient || r.Reason != domain.ReasonDeadline {
		t.Fatalf("Send = %+v, want transient deadline", r)
	}
	if took := time.Since(start); took < 200*time.Millisecond || took > 30*time.Second {
		t.Fatalf("Send took %v, want at least the 200ms deadline and far less than the minute timeout", took)
	}
	if srv.hits.Load() != 1 {
		t.Fatalf("server hits = %d, want 1", srv.hits.Load())
	}
}

func TestSendCallerCancel(t *testing.T) {
	srv := hangingServer(t)
	c := newClient(t, srv.base(), nil, func(cfg *Config) { cfg.Timeout = time.Minute })
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for srv.hits.Load() == 0 {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	r := c.Send(ctx, msg(1))
	if r.Outcome != Transient || r.Reason != domain.ReasonCancelled {
		t.Fatalf("Send = %+v, want transient cancelled", r)
	}
}

func TestSendAfterDeadlineMakesNoRequest(t *testing.T) {
	srv := newServer(t, answerWith(200, okBody))
	c := newClient(t, srv.base(), nil, nil)
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	r := c.Send(ctx, msg(1))
	if r.Outcome != Transient || r.Reason != domain.ReasonDeadline || !errors.Is(r.Err, context.DeadlineExceeded) {
		t.Fatalf("Send = %+v, want transient deadline", r)
	}
	if srv.hits.Load() != 0 {
		t.Fatalf("server hits = %d, want 0", srv.hits.Load())
	}
}

// A 200 whose body stalls past the timeout is not an acceptance.
func TestSendStalledBodyIsNotSent(t *testing.T) {
	release := make(chan struct{})
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		_, _ = io.WriteString(w, `{"code":`)
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) })
	c := newClient(t, srv.base(), nil, func(cfg *Config) { cfg.Timeout = 200 * time.Millisecond })
	r := c.Send(context.Background(), msg(1))
	if r.Outcome != Transient || r.Reason != domain.ReasonTimeout || r.HTTPStatus != 200 {
		t.Fatalf("Send = %+v, want transient timeout with status 200", r)
	}
}

func TestSendReusesConnections(t *testing.T) {
	srv := newServer(t, answerWith(200, okBody))
	c := newClient(t, srv.base(), nil, nil)
	for i := range 200 {
		if r := c.Send(context.Background(), msg(int64(i+1))); r.Outcome != Sent {
			t.Fatalf("request %d: %+v", i, r)
		}
	}
	if n := srv.conns.Load(); n > 2 {
		t.Fatalf("200 sequential requests opened %d connections, want at most 2", n)
	}
}

// Error answers have bodies too; reading them fully keeps the connection.
func TestSendReusesConnectionsAfterErrors(t *testing.T) {
	srv := newServer(t, answerWith(500, strings.Repeat("x", 10<<10)))
	c := newClient(t, srv.base(), nil, func(cfg *Config) { cfg.Breaker.ConsecutiveFailures = 1000 })
	for i := range 50 {
		if r := c.Send(context.Background(), msg(int64(i+1))); r.Reason != domain.ReasonHTTP5xx {
			t.Fatalf("request %d: %+v", i, r)
		}
	}
	if n := srv.conns.Load(); n > 2 {
		t.Fatalf("50 sequential requests opened %d connections, want at most 2", n)
	}
}

func TestSendConcurrentPoolIsBounded(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(2 * time.Millisecond)
		answerWith(200, okBody)(w, r)
	})
	const workers = 8
	c := newClient(t, srv.base(), nil, func(cfg *Config) { cfg.MaxConns = workers })
	var wg sync.WaitGroup
	errs := make(chan Result, workers*50)
	for w := range workers {
		wg.Go(func() {
			for i := range 50 {
				if r := c.Send(context.Background(), msg(int64(w*1000+i+1))); r.Outcome != Sent {
					errs <- r
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for r := range errs {
		t.Fatalf("concurrent send: %+v", r)
	}
	if n := srv.conns.Load(); n > 2*workers {
		t.Fatalf("%d concurrent workers opened %d connections, want at most %d", workers, n, 2*workers)
	}
}

func TestSendLogs(t *testing.T) {
	srv := newServer(t, answerWith(400, `{"error":"nope"}`))
	buf := &testkit.Log{}
	log, err := logging.New(buf, "debug", "json", "worker")
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, srv.base(), log, nil)
	m := Message{ID: 55, Phone: "79161234567", Text: "hi", Attempt: 3, MailoutID: 7, CustomerID: 42}
	c.Send(context.Background(), m)

	if strings.Contains(buf.String(), "79161234567") || strings.Contains(buf.String(), testToken) {
		t.Fatalf("logs leak the phone or the token: %s", buf.String())
	}
	lines := buf.Lines(t)
	if len(lines) != 2 {
		t.Fatalf("got %d log lines, want request and response: %s", len(lines), buf.String())
	}
	req, resp := lines[0], lines[1]
	if req["msg"] != "probe request" || req["phone"] != "*******4567" || req["message_id"] != 55.0 || req["attempt"] != 3.0 {
		t.Fatalf("request line %v", req)
	}
	want := map[string]any{
		"msg": "probe response", "level": "INFO", "message_id": 55.0, "mailout_id": 7.0, "customer_id": 42.0,
		"attempt": 3.0, "outcome": "permanent", "reason": "rejected_4xx", "http_status": 400.0, "body": `{"error":"nope"}`,
	}
	for k, v := range want {
		if resp[k] != v {
			t.Fatalf("response line %s = %v, want %v (line %v)", k, resp[k], v, resp)
		}
	}
	if _, ok := resp["latency_ms"].(float64); !ok {
		t.Fatalf("response line has no latency_ms: %v", resp)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []Config{
		{URL: "", Token: "t"},
		{URL: "ftp://host/v1", Token: "t"},
		{URL: "http:///v1", Token: "t"},
		{URL: "http://host/v1", Token: ""},
		{URL: "http://host/v1", Token: "t", Breaker: BreakerConfig{FailureRatio: 1.5}},
	}
	for _, cfg := range tests {
		if c, err := New(cfg, nil); err == nil {
			c.Close()
			t.Errorf("New(%+v) succeeded, want an error", cfg)
		}
	}
}
