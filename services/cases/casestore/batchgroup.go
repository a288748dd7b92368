package casestore

import (
	"cmp"
	"math"
	"slices"

	"github.com/ampmetropole/guichet/schemas"
)

// batchCase is a case this batch opened, as grouping reads it: the
// batch's requests are written at its end, so the look-up in the database
// cannot find the case by them yet.
type batchCase struct {
	row      CaseRow
	nc       NewCase
	incident string // ref of the incident the batch linked it to
	requests []schemas.Request
}

// noteCase remembers a case the batch opened.
func (t *RouteTx) noteCase(row CaseRow, nc NewCase) {
	if b := t.batch; b != nil {
		nc.Places = placeKeys(nc.Places)
		b.created[row.ID] = &batchCase{row: row, nc: nc}
	}
}

// noteRouted remembers which case a request of the batch went to.
func (t *RouteTx) noteRouted(requestID string, caseID int64) {
	b := t.batch
	req, ok := b.requests[requestID]
	if !ok {
		return
	}
	if bc, ok := b.created[caseID]; ok {
		bc.requests = append(bc.requests, req)
		return
	}
	b.joined[caseID] = append(b.joined[caseID], req)
}

// openedCase is the case of id if this batch opened it.
func (t *RouteTx) openedCase(id int64) *batchCase {
	if t.batch == nil {
		return nil
	}
	return t.batch.created[id]
}

// withBatchCandidates adds to what the database found the cases this
// batch opened that q describes, and the batch's requests to the cases
// found; the latest Limit of each competence, the latest first.
func (t *RouteTx) withBatchCandidates(q CandidateQuery, found []GroupCandidate) []GroupCandidate {
	b := t.batch
	if b == nil {
		return found
	}
	keys := placeKeys(q.Places)
	var out []GroupCandidate
	for _, gc := range found {
		if _, mine := b.created[gc.Case.ID]; mine {
			continue // read below, with all its requests
		}
		gc.Requests = appendNew(gc.Requests, b.joined[gc.Case.ID])
		out = append(out, gc)
	}
	for _, bc := range b.created {
		if !bc.candidateFor(q, keys) {
			continue
		}
		out = append(out, GroupCandidate{Case: bc.row, Incident: bc.incident, Citizen: bc.nc.CitizenID,
			Requests: appendNew(nil, bc.requests)})
	}
	slices.SortFunc(out, func(a, b GroupCandidate) int { return cmp.Compare(b.Case.ID, a.Case.ID) })
	per := map[string]int{}
	kept := out[:0]
	for _, gc := range out {
		if per[gc.Case.Competence] < q.Limit {
			per[gc.Case.Competence]++
			kept = append(kept, gc)
		}
	}
	return kept
}

// candidateFor is GroupCandidates' condition, for a case of the batch.
func (bc *batchCase) candidateFor(q CandidateQuery, keys []string) bool {
	c, nc := bc.row, bc.nc
	if slices.Contains([]string{"resolved", "closed", "rejected", "redirected", "merged"}, c.State) ||
		!slices.Contains(q.Competences, c.Competence) ||
		(q.NotCitizen != 0 && nc.CitizenID == q.NotCitizen) ||
		(q.Territory != "" && c.Territory != "" && c.Territory != q.Territory) ||
		(q.Commune != "" && nc.Commune != "" && nc.Commune != q.Commune) {
		return false
	}
	near := slices.ContainsFunc(keys, func(k string) bool { return slices.Contains(nc.Places, k) })
	if !near && q.Lat != nil && q.Lon != nil && nc.Lat != nil && nc.Lon != nil {
		near = math.Abs(*nc.Lat-*q.Lat) <= 0.01 && math.Abs(*nc.Lon-*q.Lon) <= 0.014
	}
	recent := slices.ContainsFunc(bc.requests, func(r schemas.Request) bool { return !r.ReceivedAt.Before(q.Since) })
	return near && recent
}

// appendNew adds to have the requests of more it does not hold, as
// grouping reads them (the sender's name and address only), in arrival
// order.
func appendNew(have, more []schemas.Request) []schemas.Request {
	if len(more) == 0 {
		return have
	}
	out := slices.Clone(have)
	for _, r := range more {
		if slices.ContainsFunc(out, func(o schemas.Request) bool { return o.ID == r.ID }) {
			continue
		}
		g := schemas.Request{ID: r.ID, Channel: r.Channel, Subject: r.Subject, Body: r.Body, Transcript: r.Transcript,
			Location: r.Location, ReceivedAt: r.ReceivedAt}
		if r.Citizen != nil {
			g.Citizen = &schemas.Citizen{Name: r.Citizen.Name, Address: r.Citizen.Address}
		}
		out = append(out, g)
	}
	slices.SortStableFunc(out, func(a, b schemas.Request) int { return a.ReceivedAt.Compare(b.ReceivedAt) })
	return out
}
