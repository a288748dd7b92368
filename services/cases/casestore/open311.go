package casestore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

// PublicQuery chooses the requests of a public feed (Open311 GET
// requests).
type PublicQuery struct {
	// IDs, when given, are the only requests asked for (UUIDs, checked by
	// the caller); the period and status still apply if set.
	IDs []string
	// Services are the service codes (competences) the feed may show; a
	// request of any other — personal data requests, triage without a
	// competence given — is never shown. Required.
	Services []string
	// From and To bound the reception time (inclusive); zero: unbounded.
	From, To time.Time
	// Status is "open", "closed" or "" for both.
	Status string
	// Limit bounds the answer (1000 when zero or more).
	Limit int
}

// PublicRequest is what a public feed may say of a request: never who
// made it. Description is set only when the citizen agreed to its
// publication, and then Contacts are theirs, for the caller to mask them
// in it; both are empty otherwise.
type PublicRequest struct {
	ID         string
	Service    string // the case's competence, or the one given before routing
	Channel    string
	ReceivedAt time.Time
	UpdatedAt  time.Time
	State      string // the case's state; "" before routing
	Territory  string // the case's territory; "" when not known
	Deadline   *time.Time
	Location   *schemas.Location // the place the request is about, never the citizen's address
	Consent    bool
	// Description and Contacts: only with Consent (see above).
	Description string
	Contacts    []string // name, e-mail address, phone number as given
}

// ClosedStates are the case states a public feed calls closed.
var ClosedStates = []string{"resolved", "closed", "rejected", "redirected", "merged"}

// publicFeedLimit is the most requests one answer holds.
const publicFeedLimit = 1000

// PublicRequests reads the requests of a public feed, newest first. The
// text and the contacts leave the database only for a request whose
// citizen consented to publication.
func (s *Store) PublicRequests(ctx context.Context, q PublicQuery) ([]PublicRequest, error) {
	if len(q.Services) == 0 {
		return nil, nil
	}
	limit := q.Limit
	if limit <= 0 || limit > publicFeedLimit {
		limit = publicFeedLimit
	}
	var from, to *time.Time
	if !q.From.IsZero() {
		from = &q.From
	}
	if !q.To.IsZero() {
		to = &q.To
	}
	var ids []string
	if len(q.IDs) > 0 {
		ids = q.IDs
	}
	// The service is the case's competence, else (triage, not routed yet)
	// the one the citizen or the partner chose.
	rows, err := s.pool.Query(ctx, `
		WITH feed AS (
		  SELECT r.id, r.channel, r.received_at, r.payload, c.state, c.territory, c.deadline, c.updated_at,
		         CASE WHEN c.competence IS NOT NULL AND c.competence <> 'triage' THEN c.competence
		              ELSE r.payload->'hints'->>'competence' END AS service,
		         COALESCE(r.payload->'publication_consent' = 'true'::jsonb, false) AS consent
		  FROM requests r LEFT JOIN cases c ON c.id = r.case_id
		  WHERE ($1::uuid[] IS NULL OR r.id = ANY($1::uuid[]))
		    AND ($2::timestamptz IS NULL OR r.received_at >= $2)
		    AND ($3::timestamptz IS NULL OR r.received_at <= $3)
		)
		SELECT id::text, service, channel, received_at, GREATEST(received_at, updated_at), COALESCE(state, ''),
		       COALESCE(territory, ''), deadline, payload->'location', consent,
		       CASE WHEN consent THEN COALESCE(payload->>'body', '') ELSE '' END,
		       CASE WHEN consent THEN array_remove(ARRAY[payload#>>'{citizen,name}', payload#>>'{citizen,email}',
		                                                payload#>>'{citizen,phone}'], NULL)
		            ELSE '{}'::text[] END
		FROM feed
		WHERE service = ANY($4::text[])
		  AND ($5 = '' OR ($5 = 'closed') = (COALESCE(state, '') = ANY($6::text[])))
		ORDER BY received_at DESC, id DESC
		LIMIT $7`, ids, from, to, q.Services, q.Status, ClosedStates, limit)
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: public requests: %w", err))
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (PublicRequest, error) {
		var p PublicRequest
		var loc []byte
		if err := row.Scan(&p.ID, &p.Service, &p.Channel, &p.ReceivedAt, &p.UpdatedAt, &p.State, &p.Territory, &p.Deadline,
			&loc, &p.Consent, &p.Description, &p.Contacts); err != nil {
			return p, err
		}
		if len(loc) > 0 && string(loc) != "null" {
			p.Location = &schemas.Location{}
			if err := json.Unmarshal(loc, p.Location); err != nil {
				return p, err
			}
		}
		return p, nil
	})
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: public requests: %w", err))
	}
	return out, nil
}
