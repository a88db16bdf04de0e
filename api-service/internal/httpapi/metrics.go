package httpapi

import (
	"github.com/prometheus/client_golang/prometheus"

	"mailing/api-service/internal/importer"
	"mailing/shared/metrics"
)

// Metrics are the API server's own metrics. A nil *Metrics, or a nil
// field, counts nothing: tests that do not look at metrics leave it out.
type Metrics struct {
	HTTP      *metrics.HTTP
	Mailouts  *metrics.Mailouts
	Customers *metrics.Customers
	// imported counts the rows of bulk imports by result.
	imported *prometheus.CounterVec
}

// NewMetrics registers the API server's metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		HTTP:      metrics.NewHTTP(reg),
		Mailouts:  metrics.NewMailouts(reg),
		Customers: metrics.NewCustomers(reg),
		imported: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metrics.Namespace, Subsystem: "customer", Name: "import_rows_total",
			Help: "Rows of bulk customer imports, by result: inserted, updated, skipped, rejected.",
		}, []string{"result"}),
	}
	for _, r := range []string{"inserted", "updated", "skipped", "rejected"} {
		m.imported.WithLabelValues(r)
	}
	reg.MustRegister(m.imported)
	return m
}

func (m *Metrics) http() *metrics.HTTP {
	if m == nil {
		return nil
	}
	return m.HTTP
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
