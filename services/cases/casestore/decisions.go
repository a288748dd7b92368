package casestore

import (
	"context"
	"fmt"
	"time"

	"github.com/ampmetropole/guichet/services/platform/fault"
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
		  FROM routing_decisions d WHERE d.decided_at >= $1
		  ORDER BY d.request_id, d.decided_at, d.id
		)
		SELECT count(*),
		       count(*) FILTER (WHERE f.competence = 'triage'),
		       count(*) FILTER (WHERE f.competence <> 'triage'),
		       count(*) FILTER (WHERE f.competence <> 'triage' AND EXISTS (
		         SELECT 1 FROM routing_decisions h WHERE h.request_id = f.request_id AND h.decided_by <> 'router'
		           AND h.outcome IN ('rerouted', 'moved') AND h.decided_at >= f.decided_at))
		FROM first f WHERE f.decided_by = 'router'`, since).Scan(&f.Routed, &f.ToTriage, &f.Auto, &f.Changed)
	if err != nil {
		return f, fault.E(fault.Transient, fmt.Errorf("casestore: decision figures: %w", err))
	}
	return f, nil
}
