// Package router consumes the REQUESTS stream and turns each request into a
// case history entry: it resolves the citizen, links the request to the case
// it cites or opens a case for the competence it belongs to, and writes the
// case, its event and the routing decision in one transaction before
// acknowledging the message.
package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/catalogue"
	"github.com/ampmetropole/guichet/services/cases/territory"
	"github.com/ampmetropole/guichet/services/platform/bus"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/routing/classify"
	"github.com/ampmetropole/guichet/services/routing/incident"
)

// ModelVersion names the decision logic without a classifier, recorded with
// every decision.
const ModelVersion = "router-v0-hint"

// Durable is the router's consumer name on REQUESTS.
const Durable = "router"

// Config tunes the router.
type Config struct {
	Workers       int
	BatchSize     int // requests routed in one transaction; default 64
	MaxAttempts   int
	Backoff       []time.Duration
	AckWait       time.Duration
	RelayInterval time.Duration        // how often the outbox relay looks for leftovers; default 2s
	OutboxKeep    time.Duration        // how long published outbox rows are kept; default 7 days
	Classifier    *classify.Classifier // nil: v0, competence from the hint else triage
	Decisions     EngineConfig
	Budgets       Budgets // with Clock: deadlines of new cases; nil: none
	Clock         Clock
	// Incidents tunes the grouping of different citizens' reports of one
	// incident; nil: incident.DefaultConfig(). NoIncidents turns it off.
	Incidents   *incident.Config
	NoIncidents bool
	// CommunalMatters are the catalogue's: a request outside the
	// Métropole's remit naming one is handed over to its commune's mairie.
	CommunalMatters []catalogue.CommunalMatter
}

// Store is what the router needs of the case history.
type Store interface {
	Route(ctx context.Context, fn func(ctx context.Context, tx *casestore.RouteTx) error) ([]casestore.OutboxMsg, error)
	MarkFailed(ctx context.Context, r schemas.Request, raw []byte, reason string) error
	PendingOutbox(ctx context.Context, minAge time.Duration, limit int) ([]casestore.OutboxMsg, error)
	MarkPublished(ctx context.Context, ids ...int64) error
	PurgePublished(ctx context.Context, keep time.Duration) (int64, error)
	BreachDue(ctx context.Context, now time.Time, limit int) ([]casestore.OutboxMsg, error)
	RouteBatch(ctx context.Context, items []casestore.BatchItem, fn func(ctx context.Context, tx *casestore.RouteTx, i int) error) ([]casestore.OutboxMsg, []error)
}

// Router is the routing service.
type Router struct {
	cfg       Config
	conn      *bus.Conn
	pub       *bus.Publisher
	store     Store
	validate  *schemas.Validator
	engine    *Engine
	log       *slog.Logger
	metrics   *metrics
	consumer  *bus.Consumer
	relayStop context.CancelFunc
	relayDone chan struct{}

	// beside: what the batches committed, for those beside them
	// (Engine.Regroup).
	beside beside

	// hooks let tests stop the router at the worst moments.
	beforeCommit func(ctx context.Context) error
	afterCommit  func()
}

// New builds a router; Start runs it.
func New(cfg Config, conn *bus.Conn, store Store, v *schemas.Validator, places *territory.Directory, reg prometheus.Registerer, log *slog.Logger) (*Router, error) {
	if cfg.RelayInterval <= 0 {
		cfg.RelayInterval = 2 * time.Second
	}
	if cfg.OutboxKeep <= 0 {
		cfg.OutboxKeep = 7 * 24 * time.Hour
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 64
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	e := NewEngine(cfg.Decisions, cfg.Classifier, places).WithDeadlines(cfg.Budgets, cfg.Clock).WithCommunalMatters(cfg.CommunalMatters)
	if !cfg.NoIncidents {
		ic := incident.DefaultConfig()
		if cfg.Incidents != nil {
			ic = *cfg.Incidents
		}
		e.WithIncidents(ic)
	}
	return &Router{cfg: cfg, conn: conn, pub: bus.NewPublisher(conn.JS), store: store, validate: v,
		engine: e, log: log.With("service", "router"), metrics: m}, nil
}

// Start creates the durable consumer and the outbox relay.
func (r *Router) Start(ctx context.Context) error {
	c, err := bus.NewBatchConsumer(r.conn.JS, bus.ConsumerConfig{
		Stream:        bus.StreamRequests,
		Durable:       Durable,
		FilterSubject: bus.SubjectRequests + ".>",
		MaxAttempts:   r.cfg.MaxAttempts,
		Backoff:       r.cfg.Backoff,
		AckWait:       r.cfg.AckWait,
		Workers:       r.cfg.Workers,
		BatchSize:     r.cfg.BatchSize,
		OnDeadLetter:  r.deadLettered,
	}, r.handleBatch, r.log)
	if err != nil {
		return fmt.Errorf("router: %w", err)
	}
	if err := c.Start(ctx); err != nil {
		return fmt.Errorf("router: %w", err)
	}
	r.consumer = c
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r.relayStop, r.relayDone = cancel, make(chan struct{})
	go r.relay(rctx)
	r.log.Info("router started", "model", r.engine.Version())
	return nil
}

// Stop stops consuming (handlers in flight finish) and the relay. Safe twice.
func (r *Router) Stop() {
	if r.consumer != nil {
		r.consumer.Stop()
	}
	if r.relayStop != nil {
		r.relayStop()
		<-r.relayDone
		r.relayStop = nil
	}
}

// handleBatch routes a batch of requests in one transaction, set-wise
// (casestore.RouteBatch: an invalid or failing one does not hold the
// others back), then publishes the committed events; one error per
// message.
func (r *Router) handleBatch(ctx context.Context, ms []bus.Message) []error {
	start := time.Now()
	errs := make([]error, len(ms))
	reqs := make([]schemas.Request, len(ms))
	var todo []int // indexes of the valid requests
	for i, m := range ms {
		req, err := r.validate.DecodeRequest(m.Data)
		if err != nil {
			r.metrics.processed.WithLabelValues("invalid").Inc()
			errs[i] = fault.E(fault.Invalid, fmt.Errorf("router: %w", err))
			continue
		}
		reqs[i] = req
		todo = append(todo, i)
	}
	if len(todo) == 0 {
		return errs
	}
	// In id order (UUIDv7: arrival order), as the intake records them, so
	// that the two never wait on each other's rows.
	slices.SortStableFunc(todo, func(a, b int) int { return strings.Compare(reqs[a].ID, reqs[b].ID) })
	outcomes := make([]string, len(todo))
	regroup := make([]*Routed, len(todo))
	items := make([]casestore.BatchItem, len(todo))
	for k, i := range todo {
		items[k] = r.engine.BatchItem(reqs[i])
	}
	before := r.beside.start()
	pending, results := r.store.RouteBatch(ctx, items, func(ctx context.Context, tx *casestore.RouteTx, k int) error {
		i := todo[k]
		routed, err := r.engine.Route(ctx, tx, reqs[i], ms[i].Data)
		if err != nil {
			return err
		}
		regroup[k] = nil
		if routed.Regroups() {
			regroup[k] = &routed
		}
		outcomes[k] = routed.Decision.Outcome
		if routed.Decision.Competence == schemas.CompetenceTriage {
			outcomes[k] = "triage"
		}
		if r.beforeCommit != nil {
			return r.beforeCommit(ctx)
		}
		return nil
	})
	// Another batch committed while this one ran: its new cases may not
	// have been visible to this one's look-ups. (One still running sees
	// this commit at its own end and looks again itself.)
	var mine []besideCase
	for k, i := range todo {
		if results[k] == nil && regroup[k] != nil {
			mine = append(mine, besideCase{idx: k, places: r.engine.Places(reqs[i]),
				located: reqs[i].Location != nil && reqs[i].Location.Lat != nil && reqs[i].Location.Lon != nil})
		}
	}
	again := r.beside.commit(before, mine)
	committed := false
	for k, i := range todo {
		err := results[k]
		switch {
		case errors.Is(err, casestore.ErrAlreadyRouted):
			r.metrics.processed.WithLabelValues("replay").Inc()
			r.log.Debug("request already routed, acknowledging replay", "request_id", reqs[i].ID)
		case err != nil:
			r.metrics.processed.WithLabelValues("error").Inc()
			errs[i] = err
		default:
			committed = true
			r.metrics.processed.WithLabelValues(outcomes[k]).Inc()
		}
	}
	if committed && r.afterCommit != nil {
		r.afterCommit()
	}
	r.publish(ctx, pending)
	for _, k := range again {
		i := todo[k]
		// Once committed, grouping looks again for the new cases that
		// joined no incident (Engine.Regroup); a failure here loses
		// nothing: the case stays alone, as people may group it.
		msgs, err := r.store.Route(ctx, func(ctx context.Context, tx *casestore.RouteTx) error {
			return r.engine.Regroup(ctx, tx, reqs[i], *regroup[k])
		})
		if err != nil {
			r.log.Warn("incident: second look failed", "request_id", reqs[i].ID, "err", err)
			continue
		}
		r.publish(ctx, msgs)
	}
	per := time.Since(start).Seconds()
	for range todo {
		r.metrics.duration.Observe(per)
	}
	r.metrics.batch.Observe(float64(len(ms)))
	return errs
}

func summary(req schemas.Request) string {
	s := strings.TrimSpace(req.Subject)
	if s == "" {
		s = strings.Join(strings.Fields(req.Body), " ")
	}
	if utf8.RuneCountInString(s) > 140 {
		s = string([]rune(s)[:139]) + "…"
	}
	return s
}

// publish sends committed events to CASES; what fails here the relay sends
// later, and Nats-Msg-Id keeps a second send from duplicating.
func (r *Router) publish(ctx context.Context, msgs []casestore.OutboxMsg) {
	var done []int64
	for _, m := range msgs {
		if _, err := r.pub.Publish(ctx, m.Subject, m.MsgID, m.Payload, nil); err != nil {
			r.log.Warn("case event not published yet, the relay will retry", "msg_id", m.MsgID, "err", err)
			continue
		}
		done = append(done, m.ID)
	}
	if err := r.store.MarkPublished(context.WithoutCancel(ctx), done...); err != nil {
		r.log.Warn("mark published", "err", err)
	}
}

// relay publishes outbox messages that their router did not (it crashed,
// or NATS was away), runs the deadline timer, and purges old published rows.
func (r *Router) relay(ctx context.Context) {
	defer close(r.relayDone)
	tick := time.NewTicker(r.cfg.RelayInterval)
	defer tick.Stop()
	lastPurge := time.Time{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for {
			msgs, err := r.store.PendingOutbox(ctx, 2*r.cfg.RelayInterval, 200)
			if err != nil {
				if ctx.Err() == nil {
					r.log.Warn("outbox relay", "err", err)
				}
				break
			}
			if len(msgs) == 0 {
				break
			}
			r.metrics.relayed.Add(float64(len(msgs)))
			r.publish(ctx, msgs)
			if len(msgs) < 200 || ctx.Err() != nil {
				break
			}
		}
		r.breaches(ctx)
		if time.Since(lastPurge) > time.Hour {
			if n, err := r.store.PurgePublished(ctx, r.cfg.OutboxKeep); err != nil {
				r.log.Warn("outbox purge", "err", err)
			} else if n > 0 {
				r.log.Info("outbox purged", "rows", n)
			}
			lastPurge = time.Now()
		}
	}
}

// breaches is the deadline timer: passed deadlines are marked once, in the
// database (so a restart neither loses nor repeats them), and their events
// published on CASES, where the notifier tells the team's supervisor.
func (r *Router) breaches(ctx context.Context) {
	for ctx.Err() == nil {
		msgs, err := r.store.BreachDue(ctx, time.Now(), 100)
		if err != nil {
			if ctx.Err() == nil {
				r.log.Warn("deadline timer", "err", err)
			}
			return
		}
		if len(msgs) == 0 {
			return
		}
		r.metrics.breached.Add(float64(len(msgs)))
		r.publish(ctx, msgs)
	}
}

// deadLettered records the failure against the request when it can be read,
// so that its status says failed rather than received forever.
func (r *Router) deadLettered(ctx context.Context, m bus.Message, reason error) {
	r.metrics.dead.Inc()
	var req schemas.Request
	if err := json.Unmarshal(m.Data, &req); err != nil || uuid.Validate(req.ID) != nil || req.TrackingCode == "" {
		return
	}
	if req.ReceivedAt.IsZero() {
		req.ReceivedAt = time.Now()
	}
	if err := r.store.MarkFailed(ctx, req, m.Data, reason.Error()); err != nil {
		r.log.Warn("could not record failure", "request_id", req.ID, "err", err)
	}
}
