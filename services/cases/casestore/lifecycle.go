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

// Clock counts business hours for deadlines (deadline.Calendar).
type Clock interface {
	Due(start time.Time, budget time.Duration) time.Time
	Left(now, due time.Time) time.Duration
}

// TransitionRequest is a change of state a person asks for.
type TransitionRequest struct {
	Ref        string
	To         string
	Role       string // the person's role, checked against the lifecycle
	Change            // who and why
	WaitingOn  string // to waiting: citizen | third_party
	RedirectTo string // to redirected: the body the citizen should contact
	// RedirectCommune is, to redirected, the INSEE code of the commune
	// whose mairie takes the matter over (a communal matter): its desk
	// lists the case, and its front desk and partners are told.
	RedirectCommune string
	// Public is, to resolved, what was done in words for the citizens
	// (an incident's resolution message): their notices quote it.
	Public string
	// Required lists what a case must have before it is qualified
	// (catalogue): "territory", "contact", "location".
	Required []string
	Now      time.Time
}

// caseState is what a transition reads of a case.
type caseState struct {
	row       CaseRow
	deadline  *time.Time
	left      *time.Duration
	hasPlace  bool
	hasReach  bool
	breached  bool
	waitingOn *string
}

// Transition moves a case to another state of the lifecycle, if the
// lifecycle and the role allow it, and keeps the deadline clock: it pauses
// (the business hours left are kept) when the case waits or is finished, and
// starts again from what was left when it resumes. The change is an event of
// the case history naming who and why.
func (s *Store) Transition(ctx context.Context, tr TransitionRequest, clock Clock) ([]OutboxMsg, error) {
	if strings.TrimSpace(tr.Actor) == "" {
		return nil, fault.E(fault.Invalid, errors.New("casestore: qui fait le changement (actor) est obligatoire"))
	}
	if len(tr.Reason) > 2000 || len(tr.RedirectTo) > 300 {
		return nil, fault.E(fault.Invalid, errors.New("casestore: motif (2000) ou organisme (300 caractères) trop long"))
	}
	if err := storable(tr.Actor, tr.Reason, tr.RedirectTo, tr.WaitingOn); err != nil {
		return nil, err
	}
	if tr.RedirectCommune != "" && (tr.To != lifecycle.Redirected || !inseeCode.MatchString(tr.RedirectCommune)) {
		return nil, fault.E(fault.Invalid, fmt.Errorf("casestore: commune destinataire « %.10s » invalide (code INSEE, pour une réorientation seulement)", tr.RedirectCommune))
	}
	if tr.Now.IsZero() {
		tr.Now = time.Now()
	}
	return s.Route(ctx, func(ctx context.Context, t *RouteTx) error {
		st, err := t.caseState(ctx, tr.Ref)
		if err != nil {
			return err
		}
		if err := lifecycle.Check(lifecycle.Transition{From: st.row.State, To: tr.To, Role: tr.Role, Reason: strings.TrimSpace(tr.Reason),
			WaitingOn: tr.WaitingOn, RedirectTo: strings.TrimSpace(tr.RedirectTo)}); err != nil {
			return err
		}
		if tr.To == lifecycle.Qualified {
			var missing []string
			for _, r := range tr.Required {
				switch {
				case r == "territory" && st.row.Territory == "",
					r == "location" && !st.hasPlace,
					r == "contact" && !st.hasReach:
					missing = append(missing, map[string]string{"territory": "le territoire", "location": "le lieu", "contact": "un moyen de joindre le demandeur"}[r])
				}
			}
			if len(missing) > 0 {
				return fault.E(fault.Conflict, fmt.Errorf("casestore: avant de qualifier, il manque %s", strings.Join(missing, ", ")))
			}
		}
		deadline, left := st.deadline, st.left
		running := !lifecycle.Paused(tr.To)
		switch {
		case running && deadline == nil && left != nil:
			// The clock starts again with what was left.
			d := clock.Due(tr.Now, *left)
			deadline, left = &d, nil
		case !running && deadline != nil:
			l := clock.Left(tr.Now, *deadline)
			deadline, left = nil, &l
		}
		var waitingOn, redirectTo, commune *string
		if tr.To == lifecycle.Waiting {
			waitingOn = &tr.WaitingOn
		}
		if tr.To == lifecycle.Redirected {
			r := strings.TrimSpace(tr.RedirectTo)
			redirectTo = &r
			if tr.RedirectCommune != "" {
				commune = &tr.RedirectCommune
			}
		}
		if _, err := t.tx.Exec(ctx, `
			UPDATE cases SET state = $2, deadline = $3, deadline_left = $4, waiting_on = $5,
			       redirect_to = COALESCE($6, redirect_to), redirected_commune = COALESCE($7, redirected_commune), updated_at = now()
			WHERE id = $1`, st.row.ID, tr.To, deadline, left, waitingOn, redirectTo, commune); err != nil {
			return fault.E(fault.Transient, fmt.Errorf("casestore: transition %s: %w", tr.Ref, err))
		}
		from := st.row.State
		st.row.State = tr.To
		data := map[string]any{"from": from, "to": tr.To}
		if tr.WaitingOn != "" && tr.To == lifecycle.Waiting {
			data["waiting_on"] = tr.WaitingOn
		}
		if redirectTo != nil {
			data["redirect_to"] = *redirectTo
		}
		if commune != nil {
			data["redirected_commune"] = *commune
		}
		if p := strings.TrimSpace(tr.Public); p != "" && tr.To == lifecycle.Resolved {
			data["public_message"] = p
		}
		if deadline != nil {
			data["deadline"] = deadline.UTC().Format(time.RFC3339)
		}
		if left != nil {
			data["deadline_left_hours"] = left.Hours()
		}
		summary := fmt.Sprintf("%s → %s", lifecycle.Label(from), lifecycle.Label(tr.To))
		_, err = t.AppendEvent(ctx, st.row, humanEvent(schemas.EventStateChanged, st.row, tr.Change, summary, data))
		return err
	})
}

// caseState locks a case and reads what a transition needs.
func (t *RouteTx) caseState(ctx context.Context, ref string) (caseState, error) {
	var st caseState
	var territory *string
	var left *time.Duration
	err := t.tx.QueryRow(ctx, `
		SELECT c.id, c.ref, c.competence, c.territory, c.state, c.deadline, c.deadline_left, c.breached_at IS NOT NULL, c.waiting_on,
		       EXISTS (SELECT 1 FROM requests r WHERE r.case_id = c.id AND r.payload ? 'location'),
		       EXISTS (SELECT 1 FROM requests r WHERE r.case_id = c.id AND (r.payload->'citizen' ? 'email' OR r.payload->'citizen' ? 'phone' OR r.payload->'citizen' ? 'address'))
		FROM cases c WHERE c.ref = $1 FOR UPDATE OF c`, ref).
		Scan(&st.row.ID, &st.row.Ref, &st.row.Competence, &territory, &st.row.State, &st.deadline, &left, &st.breached, &st.waitingOn, &st.hasPlace, &st.hasReach)
	if errors.Is(err, pgx.ErrNoRows) {
		return st, notFound("case", ref)
	}
	if err != nil {
		return st, fault.E(fault.Transient, fmt.Errorf("casestore: case %s: %w", ref, err))
	}
	if territory != nil {
		st.row.Territory = *territory
	}
	st.left = left
	return st, nil
}

// activeStates are the states whose deadline runs.
var activeStates = []string{lifecycle.Received, lifecycle.Qualified, lifecycle.InProgress}

// BreachDue marks, once, the running deadlines that have passed by now and
// appends a deadline_breached event to each case (whose publication on
// CASES tells the team's supervisor). It returns the outbox messages to
// publish. Safe to run from several processes at once.
func (s *Store) BreachDue(ctx context.Context, now time.Time, limit int) ([]OutboxMsg, error) {
	return s.Route(ctx, func(ctx context.Context, t *RouteTx) error {
		rows, err := t.tx.Query(ctx, `
			SELECT id, ref, competence, COALESCE(territory, ''), state, deadline FROM cases
			WHERE deadline < $1 AND breached_at IS NULL AND state = ANY($2)
			ORDER BY deadline LIMIT $3 FOR UPDATE SKIP LOCKED`, now, activeStates, limit)
		if err != nil {
			return fault.E(fault.Transient, fmt.Errorf("casestore: due deadlines: %w", err))
		}
		type due struct {
			row      CaseRow
			deadline time.Time
		}
		var list []due
		for rows.Next() {
			var d due
			if err := rows.Scan(&d.row.ID, &d.row.Ref, &d.row.Competence, &d.row.Territory, &d.row.State, &d.deadline); err != nil {
				rows.Close()
				return fault.E(fault.Transient, fmt.Errorf("casestore: due deadlines: %w", err))
			}
			list = append(list, d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fault.E(fault.Transient, fmt.Errorf("casestore: due deadlines: %w", err))
		}
		for _, d := range list {
			if _, err := t.tx.Exec(ctx, `UPDATE cases SET breached_at = $2 WHERE id = $1`, d.row.ID, now); err != nil {
				return fault.E(fault.Transient, fmt.Errorf("casestore: breach %s: %w", d.row.Ref, err))
			}
			ev := humanEvent(schemas.EventBreached, d.row, Change{}, "délai dépassé (échéance "+d.deadline.UTC().Format(time.RFC3339)+")",
				map[string]any{"deadline": d.deadline.UTC().Format(time.RFC3339)})
			delete(ev.Data, "reason")
			ev.Actor = schemas.Actor{Kind: "system", ID: "deadline-timer"}
			if _, err := t.AppendEvent(ctx, d.row, ev); err != nil {
				return err
			}
		}
		return nil
	})
}
