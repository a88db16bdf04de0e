package metricstest

import (
	"testing"

	"mailing/shared/testkit"
)

// check is the failure of Check on body, "" if it passes.
func check(t *testing.T, body string) string {
	return testkit.Failure(t, func(t testing.TB) { Check(t, []byte(body)) })
}

func TestCheckRejectsBadExpositions(t *testing.T) {
	if msg := check(t, "# HELP ok_total fine.\n# TYPE ok_total counter\nok_total 1\n"); msg != "" {
		t.Fatalf("a good exposition failed: %s", msg)
	}
	for _, bad := range []string{
		"# HELP foo_count x\n# TYPE foo_count counter\nfoo_count 1\n", // counter without _total
		"foo 1\n", // no help
		"# HELP x y\n# TYPE x gauge\nx{a=\"1\" 1\n", // not parseable
	} {
		if msg := check(t, bad); msg == "" {
			t.Errorf("promtool accepted %q", bad)
		}
	}
}

func TestValueSumsMatchingSeries(t *testing.T) {
	body := []byte("# HELP r_total r.\n# TYPE r_total counter\nr_total{a=\"1\",b=\"x\"} 2\nr_total{a=\"1\",b=\"y\"} 3\nr_total{a=\"2\",b=\"x\"} 5\n")
	if v, ok := Value(t, body, "r_total", map[string]string{"a": "1"}); !ok || v != 5 {
		t.Fatalf("Value = %v, %v; want 5, true", v, ok)
	}
	if _, ok := Value(t, body, "r_total", map[string]string{"a": "3"}); ok {
		t.Fatal("no series has a=3")
	}
}
