package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/goleak"

	"mailing/sender-worker/probesim"
	"mailing/shared/testkit"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const secret = "cmd-test-secret-0123456789-abcdefghijkl"

// proc is run() serving on a free port.
type proc struct {
	t    *testing.T
	base string
	hc   *http.Client
	stop func() error // cancels run's context and waits for it; idempotent
	logs *testkit.Log
}

// start runs the server until the test ends, then stops it through its
// context and checks that it returns cleanly.
func start(t *testing.T, args []string, vars map[string]string) *proc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &proc{t: t, hc: &http.Client{Transport: &http.Transport{}}, logs: &testkit.Log{}}
	done := make(chan error, 1)
	go func() { done <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), testkit.Env(vars), p.logs) }()
	var once sync.Once
	var stopErr error
	p.stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case stopErr = <-done:
				p.hc.CloseIdleConnections()
			case <-time.After(20 * time.Second):
				stopErr = errors.New("run did not return after its context was cancelled")
			}
		})
		return stopErr
	}
	t.Cleanup(func() {
		if err := p.stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	addr := testkit.WaitFor(t, "the server to log its address", 20*time.Second, func() (string, bool) {
		for _, line := range p.logs.Lines(t) {
			if line["msg"] == "listening" {
				addr, _ := line["addr"].(string)
				return addr, true
			}
		}
		select {
		case err := <-done:
			done <- err // for stop
			t.Fatalf("run stopped before listening: %v", err)
		default:
		}
		return "", false
	})
	p.base = "http://" + addr
	return p
}

// hasLog reports whether a log line has every given key/value.
func (p *proc) hasLog(want map[string]any) bool {
	p.t.Helper()
	for _, line := range p.logs.Lines(p.t) {
		ok := true
		for k, v := range want {
			if fmt.Sprint(line[k]) != fmt.Sprint(v) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func (p *proc) do(ctx context.Context, method, path, token, body string) (*http.Response, []byte, error) {
	var header []string
	if token != "" {
		header = []string{"Authorization", "Bearer " + token}
	}
	return testkit.Do(ctx, p.hc, method, p.base+path, body, header...)
}

func (p *proc) must(t *testing.T, method, path, token, body string, want int, out any) {
	t.Helper()
	resp, raw, err := p.do(context.Background(), method, path, token, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("decode %s: %v", raw, err)
		}
	}
}

func token(t *testing.T, args []string, vars map[string]string) string {
	t.Helper()
	var out bytes.Buffer
	if err := run(context.Background(), append([]string{"token"}, args...), testkit.Env(vars), &out); err != nil {
		t.Fatalf("token: %v", err)
	}
	tok := strings.TrimSpace(out.String())
	if tok == "" || strings.Count(out.String(), "\n") != 1 {
		t.Fatalf("token output %q", out.String())
	}
	return tok
}

func sendBody(id int) string {
	return fmt.Sprintf(`{"id":%d,"phone":79001234567,"text":"hi"}`, id)
}

func TestRunServesRecordsAndShutsDownWithHungRequests(t *testing.T) {
	p := start(t, []string{"-secret", secret, "-seed", "9"}, map[string]string{"LOG_LEVEL": "debug"})
	tok := token(t, []string{"-secret", secret}, nil)

	var ok struct {
		Code    *int   `json:"code"`
		Message string `json:"message"`
	}
	p.must(t, "POST", "/v1/send/1", tok, sendBody(1), http.StatusOK, &ok)
	if ok.Code == nil || *ok.Code != 0 || ok.Message != "OK" {
		t.Fatalf("answer %+v", ok)
	}
	p.must(t, "POST", "/v1/send/2", "", sendBody(2), http.StatusUnauthorized, &ok)
	var ds []probesim.Delivery
	p.must(t, "GET", "/control/deliveries", "", "", http.StatusOK, &ds)
	if len(ds) != 1 || ds[0].ID != 1 || ds[0].Phone != 79001234567 || ds[0].Text != "hi" {
		t.Fatalf("deliveries %+v", ds)
	}
	testkit.Eventually(t, "the request's debug line", 20*time.Second, func() bool {
		return p.hasLog(map[string]any{"msg": "request", "message_id": 1, "outcome": "accepted", "http_status": 200})
	})
	if !p.hasLog(map[string]any{"msg": "listening", "seed": 9}) {
		t.Fatal("the start line does not carry the seed")
	}

	// A request hanging at shutdown must not hold the server up.
	p.must(t, "PUT", "/control/faults", "", `{"hang": true}`, http.StatusOK, nil)
	errc := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, _, err := p.do(ctx, "POST", "/v1/send/3", tok, sendBody(3))
		errc <- err
	}()
	testkit.Eventually(t, "the request to hang", 20*time.Second, func() bool {
		var st probesim.Stats
		p.must(t, "GET", "/control/stats", "", "", http.StatusOK, &st)
		return st.Hung == 1
	})
	// Stopping must release it: the client sees the connection closed,
	// not an answer and not its own timeout.
	if err := p.stop(); err != nil {
		t.Fatalf("stop with a hung request: %v", err)
	}
	select {
	case err := <-errc:
		if err == nil || errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("hung request ended with %v, want a closed connection", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("hung request still open after shutdown")
	}
	if !p.hasLog(map[string]any{"msg": "stopped"}) {
		t.Fatal("no log line for the stop")
	}
}

func TestRunTakesFaultsFromEnvAndFlags(t *testing.T) {
	vars := map[string]string{
		"PROBE_SIM_SECRET":      secret,
		"PROBE_SIM_RATE_429":    "1",
		"PROBE_SIM_RETRY_AFTER": "3s",
		"PROBE_SIM_DOWN":        "true",
	}
	p := start(t, []string{"-down=false", "-latency", "30ms"}, vars)
	tok := token(t, nil, vars)
	began := time.Now()
	resp, raw, err := p.do(context.Background(), "POST", "/v1/send/1", tok, sendBody(1))
	if err != nil {
		t.Fatalf("the flag -down=false did not win over PROBE_SIM_DOWN: %v", err)
	}
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "3" {
		t.Fatalf("answer %d, Retry-After %q: %s", resp.StatusCode, resp.Header.Get("Retry-After"), raw)
	}
	if took := time.Since(began); took < 30*time.Millisecond {
		t.Fatalf("answered after %v despite -latency 30ms", took)
	}
	var f probesim.Faults
	p.must(t, "GET", "/control/faults", "", "", http.StatusOK, &f)
	if f != (probesim.Faults{LatencyMS: 30, Rate429: 1, RetryAfterS: 3}) {
		t.Fatalf("faults %+v", f)
	}

	// Down from the start: sends are dropped, the control API answers.
	d := start(t, []string{"-down"}, map[string]string{})
	if resp, _, err := d.do(context.Background(), "POST", "/v1/send/1", tok, sendBody(1)); err == nil {
		t.Fatalf("down answered %d", resp.StatusCode)
	}
	var st probesim.Stats
	d.must(t, "GET", "/control/stats", "", "", http.StatusOK, &st)
	if st.Dropped != 1 {
		t.Fatalf("stats %+v", st)
	}
	if !d.hasLog(map[string]any{"level": "WARN"}) {
		t.Fatal("no warning about the development secret")
	}
}

func TestRunRefusesBadConfiguration(t *testing.T) {
	cases := []struct {
		args []string
		vars map[string]string
		want string
	}{
		{[]string{"-rate-500", "2"}, nil, "rate_500"},
		{[]string{"-rate-500", "0.7", "-rate-garbage", "0.7"}, nil, "sum"},
		{nil, map[string]string{"PROBE_SIM_RATE_503": "lots"}, "PROBE_SIM_RATE_503"},
		{[]string{"-latency", "1500us"}, nil, "-latency"},
		{[]string{"-jitter", "-5ms"}, nil, "-jitter"},
		{[]string{"-retry-after", "1500ms"}, nil, "-retry-after"},
		{[]string{"-frobnicate"}, nil, "frobnicate"},
		{[]string{"serve"}, nil, "unexpected arguments"},
		{[]string{"-addr", "127.0.0.1:-1"}, nil, "listen"},
		{nil, map[string]string{"LOG_LEVEL": "loud"}, "LOG_LEVEL"},
		{[]string{"token", "-ttl", "-1h"}, nil, "ttl"},
	}
	for _, c := range cases {
		err := run(context.Background(), c.args, testkit.Env(c.vars), io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v %v: error %v, want one mentioning %q", c.args, c.vars, err, c.want)
		}
	}
}

func TestTokenCommand(t *testing.T) {
	// Without a secret the token matches the development secret a
	// probe-sim started without one uses.
	dev := token(t, nil, nil)
	sim, err := probesim.New(probesim.Options{Secret: probesim.DevSecret})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	req := httptest.NewRequest("POST", "/v1/send/1", strings.NewReader(sendBody(1)))
	req.Header.Set("Authorization", "Bearer "+dev)
	rec := httptest.NewRecorder()
	sim.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("dev token refused: %d %s", rec.Code, rec.Body)
	}

	for _, c := range []struct {
		args []string
		vars map[string]string
		ttl  time.Duration
	}{
		{nil, map[string]string{"PROBE_SIM_SECRET": secret}, tokenTTL},
		{[]string{"-secret", secret, "-ttl", "1h"}, map[string]string{"PROBE_SIM_SECRET": "not-this-one"}, time.Hour},
	} {
		claims := &jwt.RegisteredClaims{}
		_, err := jwt.ParseWithClaims(token(t, c.args, c.vars), claims,
			func(*jwt.Token) (any, error) { return []byte(secret), nil },
			jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired())
		if err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		left := time.Until(claims.ExpiresAt.Time)
		if left < c.ttl-time.Minute || left > c.ttl {
			t.Fatalf("%v: expires in %v, want about %v", c.args, left, c.ttl)
		}
	}
}
