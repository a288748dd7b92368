package casestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

// CitizenCard is what an agent sees of a caller: who they are and their
// cases, most recently active first.
type CitizenCard struct {
	ID    int64
	Name  string
	Email string
	Phone string
	Cases []CaseSummary
}

// CaseSummary is a case with its timeline, oldest event first.
type CaseSummary struct {
	Ref        string
	Competence string
	Territory  string
	State      string
	OpenedAt   time.Time
	UpdatedAt  time.Time
	Events     []schemas.CaseEvent
}

// Open says whether the case is still being handled.
func (c CaseSummary) Open() bool {
	switch c.State {
	case "closed", "rejected", "redirected", "merged":
		return false
	}
	return true
}

// CitizenQuery finds citizens by one identifier; the first field set wins.
type CitizenQuery struct {
	CaseRef string // the citizen of that case
	Email   string // normalized
	Phone   string // E.164
	Name    string // part of the name, any case
}

// FindCitizens returns the matching citizens (at most limit) with their
// most recent cases (at most casesPerCitizen each, open ones first).
// A case without a known citizen comes back on a card with ID 0.
func (s *Store) FindCitizens(ctx context.Context, q CitizenQuery, limit, casesPerCitizen int) ([]CitizenCard, error) {
	var rows pgx.Rows
	var err error
	switch {
	case q.CaseRef != "":
		var cid *int64
		err := s.pool.QueryRow(ctx, `SELECT citizen_id FROM cases WHERE ref = $1`, q.CaseRef).Scan(&cid)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, nil
		}
		if err != nil {
			return nil, fault.E(fault.Transient, fmt.Errorf("casestore: find case %s: %w", q.CaseRef, err))
		}
		if cid == nil {
			c, err := s.caseSummaries(ctx, `WHERE c.ref = $1`, q.CaseRef, 1)
			if err != nil {
				return nil, err
			}
			return []CitizenCard{{Cases: c}}, nil
		}
		rows, err = s.pool.Query(ctx, `SELECT id, name, email, phone FROM citizens WHERE id = $1`, *cid)
	case q.Email != "":
		rows, err = s.pool.Query(ctx, `SELECT id, name, email, phone FROM citizens WHERE email = $1`, q.Email)
	case q.Phone != "":
		rows, err = s.pool.Query(ctx, `SELECT id, name, email, phone FROM citizens WHERE phone = $1`, q.Phone)
	case strings.TrimSpace(q.Name) != "":
		pattern := "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(strings.TrimSpace(q.Name)) + "%"
		rows, err = s.pool.Query(ctx, `SELECT id, name, email, phone FROM citizens WHERE name ILIKE $1 ORDER BY updated_at DESC LIMIT $2`, pattern, limit)
	default:
		return nil, nil
	}
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: find citizens: %w", err))
	}
	cards, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (CitizenCard, error) {
		var c CitizenCard
		var name, email, phone *string
		err := row.Scan(&c.ID, &name, &email, &phone)
		c.Name, c.Email, c.Phone = deref(name), deref(email), deref(phone)
		return c, err
	})
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: find citizens: %w", err))
	}
	for i := range cards {
		if cards[i].Cases, err = s.caseSummaries(ctx, `WHERE c.citizen_id = $1`, cards[i].ID, casesPerCitizen); err != nil {
			return nil, err
		}
	}
	return cards, nil
}

// caseSummaries loads cases matching where (one argument) with their events.
func (s *Store) caseSummaries(ctx context.Context, where string, arg any, limit int) ([]CaseSummary, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT c.id, c.ref, c.competence, COALESCE(c.territory, ''), c.state, c.opened_at, c.updated_at
		FROM cases c `+where+`
		ORDER BY c.state IN ('closed', 'rejected', 'redirected', 'merged'), c.updated_at DESC
		LIMIT `+fmt.Sprint(limit), arg)
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: cases: %w", err))
	}
	type row struct {
		id int64
		CaseSummary
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var x row
		err := r.Scan(&x.id, &x.Ref, &x.Competence, &x.Territory, &x.State, &x.OpenedAt, &x.UpdatedAt)
		return x, err
	})
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: cases: %w", err))
	}
	out := make([]CaseSummary, 0, len(list))
	for _, x := range list {
		if x.Events, err = s.events(ctx, x.id); err != nil {
			return nil, err
		}
		out = append(out, x.CaseSummary)
	}
	return out, nil
}

// events returns a case's history, oldest first.
func (s *Store) events(ctx context.Context, caseID int64) ([]schemas.CaseEvent, error) {
	rows, err := s.pool.Query(ctx, `SELECT payload FROM case_events WHERE case_id = $1 ORDER BY seq`, caseID)
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: events: %w", err))
	}
	events, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (schemas.CaseEvent, error) {
		var raw []byte
		var e schemas.CaseEvent
		if err := row.Scan(&raw); err != nil {
			return e, err
		}
		return e, json.Unmarshal(raw, &e)
	})
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: events: %w", err))
	}
	return events, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
