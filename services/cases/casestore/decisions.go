package casestore

import (
	"context"
	"fmt"
	"time"

	"github.com/ampmetropole/guichet/services/cases/scope"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// DecisionFigures say how the router's decisions fared with people since
// a date: how many requests it decided, how many it left to the triage
// queue, and how many of those it routed itself a person then gave to
// another team or case (re-routed or moved).
type DecisionFigures struct {
	Since    time.Time
	Routed   int // requests whose first decision was the router's
	ToTriage int // of those, left to people (triage)
	Auto     int // of those, routed to a team by the router
	Changed  int // of Auto, changed afterwards by a person
}

// DecisionFiguresSince counts the router's decisions taken since since.
func (s *Store) DecisionFiguresSince(ctx context.Context, since time.Time) (DecisionFigures, error) {
	f := DecisionFigures{Since: since}
	err := s.pool.QueryRow(ctx, `
		WITH first AS (
		  SELECT DISTINCT ON (d.request_id) d.request_id, d.competence, d.decided_by, d.decided_at
		  FROM routing_decisions d WHERE d.request_id >= $2::uuid AND d.decided_at >= $1
		  ORDER BY d.request_id, d.decided_at, d.id
		)
		SELECT count(*),
		       count(*) FILTER (WHERE f.competence = 'triage'),
		       count(*) FILTER (WHERE f.competence <> 'triage'),
		       count(*) FILTER (WHERE f.competence <> 'triage' AND EXISTS (
		         SELECT 1 FROM routing_decisions h WHERE h.request_id = f.request_id AND h.decided_by <> 'router'
		           AND h.outcome IN ('rerouted', 'moved') AND h.decided_at >= f.decided_at))
		FROM first f WHERE f.decided_by = 'router'`, since, uuidSince(since.AddDate(0, 0, -1))).Scan(&f.Routed, &f.ToTriage, &f.Auto, &f.Changed)
	if err != nil {
		return f, fault.E(fault.Transient, fmt.Errorf("casestore: decision figures: %w", err))
	}
	return f, nil
}

// ControlCount is the router's decisions of one week, channel and
// competence (the case's now) that a scope holds, and what people did.
type ControlCount struct {
	Week       time.Time // Monday, Paris time
	Channel    string
	Competence string
	DecisionFigures
}

// Control counts, per week, channel and competence, the requests the router
// decided in the last weeks (a request's first decision): left to triage,
// routed to a team, and of those changed by a person. For the dashboard's
// human-control trends.
func (s *Store) Control(ctx context.Context, sc scope.Scope, weeks int, now time.Time) ([]ControlCount, error) {
	competences, territories, ok := sc.Arrays()
	if !ok {
		return nil, nil
	}
	if competences == nil {
		competences = []string{}
	}
	if territories == nil {
		territories = []string{}
	}
	since := now.AddDate(0, 0, -7*weeks)
	rows, err := s.pool.Query(ctx, `
		WITH first AS (
		  SELECT DISTINCT ON (d.request_id) d.request_id, d.competence, d.decided_by, d.decided_at
		  FROM routing_decisions d WHERE d.request_id >= $4::uuid AND d.decided_at >= $1
		  ORDER BY d.request_id, d.decided_at, d.id
		)
		SELECT date_trunc('week', f.decided_at AT TIME ZONE 'Europe/Paris') AT TIME ZONE 'Europe/Paris', r.channel, c.competence,
		       count(*), count(*) FILTER (WHERE f.competence = 'triage'), count(*) FILTER (WHERE f.competence <> 'triage'),
		       count(*) FILTER (WHERE f.competence <> 'triage' AND EXISTS (
		         SELECT 1 FROM routing_decisions h WHERE h.request_id = f.request_id AND h.decided_by <> 'router'
		           AND h.outcome IN ('rerouted', 'moved') AND h.decided_at >= f.decided_at))
		FROM first f JOIN requests r ON r.id = f.request_id JOIN cases c ON c.id = r.case_id
		WHERE f.decided_by = 'router'
		  AND (cardinality($2::text[]) = 0 OR c.competence = ANY($2))
		  AND (cardinality($3::text[]) = 0 OR c.territory = ANY($3))
		GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`, since, competences, territories, uuidSince(since.AddDate(0, 0, -1)))
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: control: %w", err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ControlCount, error) {
		var c ControlCount
		err := r.Scan(&c.Week, &c.Channel, &c.Competence, &c.Routed, &c.ToTriage, &c.Auto, &c.Changed)
		return c, err
	})
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: control: %w", err))
	}
	return out, nil
}

// uuidSince is the smallest UUIDv7 of a time: request ids are UUIDv7 of
// about their arrival (a call's, of its start), so a range of ids finds the
// recent requests through the primary key, without an index on a date.
func uuidSince(t time.Time) string {
	var u uuid.UUID
	ms := uint64(t.UnixMilli())
	for i := range 6 {
		u[i] = byte(ms >> (40 - 8*i))
	}
	return u.String()
}
