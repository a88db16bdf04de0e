package probesim

import "github.com/prometheus/client_golang/prometheus"

// Collector exposes the server's counters (Stats) to Prometheus, read on
// each scrape so the send path pays nothing for them. POST /control/reset
// zeroes them, which Prometheus treats as a counter reset.
type Collector struct {
	s        *Server
	requests *prometheus.Desc
	outcomes *prometheus.Desc
	faults   *prometheus.Desc
}

// NewCollector returns a collector of s's counters; register it on the
// process's registry.
func NewCollector(s *Server) *Collector {
	return &Collector{
		s: s,
		requests: prometheus.NewDesc("probesim_requests_total",
			"Requests that arrived at the send endpoint.", nil, nil),
		outcomes: prometheus.NewDesc("probesim_outcomes_total",
			"Requests to the send endpoint by what became of them: accepted, an injected fault (500, 400, 429, 503, garbage, code_nonzero), unauthorized, bad_request, dropped, hung, abandoned.",
			[]string{"outcome"}, nil),
		faults: prometheus.NewDesc("probesim_fault_rate",
			"Configured share of sends answered with each injected fault.", []string{"fault"}, nil),
	}
}

// Describe sends the descriptors of every metric.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.requests
	ch <- c.outcomes
	ch <- c.faults
}

// Collect reads the counters and the current faults.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(c.requests, prometheus.CounterValue, float64(c.s.requests.Load()))
	for o := range numOutcomes {
		ch <- prometheus.MustNewConstMetric(c.outcomes, prometheus.CounterValue, float64(c.s.counts[o].Load()), o.String())
	}
	for _, r := range c.s.Faults().rates() {
		ch <- prometheus.MustNewConstMetric(c.faults, prometheus.GaugeValue, r.v, r.name)
	}
}
