package main

import (
	"net/http"
	"testing"

	"mailing/shared/metrics/metricstest"
)

// /metrics counts every request by route and the send endpoint's answers
// by outcome, and passes promtool's checks.
func TestMetricsEndpoint(t *testing.T) {
	p := start(t, []string{"-secret", secret, "-rate-500", "0"}, nil)
	tok := token(t, []string{"-secret", secret}, nil)
	p.must(t, "POST", "/v1/send/1", tok, sendBody(1), http.StatusOK, nil)
	p.must(t, "POST", "/v1/send/2", tok, sendBody(2), http.StatusOK, nil)
	p.must(t, "POST", "/v1/send/3", "", sendBody(3), http.StatusUnauthorized, nil)
	p.must(t, "PUT", "/control/faults", "", `{"rate_500": 1}`, http.StatusOK, nil)
	p.must(t, "POST", "/v1/send/4", tok, sendBody(4), http.StatusInternalServerError, nil)

	body := metricstest.Scrape(t, p.base+"/metrics")
	metricstest.Check(t, body)
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"probesim_requests_total", nil, 4},
		{"probesim_outcomes_total", map[string]string{"outcome": "accepted"}, 2},
		{"probesim_outcomes_total", map[string]string{"outcome": "unauthorized"}, 1},
		{"probesim_outcomes_total", map[string]string{"outcome": "500"}, 1},
		{"probesim_fault_rate", map[string]string{"fault": "rate_500"}, 1},
		{"mailing_http_requests_total", map[string]string{"route": "/v1/send/{id}", "method": "POST", "status": "200"}, 2},
		{"mailing_http_requests_total", map[string]string{"route": "/control/faults", "method": "PUT"}, 1},
	} {
		if got, ok := metricstest.Value(t, body, c.name, c.labels); !ok || got != c.want {
			t.Errorf("%s%v = %v (found %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
}
