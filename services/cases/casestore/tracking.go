package casestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/lifecycle"
	"github.com/ampmetropole/guichet/services/cases/scope"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

// Tracking is what a citizen may see of a request through its tracking
// code: their own thread of messages and the replies addressed to it, never
// internal notes, never another request of the case — not even one that
// carries the same e-mail address, which anybody can type.
type Tracking struct {
	Code       string
	Status     string // received | routed | failed
	ReceivedAt time.Time
	RoutedAt   *time.Time
	Request    schemas.Request
	// ThreadCode is the tracking code of the thread's first request: the
	// one code the citizen keeps, whichever of the thread's codes was typed.
	ThreadCode string
	ThreadID   string // the thread's first request
	// NoticesOff is set when the citizen turned the thread's status
	// notices off.
	NoticesOff bool
	Case       *CaseSummary // nil until routed; without its events
	// Deadline is when the team is due to answer (business hours from the
	// catalogue), nil while the clock is paused (the case waits, or is
	// resolved or finished) or before routing.
	Deadline *time.Time
	// WaitingOn says whom a waiting case waits for, its deadline paused:
	// "citizen" or "third_party"; "" when it does not wait.
	WaitingOn string
	// RedirectTo is, for a case redirected, whom the request went to ("la
	// mairie de Gardanne"); HandedOver when that body took it over (a
	// mairie: the citizen has nothing to do again).
	RedirectTo string
	HandedOver bool
	// Decision is the routing decision in force for the request (nil
	// before routing): by the router or by a person, with its reasons; and
	// ReviewAsked is set once the citizen asked a person to look again.
	Decision    *TrackingDecision
	ReviewAsked bool
	// Messages are this request and the follow-ups sent from its status
	// pages, oldest first, routed or not yet: a follow-up shows as soon as
	// the intake has recorded it.
	Messages []Contact
	Replies  []Reply // replies addressed to those, oldest first
	// Regrouped is set when a team merged or moved the request out of the
	// case it first went to: the citizen is told, with both references.
	Regrouped *Regrouping
}

// Regrouping says which case a request first went to, and when it came
// into the case that holds it now.
type Regrouping struct {
	From string
	At   time.Time
}

// Contact is one of the citizen's requests in a case.
type Contact struct {
	Code        string
	Channel     string
	ReceivedAt  time.Time
	Subject     string
	Body        string
	Files       []string             // the attachments' names
	Attachments []schemas.Attachment // the attachments: name, type, size, sha256, object key
}

// Attachment returns the file with that sha256 if a request of the thread
// carries it: the status page serves no other file.
func (t Tracking) Attachment(sha string) (schemas.Attachment, bool) {
	for _, m := range t.Messages {
		for _, a := range m.Attachments {
			if a.SHA256 == sha && sha != "" {
				return a, true
			}
		}
	}
	return schemas.Attachment{}, false
}

// Reply is a message a team addressed to the citizen.
type Reply struct {
	At      time.Time
	Message string
}

// TrackingDecision is how a request was routed, as its status page
// explains it.
type TrackingDecision struct {
	By         string // "router", or the person who decided
	Competence string
	Reasons    []Reason
}

// AskReview sends the case of a citizen's thread back to people: the case
// goes to the triage queue, where a person chooses its team again, and its
// history says the citizen asked (their words come as a follow-up message
// of the thread, answered like any). Not for a finished case, nor twice
// while the first is pending; no routing decision is recorded (the
// person's, later, is the label).
func (s *Store) AskReview(ctx context.Context, ref, thread string) ([]OutboxMsg, error) {
	return s.Route(ctx, func(ctx context.Context, t *RouteTx) error {
		c, err := t.LockCase(ctx, ref)
		if err != nil {
			return err
		}
		if slices.Contains(closedStates, c.State) || c.State == lifecycle.Resolved {
			return fault.E(fault.Conflict, fmt.Errorf("casestore: le dossier %s est %s", ref, lifecycle.Label(c.State)))
		}
		if c.Competence == scope.Triage {
			return fault.E(fault.Conflict, fmt.Errorf("casestore: le dossier %s attend déjà qu'une personne choisisse son service", ref))
		}
		from := c.Competence
		if _, err := t.tx.Exec(ctx, `UPDATE cases SET competence = $2, updated_at = now() WHERE id = $1`, c.ID, scope.Triage); err != nil {
			return fault.E(fault.Transient, fmt.Errorf("casestore: review %s: %w", ref, err))
		}
		c.Competence = scope.Triage
		ev := humanEvent(schemas.EventRerouted, c, Change{Actor: "demandeur", Reason: "réexamen demandé par le demandeur"},
			fmt.Sprintf("réexamen demandé par le demandeur : de %s vers le tri", from),
			map[string]any{"from": from, "to": scope.Triage, "review_asked_by": thread})
		ev.Actor.Kind = "citizen"
		_, err = t.AppendEvent(ctx, c, ev)
		return err
	})
}

// Tracking returns the request with that tracking code, its case, the
// messages of its thread (the request and the follow-ups sent from its
// status page or theirs) and the replies addressed to one of them, through
// merges, splits and re-routing alike.
func (s *Store) Tracking(ctx context.Context, code string) (Tracking, error) {
	var t Tracking
	var raw []byte
	var caseID *int64
	var thread string
	err := s.pool.QueryRow(ctx, `
		SELECT r.tracking_code, r.status, r.received_at, r.routed_at, r.payload, r.case_id, COALESCE(r.thread_id, r.id)::text,
		       COALESCE(p.notices_off, false)
		FROM requests r LEFT JOIN notice_preferences p ON p.thread_id = COALESCE(r.thread_id, r.id)
		WHERE r.tracking_code = $1`, code).
		Scan(&t.Code, &t.Status, &t.ReceivedAt, &t.RoutedAt, &raw, &caseID, &thread, &t.NoticesOff)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, notFound("tracking code", code)
	}
	if err != nil {
		return t, fault.E(fault.Transient, fmt.Errorf("casestore: tracking %s: %w", code, err))
	}
	if err := json.Unmarshal(raw, &t.Request); err != nil {
		return t, fmt.Errorf("casestore: tracking %s: payload: %w", code, err)
	}
	t.ThreadID = thread
	// The thread: its first request and every follow-up of it, whether the
	// router has handled them yet or not (a follow-up just posted is
	// recorded by the intake before its sender sees this page again).
	rows, err := s.pool.Query(ctx, `
		SELECT id::text, tracking_code, payload FROM requests
		WHERE id = $1 OR thread_id = $1
		ORDER BY received_at, id`, thread)
	if err != nil {
		return t, fault.E(fault.Transient, fmt.Errorf("casestore: tracking %s: thread: %w", code, err))
	}
	var ids []string
	t.Messages, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (Contact, error) {
		var id, code string
		var raw []byte
		var r schemas.Request
		if err := row.Scan(&id, &code, &raw); err != nil {
			return Contact{}, err
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			return Contact{}, err
		}
		if id == thread {
			t.ThreadCode = code
		}
		ids = append(ids, id)
		return contactOf(code, r), nil
	})
	if err != nil {
		return t, fault.E(fault.Transient, fmt.Errorf("casestore: tracking %s: thread: %w", code, err))
	}
	if t.ThreadCode == "" {
		t.ThreadCode = t.Code // not expected (a thread_id names a recorded request): this code stands for it
	}
	if caseID == nil {
		return t, nil
	}
	var c CaseSummary
	var territory, waitingOn, redirectTo *string
	if err := s.pool.QueryRow(ctx, `SELECT ref, competence, territory, state, opened_at, updated_at, deadline, waiting_on, redirect_to,
		       redirected_commune IS NOT NULL FROM cases WHERE id = $1`, *caseID).
		Scan(&c.Ref, &c.Competence, &territory, &c.State, &c.OpenedAt, &c.UpdatedAt, &t.Deadline, &waitingOn, &redirectTo, &t.HandedOver); err != nil {
		return t, fault.E(fault.Transient, fmt.Errorf("casestore: tracking %s: case: %w", code, err))
	}
	if territory != nil {
		c.Territory = *territory
	}
	if waitingOn != nil && c.State == lifecycle.Waiting {
		t.WaitingOn = *waitingOn
	}
	var d TrackingDecision
	var reasons []byte
	err = s.pool.QueryRow(ctx, `
		SELECT decided_by, competence, reasons FROM routing_decisions
		WHERE request_id = $1 ORDER BY decided_at DESC, id DESC LIMIT 1`, t.Request.ID).Scan(&d.By, &d.Competence, &reasons)
	switch {
	case err == nil:
		if err := json.Unmarshal(reasons, &d.Reasons); err != nil {
			return t, fmt.Errorf("casestore: tracking %s: reasons: %w", code, err)
		}
		t.Decision = &d
	case !errors.Is(err, pgx.ErrNoRows):
		return t, fault.E(fault.Transient, fmt.Errorf("casestore: tracking %s: decision: %w", code, err))
	}
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM case_events WHERE case_id = $1 AND type = 'rerouted'
		AND payload->'data'->>'review_asked_by' = $2)`, *caseID, thread).Scan(&t.ReviewAsked); err != nil {
		return t, fault.E(fault.Transient, fmt.Errorf("casestore: tracking %s: review: %w", code, err))
	}
	if redirectTo != nil && c.State == lifecycle.Redirected {
		t.RedirectTo = *redirectTo
	} else {
		t.HandedOver = false
	}
	t.Case = &c

	// Replies addressed to the thread, whichever case holds them now: a
	// merge moves requests, not the history written before it.
	rows, err = s.pool.Query(ctx, `
		SELECT at, COALESCE(payload->'data'->>'message', '') FROM case_events
		WHERE recipient_request = ANY($1::uuid[]) AND type = $2 AND COALESCE(payload->'data'->>'channel', '') <> 'callback'
		ORDER BY at, seq`, ids, schemas.EventReplied)
	if err != nil {
		return t, fault.E(fault.Transient, fmt.Errorf("casestore: tracking %s: replies: %w", code, err))
	}
	t.Replies, err = pgx.CollectRows(rows, pgx.RowToStructByPos[Reply])
	if err != nil {
		return t, fault.E(fault.Transient, fmt.Errorf("casestore: tracking %s: replies: %w", code, err))
	}

	// The case it first went to, if a merge or a split took it elsewhere.
	var first Regrouping
	var firstID int64
	err = s.pool.QueryRow(ctx, `
		SELECT c.id, c.ref, (SELECT max(decided_at) FROM routing_decisions WHERE request_id = $1 AND case_id = $2)
		FROM routing_decisions d JOIN cases c ON c.id = d.case_id
		WHERE d.request_id = $1 ORDER BY d.decided_at, d.id LIMIT 1`, t.Request.ID, *caseID).Scan(&firstID, &first.From, &first.At)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return t, fault.E(fault.Transient, fmt.Errorf("casestore: tracking %s: first case: %w", code, err))
	case firstID != *caseID:
		t.Regrouped = &first
	}
	return t, nil
}

func contactOf(code string, r schemas.Request) Contact {
	c := Contact{Code: code, Channel: r.Channel, ReceivedAt: r.ReceivedAt, Subject: r.Subject, Body: r.Body}
	for _, a := range r.Attachments {
		c.Files = append(c.Files, a.Name)
	}
	c.Attachments = r.Attachments
	return c
}

// NotificationSent says whether a message of that kind went out for a
// request.
func (s *Store) NotificationSent(ctx context.Context, requestID, kind string) (bool, error) {
	var sent bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM notifications WHERE request_id = $1 AND kind = $2 AND delivered)`, requestID, kind).Scan(&sent)
	if err != nil {
		return false, fault.E(fault.Transient, fmt.Errorf("casestore: notification %s/%s: %w", requestID, kind, err))
	}
	return sent, nil
}

// RecordNotification notes that a message went out.
func (s *Store) RecordNotification(ctx context.Context, requestID, kind, recipient string) error {
	if _, err := s.pool.Exec(ctx, `
		INSERT INTO notifications (request_id, kind, recipient) VALUES ($1, $2, $3)
		ON CONFLICT (request_id, kind) DO UPDATE SET delivered = true`,
		requestID, kind, recipient); err != nil {
		return fault.E(fault.Transient, fmt.Errorf("casestore: record notification %s/%s: %w", requestID, kind, err))
	}
	return nil
}

// reservationHeld is how long a reservation is taken to be a sending in
// progress: longer than any send, shorter than the notifier's retries.
const reservationHeld = time.Minute

// Reservation is what ReserveNotification decided.
type Reservation int

// Reservations.
const (
	Reserved  Reservation = iota // send it, then RecordNotification
	Delivered                    // sent already
	Withheld                     // over the limit: not to be sent (recorded as kind+"_withheld")
)

// ReserveNotification decides, under a lock of the recipient's address so
// that concurrent notifiers cannot all slip under the limit, whether a
// message of kind goes to recipient for a request: not when it was sent
// already, nor when the address received limit of that kind since a time
// (then the message is recorded as withheld); otherwise it is reserved and
// counts at once. A reservation younger than a minute is a sending in
// progress (Transient: try later); an older one whose sending failed is
// sent again: a second copy rather than none.
func (s *Store) ReserveNotification(ctx context.Context, requestID, kind, recipient string, limit int, since time.Time) (Reservation, error) {
	wrap := func(err error) error {
		return fault.E(fault.Transient, fmt.Errorf("casestore: reserve notification %s/%s: %w", requestID, kind, err))
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, wrap(err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('notify:' || $1, 0))`, recipient); err != nil {
		return 0, wrap(err)
	}
	var delivered, recent bool
	err = tx.QueryRow(ctx, `SELECT delivered, sent_at > now() - $3::interval FROM notifications WHERE request_id = $1 AND kind = $2`,
		requestID, kind, reservationHeld.String()).Scan(&delivered, &recent)
	switch {
	case err == nil && delivered:
		return Delivered, nil
	case err == nil && recent:
		// Another notifier may be sending it this very moment (a redelivery
		// racing the first delivery): try again later rather than twice.
		return 0, fault.E(fault.Transient, fmt.Errorf("casestore: notification %s/%s being sent", requestID, kind))
	case err == nil:
		return Reserved, nil // reserved by an earlier try that did not send
	case !errors.Is(err, pgx.ErrNoRows):
		return 0, wrap(err)
	}
	var withheld bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM notifications WHERE request_id = $1 AND kind = $2)`, requestID, kind+"_withheld").Scan(&withheld); err != nil {
		return 0, wrap(err)
	}
	if withheld {
		return Withheld, nil
	}
	var n int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM notifications WHERE recipient = $1 AND kind = $2 AND sent_at >= $3`, recipient, kind, since).Scan(&n); err != nil {
		return 0, wrap(err)
	}
	res, kindRecorded, delivered := Reserved, kind, false
	if n >= limit {
		res, kindRecorded, delivered = Withheld, kind+"_withheld", true
	}
	if _, err := tx.Exec(ctx, `INSERT INTO notifications (request_id, kind, recipient, delivered) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
		requestID, kindRecorded, recipient, delivered); err != nil {
		return 0, wrap(err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, wrap(err)
	}
	return res, nil
}
