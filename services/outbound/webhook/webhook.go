// Package webhook tells partner systems of case events by Standard
// Webhooks (https://www.standardwebhooks.com/): an admin subscribes an
// endpoint with filters (competences, territories, communes, event
// types), and every matching event of the CASES stream is POSTed to it,
// signed with the subscription's secret, retried with back-off and
// dead-lettered past its schedule.
//
// Two halves, so that a receiver that is away never holds up the stream:
// a durable NATS consumer files one delivery row per event and
// subscription (idempotent on redelivery), then acknowledges; workers
// send the rows that are due, shared between processes by FOR UPDATE
// SKIP LOCKED. The body carries references and codes only, no personal
// data.
package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/platform/bus"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

// Durable is the consumer's name on CASES.
const Durable = "webhooks"

// DefaultBackoff is the wait before each retry of a delivery that failed;
// past the last, the delivery is dead (ten attempts over about 16 hours).
var DefaultBackoff = []time.Duration{5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute,
	30 * time.Minute, time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour}

// Config tunes the service.
type Config struct {
	// PublicURL is the base of the link to the case's page for staff in
	// each event, e.g. https://demarches.ampmetropole.fr.
	PublicURL string
	// Backoff is the wait before retry n; its length is the number of
	// retries. Default DefaultBackoff.
	Backoff []time.Duration
	// Workers send deliveries at once (default 4); Timeout bounds one
	// attempt (default 10 s); Poll is how often idle workers look for due
	// deliveries filed by other processes or retries (default 1 s).
	Workers int
	Timeout time.Duration
	Poll    time.Duration
	// Keep is how long delivered rows are kept (default 30 days).
	Keep time.Duration
	// MaxAttempts, ConsumerBackoff and AckWait tune the NATS consumer that
	// files the deliveries (bus defaults).
	MaxAttempts     int
	ConsumerBackoff []time.Duration
	AckWait         time.Duration
	// Metrics registers guichet_webhook_*; nil: counted, not exported.
	Metrics prometheus.Registerer
}

func (c *Config) setDefaults() {
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if len(c.Backoff) == 0 {
		c.Backoff = DefaultBackoff
	}
	if c.Workers <= 0 {
		c.Workers = 4
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.Poll <= 0 {
		c.Poll = time.Second
	}
	if c.Keep <= 0 {
		c.Keep = 30 * 24 * time.Hour
	}
}

// Service files and sends the deliveries.
type Service struct {
	cfg      Config
	conn     *bus.Conn
	store    *Store
	log      *slog.Logger
	metrics  *metrics
	sender   *sender
	consumer *bus.Consumer
	// kick wakes an idle worker: a delivery was filed or claimed.
	kick chan struct{}

	mu     sync.Mutex
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New builds the service; Start runs it.
func New(cfg Config, conn *bus.Conn, store *Store, log *slog.Logger) (*Service, error) {
	cfg.setDefaults()
	m, err := newMetrics(cfg.Metrics)
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, conn: conn, store: store, log: log.With("service", "webhooks"), metrics: m, kick: make(chan struct{}, 1)}
	s.sender = newSender(cfg.Timeout, store.rules)
	return s, nil
}

// Start creates the durable consumer and starts the workers, until Stop.
func (s *Service) Start(ctx context.Context) error {
	c, err := bus.NewConsumer(s.conn.JS, bus.ConsumerConfig{
		Stream: bus.StreamCases, Durable: Durable, FilterSubject: bus.SubjectCases + ".>",
		MaxAttempts: s.cfg.MaxAttempts, Backoff: s.cfg.ConsumerBackoff, AckWait: s.cfg.AckWait, Workers: 2,
	}, s.file, s.log)
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	if err := c.Start(ctx); err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.mu.Lock()
	s.consumer, s.cancel = c, cancel
	s.mu.Unlock()
	for range s.cfg.Workers {
		s.wg.Go(func() { s.work(runCtx) })
	}
	s.wg.Go(func() { s.purgeLoop(runCtx) })
	return nil
}

// Stop stops filing and sending; attempts under way finish (Timeout at
// most). Safe twice.
func (s *Service) Stop() {
	s.mu.Lock()
	c, cancel := s.consumer, s.cancel
	s.consumer, s.cancel = nil, nil
	s.mu.Unlock()
	if c != nil {
		c.Stop()
	}
	if cancel != nil {
		cancel()
	}
	s.wg.Wait()
	s.sender.client.CloseIdleConnections()
}

// Kick wakes a worker: a delivery was queued again by hand.
func (s *Service) Kick() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Body is what a partner receives.
type Body struct {
	Type      string `json:"type"`      // case.<event type>
	Timestamp string `json:"timestamp"` // when the event happened, RFC 3339
	Data      Data   `json:"data"`
}

// Data is the case event, without personal data.
type Data struct {
	CaseRef           string `json:"case_ref"`
	Seq               int    `json:"seq"`
	Event             string `json:"event"`
	At                string `json:"at"`
	Competence        string `json:"competence"`
	Territory         string `json:"territory,omitempty"`
	Commune           string `json:"commune,omitempty"`
	RedirectedCommune string `json:"redirected_commune,omitempty"`
	State             string `json:"state"`
	Channel           string `json:"channel,omitempty"`
	URL               string `json:"url"` // the case's page in the back office (staff sign-in)
}

// WebhookID is the webhook-id of an event's deliveries: the same at every
// attempt, so that receivers drop what they already have.
func WebhookID(eventID string) string { return "msg_" + eventID }

// file files the deliveries of one case event.
func (s *Service) file(ctx context.Context, m bus.Message) error {
	var e schemas.CaseEvent
	if err := json.Unmarshal(m.Data, &e); err != nil {
		return fault.E(fault.Permanent, fmt.Errorf("webhook: event: %w", err))
	}
	if _, err := uuid.Parse(e.ID); err != nil || e.CaseRef == "" || e.Type == "" {
		return fault.E(fault.Permanent, errors.New("webhook: event without id, case or type"))
	}
	commune, redirected, err := s.store.caseCommunes(ctx, e.CaseRef)
	if err != nil {
		return err
	}
	at := e.At.UTC().Format(time.RFC3339)
	body := Body{Type: "case." + e.Type, Timestamp: at, Data: Data{
		CaseRef: e.CaseRef, Seq: e.Seq, Event: e.Type, At: at, Competence: e.Competence, Territory: e.Territory,
		Commune: commune, RedirectedCommune: redirected, State: e.State, Channel: e.Channel,
		URL: s.cfg.PublicURL + "/bo/dossiers/" + e.CaseRef,
	}}
	payload, err := json.Marshal(body)
	if err != nil {
		return fault.E(fault.Permanent, fmt.Errorf("webhook: payload: %w", err))
	}
	n, err := s.store.enqueue(ctx, enqueued{EventID: e.ID, WebhookID: WebhookID(e.ID), Type: e.Type, CaseRef: e.CaseRef,
		Competence: e.Competence, Territory: e.Territory, Commune: commune, Redirected: redirected, At: e.At, Payload: payload})
	if err != nil {
		return err
	}
	if n > 0 {
		s.metrics.filed.Add(float64(n))
		s.Kick()
	}
	return nil
}

// purgeLoop deletes old delivered rows now and then.
func (s *Service) purgeLoop(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := s.store.purge(ctx, s.cfg.Keep); err != nil && ctx.Err() == nil {
			s.log.Warn("purge", "err", err)
		} else if n > 0 {
			s.log.Info("old deliveries purged", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
