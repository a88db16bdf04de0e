package sender

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"mailing/shared/domain"
	"mailing/shared/metrics"
)

// Results of a job, counted by mailing_sender_jobs_total.
const (
	jobProcessed    = "processed"     // claimed, attempted or deferred, outcome committed
	jobNotClaimable = "not_claimable" // final, claimed elsewhere, early, or its mailout not running
	jobMalformed    = "malformed"     // undecodable; dead-lettered
	jobRequeued     = "requeued"      // claim or commit failed, or shutting down
)

// Metrics are the sender's metrics. A nil *Metrics counts nothing.
type Metrics struct {
	// Messages counts final statuses; the reconciler shares it.
	Messages *metrics.Messages
	// Mailouts counts the mailouts the sender finishes; nil counts none.
	Mailouts *metrics.Mailouts
	jobs     *prometheus.CounterVec
	retries  *prometheus.CounterVec
	deferred *prometheus.CounterVec
	inFlight prometheus.Gauge
	lag      prometheus.Histogram
	starts   startTimes
}

// NewMetrics registers the sender's metrics on reg; messages is the
// worker's shared message counter.
func NewMetrics(reg prometheus.Registerer, messages *metrics.Messages) *Metrics {
	m := &Metrics{
		Messages: messages,
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metrics.Namespace, Subsystem: "sender", Name: "jobs_total",
			Help: "message.send jobs handled, by result: processed, not_claimable, malformed, requeued.",
		}, []string{"result"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metrics.Namespace, Subsystem: "sender", Name: "retries_total",
			Help: "Retries scheduled after a failed attempt, by the attempt's reason.",
		}, []string{"reason"}),
		deferred: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metrics.Namespace, Subsystem: "sender", Name: "deferred_total",
			Help: "Messages put back without counting an attempt, by reason: window_wait (outside the send window), breaker_open, auth_paused, cancelled.",
		}, []string{"reason"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: metrics.Namespace, Subsystem: "sender", Name: "in_flight",
			Help: "Messages holding a sending slot: being claimed, sent or decided (at most SENDER_CONCURRENCY per worker).",
		}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: metrics.Namespace, Subsystem: "delivery", Name: "lag_seconds",
			Help:    "Time from a mailout's scheduled start to the external API's acceptance of each of its messages.",
			Buckets: []float64{.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 3 * 3600, 12 * 3600, 24 * 3600},
		}),
	}
	for _, r := range []string{jobProcessed, jobNotClaimable, jobMalformed, jobRequeued} {
		m.jobs.WithLabelValues(r)
	}
	reg.MustRegister(m.jobs, m.retries, m.deferred, m.inFlight, m.lag)
	return m
}

func (m *Metrics) job(result string) {
	if m != nil {
		m.jobs.WithLabelValues(result).Inc()
	}
}

func (m *Metrics) slotTaken() {
	if m != nil {
		m.inFlight.Inc()
	}
}

func (m *Metrics) slotFreed() {
	if m != nil {
		m.inFlight.Dec()
	}
}

// recorded counts a committed outcome. startAt looks up a mailout's start
// for the delivery lag; it is called once per mailout and cached.
func (m *Metrics) recorded(ctx context.Context, r result, startAt func(context.Context, int64) (time.Time, error)) {
	if m == nil {
		return
	}
	reason := r.out.Reason.Label()
	switch r.out.Status {
	case domain.MessagePending:
		if r.out.CountAttempt {
			m.retries.WithLabelValues(reason).Inc()
		} else {
			m.deferred.WithLabelValues(reason).Inc()
		}
		return
	case domain.MessageExpired:
		m.Messages.Expired(r.out.Reason, 1)
	case domain.MessageSent:
		if start, ok := m.starts.get(ctx, r.job.MailoutID, startAt); ok {
			m.lag.Observe(max(r.out.At.Sub(start), 0).Seconds())
		}
	}
	m.Messages.Final(string(r.out.Status), 1)
}

// startTimes caches mailouts' start times for the delivery lag: a
// running mailout's start never changes, and one lookup per mailout keeps
// the database out of the per-message path.
type startTimes struct {
	mu sync.Mutex
	m  map[int64]time.Time
}

// maxCachedStarts bounds the cache; it is emptied when full, since only
// the few mailouts running at once are ever looked up.
const maxCachedStarts = 1024

func (c *startTimes) get(ctx context.Context, id int64, load func(context.Context, int64) (time.Time, error)) (time.Time, bool) {
	c.mu.Lock()
	t, ok := c.m[id]
	c.mu.Unlock()
	if ok {
		return t, true
	}
	if load == nil {
		return time.Time{}, false
	}
	// A slow database must not hold up the batch whose outcomes wait on it.
	lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	t, err := load(lctx, id)
	cancel()
	if err != nil {
		return time.Time{}, false // the lag is skipped, never the delivery
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedStarts {
		c.m = map[int64]time.Time{}
	}
	c.m[id] = t
	c.mu.Unlock()
	return t, true
}

// finished counts n mailouts the sender finished.
func (m *Metrics) finished(n int) {
	if m == nil || m.Mailouts == nil {
		return
	}
	for range n {
		m.Mailouts.Event(metrics.MailoutFinished)
	}
}
