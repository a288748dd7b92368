package webhook

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ampmetropole/guichet/services/platform/fault"
)

// Statuses of a delivery.
const (
	StatusPending   = "pending"
	StatusDelivered = "delivered"
	StatusDead      = "dead"
)

// ErrNotFound is returned (wrapped, kind fault.NotFound) for a
// subscription or delivery that does not exist (or is not dead, to be
// queued again).
var ErrNotFound = errors.New("abonnement ou envoi introuvable")

// ErrNameTaken is returned (wrapped, kind fault.Conflict) when another
// subscription has the name.
var ErrNameTaken = errors.New("un abonnement porte déjà ce nom")

// DB is what the store needs of PostgreSQL; the case store's pool
// (casestore.Store.DB) is one.
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Store keeps the subscriptions and their deliveries, in the case
// store's database (migration 00023).
type Store struct {
	db    DB
	rules Rules
}

// NewStore returns the store; rules check what admins subscribe.
func NewStore(db DB, rules Rules) *Store { return &Store{db: db, rules: rules} }

// Rules are the store's rules, for forms that say them.
func (s *Store) Rules() Rules { return s.rules }

// Counts are a subscription's deliveries by status.
type Counts struct{ Pending, Delivered, Dead int }

// Attempt is the last delivery attempt of a subscription.
type Attempt struct {
	At         time.Time
	WebhookID  string
	StatusCode int // 0: no answer
	Error      string
}

// Subscription is a partner's endpoint and what it receives.
type Subscription struct {
	ID                                             int64
	Name, URL                                      string
	Competences, Territories, Communes, EventTypes []string
	Active                                         bool
	CreatedBy                                      string
	CreatedAt                                      time.Time
	DisabledAt                                     *time.Time
	DisabledBy                                     string
	Counts                                         Counts
	Last                                           *Attempt // nil before the first attempt
}

// Delivery is one event for one subscription.
type Delivery struct {
	SubscriptionID int64
	ID             string // the webhook-id
	EventID        string
	EventType      string
	CaseRef        string
	Status         string
	Attempts       int
	NextAttemptAt  time.Time
	LastAttemptAt  *time.Time
	LastStatusCode int
	LastError      string
	DeliveredAt    *time.Time
	CreatedAt      time.Time
}

const subscriptionColumns = `s.id, s.name, s.url, s.competences, s.territories, s.communes, s.event_types, s.active,
	s.created_by, s.created_at, s.disabled_at, COALESCE(s.disabled_by, ''),
	c.pending, c.delivered, c.dead, l.last_attempt_at, l.id, l.last_status_code, l.last_error`

const subscriptionFrom = `webhook_subscriptions s
	LEFT JOIN LATERAL (SELECT count(*) FILTER (WHERE status = 'pending')::int AS pending,
	                          count(*) FILTER (WHERE status = 'delivered')::int AS delivered,
	                          count(*) FILTER (WHERE status = 'dead')::int AS dead
	                     FROM webhook_deliveries d WHERE d.subscription_id = s.id) c ON true
	LEFT JOIN LATERAL (SELECT d.last_attempt_at, d.id, d.last_status_code, d.last_error
	                     FROM webhook_deliveries d
	                    WHERE d.subscription_id = s.id AND d.last_attempt_at IS NOT NULL
	                    ORDER BY d.last_attempt_at DESC LIMIT 1) l ON true`

func scanSubscription(row pgx.Row) (Subscription, error) {
	var s Subscription
	var lastAt *time.Time
	var lastID, lastErr *string
	var lastCode *int
	err := row.Scan(&s.ID, &s.Name, &s.URL, &s.Competences, &s.Territories, &s.Communes, &s.EventTypes, &s.Active,
		&s.CreatedBy, &s.CreatedAt, &s.DisabledAt, &s.DisabledBy,
		&s.Counts.Pending, &s.Counts.Delivered, &s.Counts.Dead, &lastAt, &lastID, &lastCode, &lastErr)
	if err != nil {
		return Subscription{}, err
	}
	if lastAt != nil {
		s.Last = &Attempt{At: *lastAt, WebhookID: deref(lastID), Error: deref(lastErr)}
		if lastCode != nil {
			s.Last.StatusCode = *lastCode
		}
	}
	return s, nil
}

func deref[T any](p *T) T {
	var z T
	if p == nil {
		return z
	}
	return *p
}

// Create adds a subscription made by an admin (a login) and returns it
// with its signing secret, which is never shown again.
func (s *Store) Create(ctx context.Context, d Draft, by string) (Subscription, string, error) {
	d, bad := s.rules.Check(d)
	if bad != nil {
		kind := fault.Invalid
		for _, e := range bad {
			if e.TooLong {
				kind = fault.TooLarge
			}
		}
		return Subscription{}, "", fault.E(kind, bad)
	}
	if by == "" {
		return Subscription{}, "", fault.E(fault.Invalid, errors.New("webhook: qui crée l'abonnement est obligatoire"))
	}
	secret := NewSecret()
	var id int64
	err := s.db.QueryRow(ctx, `
		INSERT INTO webhook_subscriptions (name, url, secret, competences, territories, communes, event_types, created_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
		d.Name, d.URL, secret, nonNil(d.Competences), nonNil(d.Territories), nonNil(d.Communes), nonNil(d.EventTypes), by).Scan(&id)
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23505" {
			return Subscription{}, "", fault.E(fault.Conflict, ErrNameTaken)
		}
		return Subscription{}, "", fault.E(fault.Transient, fmt.Errorf("webhook: create subscription: %w", err))
	}
	sub, err := s.Subscription(ctx, id)
	return sub, secret, err
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Subscription returns one subscription with its counts and last attempt.
func (s *Store) Subscription(ctx context.Context, id int64) (Subscription, error) {
	sub, err := scanSubscription(s.db.QueryRow(ctx, `SELECT `+subscriptionColumns+` FROM `+subscriptionFrom+` WHERE s.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Subscription{}, fault.E(fault.NotFound, ErrNotFound)
	}
	if err != nil {
		return Subscription{}, fault.E(fault.Transient, fmt.Errorf("webhook: subscription %d: %w", id, err))
	}
	return sub, nil
}

// Subscriptions lists every subscription, the active ones first, by name.
func (s *Store) Subscriptions(ctx context.Context) ([]Subscription, error) {
	rows, err := s.db.Query(ctx, `SELECT `+subscriptionColumns+` FROM `+subscriptionFrom+` ORDER BY s.active DESC, s.name`)
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("webhook: subscriptions: %w", err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Subscription, error) { return scanSubscription(r) })
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("webhook: subscriptions: %w", err))
	}
	return out, nil
}

// Disable stops sending to a subscription for good (its pending
// deliveries stay, unsent); disabling it twice changes nothing.
func (s *Store) Disable(ctx context.Context, id int64, by string) (Subscription, error) {
	tag, err := s.db.Exec(ctx, `UPDATE webhook_subscriptions SET active = false, disabled_at = now(), disabled_by = $2
		WHERE id = $1 AND active`, id, by)
	if err != nil {
		return Subscription{}, fault.E(fault.Transient, fmt.Errorf("webhook: disable %d: %w", id, err))
	}
	sub, err := s.Subscription(ctx, id)
	if err == nil && tag.RowsAffected() == 0 && sub.Active {
		return Subscription{}, fault.E(fault.Transient, fmt.Errorf("webhook: disable %d: not changed", id))
	}
	return sub, err
}

const deliveryColumns = `subscription_id, id, event_id::text, event_type, case_ref, status, attempts, next_attempt_at,
	last_attempt_at, COALESCE(last_status_code, 0), COALESCE(last_error, ''), delivered_at, created_at`

func scanDelivery(row pgx.Row) (Delivery, error) {
	var d Delivery
	err := row.Scan(&d.SubscriptionID, &d.ID, &d.EventID, &d.EventType, &d.CaseRef, &d.Status, &d.Attempts, &d.NextAttemptAt,
		&d.LastAttemptAt, &d.LastStatusCode, &d.LastError, &d.DeliveredAt, &d.CreatedAt)
	return d, err
}

// Deliveries lists a subscription's latest deliveries, of one status
// ("" for all), the newest first.
func (s *Store) Deliveries(ctx context.Context, subscription int64, status string, limit int) ([]Delivery, error) {
	rows, err := s.db.Query(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries
		WHERE subscription_id = $1 AND ($2 = '' OR status = $2)
		ORDER BY created_at DESC, id DESC LIMIT $3`, subscription, status, limit)
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("webhook: deliveries: %w", err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Delivery, error) { return scanDelivery(r) })
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("webhook: deliveries: %w", err))
	}
	return out, nil
}

// Requeue puts a dead delivery back in the queue, due now, its back-off
// schedule started over.
func (s *Store) Requeue(ctx context.Context, subscription int64, webhookID string) (Delivery, error) {
	d, err := scanDelivery(s.db.QueryRow(ctx, `UPDATE webhook_deliveries
		SET status = 'pending', next_attempt_at = now(), retry_from = attempts
		WHERE subscription_id = $1 AND id = $2 AND status = 'dead'
		RETURNING `+deliveryColumns, subscription, webhookID))
	if errors.Is(err, pgx.ErrNoRows) {
		return Delivery{}, fault.E(fault.NotFound, ErrNotFound)
	}
	if err != nil {
		return Delivery{}, fault.E(fault.Transient, fmt.Errorf("webhook: requeue %s: %w", webhookID, err))
	}
	return d, nil
}

// caseCommunes reads where a case is: its commune and the commune it was
// redirected to ("" when none, or when the case is unknown).
func (s *Store) caseCommunes(ctx context.Context, ref string) (commune, redirected string, err error) {
	err = s.db.QueryRow(ctx, `SELECT COALESCE(commune, ''), COALESCE(redirected_commune, '') FROM cases WHERE ref = $1`, ref).
		Scan(&commune, &redirected)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", nil
	}
	if err != nil {
		return "", "", fault.E(fault.Transient, fmt.Errorf("webhook: case %s: %w", ref, err))
	}
	return commune, redirected, nil
}

// enqueued is an event to file for the subscriptions that want it.
type enqueued struct {
	EventID, WebhookID, Type, CaseRef string
	Competence, Territory             string
	Commune, Redirected               string
	At                                time.Time
	Payload                           []byte
}

// enqueue files one delivery of the event for every active subscription
// that wants it and was made before it happened; a delivery already filed
// is left alone. It returns how many were filed.
func (s *Store) enqueue(ctx context.Context, e enqueued) (int64, error) {
	tag, err := s.db.Exec(ctx, `
		INSERT INTO webhook_deliveries (subscription_id, event_id, id, event_type, case_ref, payload)
		SELECT s.id, $1::uuid, $2, $3, $4, $5::jsonb
		  FROM webhook_subscriptions s
		 WHERE s.active AND s.created_at <= $10
		   AND (cardinality(s.event_types) = 0 OR $3 = ANY (s.event_types))
		   AND (cardinality(s.competences) = 0 OR $6 = ANY (s.competences))
		   AND (cardinality(s.territories) = 0 OR $7 = ANY (s.territories))
		   AND (cardinality(s.communes) = 0 OR $8 = ANY (s.communes) OR $9 = ANY (s.communes))
		ON CONFLICT DO NOTHING`,
		e.EventID, e.WebhookID, e.Type, e.CaseRef, string(e.Payload), e.Competence, e.Territory, e.Commune, e.Redirected, e.At)
	if err != nil {
		return 0, fault.E(fault.Transient, fmt.Errorf("webhook: enqueue %s: %w", e.EventID, err))
	}
	return tag.RowsAffected(), nil
}

// claimed is a delivery taken by a worker, with what it needs to send it.
type claimed struct {
	SubscriptionID      int64
	EventID, WebhookID  string
	Payload             []byte
	Attempts, RetryFrom int
	URL, Secret         string
}

// claim takes the delivery due the longest, if any, and puts it out of
// the others' reach for lease: another worker or process skips it (SKIP
// LOCKED), and one that crashed with it gives it back when the lease ends.
func (s *Store) claim(ctx context.Context, lease time.Duration) (claimed, bool, error) {
	var c claimed
	err := s.db.QueryRow(ctx, `
		WITH due AS (
			SELECT d.subscription_id, d.event_id
			  FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id AND s.active
			 WHERE d.status = 'pending' AND d.next_attempt_at <= now()
			 ORDER BY d.next_attempt_at
			 LIMIT 1
			   FOR UPDATE OF d SKIP LOCKED)
		UPDATE webhook_deliveries d SET next_attempt_at = now() + make_interval(secs => $1)
		  FROM due, webhook_subscriptions s
		 WHERE d.subscription_id = due.subscription_id AND d.event_id = due.event_id AND s.id = d.subscription_id
		RETURNING d.subscription_id, d.event_id::text, d.id, d.payload, d.attempts, d.retry_from, s.url, s.secret`,
		lease.Seconds()).Scan(&c.SubscriptionID, &c.EventID, &c.WebhookID, &c.Payload, &c.Attempts, &c.RetryFrom, &c.URL, &c.Secret)
	if errors.Is(err, pgx.ErrNoRows) {
		return claimed{}, false, nil
	}
	if err != nil {
		return claimed{}, false, fault.E(fault.Transient, fmt.Errorf("webhook: claim: %w", err))
	}
	return c, true, nil
}

// outcome is how an attempt ended.
type outcome struct {
	StatusCode int
	Error      string
	Status     string        // delivered, pending (again after Wait) or dead
	Wait       time.Duration // before the next attempt
}

// record writes an attempt's outcome.
func (s *Store) record(ctx context.Context, c claimed, o outcome) error {
	var code *int
	if o.StatusCode != 0 {
		code = &o.StatusCode
	}
	var msg *string
	if o.Error != "" {
		m := clip(o.Error, 400)
		msg = &m
	}
	_, err := s.db.Exec(ctx, `UPDATE webhook_deliveries
		SET attempts = attempts + 1, last_attempt_at = now(), last_status_code = $3, last_error = $4, status = $5,
		    delivered_at = CASE WHEN $5 = 'delivered' THEN now() END,
		    next_attempt_at = now() + make_interval(secs => $6)
		WHERE subscription_id = $1 AND event_id = $2 AND status = 'pending'`,
		c.SubscriptionID, c.EventID, code, msg, o.Status, o.Wait.Seconds())
	if err != nil {
		return fault.E(fault.Transient, fmt.Errorf("webhook: record %s: %w", c.WebhookID, err))
	}
	return nil
}

// purge deletes the deliveries made longer than keep ago; dead ones stay
// until an admin sends them again.
func (s *Store) purge(ctx context.Context, keep time.Duration) (int64, error) {
	tag, err := s.db.Exec(ctx, `DELETE FROM webhook_deliveries WHERE status = 'delivered' AND delivered_at < now() - make_interval(secs => $1)`, keep.Seconds())
	if err != nil {
		return 0, fault.E(fault.Transient, fmt.Errorf("webhook: purge: %w", err))
	}
	return tag.RowsAffected(), nil
}
