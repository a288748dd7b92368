package casestore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/scope"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

// TriageTextMax is how much of a request's text the triage queue shows, in
// characters: enough to decide, not a whole letter.
const TriageTextMax = 600

// TriageCase is a case the router left to people, as the triage queue shows
// it: what the citizen wrote and where, how and when it came, and why the
// router could not decide.
type TriageCase struct {
	Ref       string
	Territory string // "" when not known
	OpenedAt  time.Time
	Channels  []string
	Requests  int
	// The first contact: its channel, date, subject, text (at most
	// TriageTextMax characters; a call's words, a letter's read text when it
	// has no body) and the place as given.
	Channel    string
	ReceivedAt time.Time
	Subject    string
	Text       string
	Cut        bool // Text is the beginning of a longer text
	Location   *schemas.Location
	// Reasons of the router's latest decision about the case.
	Reasons []Reason
}

// TriageQueue lists the pending triage cases a scope holds, the oldest
// first, at most limit (1–100) of them, with how many there are in all.
func (s *Store) TriageQueue(ctx context.Context, sc scope.Scope, limit int) ([]TriageCase, int, error) {
	if limit <= 0 || limit > 100 {
		limit = 30
	}
	args := pgx.NamedArgs{"limit": limit, "max": TriageTextMax, "triage": schemas.CompetenceTriage}
	cond := "c.competence = @triage AND " + pendingCond
	if sc := sc.SQL("c.competence", "c.territory", scopeArg(args, "scope")); sc != "" {
		cond += " AND " + sc
	}
	var total int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM cases c WHERE `+cond, args).Scan(&total); err != nil {
		return nil, 0, fault.E(fault.Transient, fmt.Errorf("casestore: triage count: %w", err))
	}
	// The text: the body, else what the caller said, else a letter's or
	// attachment's read text.
	rows, err := s.pool.Query(ctx, `
		SELECT c.ref, COALESCE(c.territory, ''), c.opened_at,
		       ARRAY(SELECT DISTINCT r.channel FROM requests r WHERE r.case_id = c.id ORDER BY 1),
		       (SELECT count(*) FROM requests r WHERE r.case_id = c.id),
		       COALESCE(f.channel, ''), COALESCE(f.received_at, c.opened_at), COALESCE(f.subject, ''),
		       COALESCE(left(f.text, @max), ''), COALESCE(char_length(f.text) > @max, false), f.location,
		       COALESCE((SELECT d.reasons FROM routing_decisions d JOIN requests r ON r.id = d.request_id
		                 WHERE r.case_id = c.id ORDER BY d.decided_at DESC, d.id DESC LIMIT 1), '[]')
		FROM cases c
		LEFT JOIN LATERAL (
			SELECT r.channel, r.received_at, r.payload->>'subject' AS subject, r.payload->'location' AS location,
			       COALESCE(NULLIF(btrim(r.payload->>'body'), ''),
			                NULLIF((SELECT string_agg(t->>'text', ' ') FROM jsonb_array_elements(
			                    CASE WHEN jsonb_typeof(r.payload->'transcript') = 'array' THEN r.payload->'transcript' ELSE '[]'::jsonb END) t
			                    WHERE t->>'speaker' IS DISTINCT FROM 'agent'), ''),
			                NULLIF(btrim(r.payload->'attachments'->0->>'extracted_text'), '')) AS text
			FROM requests r WHERE r.case_id = c.id ORDER BY r.received_at, r.id LIMIT 1) f ON true
		WHERE `+cond+`
		ORDER BY c.opened_at, c.id LIMIT @limit`, args)
	if err != nil {
		return nil, 0, fault.E(fault.Transient, fmt.Errorf("casestore: triage queue: %w", err))
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (TriageCase, error) {
		var c TriageCase
		var n int64
		var place, reasons []byte
		if err := row.Scan(&c.Ref, &c.Territory, &c.OpenedAt, &c.Channels, &n, &c.Channel, &c.ReceivedAt, &c.Subject,
			&c.Text, &c.Cut, &place, &reasons); err != nil {
			return c, err
		}
		c.Requests = int(n)
		if len(place) > 0 && string(place) != "null" {
			var l schemas.Location
			if json.Unmarshal(place, &l) == nil && (l.Address != "" || l.PostalCode != "" || l.CommuneINSEE != "" || l.Lat != nil) {
				c.Location = &l
			}
		}
		_ = json.Unmarshal(reasons, &c.Reasons)
		return c, nil
	})
	if err != nil {
		return nil, 0, fault.E(fault.Transient, fmt.Errorf("casestore: triage queue: %w", err))
	}
	return out, total, nil
}
