package httpapi

import (
	"github.com/prometheus/client_golang/prometheus"

	"mailing/api-service/internal/importer"
	"mailing/shared/metrics"
)

// Customer events counted by mailing_customer_events_total.
const (
	customerCreated  = "created"
	customerUpdated  = "updated"
	customerDeleted  = "deleted"
	customerTagged   = "tag_added"
	customerUntagged = "tag_removed"
)

// Metrics are the API server's own metrics. A nil *Metrics, or a nil
// field, counts nothing: tests that do not look at metrics leave it out.
type Metrics struct {
	HTTP     *metrics.HTTP
	Mailouts *metrics.Mailouts
	// customers counts customer changes by event; imported counts the rows
	// of bulk imports by result.
	customers *prometheus.CounterVec
	imported  *prometheus.CounterVec
}

// NewMetrics registers the API server's metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		HTTP:     metrics.NewHTTP(reg),
		Mailouts: metrics.NewMailouts(reg),
		customers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metrics.Namespace, Subsystem: "customer", Name: "events_total",
			Help: "Customer changes made through the API, by event: created, updated, deleted, tag_added, tag_removed.",
		}, []string{"event"}),
		imported: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metrics.Namespace, Subsystem: "customer", Name: "import_rows_total",
			Help: "Rows of bulk customer imports, by result: inserted, updated, skipped, rejected.",
		}, []string{"result"}),
	}
	for _, e := range []string{customerCreated, customerUpdated, customerDeleted, customerTagged, customerUntagged} {
		m.customers.WithLabelValues(e)
	}
	for _, r := range []string{"inserted", "updated", "skipped", "rejected"} {
		m.imported.WithLabelValues(r)
	}
	reg.MustRegister(m.customers, m.imported)
	return m
}

func (m *Metrics) http() *metrics.HTTP {
	if m == nil {
		return nil
	}
	return m.HTTP
}

func (m *Metrics) customer(event string) {
	if m != nil && m.customers != nil {
		m.customers.WithLabelValues(event).Inc()
	}
}

func (m *Metrics) importRows(res importer.Result) {
	if m == nil || m.imported == nil {
		return
	}
	m.imported.WithLabelValues("inserted").Add(float64(res.Inserted))
	m.imported.WithLabelValues("updated").Add(float64(res.Updated))
	m.imported.WithLabelValues("skipped").Add(float64(res.Skipped))
	m.imported.WithLabelValues("rejected").Add(float64(res.Rejected))
}
