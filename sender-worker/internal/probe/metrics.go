package probe

import (
	"github.com/prometheus/client_golang/prometheus"

	"mailing/shared/domain"
	"mailing/shared/metrics"
)

// Metrics are the client's metrics. A nil *Metrics counts nothing.
type Metrics struct {
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	inFlight    prometheus.Gauge
	rejected    prometheus.Counter
	state       *prometheus.GaugeVec
	transitions *prometheus.CounterVec
}

// NewMetrics registers the client's metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metrics.Namespace, Subsystem: "probe", Name: "requests_total",
			Help: "Requests made to the external sending API, by outcome class (sent, permanent, auth, transient) and reason.",
		}, []string{"outcome", "reason"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: metrics.Namespace, Subsystem: "probe", Name: "request_duration_seconds",
			Help:    "Time from sending a request to the external API to having read its answer (or given up), by outcome class.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"outcome"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: metrics.Namespace, Subsystem: "probe", Name: "requests_in_flight",
			Help: "Requests to the external API waiting for their answer.",
		}),
		rejected: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: metrics.Namespace, Subsystem: "probe", Name: "breaker_rejections_total",
			Help: "Sends refused without a request because the circuit breaker was open.",
		}),
		state: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: metrics.Namespace, Subsystem: "probe", Name: "breaker_state",
			Help: "Circuit breaker state: 1 for the current state (closed, half-open, open), 0 for the others.",
		}, []string{"state"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metrics.Namespace, Subsystem: "probe", Name: "breaker_transitions_total",
			Help: "Circuit breaker state changes, by previous and new state.",
		}, []string{"from", "to"}),
	}
	m.setState(StateClosed)
	reg.MustRegister(m.requests, m.duration, m.inFlight, m.rejected, m.state, m.transitions)
	return m
}

// begin and end bracket one request on the wire.
func (m *Metrics) begin() {
	if m != nil {
		m.inFlight.Inc()
	}
}

func (m *Metrics) end() {
	if m != nil {
		m.inFlight.Dec()
	}
}

// observe records a request that was made. Outcomes and reasons come from
// fixed sets (result.go), so the labels stay bounded.
func (m *Metrics) observe(r Result) {
	if m == nil || r.Reason == domain.ReasonInvalidMessage {
		return // no request was made
	}
	m.requests.WithLabelValues(string(r.Outcome), string(r.Reason)).Inc()
	m.duration.WithLabelValues(string(r.Outcome)).Observe(r.Latency.Seconds())
}

func (m *Metrics) rejectedByBreaker() {
	if m != nil {
		m.rejected.Inc()
	}
}

func (m *Metrics) transition(from, to State) {
	if m == nil {
		return
	}
	m.transitions.WithLabelValues(from.String(), to.String()).Inc()
	m.setState(to)
}

func (m *Metrics) setState(s State) {
	for _, st := range []State{StateClosed, StateHalfOpen, StateOpen} {
		v := 0.0
		if st == s {
			v = 1
		}
		m.state.WithLabelValues(st.String()).Set(v)
	}
}
