package casestore

import (
	"context"
	"fmt"
	"time"

	"github.com/ampmetropole/guichet/services/platform/fault"
)

// as OpenCasesOf would for each.
func (t *RouteTx) prefetchOpenCases(ctx context.Context) error {
	b := t.batch
	b.open, b.owner, b.dirty = map[int64][]OpenCase{}, map[int64]int64{}, map[int64]bool{}
	var cids []int64
	for i, cid := range b.citizen {
		if cid == 0 {
			continue
		}
		if _, ok := b.open[cid]; !ok {
			b.open[cid] = nil
			cids = append(cids, cid)
		}
		if s := b.items[i].Since; b.openSince.IsZero() || s.Before(b.openSince) {
			b.openSince = s
		}
	}
	if len(cids) == 0 {
		return nil
	}
	rows, err := t.tx.Query(ctx, `
		SELECT citizen_id, id, ref, competence, territory, state, last_at, payloads FROM (
		  SELECT c.citizen_id, c.id, c.ref, c.competence, COALESCE(c.territory, '') AS territory, c.state,
		         max(r.received_at) AS last_at,
		         (array_agg(r.payload ORDER BY r.received_at DESC))[1:20] AS payloads,
		         row_number() OVER (PARTITION BY c.citizen_id ORDER BY max(r.received_at) DESC) AS n
		  FROM cases c JOIN requests r ON r.case_id = c.id
		  WHERE c.citizen_id = ANY($1::bigint[]) AND c.state NOT IN ('closed', 'rejected', 'redirected', 'merged')
		  GROUP BY c.id
		  HAVING max(r.received_at) >= $2) o
		WHERE n <= 10
		ORDER BY citizen_id, last_at DESC`, cids, b.openSince)
	if err != nil {
		return fault.E(fault.Transient, fmt.Errorf("casestore: open cases: %w", err))
	}
	defer rows.Close()
	for rows.Next() {
		var cid int64
		var oc OpenCase
		var payloads [][]byte
		if err := rows.Scan(&cid, &oc.ID, &oc.Ref, &oc.Competence, &oc.Territory, &oc.State, &oc.LastAt, &payloads); err != nil {
			return fault.E(fault.Transient, fmt.Errorf("casestore: open cases: %w", err))
		}
		oc.Requests = decodeRequests(payloads)
		b.open[cid] = append(b.open[cid], oc)
		b.owner[oc.ID] = cid
	}
	if err := rows.Err(); err != nil {
		return fault.E(fault.Transient, fmt.Errorf("casestore: open cases: %w", err))
	}
	return nil
}

// batchOpenCases answers OpenCasesOf from what the batch read, unless this
// batch changed that citizen's cases since.
func (t *RouteTx) batchOpenCases(citizenID int64, since time.Time) ([]OpenCase, bool) {
	b := t.batch
	if b == nil || b.dirty[citizenID] || since.Before(b.openSince) {
		return nil, false
	}
	list, ok := b.open[citizenID]
	if !ok {
		return nil, false
	}
	// Sorted by last contact: those since `since` are a prefix.
	n := 0
	for n < len(list) && !list[n].LastAt.Before(since) {
		n++
	}
	return list[:n], true
}

// touched notes that this batch changed case caseID (and cases of
// citizenID): the open cases read at the start no longer tell.
func (t *RouteTx) touched(caseID, citizenID int64) {
	b := t.batch
	if b == nil {
		return
	}
	if citizenID != 0 {
		b.dirty[citizenID] = true
	}
	if o, ok := b.owner[caseID]; ok {
		b.dirty[o] = true
	}
}

// flush writes what the batch kept: the events with their outbox rows,
// then the decisions with the requests' status, the cases touched and the
