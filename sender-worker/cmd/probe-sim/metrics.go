package main

import (
	"log/slog"
	"net/http"

	"mailing/sender-worker/probesim"
	"mailing/shared/metrics"
)

// withMetrics serves /metrics beside the simulator and counts every
// request to it by route.
func withMetrics(sim *probesim.Server, log *slog.Logger) http.Handler {
	reg := metrics.NewRegistry()
	reg.MustRegister(probesim.NewCollector(sim))
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics.Handler(reg, log))
	mux.Handle("/", sim)
	return metrics.NewHTTP(reg).Middleware(mux)
}
