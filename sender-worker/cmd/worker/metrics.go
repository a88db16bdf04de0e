package main

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"mailing/sender-worker/internal/planner"
	"mailing/sender-worker/internal/probe"
	"mailing/sender-worker/internal/reconciler"
	"mailing/sender-worker/internal/sender"
	"mailing/shared/metrics"
	"mailing/shared/postgres"
)

// workerMetrics is the worker's registry and every component's metrics,
// served on WORKER_HTTP_ADDR at /metrics.
type workerMetrics struct {
	reg        *prometheus.Registry
	http       *metrics.HTTP
	probe      *probe.Metrics
	planner    *planner.Metrics
	sender     *sender.Metrics
	reconciler *reconciler.Metrics
}

func newWorkerMetrics(db *postgres.DB) *workerMetrics {
	reg := metrics.NewRegistry()
	reg.MustRegister(collectors.NewDBStatsCollector(db.SQL(), "mailing"))
	// The sender and the reconciler both end messages, the planner and the
	// reconciler both change mailouts: they share these counters.
	messages, mailouts := metrics.NewMessages(reg), metrics.NewMailouts(reg)
	sm := sender.NewMetrics(reg, messages)
	sm.Mailouts = mailouts
	return &workerMetrics{
		reg:        reg,
		http:       metrics.NewHTTP(reg),
		probe:      probe.NewMetrics(reg),
		planner:    planner.NewMetrics(reg, mailouts),
		sender:     sm,
		reconciler: reconciler.NewMetrics(reg, messages, mailouts),
	}
}
