package casestore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

// BatchItem is one request of a routing batch, with what the batch reads
// for it at once.
type BatchItem struct {
	Request  schemas.Request
	Identity Identity  // the citizen, normalized
	Since    time.Time // how far back its citizen's open cases count
}

// batchState is what a set-based routing batch (RouteBatch) read for all
// its requests at once, and the rows it writes with one statement per
// table at its end.
type batchState struct {
	items []BatchItem
	item  int // the item being routed

	status  map[string]string // request id → status, rows locked
	citizen []int64           // each item's citizen (0: none)

	open      map[int64][]OpenCase // each known citizen's open cases
	openSince time.Time
	owner     map[int64]int64 // case id → its citizen, for the cases in open
	dirty     map[int64]bool  // citizens whose open cases this batch changed

	decisions []batchDecision
	events    []batchEvent

	requests map[string]schemas.Request  // the batch's requests by id
	created  map[int64]*batchCase        // the cases it opened
	joined   map[int64][]schemas.Request // its requests that joined other cases
}

// RouteBatch routes items in one transaction, set-wise: the requests'
// claims, their citizens and the citizens' open cases are read in one
// query each for the whole batch, fn decides each item (reading through
// the transaction only what the batch could not know: cited cases,
// incidents), and the decisions, statuses, search rows, events and outbox
// rows are written with one statement per table at the end — one commit,
// one disk flush. (A case is still inserted when it is opened: its
// reference is needed at once, in its event and in the reasons of the
// requests after it.) It returns the outbox messages of the items that
// committed and one error per item (ErrAlreadyRouted for a replay).
//
// There is no savepoint per item: an item that fails makes the batch
// start again without it, and that item is tried alone, where its error
// is its own; a write that fails at the end splits the batch in halves,
// down to the item at fault. When the database itself fails, every item
// has that error.
func (s *Store) RouteBatch(ctx context.Context, items []BatchItem, fn func(ctx context.Context, tx *RouteTx, i int) error) ([]OutboxMsg, []error) {
	errs := make([]error, len(items))
	idx := make([]int, len(items))
	for i := range idx {
		idx[i] = i
	}
	var pending []OutboxMsg
	s.routeSet(ctx, items, idx, fn, errs, &pending)
	return pending, errs
}

// routeSet routes items[idx…] as one batch, splitting it on failure.
func (s *Store) routeSet(ctx context.Context, items []BatchItem, idx []int, fn func(ctx context.Context, tx *RouteTx, i int) error, errs []error, pending *[]OutboxMsg) {
	if len(idx) == 0 {
		return
	}
	msgs, replays, failed, err := s.tryBatch(ctx, items, idx, fn)
	switch {
	case err == nil:
		*pending = append(*pending, msgs...)
		for _, k := range replays {
			errs[k] = ErrAlreadyRouted
		}
	case len(idx) == 1:
		errs[idx[0]] = err
	case failed >= 0:
		// One item failed: the others go on without it, and it alone.
		rest := slices.Delete(slices.Clone(idx), failed, failed+1)
		s.routeSet(ctx, items, rest, fn, errs, pending)
		s.routeSet(ctx, items, idx[failed:failed+1], fn, errs, pending)
	case fault.KindOf(err) == fault.Transient && !errors.Is(err, errBatchWrite):
		// The database, not an item: each one would fail the same way.
		for _, k := range idx {
			errs[k] = err
		}
	default:
		half := len(idx) / 2
		s.routeSet(ctx, items, idx[:half], fn, errs, pending)
		s.routeSet(ctx, items, idx[half:], fn, errs, pending)
	}
}

// errBatchWrite marks a failure of the batch's final writes, which no one
// item is known to have caused.
var errBatchWrite = errors.New("casestore: batch write")

// tryBatch runs one attempt at routing items[idx…]; failed is the position
// in idx of the item whose error stopped it, or -1.
func (s *Store) tryBatch(ctx context.Context, items []BatchItem, idx []int, fn func(ctx context.Context, tx *RouteTx, i int) error) (msgs []OutboxMsg, replays []int, failed int, err error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, nil, -1, fault.E(fault.Transient, fmt.Errorf("casestore: begin: %w", err))
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	b := &batchState{items: make([]BatchItem, len(idx)), requests: map[string]schemas.Request{},
		created: map[int64]*batchCase{}, joined: map[int64][]schemas.Request{}}
	for j, k := range idx {
		b.items[j] = items[k]
		b.requests[items[k].Request.ID] = items[k].Request
	}
	rt := &RouteTx{tx: tx, s: s, batch: b}
	if err := rt.prefetch(ctx); err != nil {
		return nil, nil, -1, err
	}
	for j, k := range idx {
		b.item = j
		err := fn(ctx, rt, k)
		if errors.Is(err, ErrAlreadyRouted) {
			// Found at the claim, before anything was written.
			replays = append(replays, k)
			continue
		}
		if err != nil {
			return nil, nil, j, err
		}
	}
	if err := rt.flush(ctx); err != nil {
		return nil, nil, -1, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, nil, -1, fault.E(fault.Transient, fmt.Errorf("casestore: commit: %w", err))
	}
	return rt.pending, replays, -1, nil
}

// prefetch reads, for the whole batch: its requests' rows, locked in id
// order (the intake's order), their citizens (creating the new ones), and
// those citizens' open cases.
func (t *RouteTx) prefetch(ctx context.Context) error {
	b := t.batch
	var ids []string
	for _, it := range b.items {
		if it.Request.ID != "" {
			ids = append(ids, it.Request.ID)
		}
	}
	rows, err := t.tx.Query(ctx, `SELECT id::text, status FROM requests WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`, ids)
	if err != nil {
		return fault.E(fault.Transient, fmt.Errorf("casestore: lock requests: %w", err))
	}
	b.status = map[string]string{}
	for rows.Next() {
		var id, st string
		if err := rows.Scan(&id, &st); err != nil {
			rows.Close()
			return fault.E(fault.Transient, fmt.Errorf("casestore: lock requests: %w", err))
		}
		b.status[id] = st
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fault.E(fault.Transient, fmt.Errorf("casestore: lock requests: %w", err))
	}
	if err := t.resolveCitizens(ctx); err != nil {
		return err
	}
	return t.prefetchOpenCases(ctx)
}
