package reconciler

import (
	"github.com/prometheus/client_golang/prometheus"

	"mailing/shared/domain"
	"mailing/shared/metrics"
)

// Kinds of repair, counted by mailing_reconciler_repairs_total.
const (
	repairMailoutStarted  = "mailout_started"   // due mailout whose start event was lost
	repairClaimReleased   = "claim_released"    // claim of a stopped worker taken back
	repairMessageExpired  = "message_expired"   // pending message past its end time
	repairMessageCanceled = "message_cancelled" // pending message of a cancelled mailout
	repairJobRepublished  = "job_republished"   // job that never arrived published again
	repairMailoutFinished = "mailout_finished"  // every message final: mailout finished
)

// Metrics are the reconciler's metrics. A nil *Metrics counts nothing.
type Metrics struct {
	// Messages and Mailouts are the worker's shared counters: expiries and
	// cancellations here are final statuses, finishing is a mailout event.
	Messages *metrics.Messages
	Mailouts *metrics.Mailouts
	repairs  *prometheus.CounterVec
	passes   *prometheus.CounterVec
}

// NewMetrics registers the reconciler's metrics on reg.
func NewMetrics(reg prometheus.Registerer, messages *metrics.Messages, mailouts *metrics.Mailouts) *Metrics {
	m := &Metrics{
		Messages: messages,
		Mailouts: mailouts,
		repairs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metrics.Namespace, Subsystem: "reconciler", Name: "repairs_total",
			Help: "Repairs made from the database, by kind: mailout_started, claim_released, message_expired, message_cancelled, job_republished, mailout_finished.",
		}, []string{"kind"}),
		passes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metrics.Namespace, Subsystem: "reconciler", Name: "passes_total",
			Help: "Reconciler passes, by result: ok or error.",
		}, []string{"result"}),
	}
	for _, k := range []string{repairMailoutStarted, repairClaimReleased, repairMessageExpired, repairMessageCanceled, repairJobRepublished, repairMailoutFinished} {
		m.repairs.WithLabelValues(k)
	}
	m.passes.WithLabelValues("ok")
	m.passes.WithLabelValues("error")
	reg.MustRegister(m.repairs, m.passes)
	return m
}

func (m *Metrics) repaired(kind string, n int) {
	if m == nil || n <= 0 {
		return
	}
	m.repairs.WithLabelValues(kind).Add(float64(n))
	switch kind {
	case repairMessageExpired:
		m.Messages.Final("expired", n)
		m.Messages.Expired(domain.ReasonExpired, n)
	case repairMessageCanceled:
		m.Messages.Final("cancelled", n)
	case repairMailoutFinished:
		for range n {
			m.Mailouts.Event(metrics.MailoutFinished)
		}
	}
}

func (m *Metrics) pass(err error) {
	if m == nil {
		return
	}
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.passes.WithLabelValues(result).Inc()
}
