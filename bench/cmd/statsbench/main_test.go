package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailing/bench/internal/benchtest"
	"mailing/shared/broker/brokertest"
	"mailing/shared/postgres/pgtest"
	"mailing/shared/testkit"
)

func TestRunAtTinyScaleMeasuresChecksAndCleansUp(t *testing.T) {
	// The endpoints are measured on the product's real API binary.
	api := testkit.BuildBinaries(t, "mailing/api-service/cmd/api")["api"]
	u, err := url.Parse(pgtest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	name := "statsbench_test_" + strings.ToLower(rand.Text()[:10])
	u.Path = "/" + name
	outFile := filepath.Join(t.TempDir(), "result.json")
	var stdout bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err = run(ctx, []string{
		"-api", api, "-amqp-url", brokertest.URL(),
		"-database-url", u.String(), "-messages", "6000", "-mailouts", "4", "-running", "3000",
		"-rate", "1500", "-batch", "50", "-requests", "40", "-warmup", "5", "-concurrency", "2", "-out", outFile,
	}, &stdout, io.Discard)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stdout.String())
	}

	var rep report
	benchtest.ReadJSON(t, outFile, &rep)
	if rep.Populate.FinishedRows != 3000 || rep.Populate.FanOutRows != 3000 {
		t.Fatalf("populated %+v, want 3000 finished and 3000 fanned-out messages", rep.Populate)
	}
	if rep.Sending.Recorded == 0 {
		t.Fatalf("nothing was sent during the measurement: %+v", rep.Sending)
	}
	if len(rep.Requests) != 4 {
		t.Fatalf("measured %d endpoints, want 4", len(rep.Requests))
	}
	for _, r := range rep.Requests {
		if r.Requests != 40 || r.Errors != 0 || r.P50MS <= 0 || r.P99MS < r.P50MS || r.Bytes == 0 {
			t.Fatalf("measurement %+v", r)
		}
	}
	if len(rep.Exact) == 0 {
		t.Fatal("no exactness checks")
	}
	for _, c := range rep.Exact {
		if !c.Equal || len(c.Truth) == 0 {
			t.Fatalf("check %+v", c)
		}
	}
	for _, want := range []string{"GET /api/mailouts/{id}/stats", "GET /api/messages/stats", "| running mailout: messages by status | true |"} {
		if !strings.Contains(stdout.String(), want) {
			t.Fatalf("the table lacks %q:\n%s", want, stdout.String())
		}
	}

	benchtest.AssertNoDatabase(t, name)
}

// A missing binary stops the run before it creates anything.
func TestRunWithoutTheAPIBinaryCreatesNothing(t *testing.T) {
	name := "statsbench_test_" + strings.ToLower(rand.Text()[:10])
	u, err := url.Parse(pgtest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	err = run(context.Background(), []string{"-api", "/nonexistent/api", "-database-url", u.String()}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "make build") {
		t.Fatalf("run without the binary: %v, want a hint to build it", err)
	}
	benchtest.AssertNoDatabase(t, name)
}

func TestFlagsAreChecked(t *testing.T) {
	// Any existing file passes the binary check: these runs must fail on
	// their flags before they start it.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"-mailouts", "1"},
		{"-messages", "100", "-running", "100"},
		{"-messages", "100", "-running", "99", "-mailouts", "5"},
		{"-rate", "-1"},
		{"-requests", "0"},
		{"-database-url", "postgres://127.0.0.1/postgres"},
		{"-database-url", "postgres://127.0.0.1/Bad-Name"},
	} {
		if err := run(context.Background(), append([]string{"-api", self}, args...), io.Discard, io.Discard); err == nil {
			t.Errorf("%v: accepted", args)
		}
	}
}
