package webhook

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are what the service counts.
type metrics struct {
	filed    prometheus.Counter
	attempts *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		filed: prometheus.NewCounter(prometheus.CounterOpts{Name: "guichet_webhook_deliveries_filed_total",
			Help: "Deliveries filed: one per case event and subscription that wants it."}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "guichet_webhook_attempts_total",
			Help: "Delivery attempts, by outcome: delivered, pending (to be retried), dead (schedule exhausted)."}, []string{"outcome"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.filed, m.attempts} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("webhook: metrics: %w", err)
		}
	}
	return m, nil
}
