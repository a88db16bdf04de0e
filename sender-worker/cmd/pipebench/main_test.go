package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"mailing/shared/broker"
	"mailing/shared/broker/brokertest"
	"mailing/shared/postgres/pgtest"
)

// buildWorker compiles the worker binary the tool executes.
func buildWorker(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "worker")
	out, err := exec.Command("go", "build", "-o", bin, "mailing/sender-worker/cmd/worker").CombinedOutput()
	if err != nil {
		t.Fatalf("build worker: %v\n%s", err, out)
	}
	return bin
}

func TestRunMeasuresAWholeMailoutAndCleansUp(t *testing.T) {
	worker := buildWorker(t)
	u, err := url.Parse(pgtest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/pipebench_test_" + strings.ToLower(rand.Text()[:10])
	prefix := "pipebench-test-" + strings.ToLower(rand.Text()[:10])
	outFile := filepath.Join(t.TempDir(), "result.json")
	var stdout bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	err = run(ctx, []string{
		"-database-url", u.String(), "-create-db", "-amqp-url", brokertest.URL(), "-prefix", prefix,
		"-customers", "300", "-workers", "2", "-latency-ms", "5", "-concurrency", "8", "-prefetch", "16",
		"-worker", worker, "-out", outFile,
	}, &stdout, io.Discard)
	if err != nil {
		t.Fatalf("run: %v", err)
	}

	var rep report
	raw, err := os.ReadFile(outFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	r := rep.Run
	if r.Delivered != 300 || r.Duplicates != 0 || r.Statuses["sent"] != 300 || len(r.Statuses) != 1 {
		t.Fatalf("delivered %d, duplicates %d, statuses %v: want 300 sent once each", r.Delivered, r.Duplicates, r.Statuses)
	}
	if r.ProbeRequests != 300 {
		t.Errorf("%d probe requests, want 300", r.ProbeRequests)
	}
	if r.FanOutSeconds <= 0 || r.FirstDeliverySeconds <= 0 || r.LastDeliverySeconds < r.FirstDeliverySeconds ||
		r.SettledSeconds < r.LastDeliverySeconds || r.LagP50Seconds > r.LagP99Seconds || r.MessagesPerSec <= 0 {
		t.Errorf("inconsistent times: %+v", r)
	}
	if r.WorkerPeakRSSMiB < 1 || r.WorkerCPUSeconds <= 0 {
		t.Errorf("worker resources not measured: rss %.1f MiB, cpu %.2f s", r.WorkerPeakRSSMiB, r.WorkerCPUSeconds)
	}
	for _, want := range []string{"| creation → last delivery |", "| duplicate deliveries | 0 |", "300 messages, 2 worker(s)"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, stdout.String())
		}
	}
	assertDatabaseDropped(t, strings.TrimPrefix(u.Path, "/"))
	assertTopologyDeleted(t, prefix)
}

func assertDatabaseDropped(t *testing.T, name string) {
	t.Helper()
	admin, err := sql.Open("pgx", pgtest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var exists bool
	if err := admin.QueryRow(`SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Errorf("database %s left behind", name)
		_, _ = admin.Exec(`DROP DATABASE IF EXISTS "` + name + `" WITH (FORCE)`)
	}
}

func assertTopologyDeleted(t *testing.T, prefix string) {
	t.Helper()
	conn, err := amqp.Dial(brokertest.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := consumers(conn, prefix+"."+broker.SendQueue); err == nil {
		t.Errorf("queue %s.%s left behind", prefix, broker.SendQueue)
		_ = broker.DeleteTopology(context.Background(), broker.Config{URL: brokertest.URL(), Prefix: prefix})
	}
}

func TestParseFlagsRejectsNonsense(t *testing.T) {
	for _, args := range [][]string{
		{"-customers", "0"},
		{"-customers", "10000000"},
		{"-workers", "0"},
		{"-latency-ms", "-1"},
		{"-worker-env", "NOEQUALS"},
	} {
		if _, err := parseFlags(args); err == nil {
			t.Errorf("parseFlags(%q) accepted", args)
		}
	}
	o, err := parseFlags([]string{"-concurrency", "300"})
	if err != nil {
		t.Fatal(err)
	}
	if o.prefetch != 600 || !strings.HasPrefix(o.prefix, "pipebench-") {
		t.Errorf("prefetch %d, prefix %q: want 2×concurrency and a generated prefix", o.prefetch, o.prefix)
	}
}

func TestQuantileIsNearestRank(t *testing.T) {
	xs := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 5}, {0.99, 10}, {0.1, 1}, {0, 1}, {1, 10}} {
		if got := quantile(xs, c.q); got != c.want {
			t.Errorf("quantile(%v) = %v, want %v", c.q, got, c.want)
		}
	}
	if quantile(nil, 0.5) != 0 {
		t.Error("quantile of nothing is not 0")
	}
}

func TestProcCPUSecondsReadsUserPlusSystemTime(t *testing.T) {
	// Field 2 holds spaces and parentheses; utime=250, stime=50 ticks.
	stat := "42 (a (b) c) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 100 1000 200\n"
	path := filepath.Join(t.TempDir(), "stat")
	if err := os.WriteFile(path, []byte(stat), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := procCPUSeconds(path)
	if err != nil || got != 3 {
		t.Fatalf("procCPUSeconds = %v, %v; want 3", got, err)
	}
}

// -create-db drops its database at the end, so it must never adopt one
// that already exists.
func TestCreateDBRefusesAnExistingDatabase(t *testing.T) {
	dsn, drop, err := pgtest.NewDatabase(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer drop()
	err = run(context.Background(), []string{"-database-url", dsn, "-create-db", "-customers", "1", "-worker", "/nonexistent"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("run on an existing database with -create-db: %v, want a refusal", err)
	}
	u, _ := url.Parse(dsn)
	admin, err := sql.Open("pgx", pgtest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var exists bool
	if err := admin.QueryRow(`SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, strings.TrimPrefix(u.Path, "/")).Scan(&exists); err != nil || !exists {
		t.Fatalf("the existing database is gone (%v)", err)
	}
}
