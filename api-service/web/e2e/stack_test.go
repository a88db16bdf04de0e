//go:build e2e

// Package e2e runs the admin UI's browser tests (the Playwright specs in
// this folder) against the whole system: bin/api with the UI built in,
// bin/worker, bin/probe-sim and bin/dev-oidc, on a database and a RabbitMQ
// prefix of their own, all on loopback. `make e2e` (part of `make test`)
// builds everything first and runs it; the build tag keeps it out of the
// Go modules' own `go test ./...`, which must not need Node.
//
// The specs also run against `make run`: see docs/admin-ui.md.
package e2e

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"mailing/shared/broker/brokertest"
	"mailing/shared/postgres/pgtest"
	"mailing/shared/testkit"
)

// The local admin the specs create their data with.
const adminUser, adminPassword = "e2e-admin", "e2e-admin-password"

func TestAdminUIInABrowser(t *testing.T) {
	repo, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	bins := map[string]string{}
	for _, name := range []string{"api", "worker", "probe-sim", "dev-oidc"} {
		bins[name] = filepath.Join(repo, "bin", name)
		if _, err := os.Stat(bins[name]); err != nil {
			t.Fatalf("%v: run `make build` first (it builds the UI and the binaries)", err)
		}
	}
	dsn := pgtest.DSN(t)
	bcfg := brokertest.Config(t)

	const simSecret = "e2e-probe-sim-secret-0123456789abcdef"
	sim := start(t, bins["probe-sim"], nil, map[string]string{"PROBE_SIM_ADDR": "127.0.0.1:0", "PROBE_SIM_SECRET": simSecret, "LOG_FORMAT": "json"})
	token, err := exec.Command(bins["probe-sim"], "token", "-secret", simSecret).Output()
	if err != nil {
		t.Fatalf("probe-sim token: %v", err)
	}
	// One worker sending at most 5 messages a second: a mailout of a few
	// hundred customers runs long enough to be watched on the dashboard.
	start(t, bins["worker"], nil, map[string]string{
		"DATABASE_URL": dsn, "AMQP_URL": bcfg.URL, "AMQP_PREFIX": bcfg.Prefix,
		"PROBE_URL": "http://" + sim.addr + "/v1", "PROBE_TOKEN": strings.TrimSpace(string(token)),
		"WORKER_HTTP_ADDR": "127.0.0.1:0", "SENDER_RATE": "5", "SENDER_CONCURRENCY": "4", "SENDER_PREFETCH": "8", "LOG_FORMAT": "json",
	})

	// The provider and the API know each other's addresses before either
	// starts; different host names keep their cookies apart.
	apiAddr, oidcAddr := freeAddr(t), freeAddr(t)
	_, oidcPort, _ := net.SplitHostPort(oidcAddr)
	issuer := "http://localhost:" + oidcPort + "/"
	apiBase := "http://" + apiAddr
	users := writeUsers(t, filepath.Join(repo, "deploy/dev-oidc/users.json"), apiBase)
	start(t, bins["dev-oidc"], nil, map[string]string{
		"DEV_OIDC_ADDR": oidcAddr, "DEV_OIDC_ISSUER": issuer, "DEV_OIDC_USERS": users, "LOG_FORMAT": "json",
	})
	api := start(t, bins["api"], nil, map[string]string{
		"HTTP_ADDR": apiAddr, "DATABASE_URL": dsn, "AMQP_URL": bcfg.URL, "AMQP_PREFIX": bcfg.Prefix,
		"JWT_SECRET": strings.Repeat("e", 40), "ADMIN_USERNAME": adminUser, "ADMIN_PASSWORD": adminPassword,
		"OIDC_ISSUER": issuer, "OIDC_CLIENT_ID": "mailing-api", "OIDC_CLIENT_SECRET": "public-dev-secret-mailing-api",
		"OIDC_REDIRECT_URL": apiBase + "/auth/oidc/callback", "OIDC_POST_LOGOUT_REDIRECT_URL": apiBase + "/admin/",
		"OIDC_ROLE_MAP": "mailing-admins=admin,mailing-operators=operator,mailing-viewers=viewer",
		"LOG_FORMAT":    "json",
	})
	checkUIBuiltIn(t, apiBase)

	shots := os.Getenv("E2E_SCREENSHOTS")
	if shots == "" {
		shots = filepath.Join(repo, "test-artifacts", "screenshots")
	}
	cmd := exec.Command("npx", "--no-install", "playwright", "test")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(),
		"E2E_BASE_URL="+apiBase, "E2E_ADMIN_USER="+adminUser, "E2E_ADMIN_PASSWORD="+adminPassword,
		"E2E_PROBE_URL=http://"+sim.addr, "E2E_SCREENSHOTS="+shots, "E2E_PROVIDER=localhost:"+oidcPort,
	)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		t.Logf("api log (last lines):\n%s", tail(api.out.String(), 40))
		t.Fatalf("playwright test: %v", err)
	}
	t.Logf("screenshots in %s", shots)
}

// writeUsers copies the development provider's users file with its client
// registered at this run's API address.
func writeUsers(t *testing.T, from, apiBase string) string {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	var file map[string]any
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	clients, _ := file["clients"].([]any)
	if len(clients) != 1 {
		t.Fatalf("%s: %d clients; want the API's one", from, len(clients))
	}
	c := clients[0].(map[string]any)
	c["redirect_uris"] = []string{apiBase + "/auth/oidc/callback"}
	c["post_logout_redirect_uris"] = []string{apiBase + "/admin/"}
	out, err := json.Marshal(file)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "users.json")
	if err := os.WriteFile(p, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// checkUIBuiltIn fails early, and says why, when bin/api was built
// without the UI.
func checkUIBuiltIn(t *testing.T, base string) {
	t.Helper()
	resp, err := http.Get(base + "/admin/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `<div id="root">`) {
		t.Fatalf("GET /admin/ of bin/api: %d\n%s\nbuild the UI into it: `make build` with Node.js", resp.StatusCode, body)
	}
}

type process struct {
	addr string
	out  *testkit.Log
}

var listeningAddr = regexp.MustCompile(`"msg":"listening".*?"addr":"([^"]+)"`)

// start runs bin with only the given environment, waits for the address
// it logs, and stops it with SIGTERM when t ends.
func start(t *testing.T, bin string, args []string, vars map[string]string) *process {
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
	name := filepath.Base(bin)
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("%s did not stop on SIGTERM", name)
		}
		if t.Failed() {
			t.Logf("%s output (last lines):\n%s", name, tail(out.String(), 30))
		}
	})
	addr := testkit.WaitFor(t, name+" listening", time.Minute, func() (string, bool) {
		select {
		case <-exited:
			t.Fatalf("%s exited:\n%s", name, out.String())
		default:
		}
		m := listeningAddr.FindStringSubmatch(out.String())
		if m == nil {
			return "", false
		}
		return m[1], true
	})
	if strings.HasPrefix(addr, ":") || strings.HasPrefix(addr, "[::]") {
		_, port, _ := net.SplitHostPort(addr)
		addr = "127.0.0.1:" + port
	}
	return &process{addr: addr, out: out}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func tail(s string, n int) string {
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}
