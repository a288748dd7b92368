package personaldata

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// Hold is a case under a legal hold: never erased until it is released.
type Hold struct {
	CaseRef string    `json:"case_ref"`
	Reason  string    `json:"reason"`
	By      string    `json:"by"`
	At      time.Time `json:"at"`
}

// Holds lists the cases under a legal hold, the latest first, at most
// limit (1 to 1000).
func (x *Exporter) Holds(ctx context.Context, limit int) ([]Hold, error) {
	limit = min(max(limit, 1), 1000)
	rows, err := x.db.Query(ctx, `
		SELECT c.ref, h.reason, h.held_by, h.held_at FROM legal_holds h JOIN cases c ON c.id = h.case_id
		WHERE h.released_at IS NULL ORDER BY h.held_at DESC, h.id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, transient("holds", err)
	}
	holds, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Hold, error) {
		var h Hold
		err := r.Scan(&h.CaseRef, &h.Reason, &h.By, &h.At)
		return h, err
	})
	if err != nil {
		return nil, transient("holds", err)
	}
	if holds == nil {
		holds = []Hold{}
	}
	return holds, nil
}
