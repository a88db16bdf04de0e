package metrics_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"mailing/shared/metrics/metricstest"
)

// promDir is deploy/prometheus, seen from this package's directory.
var promDir = filepath.Join("..", "..", "deploy", "prometheus")

// The Prometheus configuration of the deployment is valid, its rules load,
// and the rules' unit tests pass.
func TestPrometheusConfiguration(t *testing.T) {
	metricstest.RunPromtool(t, nil, "check", "config", filepath.Join(promDir, "prometheus.yml"))
	metricstest.RunPromtool(t, nil, "check", "rules", filepath.Join(promDir, "alerts.yml"))
	out := metricstest.RunPromtool(t, nil, "test", "rules", filepath.Join(promDir, "alerts_test.yml"))
	if !strings.Contains(out, "SUCCESS") {
		t.Fatalf("promtool test rules did not succeed:\n%s", out)
	}
}

// Every alert has a unit test, and every metric of ours that an alert
// reads is documented.
func TestAlertsAreTestedAndDocumented(t *testing.T) {
	rules := read(t, filepath.Join(promDir, "alerts.yml"))
	tests := read(t, filepath.Join(promDir, "alerts_test.yml"))
	docs := read(t, filepath.Join("..", "..", "docs", "metrics.md"))
	alerts := regexp.MustCompile(`(?m)^\s*- alert: (\w+)`).FindAllStringSubmatch(rules, -1)
	if len(alerts) == 0 {
		t.Fatal("no alerts found in alerts.yml")
	}
	for _, a := range alerts {
		if !strings.Contains(tests, "alertname: "+a[1]+"\n") {
			t.Errorf("alert %s has no unit test in alerts_test.yml", a[1])
		}
		if !strings.Contains(docs, "`"+a[1]+"`") {
			t.Errorf("alert %s is not listed in docs/metrics.md", a[1])
		}
	}
	for _, m := range regexp.MustCompile(`\bmailing_[a-z_]+`).FindAllString(rules, -1) {
		if !strings.Contains(docs, "`"+m+"`") {
			t.Errorf("alerts.yml reads %s, which docs/metrics.md does not describe", m)
		}
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
