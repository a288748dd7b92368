package api

import (
	"context"
	"net/http"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func (h *Handler) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 200 only when every dependency answers within 2s.
func (h *Handler) readyz(w http.ResponseWriter, r *http.Request) {
	ready(w, r, h.deps.Ready)
}

func ready(w http.ResponseWriter, r *http.Request, deps map[string]Pinger) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	names := make([]string, 0, len(deps))
	for n := range deps {
		names = append(names, n)
	}
	sort.Strings(names)
	checks := map[string]string{}
	status := http.StatusOK
	for _, n := range names {
		if err := deps[n].Ping(ctx); err != nil {
			checks[n] = err.Error()
			status = http.StatusServiceUnavailable
		} else {
			checks[n] = "ok"
		}
	}
	writeJSON(w, status, map[string]any{"ready": status == http.StatusOK, "checks": checks})
}

// Probes serves /healthz, /readyz (every dependency of deps) and /metrics
// (g) for a process that serves nothing else — a router, a notifier, an
// IMAP reader — so that an orchestrator can watch it as it watches the API.
func Probes(deps map[string]Pinger, g prometheus.Gatherer) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) { ready(w, r, deps) })
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	return mux
}
