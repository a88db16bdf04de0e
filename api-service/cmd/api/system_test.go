package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"mailing/shared/broker/brokertest"
	"mailing/shared/postgres/pgtest"
	"mailing/shared/testkit"
)

// TestMailoutCreatedWhileBrokerUnreachableStartsWhenItIsBack runs the whole
// system — this API, a worker process and probe-sim — with the API's path
// to RabbitMQ cut. The mailout is accepted, waits in the outbox, and is
// started by the relay once the path is back; every matching customer gets
// exactly one message and no one else does.
func TestMailoutCreatedWhileBrokerUnreachableStartsWhenItIsBack(t *testing.T) {
	dsn := pgtest.DSN(t)
	bcfg := brokertest.Config(t)
	bins := testkit.BuildBinaries(t, "mailing/sender-worker/cmd/worker", "mailing/sender-worker/cmd/probe-sim")

	const simSecret = "system-test-probe-secret-0123456789abcdef"
	sim := startProcess(t, bins["probe-sim"], nil, map[string]string{"PROBE_SIM_ADDR": "127.0.0.1:0", "PROBE_SIM_SECRET": simSecret})
	token, err := exec.Command(bins["probe-sim"], "token", "-secret", simSecret).Output()
	if err != nil {
		t.Fatalf("probe-sim token: %v", err)
	}
	// The reconciler runs once at start and then not for an hour, so only
	// the relay can start the mailout.
	startProcess(t, bins["worker"], nil, map[string]string{
		"DATABASE_URL": dsn, "AMQP_URL": bcfg.URL, "AMQP_PREFIX": bcfg.Prefix,
		"PROBE_URL": "http://" + sim.addr + "/v1", "PROBE_TOKEN": strings.TrimSpace(string(token)),
		"WORKER_HTTP_ADDR": "127.0.0.1:0", "RECONCILE_INTERVAL": "1h", "LOG_FORMAT": "json",
	})

	// The API reaches RabbitMQ through a port where nothing listens yet.
	brokerAddr := freeAddr(t)
	amqpURL, err := url.Parse(bcfg.URL)
	if err != nil {
		t.Fatal(err)
	}
	realBroker := amqpURL.Host
	amqpURL.Host = brokerAddr
	vars := map[string]string{
		"DATABASE_URL": dsn, "HTTP_ADDR": "127.0.0.1:0", "AMQP_URL": amqpURL.String(), "AMQP_PREFIX": bcfg.Prefix,
		"JWT_SECRET": strings.Repeat("k", 40), "ADMIN_USERNAME": "ops", "ADMIN_PASSWORD": "correct horse",
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := run(ctx, []string{"migrate"}, testkit.Env(vars), io.Discard); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	logs := &testkit.Log{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, testkit.Env(vars), logs) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("api run: %v", err)
		}
	})
	base := "http://" + testkit.WaitFor(t, "API listening", time.Minute, func() (string, bool) { return listening(logs) })
	api := newClient(t, base, "ops", "correct horse")

	phones := []string{"79160000001", "79160000002", "79160000003"}
	for i, phone := range phones {
		tags := `["vip"]`
		if i == 2 {
			tags = `["other"]`
		}
		api.call("POST", "/api/customers", `{"phone":"`+phone+`","tags":`+tags+`}`, http.StatusCreated, nil)
	}
	now := time.Now().UTC()
	var m struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
	}
	api.call("POST", "/api/mailouts", fmt.Sprintf(`{"text":"hello","start_at":%q,"end_at":%q,"filter":{"tags":["vip"]}}`,
		now.Add(-time.Second).Format(time.RFC3339), now.Add(10*time.Minute).Format(time.RFC3339)), http.StatusCreated, &m)

	testkit.WaitFor(t, "the relay to fail against the unreachable broker", time.Minute, func() (string, bool) {
		return "", strings.Contains(logs.String(), "outbox relay failed")
	})
	var got struct {
		Status string `json:"status"`
	}
	api.call("GET", fmt.Sprintf("/api/mailouts/%d", m.ID), "", http.StatusOK, &got)
	if got.Status != "scheduled" {
		t.Fatalf("mailout is %q while its start event cannot be published; want scheduled", got.Status)
	}

	proxy(t, brokerAddr, realBroker)
	var deliveries []struct {
		Phone int64 `json:"phone"`
		Count int   `json:"count"`
	}
	testkit.WaitFor(t, "both deliveries", time.Minute, func() (string, bool) {
		getJSON(t, "http://"+sim.addr+"/control/deliveries", &deliveries)
		return fmt.Sprint(deliveries), len(deliveries) >= 2
	})
	api.call("GET", fmt.Sprintf("/api/mailouts/%d", m.ID), "", http.StatusOK, &got)
	if got.Status != "running" {
		t.Fatalf("mailout is %q after its messages were delivered; want running (the reconciler that finishes it is held back)", got.Status)
	}
	var msgs struct {
		Items []struct {
			Status string `json:"status"`
		} `json:"items"`
	}
	// probe-sim counts a delivery before the worker commits its outcome.
	testkit.WaitFor(t, "both messages recorded as sent", time.Minute, func() (string, bool) {
		api.call("GET", fmt.Sprintf("/api/messages?mailout_id=%d", m.ID), "", http.StatusOK, &msgs)
		return fmt.Sprint(msgs.Items), len(msgs.Items) == 2 && msgs.Items[0].Status == "sent" && msgs.Items[1].Status == "sent"
	})
	seen := map[string]int{}
	for _, d := range deliveries {
		seen[fmt.Sprint(d.Phone)] += d.Count
	}
	if len(deliveries) != 2 || seen[phones[0]] != 1 || seen[phones[1]] != 1 {
		t.Fatalf("deliveries %+v; want one each to %s and %s", deliveries, phones[0], phones[1])
	}
	if len(msgs.Items) != 2 || msgs.Items[0].Status != "sent" || msgs.Items[1].Status != "sent" {
		t.Fatalf("messages %+v; want two, both sent", msgs.Items)
	}
}

// process is a child process whose output is kept for its address and for
// the test's failure message.
type process struct {
	addr string
	out  *testkit.Log
}

// startProcess starts bin with only the given environment, waits until it
// logs the address it listens on, and stops it with SIGTERM when t ends.
func startProcess(t *testing.T, bin string, args []string, vars map[string]string) *process {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out := &testkit.Log{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("%s did not stop on SIGTERM", filepath.Base(bin))
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(bin), out.String())
		}
	})
	addr := testkit.WaitFor(t, filepath.Base(bin)+" listening", time.Minute, func() (string, bool) {
		select {
		case <-exited:
			t.Fatalf("%s exited:\n%s", filepath.Base(bin), out.String())
		default:
		}
		return listening(out)
	})
	return &process{addr: addr, out: out}
}

// freeAddr returns a loopback address where nothing listens.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// proxy forwards connections from addr to target until t ends.
func proxy(t *testing.T, addr, target string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on the broker's stand-in address: %v", err)
	}
	var conns sync.WaitGroup
	t.Cleanup(func() { _ = ln.Close(); conns.Wait() })
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Go(func() {
				defer in.Close()
				up, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer up.Close()
				go func() { _, _ = io.Copy(up, in); _ = up.Close() }()
				_, _ = io.Copy(in, up)
			})
		}
	}()
}

var listeningAddr = regexp.MustCompile(`"listening".*?"addr":"([^"]+)"|msg=listening addr=(\S+)`)

// listening is the address of the first "listening" line of a log.
func listening(l *testkit.Log) (string, bool) {
	m := listeningAddr.FindStringSubmatch(l.String())
	if m == nil {
		return "", false
	}
	return m[1] + m[2], true
}

// client calls the API with a token of the given user.
type client struct {
	t     *testing.T
	base  string
	token string
}

func newClient(t *testing.T, base, user, password string) *client {
	t.Helper()
	resp, err := http.PostForm(base+"/auth/token", url.Values{"username": {user}, "password": {password}, "grant_type": {"password"}})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	decode(t, resp, http.StatusOK, &tok)
	return &client{t: t, base: base, token: tok.AccessToken}
}

func (c *client) call(method, path, body string, want int, out any) {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	if out == nil {
		out = &map[string]any{}
	}
	decode(c.t, resp, want, out)
}

func getJSON(t *testing.T, u string, out any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
}
