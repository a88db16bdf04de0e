package metrics

import "github.com/prometheus/client_golang/prometheus"

// Mailout lifecycle events. The API counts created, updated, cancelled,
// deleted, paused, resumed and retried; the worker started and finished.
const (
	MailoutCreated   = "created"
	MailoutUpdated   = "updated"
	MailoutCancelled = "cancelled"
	MailoutDeleted   = "deleted"
	MailoutStarted   = "started"
	MailoutFinished  = "finished"
	MailoutPaused    = "paused"
	MailoutResumed   = "resumed"
	MailoutRetried   = "retried"
)

// Mailouts counts mailout lifecycle events. A nil *Mailouts counts
// nothing, so components built without metrics need no checks.
type Mailouts struct {
	events *prometheus.CounterVec
}

// NewMailouts registers the mailout event counter on reg.
func NewMailouts(reg prometheus.Registerer) *Mailouts {
	return &Mailouts{events: newEventCounter(reg, "mailout",
		"Mailout lifecycle events: created, updated, cancelled, deleted, paused, resumed, retried (API); started, finished (worker).",
		MailoutCreated, MailoutUpdated, MailoutCancelled, MailoutDeleted, MailoutStarted, MailoutFinished,
		MailoutPaused, MailoutResumed, MailoutRetried)}
}

// newEventCounter registers <subsystem>_events_total with one series per
// event, each present from the start so rate() sees the first one.
func newEventCounter(reg prometheus.Registerer, subsystem, help string, events ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Subsystem: subsystem, Name: "events_total", Help: help,
	}, []string{"event"})
	for _, e := range events {
		c.WithLabelValues(e)
	}
	reg.MustRegister(c)
	return c
}

// Event counts one event.
func (m *Mailouts) Event(event string) {
	if m != nil {
		m.events.WithLabelValues(event).Inc()
	}
}
