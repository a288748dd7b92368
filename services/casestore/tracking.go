package casestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/fault"
)

// Tracking is what a citizen may see of a request through its tracking code:
// never internal notes, never other people's contacts.
type Tracking struct {
	Code       string
	Status     string // received | routed | failed
	ReceivedAt time.Time
	RoutedAt   *time.Time
	Request    schemas.Request
	Case       *CaseSummary // nil until routed; without its events
	Messages   []Contact    // the citizen's own contacts in the case, oldest first
	Replies    []Reply      // replies addressed to the citizen, oldest first
}

// Contact is one of the citizen's requests in a case.
type Contact struct {
	Code       string
	Channel    string
	ReceivedAt time.Time
	Subject    string
	Body       string
	Files      []string
}

// Reply is a message a team addressed to the citizen.
type Reply struct {
	At      time.Time
	Message string
}

// Tracking returns the request with that tracking code, its case, the
// citizen's own contacts in it and the replies addressed to them.
func (s *Store) Tracking(ctx context.Context, code string) (Tracking, error) {
	var t Tracking
	var raw []byte
	var caseID, citizenID *int64
	err := s.pool.QueryRow(ctx, `
		SELECT tracking_code, status, received_at, routed_at, payload, case_id, citizen_id
		FROM requests WHERE tracking_code = $1`, code).
		Scan(&t.Code, &t.Status, &t.ReceivedAt, &t.RoutedAt, &raw, &caseID, &citizenID)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, notFound("tracking code", code)
	}
	if err != nil {
		return t, fault.E(fault.Transient, fmt.Errorf("casestore: tracking %s: %w", code, err))
	}
	if err := json.Unmarshal(raw, &t.Request); err != nil {
		return t, fmt.Errorf("casestore: tracking %s: payload: %w", code, err)
	}
	if caseID == nil {
		t.Messages = []Contact{contactOf(t.Code, t.Request)}
		return t, nil
	}
	var c CaseSummary
	var territory *string
	if err := s.pool.QueryRow(ctx, `SELECT ref, competence, territory, state, opened_at, updated_at FROM cases WHERE id = $1`, *caseID).
		Scan(&c.Ref, &c.Competence, &territory, &c.State, &c.OpenedAt, &c.UpdatedAt); err != nil {
		return t, fault.E(fault.Transient, fmt.Errorf("casestore: tracking %s: case: %w", code, err))
	}
	if territory != nil {
		c.Territory = *territory
	}
	t.Case = &c

	// Only this person's contacts: a case can also hold other people's.
	rows, err := s.pool.Query(ctx, `
		SELECT tracking_code, payload FROM requests
		WHERE case_id = $1 AND (id = $2 OR (citizen_id IS NOT NULL AND citizen_id = $3))
		ORDER BY received_at, id`, *caseID, t.Request.ID, citizenID)
	if err != nil {
		return t, fault.E(fault.Transient, fmt.Errorf("casestore: tracking %s: contacts: %w", code, err))
	}
	t.Messages, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (Contact, error) {
		var code string
		var raw []byte
		var r schemas.Request
		if err := row.Scan(&code, &raw); err != nil {
			return Contact{}, err
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			return Contact{}, err
		}
		return contactOf(code, r), nil
	})
	if err != nil {
		return t, fault.E(fault.Transient, fmt.Errorf("casestore: tracking %s: contacts: %w", code, err))
	}

	rows, err = s.pool.Query(ctx, `
		SELECT at, COALESCE(payload->'data'->>'message', '') FROM case_events
		WHERE case_id = $1 AND type = $2 AND COALESCE(payload->'data'->>'channel', '') <> 'callback' ORDER BY seq`, *caseID, schemas.EventReplied)
	if err != nil {
		return t, fault.E(fault.Transient, fmt.Errorf("casestore: tracking %s: replies: %w", code, err))
	}
	t.Replies, err = pgx.CollectRows(rows, pgx.RowToStructByPos[Reply])
	if err != nil {
		return t, fault.E(fault.Transient, fmt.Errorf("casestore: tracking %s: replies: %w", code, err))
	}
	return t, nil
}

func contactOf(code string, r schemas.Request) Contact {
	c := Contact{Code: code, Channel: r.Channel, ReceivedAt: r.ReceivedAt, Subject: r.Subject, Body: r.Body}
	for _, a := range r.Attachments {
		c.Files = append(c.Files, a.Name)
	}
	return c
}

// NotificationSent says whether a message of that kind went out for a
// request.
func (s *Store) NotificationSent(ctx context.Context, requestID, kind string) (bool, error) {
	var sent bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM notifications WHERE request_id = $1 AND kind = $2)`, requestID, kind).Scan(&sent)
	if err != nil {
		return false, fault.E(fault.Transient, fmt.Errorf("casestore: notification %s/%s: %w", requestID, kind, err))
	}
	return sent, nil
}

// RecordNotification notes that a message went out.
func (s *Store) RecordNotification(ctx context.Context, requestID, kind, recipient string) error {
	if _, err := s.pool.Exec(ctx, `
		INSERT INTO notifications (request_id, kind, recipient) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
		requestID, kind, recipient); err != nil {
		return fault.E(fault.Transient, fmt.Errorf("casestore: record notification %s/%s: %w", requestID, kind, err))
	}
	return nil
}
