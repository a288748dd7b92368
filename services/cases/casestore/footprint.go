package casestore

import (
	"context"

	"github.com/ampmetropole/guichet/services/cases/footprint"
)

// LatestFootprint is the report `guichet footprint` recorded last, for the
// dashboard; ok is false when none was.
func (s *Store) LatestFootprint(ctx context.Context) (rec footprint.Recorded, ok bool, err error) {
	return footprint.Latest(ctx, s.pool)
}
