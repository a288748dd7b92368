package casestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/platform/textcheck"
)

// Change is who corrects the router and why; both are kept in the case
// history (the audit trail) and the routing decisions.
type Change struct {
	Actor  string // the agent's identifier
	Reason string
}

func (c Change) check() error {
	if strings.TrimSpace(c.Actor) == "" || strings.TrimSpace(c.Reason) == "" {
		return fault.E(fault.Invalid, errors.New("casestore: qui (actor) et pourquoi (reason) sont obligatoires"))
	}
	if len(c.Actor) > 128 || len(c.Reason) > 2000 {
		return fault.E(fault.Invalid, errors.New("casestore: actor (128) ou reason (2000 caractères) trop long"))
	}
	return storable(c.Actor, c.Reason)
}

// storable refuses text PostgreSQL would refuse (a NUL, invalid UTF-8), as
// a clear Invalid error rather than a database failure.
func storable(texts ...string) error {
	for _, t := range texts {
		if !textcheck.Valid(t) {
			return fault.E(fault.Invalid, errors.New("casestore: caractère non permis (caractère nul ou encodage invalide)"))
		}
	}
	return nil
}

// closedStates are the states a case no longer takes requests in.
var closedStates = []string{"closed", "rejected", "redirected", "merged"}

// humanEvent is an event a person caused.
func humanEvent(typ string, c CaseRow, ch Change, summary string, data map[string]any) schemas.CaseEvent {
	id, _ := uuid.NewV7()
	data["reason"] = ch.Reason
	return schemas.CaseEvent{ID: id.String(), Schema: schemas.CaseEventV1, Type: typ, At: time.Now().UTC().Truncate(time.Millisecond),
		Actor: schemas.Actor{Kind: "agent", ID: ch.Actor}, Competence: c.Competence, Territory: c.Territory, State: c.State,
		Summary: summary, Data: data}
}

// requestsOf lists the ids of the requests a case holds, oldest first.
func (t *RouteTx) requestsOf(ctx context.Context, caseID int64) ([]string, error) {
	rows, err := t.tx.Query(ctx, `SELECT id::text FROM requests WHERE case_id = $1 ORDER BY received_at, id`, caseID)
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: requests of case: %w", err))
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: requests of case: %w", err))
	}
	return ids, nil
}

// decide records a person's decision for each request.
func (t *RouteTx) decide(ctx context.Context, ids []string, c CaseRow, outcome string, ch Change) error {
	for _, id := range ids {
		if err := t.RecordDecision(ctx, Decision{RequestID: id, CaseID: c.ID, Outcome: outcome, Competence: c.Competence,
			Territory: c.Territory, ModelVersion: "humain", DecidedBy: ch.Actor,
			Reasons: []Reason{{Code: "human", Detail: ch.Reason}}}); err != nil {
			return err
		}
	}
	return nil
}

// Reroute gives a case to another competence (and territory, when not
// empty): a triage decision or a team passing a case on. Every request of
// the case gets the person's decision, which export-training reads.
func (s *Store) Reroute(ctx context.Context, ref, competence, territory string, ch Change) ([]OutboxMsg, error) {
	if err := ch.check(); err != nil {
		return nil, err
	}
	return s.Route(ctx, func(ctx context.Context, t *RouteTx) error {
		c, err := t.LockCase(ctx, ref)
		if err != nil {
			return err
		}
		if slices.Contains(closedStates, c.State) {
			return fault.E(fault.Conflict, fmt.Errorf("casestore: le dossier %s est %s", ref, c.State))
		}
		from, fromTerr := c.Competence, c.Territory
		if territory == "" {
			territory = c.Territory
		}
		if from == competence && fromTerr == territory {
			return fault.E(fault.Conflict, fmt.Errorf("casestore: le dossier %s est déjà en %s", ref, competence))
		}
		if _, err := t.tx.Exec(ctx, `UPDATE cases SET competence = $2, territory = NULLIF($3, ''), updated_at = now() WHERE id = $1`,
			c.ID, competence, territory); err != nil {
			return fault.E(fault.Transient, fmt.Errorf("casestore: reroute %s: %w", ref, err))
		}
		c.Competence, c.Territory = competence, territory
		if _, err := t.AppendEvent(ctx, c, humanEvent(schemas.EventRerouted, c, ch, fmt.Sprintf("réorienté de %s vers %s", from, competence),
			map[string]any{"from": from, "to": competence, "from_territory": fromTerr, "to_territory": territory})); err != nil {
			return err
		}
		ids, err := t.requestsOf(ctx, c.ID)
		if err != nil {
			return err
		}
		return t.decide(ctx, ids, c, "rerouted", ch)
	})
}

// MoveRequests takes requests out of case fromRef into case toRef, or into
// a new case with the same competence and territory when toRef is empty:
// undoing a link (one request), splitting a case (several), or linking
// back. It returns the reference of the case they went to.
func (s *Store) MoveRequests(ctx context.Context, fromRef string, ids []string, toRef string, ch Change) (string, []OutboxMsg, error) {
	if err := ch.check(); err != nil {
		return "", nil, err
	}
	if len(ids) == 0 {
		return "", nil, fault.E(fault.Invalid, errors.New("casestore: aucune demande à déplacer"))
	}
	var dest string
	msgs, err := s.Route(ctx, func(ctx context.Context, t *RouteTx) error {
		from, to, err := t.lockPair(ctx, fromRef, toRef)
		if err != nil {
			return err
		}
		held, err := t.requestsOf(ctx, from.ID)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if !slices.Contains(held, id) {
				return fault.E(fault.Invalid, fmt.Errorf("casestore: la demande %s n'est pas dans le dossier %s", id, fromRef))
			}
		}
		if toRef == "" {
			if len(ids) == len(held) {
				return fault.E(fault.Conflict, fmt.Errorf("casestore: le dossier %s garderait zéro demande : rien à séparer", fromRef))
			}
			var citizen *int64
			var commune string
			if err := t.tx.QueryRow(ctx, `SELECT citizen_id, COALESCE(commune, '') FROM cases WHERE id = $1`, from.ID).Scan(&citizen, &commune); err != nil {
				return fault.E(fault.Transient, fmt.Errorf("casestore: case %s: %w", fromRef, err))
			}
			nc := NewCase{Competence: from.Competence, Territory: from.Territory, Commune: commune}
			if citizen != nil {
				nc.CitizenID = *citizen
			}
			if to, err = t.CreateCase(ctx, nc); err != nil {
				return err
			}
			if _, err := t.AppendEvent(ctx, to, humanEvent(schemas.EventCreated, to, ch, "séparé du dossier "+fromRef,
				map[string]any{"split_from": fromRef, "requests": ids})); err != nil {
				return err
			}
		} else if slices.Contains(closedStates, to.State) {
			return fault.E(fault.Conflict, fmt.Errorf("casestore: le dossier %s est %s", toRef, to.State))
		}
		if _, err := t.tx.Exec(ctx, `UPDATE requests SET case_id = $2 WHERE id = ANY($1::uuid[])`, ids, to.ID); err != nil {
			return fault.E(fault.Transient, fmt.Errorf("casestore: move requests: %w", err))
		}
		if _, err := t.tx.Exec(ctx, `UPDATE cases SET updated_at = now() WHERE id = ANY($1)`, []int64{from.ID, to.ID}); err != nil {
			return fault.E(fault.Transient, fmt.Errorf("casestore: move requests: %w", err))
		}
		n := fmt.Sprintf("%d demande(s)", len(ids))
		if _, err := t.AppendEvent(ctx, from, humanEvent(schemas.EventUnlinked, from, ch, n+" déplacée(s) vers "+to.Ref,
			map[string]any{"to_case": to.Ref, "requests": ids})); err != nil {
			return err
		}
		if toRef != "" {
			if _, err := t.AppendEvent(ctx, to, humanEvent(schemas.EventRequestLinked, to, ch, n+" venue(s) du dossier "+fromRef,
				map[string]any{"from_case": fromRef, "requests": ids})); err != nil {
				return err
			}
		}
		dest = to.Ref
		return t.decide(ctx, ids, to, "moved", ch)
	})
	return dest, msgs, err
}

// lockPair locks two cases in a fixed order (by reference), so that two
// moves in opposite directions cannot deadlock; toRef may be empty.
func (t *RouteTx) lockPair(ctx context.Context, fromRef, toRef string) (CaseRow, CaseRow, error) {
	if fromRef == toRef {
		return CaseRow{}, CaseRow{}, fault.E(fault.Invalid, errors.New("casestore: même dossier de départ et d'arrivée"))
	}
	refs := []string{fromRef}
	if toRef != "" {
		refs = append(refs, toRef)
	}
	slices.Sort(refs)
	got := map[string]CaseRow{}
	for _, r := range refs {
		c, err := t.LockCase(ctx, r)
		if err != nil {
			return CaseRow{}, CaseRow{}, err
		}
		got[r] = c
	}
	return got[fromRef], got[toRef], nil
}

// Merge puts every request of case fromRef into case intoRef and marks
// fromRef merged; Unmerge undoes it.
func (s *Store) Merge(ctx context.Context, fromRef, intoRef string, ch Change) ([]OutboxMsg, error) {
	if err := ch.check(); err != nil {
		return nil, err
	}
	if intoRef == "" {
		return nil, fault.E(fault.Invalid, errors.New("casestore: dossier de destination (into) obligatoire"))
	}
	return s.Route(ctx, func(ctx context.Context, t *RouteTx) error {
		from, into, err := t.lockPair(ctx, fromRef, intoRef)
		if err != nil {
			return err
		}
		for _, c := range []CaseRow{from, into} {
			if slices.Contains(closedStates, c.State) {
				return fault.E(fault.Conflict, fmt.Errorf("casestore: le dossier %s est %s", c.Ref, c.State))
			}
		}
		ids, err := t.requestsOf(ctx, from.ID)
		if err != nil {
			return err
		}
		if _, err := t.tx.Exec(ctx, `UPDATE requests SET case_id = $2 WHERE case_id = $1`, from.ID, into.ID); err != nil {
			return fault.E(fault.Transient, fmt.Errorf("casestore: merge: %w", err))
		}
		if _, err := t.tx.Exec(ctx, `UPDATE cases SET state_before_merge = state, state = 'merged', merged_into = $2, updated_at = now() WHERE id = $1`,
			from.ID, into.ID); err != nil {
			return fault.E(fault.Transient, fmt.Errorf("casestore: merge: %w", err))
		}
		if _, err := t.tx.Exec(ctx, `UPDATE cases SET updated_at = now() WHERE id = $1`, into.ID); err != nil {
			return fault.E(fault.Transient, fmt.Errorf("casestore: merge: %w", err))
		}
		prev := from.State
		from.State = "merged"
		if _, err := t.AppendEvent(ctx, from, humanEvent(schemas.EventMerged, from, ch, "fusionné dans "+intoRef,
			map[string]any{"into": intoRef, "requests": ids, "state_before": prev})); err != nil {
			return err
		}
		if _, err := t.AppendEvent(ctx, into, humanEvent(schemas.EventMerged, into, ch, fmt.Sprintf("a reçu le dossier %s (%d demande(s))", fromRef, len(ids)),
			map[string]any{"from": fromRef, "requests": ids})); err != nil {
			return err
		}
		return t.decide(ctx, ids, into, "moved", ch)
	})
}

// Unmerge gives a merged case its requests and its state back.
func (s *Store) Unmerge(ctx context.Context, ref string, ch Change) ([]OutboxMsg, error) {
	if err := ch.check(); err != nil {
		return nil, err
	}
	return s.Route(ctx, func(ctx context.Context, t *RouteTx) error {
		var intoRef string
		var before *string
		err := t.tx.QueryRow(ctx, `SELECT i.ref, c.state_before_merge FROM cases c JOIN cases i ON i.id = c.merged_into WHERE c.ref = $1 AND c.state = 'merged'`,
			ref).Scan(&intoRef, &before)
		if errors.Is(err, pgx.ErrNoRows) {
			return fault.E(fault.Conflict, fmt.Errorf("casestore: le dossier %s n'est pas fusionné", ref))
		}
		if err != nil {
			return fault.E(fault.Transient, fmt.Errorf("casestore: unmerge %s: %w", ref, err))
		}
		from, into, err := t.lockPair(ctx, ref, intoRef)
		if err != nil {
			return err
		}
		var raw []byte
		err = t.tx.QueryRow(ctx, `SELECT payload FROM case_events WHERE case_id = $1 AND type = 'merged' ORDER BY seq DESC LIMIT 1`, from.ID).Scan(&raw)
		if err != nil {
			return fault.E(fault.Transient, fmt.Errorf("casestore: unmerge %s: %w", ref, err))
		}
		var ev schemas.CaseEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return fmt.Errorf("casestore: unmerge %s: %w", ref, err)
		}
		var ids []string
		if list, ok := ev.Data["requests"].([]any); ok {
			for _, x := range list {
				if id, ok := x.(string); ok {
					ids = append(ids, id)
				}
			}
		}
		// Only the requests still in the case it went into come back.
		if _, err := t.tx.Exec(ctx, `UPDATE requests SET case_id = $2 WHERE id = ANY($1::uuid[]) AND case_id = $3`, ids, from.ID, into.ID); err != nil {
			return fault.E(fault.Transient, fmt.Errorf("casestore: unmerge: %w", err))
		}
		state := "received"
		if before != nil {
			state = *before
		}
		if _, err := t.tx.Exec(ctx, `UPDATE cases SET state = $2, merged_into = NULL, state_before_merge = NULL, updated_at = now() WHERE id = $1`,
			from.ID, state); err != nil {
			return fault.E(fault.Transient, fmt.Errorf("casestore: unmerge: %w", err))
		}
		from.State = state
		if _, err := t.AppendEvent(ctx, from, humanEvent(schemas.EventUnmerged, from, ch, "fusion avec "+intoRef+" annulée",
			map[string]any{"from": intoRef, "requests": ids})); err != nil {
			return err
		}
		if _, err := t.AppendEvent(ctx, into, humanEvent(schemas.EventUnmerged, into, ch, "le dossier "+ref+" reprend ses demandes",
			map[string]any{"to": ref, "requests": ids})); err != nil {
			return err
		}
		return t.decide(ctx, ids, from, "moved", ch)
	})
}

// Labelled is a request with the competence a person chose for it.
type Labelled struct {
	Request    schemas.Request
	Competence string
	DecidedBy  string
	DecidedAt  time.Time
}

// HumanLabels lists, oldest first, the requests whose decision in force was
// taken by a person choosing a competence (triage, re-route), for
// `guichet export-training`.
func (s *Store) HumanLabels(ctx context.Context, since time.Time) ([]Labelled, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT r.payload, d.competence, d.decided_by, d.decided_at
		FROM requests r
		JOIN LATERAL (SELECT competence, decided_by, decided_at, outcome FROM routing_decisions
		              WHERE request_id = r.id ORDER BY decided_at DESC, id DESC LIMIT 1) d ON true
		WHERE d.outcome = 'rerouted' AND d.decided_at >= $1
		ORDER BY d.decided_at, r.id`, since)
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: human labels: %w", err))
	}
	defer rows.Close()
	var out []Labelled
	for rows.Next() {
		var l Labelled
		var raw []byte
		if err := rows.Scan(&raw, &l.Competence, &l.DecidedBy, &l.DecidedAt); err != nil {
			return nil, fault.E(fault.Transient, fmt.Errorf("casestore: human labels: %w", err))
		}
		if err := json.Unmarshal(raw, &l.Request); err != nil {
			return nil, fmt.Errorf("casestore: human labels: %w", err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: human labels: %w", err))
	}
	return out, nil
}
