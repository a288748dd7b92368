package casestore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ampmetropole/guichet/schemas"

	"github.com/ampmetropole/guichet/services/cases/lifecycle"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

// IncidentCase is one case of an incident as the team sees it.
type IncidentCase struct {
	Ref, State, Channel string
	CreatedAt           time.Time
}

// IncidentCases lists the cases linked to the incident ref, oldest first;
// NotFound when there is no such incident.
func (s *Store) IncidentCases(ctx context.Context, ref string) ([]IncidentCase, error) {
	var id int64
	err := s.pool.QueryRow(ctx, `SELECT id FROM incidents WHERE ref = $1`, ref).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("incident", ref)
	}
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: incident %s: %w", ref, err))
	}
	rows, err := s.pool.Query(ctx, `
		SELECT c.ref, c.state, COALESCE((SELECT r.channel FROM requests r WHERE r.case_id = c.id ORDER BY r.received_at LIMIT 1), ''), c.opened_at
		FROM cases c WHERE c.incident_id = $1 ORDER BY c.opened_at, c.id LIMIT 500`, id)
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: cases of incident %s: %w", ref, err))
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (IncidentCase, error) {
		var c IncidentCase
		return c, row.Scan(&c.Ref, &c.State, &c.Channel, &c.CreatedAt)
	})
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: cases of incident %s: %w", ref, err))
	}
	return list, nil
}

// resolvePath is the walk of the lifecycle from a pending state to
// resolved: each step is the ordinary transition, so that each reporter is
// told through their channel as for a case resolved on its own.
var resolvePath = map[string][]string{
	lifecycle.Received:   {lifecycle.Qualified, lifecycle.InProgress, lifecycle.Resolved},
	lifecycle.Qualified:  {lifecycle.InProgress, lifecycle.Resolved},
	lifecycle.InProgress: {lifecycle.Resolved},
	lifecycle.Waiting:    {lifecycle.Resolved},
}

// ResolveIncident resolves each pending case of the incident ref through
// the lifecycle (Transition: the role is checked, the deadline clock
// stops, the state_changed events make the notifier tell each reporter),
// then marks the incident resolved once none of its cases is pending. It
// returns the cases it resolved. Each case is its own transaction: a
// failure leaves the others resolved and the incident open, and running it
// again finishes the work.
func (s *Store) ResolveIncident(ctx context.Context, ref, role string, ch Change, clock Clock, now time.Time) ([]string, error) {
	if err := ch.check(); err != nil {
		return nil, err
	}
	cases, err := s.IncidentCases(ctx, ref)
	if err != nil {
		return nil, err
	}
	if now.IsZero() {
		now = time.Now()
	}
	var done []string
	for _, c := range cases {
		steps, pending := resolvePath[c.State]
		if !pending {
			continue
		}
		for _, to := range steps {
			tr := TransitionRequest{Ref: c.Ref, To: to, Role: role, Change: ch, Now: now}
			if to == lifecycle.Resolved {
				tr.Public = ch.Reason // the team's message is for every reporter
			}
			if _, err := s.Transition(ctx, tr, clock); err != nil {
				return done, fmt.Errorf("casestore: incident %s, dossier %s: %w", ref, c.Ref, err)
			}
		}
		done = append(done, c.Ref)
	}
	if _, err := s.pool.Exec(ctx, `
		UPDATE incidents i SET state = 'resolved', resolved_at = $2
		WHERE i.ref = $1 AND i.state = 'open'
		  AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.incident_id = i.id AND c.state = ANY($3))`,
		ref, now, lifecycle.Pending); err != nil {
		return done, fault.E(fault.Transient, fmt.Errorf("casestore: resolve incident %s: %w", ref, err))
	}
	return done, nil
}

// DetachCase takes a case out of its incident: an incident_detached event
// names who, why and the incident, so that MoveCase can put it back.
func (s *Store) DetachCase(ctx context.Context, caseRef string, ch Change) ([]OutboxMsg, error) {
	if err := ch.check(); err != nil {
		return nil, err
	}
	return s.Route(ctx, func(ctx context.Context, t *RouteTx) error {
		c, err := t.LockCase(ctx, caseRef)
		if err != nil {
			return err
		}
		var inc *string
		if err := t.tx.QueryRow(ctx, `SELECT i.ref FROM cases c LEFT JOIN incidents i ON i.id = c.incident_id WHERE c.id = $1`, c.ID).Scan(&inc); err != nil {
			return fault.E(fault.Transient, fmt.Errorf("casestore: detach %s: %w", caseRef, err))
		}
		if inc == nil {
			return fault.E(fault.Conflict, fmt.Errorf("casestore: le dossier %s n'est rattaché à aucun incident", caseRef))
		}
		if _, err := t.tx.Exec(ctx, `UPDATE cases SET incident_id = NULL, updated_at = now() WHERE id = $1`, c.ID); err != nil {
			return fault.E(fault.Transient, fmt.Errorf("casestore: detach %s: %w", caseRef, err))
		}
		_, err = t.AppendEvent(ctx, c, humanEvent(schemas.EventIncidentDetached, c, ch, "détaché de l'incident "+*inc,
			map[string]any{"incident": *inc, "by": "person"}))
		return err
	})
}

// MoveCase links a case to the open incident incidentRef of the same
// competence, whether it had none (undoing DetachCase) or another one; an
// incident_linked event names who, why and where it came from.
func (s *Store) MoveCase(ctx context.Context, caseRef, incidentRef string, ch Change) ([]OutboxMsg, error) {
	if err := ch.check(); err != nil {
		return nil, err
	}
	if strings.TrimSpace(incidentRef) == "" {
		return nil, fault.E(fault.Invalid, errors.New("casestore: incident de destination obligatoire"))
	}
	return s.Route(ctx, func(ctx context.Context, t *RouteTx) error {
		c, err := t.LockCase(ctx, caseRef)
		if err != nil {
			return err
		}
		var id int64
		var competence, state string
		err = t.tx.QueryRow(ctx, `SELECT id, competence, state FROM incidents WHERE ref = $1 FOR UPDATE`, incidentRef).Scan(&id, &competence, &state)
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound("incident", incidentRef)
		}
		if err != nil {
			return fault.E(fault.Transient, fmt.Errorf("casestore: move %s: %w", caseRef, err))
		}
		if state != "open" {
			return fault.E(fault.Conflict, fmt.Errorf("casestore: l'incident %s est résolu", incidentRef))
		}
		if competence != c.Competence {
			return fault.E(fault.Conflict, fmt.Errorf("casestore: l'incident %s ne relève pas de la même compétence que le dossier %s", incidentRef, caseRef))
		}
		var from *string
		var created time.Time
		if err := t.tx.QueryRow(ctx, `SELECT i.ref, c.opened_at FROM cases c LEFT JOIN incidents i ON i.id = c.incident_id WHERE c.id = $1`, c.ID).Scan(&from, &created); err != nil {
			return fault.E(fault.Transient, fmt.Errorf("casestore: move %s: %w", caseRef, err))
		}
		if from != nil && *from == incidentRef {
			return fault.E(fault.Conflict, fmt.Errorf("casestore: le dossier %s est déjà rattaché à l'incident %s", caseRef, incidentRef))
		}
		if _, err := t.tx.Exec(ctx, `UPDATE cases SET incident_id = $2, updated_at = now() WHERE id = $1`, c.ID, id); err != nil {
			return fault.E(fault.Transient, fmt.Errorf("casestore: move %s: %w", caseRef, err))
		}
		if _, err := t.tx.Exec(ctx, `
			UPDATE incidents SET first_reported_at = LEAST(first_reported_at, $2), last_reported_at = GREATEST(last_reported_at, $2)
			WHERE id = $1`, id, created); err != nil {
			return fault.E(fault.Transient, fmt.Errorf("casestore: move %s: %w", caseRef, err))
		}
		data := map[string]any{"incident": incidentRef, "by": "person"}
		summary := "rattaché à l'incident " + incidentRef
		if from != nil {
			data["from"] = *from
			summary = fmt.Sprintf("déplacé de l'incident %s vers %s", *from, incidentRef)
		}
		_, err = t.AppendEvent(ctx, c, humanEvent(schemas.EventIncidentLinked, c, ch, summary, data))
		return err
	})
}

// IncidentBrief is what the queue and the case page show of a case's
// incident.
type IncidentBrief struct {
	Ref, State                      string
	Reporters                       int
	FirstReportedAt, LastReportedAt time.Time
}

// IncidentsOfCases gives, for each of the cases refs linked to an
// incident, that incident with its count of reporters (distinct
// citizens, as Incident counts them).
func (s *Store) IncidentsOfCases(ctx context.Context, refs []string) (map[string]IncidentBrief, error) {
	out := map[string]IncidentBrief{}
	if len(refs) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `
		SELECT c.ref, i.ref, i.state, (SELECT count(DISTINCT COALESCE(o.citizen_id, -o.id)) FROM cases o WHERE o.incident_id = i.id), i.first_reported_at, i.last_reported_at
		FROM cases c JOIN incidents i ON i.id = c.incident_id WHERE c.ref = ANY($1)`, refs)
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: incidents of cases: %w", err))
	}
	defer rows.Close()
	for rows.Next() {
		var ref string
		var b IncidentBrief
		if err := rows.Scan(&ref, &b.Ref, &b.State, &b.Reporters, &b.FirstReportedAt, &b.LastReportedAt); err != nil {
			return nil, fault.E(fault.Transient, fmt.Errorf("casestore: incidents of cases: %w", err))
		}
		out[ref] = b
	}
	if err := rows.Err(); err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: incidents of cases: %w", err))
	}
	return out, nil
}

// IncidentSuggestion is an incident the router thought a case might
// belong to, below its threshold: shown to the team, not applied.
type IncidentSuggestion struct {
	Ref, Place, Label string
	Confidence        float64
}

// IncidentSuggestions lists the open incidents suggested for the case ref
// that it is not already linked to, the likeliest first.
func (s *Store) IncidentSuggestions(ctx context.Context, caseRef string) ([]IncidentSuggestion, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT i.ref, i.place, i.label, g.confidence
		FROM incident_suggestions g JOIN cases c ON c.id = g.case_id JOIN incidents i ON i.id = g.incident_id
		WHERE c.ref = $1 AND i.state = 'open' AND c.incident_id IS DISTINCT FROM i.id
		ORDER BY g.confidence DESC LIMIT 5`, caseRef)
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: incident suggestions %s: %w", caseRef, err))
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (IncidentSuggestion, error) {
		var g IncidentSuggestion
		return g, row.Scan(&g.Ref, &g.Place, &g.Label, &g.Confidence)
	})
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: incident suggestions %s: %w", caseRef, err))
	}
	return list, nil
}
