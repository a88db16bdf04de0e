package planner

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"mailing/shared/metrics"
)

// Results of a start, counted by mailing_planner_starts_total.
const (
	startStarted    = "started"     // messages created and their jobs published
	startResumed    = "resumed"     // already running: pending jobs published again
	startStale      = "stale"       // old version, cancelled or finished: ignored
	startExpired    = "expired"     // ended before it could start: finished empty
	startEarly      = "early"       // not due yet: the event is delayed again
	startFailed     = "failed"      // database or broker error: retried
	startMalformed  = "malformed"   // undecodable event: dead-lettered
	startOtherTopic = "other_topic" // an event of a topic the planner has no handler for: dead-lettered
	startDispatched = "dispatched"  // a dispatch event: the parked messages' jobs published
)

// Metrics are the planner's metrics. A nil *Metrics counts nothing.
type Metrics struct {
	Mailouts *metrics.Mailouts
	starts   *prometheus.CounterVec
	duration prometheus.Histogram
	size     prometheus.Histogram
}

// NewMetrics registers the planner's metrics on reg; mailouts is the
// worker's mailout event counter.
func NewMetrics(reg prometheus.Registerer, mailouts *metrics.Mailouts) *Metrics {
	m := &Metrics{
		Mailouts: mailouts,
		starts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metrics.Namespace, Subsystem: "planner", Name: "starts_total",
			Help: "Mailout starts handled (start events and the reconciler's repairs), by result: started, resumed, stale, expired, early, failed, malformed, other_topic.",
		}, []string{"result"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: metrics.Namespace, Subsystem: "fanout", Name: "duration_seconds",
			Help:    "Time to fan a mailout out: create its messages and publish one job per message.",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}),
		size: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: metrics.Namespace, Subsystem: "fanout", Name: "jobs",
			Help:    "Jobs published by one fan-out (the mailout's pending messages).",
			Buckets: prometheus.ExponentialBuckets(1, 10, 8), // 1 to 10 million
		}),
	}
	for _, r := range []string{startStarted, startResumed, startStale, startExpired, startEarly, startFailed, startMalformed, startOtherTopic, startDispatched} {
		m.starts.WithLabelValues(r)
	}
	reg.MustRegister(m.starts, m.duration, m.size)
	return m
}

func (m *Metrics) start(result string) {
	if m == nil {
		return
	}
	m.starts.WithLabelValues(result).Inc()
	switch result {
	case startStarted:
		m.Mailouts.Event(metrics.MailoutStarted)
	case startExpired:
		// It is finished at once, without messages.
		m.Mailouts.Event(metrics.MailoutFinished)
	}
}

func (m *Metrics) fanout(jobs int, d time.Duration) {
	if m != nil {
		m.size.Observe(float64(jobs))
		m.duration.Observe(d.Seconds())
	}
}
