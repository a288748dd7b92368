package api

import (
	"context"
	"net/http"
	"sort"
	"time"
)

func (h *Handler) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 200 only when every dependency answers within 2s.
func (h *Handler) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	names := make([]string, 0, len(h.deps.Ready))
	for n := range h.deps.Ready {
		names = append(names, n)
	}
	sort.Strings(names)
	checks := map[string]string{}
	status := http.StatusOK
	for _, n := range names {
		if err := h.deps.Ready[n].Ping(ctx); err != nil {
			checks[n] = err.Error()
			status = http.StatusServiceUnavailable
		} else {
			checks[n] = "ok"
		}
	}
	writeJSON(w, status, map[string]any{"ready": status == http.StatusOK, "checks": checks})
}
