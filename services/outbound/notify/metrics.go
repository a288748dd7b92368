package notify

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ampmetropole/guichet/services/platform/mailer"
)

// metrics are what the notifier counts, by kind of message
// (acknowledgement, status, reply, merged, breach) and way (email, sms,
// letter).
type metrics struct {
	sent, failed *prometheus.CounterVec
	withheld     prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "guichet_notifier_sent_total",
			Help: "Messages sent to citizens and staff (letters: put in the mailroom's batch), by kind and way."}, []string{"kind", "by"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "guichet_notifier_send_failures_total",
			Help: "Sendings that failed (retried later), by kind and way."}, []string{"kind", "by"}),
		withheld: prometheus.NewCounter(prometheus.CounterOpts{Name: "guichet_notifier_acknowledgements_withheld_total",
			Help: "Acknowledgements not sent because their address had received its hourly share."}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.sent, m.failed, m.withheld} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("notify: metrics: %w", err)
		}
	}
	return m, nil
}

// send sends an e-mail of a kind and counts it.
func (n *Notifier) send(ctx context.Context, kind string, msg mailer.Message) error {
	if err := n.sender.Send(ctx, msg); err != nil {
		n.metrics.failed.WithLabelValues(kind, ByEmail).Inc()
		return err
	}
	n.metrics.sent.WithLabelValues(kind, ByEmail).Inc()
	return nil
}
