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
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/bus"
	"github.com/ampmetropole/guichet/services/casestore"
	"github.com/ampmetropole/guichet/services/citizen"
	"github.com/ampmetropole/guichet/services/fault"
	"github.com/ampmetropole/guichet/services/territory"
)

// ModelVersion names the decision logic, recorded with every decision.
const ModelVersion = "router-v0-hint"

// Durable is the router's consumer name on REQUESTS.
const Durable = "router"

// Config tunes the router.
type Config struct {
	Workers       int
	MaxAttempts   int
	Backoff       []time.Duration
	AckWait       time.Duration
	RelayInterval time.Duration // how often the outbox relay looks for leftovers; default 2s
	OutboxKeep    time.Duration // how long published outbox rows are kept; default 7 days
}

// Store is what the router needs of the case history.
type Store interface {
	Route(ctx context.Context, fn func(ctx context.Context, tx *casestore.RouteTx) error) ([]casestore.OutboxMsg, error)
	MarkFailed(ctx context.Context, r schemas.Request, raw []byte, reason string) error
	PendingOutbox(ctx context.Context, minAge time.Duration, limit int) ([]casestore.OutboxMsg, error)
	MarkPublished(ctx context.Context, ids ...int64) error
	PurgePublished(ctx context.Context, keep time.Duration) (int64, error)
}

// Router is the routing service.
type Router struct {
	cfg       Config
	conn      *bus.Conn
	pub       *bus.Publisher
	store     Store
	validate  *schemas.Validator
	places    *territory.Directory
	log       *slog.Logger
	metrics   *metrics
	consumer  *bus.Consumer
	relayStop context.CancelFunc
	relayDone chan struct{}

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
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	return &Router{cfg: cfg, conn: conn, pub: bus.NewPublisher(conn.JS), store: store, validate: v,
		places: places, log: log.With("service", "router"), metrics: m}, nil
}

// Start creates the durable consumer and the outbox relay.
func (r *Router) Start(ctx context.Context) error {
	c, err := bus.NewConsumer(r.conn.JS, bus.ConsumerConfig{
		Stream:        bus.StreamRequests,
		Durable:       Durable,
		FilterSubject: bus.SubjectRequests + ".>",
		MaxAttempts:   r.cfg.MaxAttempts,
		Backoff:       r.cfg.Backoff,
		AckWait:       r.cfg.AckWait,
		Workers:       r.cfg.Workers,
		OnDeadLetter:  r.deadLettered,
	}, r.handle, r.log)
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
	r.log.Info("router started", "model", ModelVersion)
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

func (r *Router) handle(ctx context.Context, m bus.Message) error {
	start := time.Now()
	req, err := r.validate.DecodeRequest(m.Data)
	if err != nil {
		r.metrics.processed.WithLabelValues("invalid").Inc()
		return fault.E(fault.Invalid, fmt.Errorf("router: %w", err))
	}
	outcome, pending, err := r.route(ctx, req, m.Data)
	if errors.Is(err, casestore.ErrAlreadyRouted) {
		r.metrics.processed.WithLabelValues("replay").Inc()
		r.log.Debug("request already routed, acknowledging replay", "request_id", req.ID)
		return nil
	}
	if err != nil {
		r.metrics.processed.WithLabelValues("error").Inc()
		return err
	}
	if r.afterCommit != nil {
		r.afterCommit()
	}
	r.publish(ctx, pending)
	r.metrics.processed.WithLabelValues(outcome).Inc()
	r.metrics.duration.Observe(time.Since(start).Seconds())
	return nil
}

// route writes everything the request changes in one transaction.
func (r *Router) route(ctx context.Context, req schemas.Request, raw []byte) (string, []casestore.OutboxMsg, error) {
	var outcome string
	pending, err := r.store.Route(ctx, func(ctx context.Context, tx *casestore.RouteTx) error {
		if err := tx.ClaimRequest(ctx, req, raw); err != nil {
			return err
		}
		citizenID, err := tx.ResolveCitizen(ctx, r.identity(req))
		if err != nil {
			return err
		}
		d := casestore.Decision{RequestID: req.ID, ModelVersion: ModelVersion, DecidedBy: "router"}
		c, linked, err := r.linkedCase(ctx, tx, req, &d)
		if err != nil {
			return err
		}
		eventType := schemas.EventRequestLinked
		if linked {
			d.Outcome = "linked"
		} else {
			d.Outcome, eventType = "new_case", schemas.EventCreated
			competence := r.competence(req, &d)
			terr := r.territory(req, &d)
			if c, err = tx.CreateCase(ctx, casestore.NewCase{Competence: competence, Territory: terr, CitizenID: citizenID}); err != nil {
				return err
			}
		}
		d.CaseID, d.Competence, d.Territory = c.ID, c.Competence, c.Territory
		if _, err := tx.AppendEvent(ctx, c, r.event(req, c, eventType, d)); err != nil {
			return err
		}
		if err := tx.RecordDecision(ctx, d); err != nil {
			return err
		}
		if err := tx.FinishRequest(ctx, req.ID, c.ID, citizenID); err != nil {
			return err
		}
		outcome = d.Outcome
		if r.beforeCommit != nil {
			return r.beforeCommit(ctx)
		}
		return nil
	})
	return outcome, pending, err
}

// identity normalizes what identifies the citizen; an identifier that does
// not normalize is left out rather than failing the request.
func (r *Router) identity(req schemas.Request) casestore.Identity {
	if req.Citizen == nil {
		return casestore.Identity{}
	}
	id := casestore.Identity{Name: strings.TrimSpace(req.Citizen.Name)}
	var err error
	if id.Email, err = citizen.NormalizeEmail(req.Citizen.Email); err != nil {
		r.log.Warn("e-mail left out of identity", "request_id", req.ID, "err", err)
	}
	if id.Phone, err = citizen.NormalizePhone(req.Citizen.Phone); err != nil {
		r.log.Warn("phone left out of identity", "request_id", req.ID, "err", err)
	}
	return id
}

// linkedCase returns the first existing case the request cites, else the
// case of the request it corrects.
func (r *Router) linkedCase(ctx context.Context, tx *casestore.RouteTx, req schemas.Request, d *casestore.Decision) (casestore.CaseRow, bool, error) {
	for _, ref := range req.CaseRefs {
		c, err := tx.LockCase(ctx, ref)
		if fault.KindOf(err) == fault.NotFound {
			d.Reasons = append(d.Reasons, casestore.Reason{Code: "case_ref_unknown", Detail: "référence citée inconnue : " + ref})
			continue
		}
		if err != nil {
			return c, false, err
		}
		d.Reasons = append(d.Reasons, casestore.Reason{Code: "case_ref", Detail: "la demande cite le dossier " + ref})
		return c, true, nil
	}
	if req.Supersedes != "" {
		c, err := tx.LockCaseOfRequest(ctx, req.Supersedes)
		if fault.KindOf(err) == fault.NotFound {
			return c, false, nil
		}
		if err != nil {
			return c, false, err
		}
		d.Reasons = append(d.Reasons, casestore.Reason{Code: "correction",
			Detail: "texte corrigé de la demande " + req.Supersedes + ", qui était dans le dossier " + c.Ref})
		return c, true, nil
	}
	return casestore.CaseRow{}, false, nil
}

// competence is v0's choice: the hint given by the citizen or the agent,
// else the human triage queue. Real classification replaces it.
func (r *Router) competence(req schemas.Request, d *casestore.Decision) string {
	if req.Hints != nil && req.Hints.Competence != "" {
		d.Reasons = append(d.Reasons, casestore.Reason{Code: "hint",
			Detail: "compétence indiquée à la saisie (" + req.Channel + ") : " + req.Hints.Competence})
		return req.Hints.Competence
	}
	d.Reasons = append(d.Reasons, casestore.Reason{Code: "triage", Detail: "aucune compétence indiquée : file de tri humain"})
	return schemas.CompetenceTriage
}

// territory resolves the place the request is about, else the citizen's own
// postal code.
func (r *Router) territory(req schemas.Request, d *casestore.Decision) string {
	var insee, pc string
	if req.Location != nil {
		insee, pc = req.Location.CommuneINSEE, req.Location.PostalCode
	}
	if res, ok := r.places.Resolve(insee, pc); ok {
		d.Reasons = append(d.Reasons, casestore.Reason{Code: "territory", Detail: res.Reason})
		return res.Territory
	}
	if req.Citizen != nil && req.Citizen.Address != nil {
		if res, ok := r.places.Resolve("", req.Citizen.Address.PostalCode); ok {
			d.Reasons = append(d.Reasons, casestore.Reason{Code: "territory_citizen", Detail: "adresse du demandeur, " + res.Reason})
			return res.Territory
		}
	}
	d.Reasons = append(d.Reasons, casestore.Reason{Code: "territory_unknown", Detail: "aucun lieu reconnu dans la Métropole"})
	return ""
}

func (r *Router) event(req schemas.Request, c casestore.CaseRow, typ string, d casestore.Decision) schemas.CaseEvent {
	id, _ := uuid.NewV7()
	return schemas.CaseEvent{
		ID:         id.String(),
		Schema:     schemas.CaseEventV1,
		Type:       typ,
		At:         time.Now().UTC().Truncate(time.Millisecond),
		Actor:      schemas.Actor{Kind: "router", ID: ModelVersion},
		Competence: c.Competence,
		Territory:  c.Territory,
		State:      c.State,
		RequestID:  req.ID,
		Channel:    req.Channel,
		Summary:    summary(req),
		Data:       map[string]any{"outcome": d.Outcome},
	}
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
// or NATS was away), and purges old published rows.
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
