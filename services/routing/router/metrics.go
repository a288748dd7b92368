package router

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	processed *prometheus.CounterVec
	duration  prometheus.Histogram
	dead      prometheus.Counter
	relayed   prometheus.Counter
	breached  prometheus.Counter
	batch     prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		processed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "guichet_router_requests_total",
			Help: "Requests handled by the router, by outcome (new_case, linked, triage, replay, invalid, error).",
		}, []string{"outcome"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "guichet_router_request_duration_seconds",
			Help:    "Time to route one request, from delivery to commit and publication.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		dead: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "guichet_router_dead_letters_total",
			Help: "Requests sent to the DEAD stream.",
		}),
		relayed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "guichet_router_outbox_relayed_total",
			Help: "Case events published by the outbox relay rather than by the router that committed them.",
		}),
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "guichet_router_batch_size",
			Help:    "Requests routed per transaction.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128},
		}),
		breached: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "guichet_cases_deadline_breached_total",
			Help: "Case deadlines found passed by the deadline timer.",
		}),
	}
	// Every outcome shows from the start, at zero.
	for _, o := range []string{"new_case", "linked", "triage", "replay", "invalid", "error"} {
		m.processed.WithLabelValues(o)
	}
	for _, c := range []prometheus.Collector{m.processed, m.duration, m.dead, m.relayed, m.breached, m.batch} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("router: metrics: %w", err)
		}
	}
	return m, nil
}
