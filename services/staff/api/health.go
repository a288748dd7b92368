package api

import (
	"context"
	"net/http"
	"sort"
	"sync"
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

// checkTimeout bounds each readiness check, on its own: a dependency that
// does not answer never uses up another's time.
const checkTimeout = 2 * time.Second

// ready asks every dependency at once, each with its own deadline, and
// names the ones that fail.
func ready(w http.ResponseWriter, r *http.Request, deps map[string]Pinger) {
	names := make([]string, 0, len(deps))
	for n := range deps {
		names = append(names, n)
	}
	sort.Strings(names)
	results := make([]error, len(names))
	var wg sync.WaitGroup
	for i, n := range names {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(r.Context(), checkTimeout)
			defer cancel()
			results[i] = deps[n].Ping(ctx)
		})
	}
	wg.Wait()
	checks := map[string]string{}
	var down []string
	for i, n := range names {
		if err := results[i]; err != nil {
			checks[n] = err.Error()
			down = append(down, n)
		} else {
			checks[n] = "ok"
		}
	}
	status, body := http.StatusOK, map[string]any{"ready": len(down) == 0, "checks": checks}
	if len(down) > 0 {
		status, body["down"] = http.StatusServiceUnavailable, down
	}
	writeJSON(w, status, body)
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
