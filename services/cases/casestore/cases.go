package casestore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

// Case is a case with its history, oldest event first.
type Case struct {
	Ref        string              `json:"ref"`
	Competence string              `json:"competence"`
	Territory  *string             `json:"territory"`
	State      string              `json:"state"`
	Priority   string              `json:"priority"`
	Deadline   *time.Time          `json:"deadline"`                      // null while the clock is paused
	Paused     *float64            `json:"deadline_left_hours,omitempty"` // business hours left, while paused
	Breached   *time.Time          `json:"breached_at,omitempty"`
	WaitingOn  *string             `json:"waiting_on,omitempty"`
	RedirectTo *string             `json:"redirect_to,omitempty"`
	Assignee   *string             `json:"assignee,omitempty"`
	MergedInto *string             `json:"merged_into,omitempty"`
	OpenedAt   time.Time           `json:"opened_at"`
	UpdatedAt  time.Time           `json:"updated_at"`
	Events     []schemas.CaseEvent `json:"events"`
}

// Case returns the case with reference ref and its events.
func (s *Store) Case(ctx context.Context, ref string) (Case, error) {
	var c Case
	var id int64
	err := s.pool.QueryRow(ctx, `
		SELECT c.id, c.ref, c.competence, c.territory, c.state, c.priority, c.deadline, extract(epoch FROM c.deadline_left) / 3600,
		       c.breached_at, c.waiting_on, c.redirect_to, c.assignee, m.ref, c.opened_at, c.updated_at
		FROM cases c LEFT JOIN cases m ON m.id = c.merged_into WHERE c.ref = $1`, ref).
		Scan(&id, &c.Ref, &c.Competence, &c.Territory, &c.State, &c.Priority, &c.Deadline, &c.Paused, &c.Breached, &c.WaitingOn,
			&c.RedirectTo, &c.Assignee, &c.MergedInto, &c.OpenedAt, &c.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, notFound("case", ref)
	}
	if err != nil {
		return c, fault.E(fault.Transient, fmt.Errorf("casestore: case %s: %w", ref, err))
	}
	if c.Events, err = s.events(ctx, id); err != nil {
		return c, fmt.Errorf("casestore: case %s: %w", ref, err)
	}
	return c, nil
}
