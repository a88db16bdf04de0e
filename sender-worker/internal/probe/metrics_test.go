package probe

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"mailing/shared/domain"
	"mailing/shared/metrics/metricstest"
	"mailing/shared/testkit"
)

// Requests are counted by outcome and reason, refusals of the open breaker
// apart, and the breaker's state and transitions follow it.
func TestMetricsFollowRequestsAndBreaker(t *testing.T) {
	var failing atomic.Bool
	failing.Store(true)
	srv := newServer(t, switchable(&failing))
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	c := newClient(t, srv.base(), nil, func(cfg *Config) {
		cfg.Breaker = BreakerConfig{ConsecutiveFailures: 2, OpenTimeout: 200 * time.Millisecond}
		cfg.Metrics = m
	})
	mustSend(t, c, Transient)
	mustSend(t, c, Transient)
	mustSend(t, c, Deferred)

	body := metricstest.Gather(t, reg)
	want := []struct {
		name   string
		labels map[string]string
		v      float64
	}{
		{"mailing_probe_requests_total", map[string]string{"outcome": "transient", "reason": string(domain.ReasonHTTP5xx)}, 2},
		{"mailing_probe_request_duration_seconds", map[string]string{"outcome": "transient"}, 2},
		{"mailing_probe_breaker_rejections_total", nil, 1},
		{"mailing_probe_breaker_state", map[string]string{"state": "open"}, 1},
		{"mailing_probe_breaker_state", map[string]string{"state": "closed"}, 0},
		{"mailing_probe_breaker_transitions_total", map[string]string{"from": "closed", "to": "open"}, 1},
		{"mailing_probe_requests_in_flight", nil, 0},
	}
	for _, w := range want {
		if v, ok := metricstest.Value(t, body, w.name, w.labels); !ok || v != w.v {
			t.Errorf("%s%v = %v (found %v), want %v", w.name, w.labels, v, ok, w.v)
		}
	}

	failing.Store(false)
	testkit.Eventually(t, "breaker half-open", 30*time.Second, func() bool { return c.State() == StateHalfOpen })
	mustSend(t, c, Sent)
	body = metricstest.Gather(t, reg)
	if v, _ := metricstest.Value(t, body, "mailing_probe_breaker_state", map[string]string{"state": "closed"}); v != 1 {
		t.Errorf("breaker_state{closed} = %v after recovery, want 1", v)
	}
	if v, _ := metricstest.Value(t, body, "mailing_probe_requests_total", map[string]string{"outcome": "sent", "reason": string(domain.ReasonOK)}); v != 1 {
		t.Errorf("requests_total{sent} = %v, want 1", v)
	}
	metricstest.Check(t, body)
}
