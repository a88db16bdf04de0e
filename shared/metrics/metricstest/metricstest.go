// Package metricstest checks /metrics output in tests: it scrapes an
// endpoint, runs `promtool check metrics` on the answer and reads values
// out of it.
package metricstest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Promtool returns the path of promtool, failing the test with how to get
// it when it is missing: the checks are part of the suite and must run.
func Promtool(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool not found: install it (apt-get install -y prometheus; .ci/run does) to check the metrics and the Prometheus configuration")
	}
	return path
}

// RunPromtool runs promtool with args (and stdin, if not nil) and fails
// the test with its output when it exits non-zero.
func RunPromtool(t testing.TB, stdin []byte, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, Promtool(t), args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Check fails the test unless body passes `promtool check metrics`, which
// also lints names, types, units and help texts.
func Check(t testing.TB, body []byte) {
	t.Helper()
	out := RunPromtool(t, body, "check", "metrics")
	// promtool 2.x prints lint problems and still exits 0 for some of them.
	if s := strings.TrimSpace(out); s != "" {
		t.Fatalf("promtool check metrics found problems:\n%s", s)
	}
}

// Scrape GETs url and returns the body, failing unless it is a 200 in the
// Prometheus text format.
func Scrape(t testing.TB, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("scrape %s: status %d, content type %q: %s", url, resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	return body
}

// Gather renders everything g collects in the text format, as /metrics
// would serve it.
func Gather(t testing.TB, g prometheus.Gatherer) []byte {
	t.Helper()
	fams, err := g.Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	var buf bytes.Buffer
	for _, f := range fams {
		if _, err := expfmt.MetricFamilyToText(&buf, f); err != nil {
			t.Fatalf("render metrics: %v", err)
		}
	}
	return buf.Bytes()
}

// Families parses a text exposition.
func Families(t testing.TB, body []byte) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parse metrics: %v", err)
	}
	return fams
}

// Value returns the value of the series of family name whose labels
// include every pair of labels (a counter's or gauge's value, a
// histogram's count), summed over the matching series; found is false
// when no series matches.
func Value(t testing.TB, body []byte, name string, labels map[string]string) (v float64, found bool) {
	t.Helper()
	fam, ok := Families(t, body)[name]
	if !ok {
		return 0, false
	}
	for _, m := range fam.GetMetric() {
		if !hasLabels(m, labels) {
			continue
		}
		found = true
		switch {
		case m.Counter != nil:
			v += m.GetCounter().GetValue()
		case m.Gauge != nil:
			v += m.GetGauge().GetValue()
		case m.Histogram != nil:
			v += float64(m.GetHistogram().GetSampleCount())
		case m.Untyped != nil:
			v += m.GetUntyped().GetValue()
		}
	}
	return v, found
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	have := map[string]string{}
	for _, l := range m.GetLabel() {
		have[l.GetName()] = l.GetValue()
	}
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}
