package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"mailing/sender-worker/probesim"
	"mailing/shared/broker"
	"mailing/shared/domain"
	"mailing/shared/testkit"
)

func TestTwoWorkersShareOneMailout(t *testing.T) {
	t.Parallel()
	p := startPipeline(t, nil)
	url, second := p.front()
	p.startWorker(map[string]string{"PROBE_URL": url})
	p.waitConsumers(broker.SendQueue, 2)
	p.setFaults(probesim.Faults{LatencyMS: 30})
	want := p.customers(300, "916")
	m := p.startNow(domain.Filter{})
	p.settle(m.ID, 120*time.Second)
	if counts := p.verify(m, want, 0); counts["sent"] != 300 {
		t.Fatalf("messages %v, want all 300 sent", counts)
	}
	total := p.sim.Stats().Requests
	first := total - second.Load()
	t.Logf("requests by the first worker %d, by the second %d", first, second.Load())
	if first == 0 || second.Load() == 0 {
		t.Fatalf("requests by the first worker %d, by the second %d: want both to share the work", first, second.Load())
	}
}

// buildWorker compiles this package into a binary the test can kill.
func buildWorker(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "worker")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v: %s", err, out)
	}
	return bin
}

func TestWorkerKilledMidRunWhileAnotherRuns(t *testing.T) {
	t.Parallel()
	const concurrency = 8
	bin := buildWorker(t)
	settings := map[string]string{
		"SENDER_CONCURRENCY": "8", "SENDER_PREFETCH": "32",
		"PROBE_TIMEOUT": "2s", "RECONCILE_STALE_CLAIM_AFTER": "4s", "RECONCILE_INTERVAL": "1s",
	}
	p := startPipeline(t, settings)
	url, victimRequests := p.front()
	var env []string
	for k, v := range p.env(map[string]string{"PROBE_URL": url}) {
		env = append(env, k+"="+v)
	}
	victim := exec.Command(bin)
	victim.Env = env
	var victimLog testkit.Log
	victim.Stdout, victim.Stderr = &victimLog, &victimLog
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = victim.Process.Kill()
		_ = victim.Wait()
		if t.Failed() {
			t.Logf("log of the killed worker:\n%s", victimLog.String())
		}
	})
	p.waitConsumers(broker.SendQueue, 2)

	p.setFaults(probesim.Faults{LatencyMS: 200})
	want := p.customers(300, "916")
	m := p.startNow(domain.Filter{})
	testkit.Eventually(p.t, "the second worker sending", 60*time.Second, func() bool { return victimRequests.Load() >= 20 })
	if err := victim.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := victim.Wait()
	if status, ok := victim.ProcessState.Sys().(syscall.WaitStatus); !ok || !status.Signaled() {
		t.Fatalf("worker process ended with %v, want killed", err)
	}
	killedAt := time.Now()

	p.settle(m.ID, 120*time.Second)
	counts := p.verify(m, want, concurrency)
	if counts["sent"] != 300 {
		t.Fatalf("messages %v, want all 300 sent", counts)
	}
	// A claim taken back counts the attempt it may have made, so the
	// killed worker's claims are the messages with a second attempt; only
	// they may have been delivered twice.
	released := map[int64]bool{}
	for _, msg := range p.messages(m.ID) {
		if msg.Attempts > 1 {
			released[msg.ID] = true
		}
	}
	dups := 0
	for _, d := range p.sim.Deliveries() {
		if d.Nth == 2 {
			dups++
			if !released[d.ID] {
				t.Errorf("message %d delivered twice without having been claimed by the killed worker", d.ID)
			}
		}
	}
	t.Logf("claims of the killed worker taken back %d, double sends %d, settled %s after the kill",
		len(released), dups, time.Since(killedAt).Round(time.Second))
	if len(released) == 0 {
		t.Fatal("no claim of the killed worker was taken back: the kill was not exercised")
	}
}

// The worker reads its stale-claim timeout from the environment and
// refuses one that could take back a claim still being sent: one that is
// not longer than an attempt plus, under a rate cap, the wait for a token.
func TestStaleClaimTimeoutMustExceedTheLongestClaim(t *testing.T) {
	base := map[string]string{"PROBE_TOKEN": "x", "PROBE_TIMEOUT": "5s", "SENDER_CONCURRENCY": "8", "SENDER_PREFETCH": "8"}
	get := func(extra map[string]string) func(string) string {
		return func(k string) string {
			if v, ok := extra[k]; ok {
				return v
			}
			return base[k]
		}
	}
	c, err := loadConfig(get(nil))
	if err != nil || c.StaleClaimAfter != 40*time.Second {
		t.Fatalf("default stale claim %s, %v; want 2×PROBE_TIMEOUT+30s = 40s", c.StaleClaimAfter, err)
	}
	c, err = loadConfig(get(map[string]string{"RECONCILE_STALE_CLAIM_AFTER": "7s"}))
	if err != nil || c.StaleClaimAfter != 7*time.Second {
		t.Fatalf("stale claim %s, %v; want 7s", c.StaleClaimAfter, err)
	}
	_, err = loadConfig(get(map[string]string{"RECONCILE_STALE_CLAIM_AFTER": "5s"}))
	if err == nil || !strings.Contains(err.Error(), "RECONCILE_STALE_CLAIM_AFTER") {
		t.Fatalf("stale claim equal to the probe timeout: err %v, want it refused", err)
	}
	// 8 slots at 2 messages per second: a claim may wait 4 s for a token.
	c, err = loadConfig(get(map[string]string{"SENDER_RATE": "2"}))
	if err != nil || c.StaleClaimAfter != 48*time.Second {
		t.Fatalf("default stale claim under a rate cap %s, %v; want 2×(5s+4s)+30s = 48s", c.StaleClaimAfter, err)
	}
	_, err = loadConfig(get(map[string]string{"SENDER_RATE": "2", "RECONCILE_STALE_CLAIM_AFTER": "9s"}))
	if err == nil || !strings.Contains(err.Error(), "RECONCILE_STALE_CLAIM_AFTER") {
		t.Fatalf("stale claim not longer than an attempt and the rate wait: err %v, want it refused", err)
	}
}
