package metrics

import "github.com/prometheus/client_golang/prometheus"

// Mailout lifecycle events. The API counts the first four, the worker
// the last two.
const (
	MailoutCreated   = "created"
	MailoutUpdated   = "updated"
	MailoutCancelled = "cancelled"
	MailoutDeleted   = "deleted"
	MailoutStarted   = "started"
	MailoutFinished  = "finished"
)

// Mailouts counts mailout lifecycle events. A nil *Mailouts counts
// nothing, so components built without metrics need no checks.
type Mailouts struct {
	events *prometheus.CounterVec
}

// NewMailouts registers the mailout event counter on reg.
func NewMailouts(reg prometheus.Registerer) *Mailouts {
	m := &Mailouts{events: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Subsystem: "mailout", Name: "events_total",
		Help: "Mailout lifecycle events: created, updated, cancelled, deleted (API); started, finished (worker).",
	}, []string{"event"})}
	// Every series exists from the start, so rate() sees the first event.
	for _, e := range []string{MailoutCreated, MailoutUpdated, MailoutCancelled, MailoutDeleted, MailoutStarted, MailoutFinished} {
		m.events.WithLabelValues(e)
	}
	reg.MustRegister(m.events)
	return m
}

// Event counts one event.
func (m *Mailouts) Event(event string) {
	if m != nil {
		m.events.WithLabelValues(event).Inc()
	}
}
