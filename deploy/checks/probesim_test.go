package checks

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// probeSimBinary is the probe-sim the Dockerfile's build stage produced.
func probeSimBinary(t testing.TB) string {
	t.Helper()
	stage := replayStage(t, "build")
	for out := range stage.builds {
		if strings.HasSuffix(out, "/probe-sim") {
			return stage.host(out)
		}
	}
	t.Fatal("the build stage builds no probe-sim")
	return ""
}

// probeSimFlags lists probe-sim's flags, from its own -h.
func probeSimFlags(t testing.TB) map[string]bool {
	t.Helper()
	out, err := exec.Command(probeSimBinary(t), "-h").CombinedOutput()
	if err != nil {
		t.Fatalf("probe-sim -h: %v\n%s", err, out)
	}
	flags := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s+-([a-z0-9-]+)`).FindAllStringSubmatch(string(out), -1) {
		flags[m[1]] = true
	}
	if !flags["addr"] || !flags["secret"] {
		t.Fatalf("probe-sim -h lists no -addr or -secret:\n%s", out)
	}
	return flags
}

// startProbeSim runs probe-sim with the given signing secret on a free
// loopback port and returns its base URL; it is stopped when t ends.
func startProbeSim(t *testing.T, secret string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, probeSimBinary(t))
	cmd.Env = []string{"PROBE_SIM_ADDR=127.0.0.1:0", "PROBE_SIM_SECRET=" + secret, "LOG_FORMAT=json"}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start probe-sim: %v", err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	// The address comes from its "listening" log line; a probe-sim that
	// exits first closes the channel without one.
	addr := make(chan string, 1)
	go func() {
		defer close(addr)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" {
				addr <- line.Addr
				break
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case a, ok := <-addr:
		if !ok {
			t.Fatal("probe-sim exited before listening")
		}
		return "http://" + a
	case <-time.After(30 * time.Second):
		t.Fatal("probe-sim did not report its address")
		return ""
	}
}

// send posts one message to probe-sim with token and returns the status.
func send(t *testing.T, base, token string) int {
	t.Helper()
	body := strings.NewReader(`{"id": 1, "phone": 79161234567, "text": "token check"}`)
	req, err := http.NewRequest(http.MethodPost, base+"/v1/send/1", body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("send to probe-sim: %v", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// checkTokenPair asserts that probe-sim signing with secret accepts token,
// and refuses it under another secret: the workers of the compose file and
// of the dev overlay can send with the token they are given.
func checkTokenPair(t *testing.T, where, secret, token string) {
	t.Helper()
	if secret == "" || token == "" {
		t.Fatalf("%s: empty secret or token", where)
	}
	if got := send(t, startProbeSim(t, secret), token); got != http.StatusOK {
		t.Errorf("%s: probe-sim with its secret answers the worker's token with %d, want 200", where, got)
	}
	if got := send(t, startProbeSim(t, secret+"-other"), token); got != http.StatusUnauthorized {
		t.Errorf("%s: probe-sim with another secret answers %d, want 401", where, got)
	}
}

func TestComposeWorkerTokenIsAcceptedByProbeSim(t *testing.T) {
	p := loadCompose(t, nil)
	checkTokenPair(t, composeFile,
		env(service(t, p, "probe-sim"), "PROBE_SIM_SECRET"), env(service(t, p, "worker"), "PROBE_TOKEN"))
}
