package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"mailing/shared/domain"
)

// Messages counts messages reaching a final status. The sender and the
// reconciler of a worker share one, so every way a message ends is
// counted in the same series.
type Messages struct {
	final   *prometheus.CounterVec
	expired *prometheus.CounterVec
}

// NewMessages registers the message counters on reg.
func NewMessages(reg prometheus.Registerer) *Messages {
	m := &Messages{
		final: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "messages", Name: "final_total",
			Help: "Messages that reached a final status (sent, failed, expired, cancelled), as recorded by workers.",
		}, []string{"status"}),
		expired: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "messages", Name: "expired_total",
			Help: "Messages expired, by reason: why their end time came before a successful attempt.",
		}, []string{"reason"}),
	}
	for _, s := range domain.MessageStatuses {
		if s.Final() {
			m.final.WithLabelValues(string(s))
		}
	}
	reg.MustRegister(m.final, m.expired)
	return m
}

// Final counts n messages reaching status.
func (m *Messages) Final(status string, n int) {
	if m != nil && n > 0 {
		m.final.WithLabelValues(status).Add(float64(n))
	}
}

// Expired counts n messages expired for reason, labelled with its code
// (unknown codes as "other"). It does not count them as final: call Final
// too.
func (m *Messages) Expired(reason domain.Reason, n int) {
	if m != nil && n > 0 {
		m.expired.WithLabelValues(reason.Label()).Add(float64(n))
	}
}
