package retention

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/ampmetropole/guichet/services/platform/fault"
)

// What the other stores must forget is written in the purge's own
// transaction (purge_pending), so that a crash between the commit and the
// Forgetters loses nothing; the record goes once every Forgetter succeeded,
// and Apply sends the records left by earlier runs again first. The record
// holds the contacts erased until then: it is the one copy left, and only
// while another store still holds its own.

// maxPendingPerRun bounds the earlier purges one Apply sends again.
const maxPendingPerRun = 1000

func recordPending(ctx context.Context, tx pgx.Tx, audit int64, p Purged) (int64, error) {
	raw, err := json.Marshal(p)
	if err != nil {
		return 0, fmt.Errorf("retention: pending: %w", err)
	}
	var id int64
	if err := tx.QueryRow(ctx, `INSERT INTO purge_pending (audit_id, purged) VALUES ($1, $2) RETURNING id`, audit, raw).Scan(&id); err != nil {
		return 0, fault.E(fault.Transient, fmt.Errorf("retention: pending: %w", err))
	}
	return id, nil
}

// forgetNow tells every Forgetter what purge id erased, and deletes its
// record once all of them succeeded; otherwise the record stays for the
// next Apply, and the error says which store failed.
func (s *Service) forgetNow(ctx context.Context, id int64, p Purged) error {
	var errs []error
	for _, f := range s.forget {
		if err := f.Forget(ctx, p); err != nil {
			errs = append(errs, err)
		}
	}
	ctx = context.WithoutCancel(ctx)
	if len(errs) > 0 {
		if _, err := s.db.Exec(ctx, `UPDATE purge_pending SET attempts = attempts + 1, tried_at = now() WHERE id = $1`, id); err != nil {
			errs = append(errs, fmt.Errorf("retention: pending %d: %w", id, err))
		}
		s.log.Warn("purge not forgotten by every store yet, retried at the next run", "pending", id, "errors", len(errs))
		return fault.E(fault.Transient, fmt.Errorf("retention: effacé dans la base, mais pas encore partout ailleurs (nouvel essai au prochain passage) : %w",
			errors.Join(errs...)))
	}
	if _, err := s.db.Exec(ctx, `DELETE FROM purge_pending WHERE id = $1`, id); err != nil {
		return fault.E(fault.Transient, fmt.Errorf("retention: pending %d done: %w", id, err))
	}
	return nil
}

// retryPending sends the purges earlier runs could not get forgotten
// everywhere, oldest first.
func (s *Service) retryPending(ctx context.Context) error {
	if len(s.forget) == 0 {
		return nil
	}
	rows, err := s.db.Query(ctx, `SELECT id, purged FROM purge_pending ORDER BY id LIMIT $1`, maxPendingPerRun)
	if err != nil {
		return fault.E(fault.Transient, fmt.Errorf("retention: pending: %w", err))
	}
	type pending struct {
		id int64
		p  Purged
	}
	var list []pending
	for rows.Next() {
		var x pending
		var raw []byte
		if err := rows.Scan(&x.id, &raw); err != nil {
			rows.Close()
			return fault.E(fault.Transient, fmt.Errorf("retention: pending: %w", err))
		}
		if err := json.Unmarshal(raw, &x.p); err != nil {
			rows.Close()
			return fmt.Errorf("retention: pending %d: %w", x.id, err)
		}
		list = append(list, x)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fault.E(fault.Transient, fmt.Errorf("retention: pending: %w", err))
	}
	var errs []error
	for _, x := range list {
		if err := s.forgetNow(ctx, x.id, x.p); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
