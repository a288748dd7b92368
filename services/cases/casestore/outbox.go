package casestore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ampmetropole/guichet/services/platform/fault"
)

// PendingOutbox returns up to limit unpublished messages committed more than
// minAge ago (younger ones are still being published by their router).
func (s *Store) PendingOutbox(ctx context.Context, minAge time.Duration, limit int) ([]OutboxMsg, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT id, msg_id, subject, payload FROM outbox
		WHERE published_at IS NULL AND created_at < now() - make_interval(secs => $1)
		ORDER BY id LIMIT $2`, minAge.Seconds(), limit)
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: pending outbox: %w", err))
	}
	msgs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[OutboxMsg])
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: pending outbox: %w", err))
	}
	return msgs, nil
}

// MarkPublished records that JetStream acknowledged these outbox messages.
func (s *Store) MarkPublished(ctx context.Context, ids ...int64) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := s.pool.Exec(ctx, `UPDATE outbox SET published_at = now() WHERE id = ANY($1) AND published_at IS NULL`, ids); err != nil {
		return fault.E(fault.Transient, fmt.Errorf("casestore: mark published: %w", err))
	}
	return nil
}

// PurgePublished deletes outbox rows published longer ago than keep.
func (s *Store) PurgePublished(ctx context.Context, keep time.Duration) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM outbox WHERE published_at < now() - make_interval(secs => $1)`, keep.Seconds())
	if err != nil {
		return 0, fault.E(fault.Transient, fmt.Errorf("casestore: purge outbox: %w", err))
	}
	return tag.RowsAffected(), nil
}
