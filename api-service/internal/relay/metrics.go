package relay

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"mailing/shared/metrics"
	"mailing/shared/postgres"
)

// Metrics are the relay's metrics. A nil *Metrics counts nothing.
type Metrics struct {
	published *prometheus.CounterVec
	failures  prometheus.Counter
	lag       prometheus.Histogram
}

// NewMetrics registers the relay's metrics on reg, with the outbox
// backlog read from db on every scrape (so every API replica reports the
// same shared backlog, and a stuck relay cannot hide it).
func NewMetrics(reg prometheus.Registerer, db Backlogger) *Metrics {
	m := &Metrics{
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metrics.Namespace, Subsystem: "outbox", Name: "published_total",
			Help: "Outbox events published to the broker and confirmed, by topic.",
		}, []string{"topic"}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: metrics.Namespace, Subsystem: "outbox", Name: "publish_failures_total",
			Help: "Relay passes whose publish or database write failed (the events are retried).",
		}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: metrics.Namespace, Subsystem: "outbox", Name: "relay_lag_seconds",
			Help:    "Time from an event's commit to the outbox to its confirmed publication.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600},
		}),
	}
	reg.MustRegister(m.published, m.failures, m.lag, newBacklogCollector(db))
	return m
}

func (m *Metrics) observePublished(events []postgres.OutboxEvent, now time.Time) {
	if m == nil {
		return
	}
	for _, e := range events {
		m.published.WithLabelValues(e.Topic).Inc()
		m.lag.Observe(max(now.Sub(e.CreatedAt), 0).Seconds())
	}
}

func (m *Metrics) failed() {
	if m != nil {
		m.failures.Inc()
	}
}

// backlogCollector reads the outbox backlog when scraped.
type backlogCollector struct {
	db     Backlogger
	events *prometheus.Desc
	age    *prometheus.Desc
}

func newBacklogCollector(db Backlogger) *backlogCollector {
	return &backlogCollector{
		db: db,
		events: prometheus.NewDesc(metrics.Namespace+"_outbox_backlog",
			"Outbox events committed but not yet published (all relays together).", nil, nil),
		age: prometheus.NewDesc(metrics.Namespace+"_outbox_oldest_age_seconds",
			"Age of the oldest unpublished outbox event; 0 when the outbox is empty.", nil, nil),
	}
}

func (c *backlogCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.events
	ch <- c.age
}

// Collect queries the database with a short timeout: a scrape must not
// hang on a slow database. On failure both series are reported invalid,
// which the handler logs and leaves out.
func (c *backlogCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	n, age, err := c.db.Backlog(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.events, err)
		ch <- prometheus.NewInvalidMetric(c.age, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.events, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(c.age, prometheus.GaugeValue, age.Seconds())
}

// Backlogger reports the outbox's backlog: unpublished events and the age
// of the oldest.
type Backlogger interface {
	Backlog(ctx context.Context) (int64, time.Duration, error)
}
