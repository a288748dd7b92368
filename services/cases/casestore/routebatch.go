package casestore

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
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

type batchDecision struct {
	d         Decision
	reasons   string
	citizenID int64
}

type batchEvent struct {
	e         schemas.CaseEvent
	caseID    int64
	payload   []byte
	recipient *string
	subject   string
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

// batchCitizen is a citizen as the batch resolves them.
type batchCitizen struct {
	id                 int64 // 0 until created
	name, email, phone string
	isNew, changed     bool
}

// resolveCitizens resolves every item's citizen as ResolveCitizen would,
// one after the other, on the rows read in one query; then creates the
// new ones and completes the others in one statement each.
func (t *RouteTx) resolveCitizens(ctx context.Context) error {
	b := t.batch
	var emails, phones []string
	for _, it := range b.items {
		if it.Identity.Email != "" {
			emails = append(emails, it.Identity.Email)
		}
		if it.Identity.Phone != "" {
			phones = append(phones, it.Identity.Phone)
		}
	}
	byEmail, byPhone := map[string]*batchCitizen{}, map[string]*batchCitizen{}
	if len(emails)+len(phones) > 0 {
		rows, err := t.tx.Query(ctx, `
			SELECT id, COALESCE(name, ''), COALESCE(email, ''), COALESCE(phone, '') FROM citizens
			WHERE email = ANY($1::text[]) OR phone = ANY($2::text[])`, emails, phones)
		if err != nil {
			return fault.E(fault.Transient, fmt.Errorf("casestore: find citizens: %w", err))
		}
		for rows.Next() {
			c := &batchCitizen{}
			if err := rows.Scan(&c.id, &c.name, &c.email, &c.phone); err != nil {
				rows.Close()
				return fault.E(fault.Transient, fmt.Errorf("casestore: find citizens: %w", err))
			}
			if c.email != "" {
				byEmail[c.email] = c
			}
			if c.phone != "" {
				byPhone[c.phone] = c
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fault.E(fault.Transient, fmt.Errorf("casestore: find citizens: %w", err))
		}
	}
	// In the items' order, as one ResolveCitizen after the other would.
	who := make([]*batchCitizen, len(b.items))
	var created []*batchCitizen
	for i, it := range b.items {
		id := it.Identity
		if id.Email == "" && id.Phone == "" && id.Name == "" {
			continue
		}
		c := byEmail[id.Email]
		if c == nil || id.Email == "" {
			c = nil
			if id.Phone != "" {
				c = byPhone[id.Phone]
			}
		}
		if c == nil {
			c = &batchCitizen{name: id.Name, email: id.Email, phone: id.Phone, isNew: true}
			created = append(created, c)
		} else {
			// completeCitizen: what the record lacks, unless another holds it.
			if c.name == "" && id.Name != "" {
				c.name, c.changed = id.Name, true
			}
			if c.email == "" && id.Email != "" && byEmail[id.Email] == nil {
				c.email, c.changed = id.Email, true
			}
			if c.phone == "" && id.Phone != "" && byPhone[id.Phone] == nil {
				c.phone, c.changed = id.Phone, true
			}
		}
		if c.email != "" {
			byEmail[c.email] = c
		}
		if c.phone != "" {
			byPhone[c.phone] = c
		}
		who[i] = c
	}
	if err := t.createCitizens(ctx, created); err != nil {
		return err
	}
	if err := t.completeCitizens(ctx, who); err != nil {
		return err
	}
	b.citizen = make([]int64, len(b.items))
	for i, c := range who {
		if c != nil {
			b.citizen[i] = c.id
		}
	}
	return nil
}

// createCitizens inserts the batch's new citizens in one statement. One
// that another transaction created meanwhile (same e-mail or phone) is
// found again instead.
func (t *RouteTx) createCitizens(ctx context.Context, created []*batchCitizen) error {
	if len(created) == 0 {
		return nil
	}
	names, emails, phones := make([]string, len(created)), make([]string, len(created)), make([]string, len(created))
	for i, c := range created {
		names[i], emails[i], phones[i] = c.name, c.email, c.phone
	}
	rows, err := t.tx.Query(ctx, `
		INSERT INTO citizens (name, email, phone)
		SELECT NULLIF(n, ''), NULLIF(e, ''), NULLIF(p, '') FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS x(n, e, p, o)
		ORDER BY e, p, o -- one order for every batch: two batches creating the same people do not deadlock
		ON CONFLICT DO NOTHING
		RETURNING id, COALESCE(name, ''), COALESCE(email, ''), COALESCE(phone, '')`, names, emails, phones)
	if err != nil {
		return fault.E(fault.Transient, fmt.Errorf("%w: create citizens: %w", errBatchWrite, err))
	}
	type key struct{ name, email, phone string }
	got := map[key][]int64{}
	for rows.Next() {
		var id int64
		var k key
		if err := rows.Scan(&id, &k.name, &k.email, &k.phone); err != nil {
			rows.Close()
			return fault.E(fault.Transient, fmt.Errorf("%w: create citizens: %w", errBatchWrite, err))
		}
		got[k] = append(got[k], id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fault.E(fault.Transient, fmt.Errorf("%w: create citizens: %w", errBatchWrite, err))
	}
	for _, c := range created {
		// Citizens known by their name alone are each a new row: any of
		// the ids returned for that name is one of them.
		k := key{c.name, c.email, c.phone}
		if ids := got[k]; len(ids) > 0 {
			c.id, got[k] = ids[0], ids[1:]
			continue
		}
		// Another transaction created the same person meanwhile.
		id, err := t.ResolveCitizen(ctx, Identity{Name: c.name, Email: c.email, Phone: c.phone})
		if err != nil {
			return err
		}
		c.id, c.isNew = id, false
	}
	return nil
}

// completeCitizens writes what the batch's known citizens gained (a name,
// an e-mail or a phone they lacked), in one statement.
func (t *RouteTx) completeCitizens(ctx context.Context, who []*batchCitizen) error {
	var ids []int64
	var names, emails, phones []string
	seen := map[int64]bool{}
	for _, c := range who {
		if c == nil || c.isNew || !c.changed || seen[c.id] {
			continue
		}
		seen[c.id] = true
		ids, names, emails, phones = append(ids, c.id), append(names, c.name), append(emails, c.email), append(phones, c.phone)
	}
	if len(ids) == 0 {
		return nil
	}
	if _, err := t.tx.Exec(ctx, `
		UPDATE citizens c SET
		    name  = COALESCE(c.name, NULLIF(x.n, '')),
		    email = CASE WHEN c.email IS NULL AND x.e <> '' AND NOT EXISTS (SELECT 1 FROM citizens o WHERE o.email = x.e) THEN x.e ELSE c.email END,
		    phone = CASE WHEN c.phone IS NULL AND x.p <> '' AND NOT EXISTS (SELECT 1 FROM citizens o WHERE o.phone = x.p) THEN x.p ELSE c.phone END,
		    updated_at = now()
		FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[]) AS x(id, n, e, p)
		WHERE c.id = x.id`, ids, names, emails, phones); err != nil {
		return fault.E(fault.Transient, fmt.Errorf("%w: complete citizens: %w", errBatchWrite, err))
	}
	return nil
}

// batchCitizenOf is the citizen the batch resolved for the item being
// routed, if id is that item's identity.
func (t *RouteTx) batchCitizenOf(id Identity) (int64, bool) {
	b := t.batch
	if b == nil || b.citizen == nil || b.items[b.item].Identity != id {
		return 0, false
	}
	return b.citizen[b.item], true
}

// prefetchOpenCases reads the open cases of every citizen of the batch,
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
// search rows — one statement each. Reads that may depend on those rows
// (the requests of a case) flush first.
func (t *RouteTx) flush(ctx context.Context) error {
	b := t.batch
	if b == nil {
		return nil
	}
	if err := t.flushEvents(ctx); err != nil {
		return err
	}
	return t.flushDecisions(ctx)
}

func (t *RouteTx) flushEvents(ctx context.Context) error {
	evs := t.batch.events
	if len(evs) == 0 {
		return nil
	}
	t.batch.events = nil
	n := len(evs)
	ids, caseIDs, seqs := make([]string, n), make([]int64, n), make([]int32, n)
	types, ats, kinds, actors := make([]string, n), make([]time.Time, n), make([]string, n), make([]string, n)
	reqIDs, recips := make([]*string, n), make([]*string, n)
	payloads, subjects := make([]string, n), make([]string, n)
	for i, ev := range evs {
		e := ev.e
		ids[i], caseIDs[i], seqs[i] = e.ID, ev.caseID, int32(e.Seq)
		types[i], ats[i], kinds[i], actors[i] = e.Type, e.At, e.Actor.Kind, e.Actor.ID
		if e.RequestID != "" {
			reqIDs[i] = &e.RequestID
		}
		recips[i] = ev.recipient
		payloads[i], subjects[i] = string(ev.payload), ev.subject
	}
	rows, err := t.tx.Query(ctx, `
		WITH ev AS (
		    INSERT INTO case_events (id, case_id, seq, type, at, actor_kind, actor_id, request_id, payload, recipient_request)
		    SELECT id, case_id, seq, type, at, kind, NULLIF(actor, ''), req, payload::jsonb, recip
		    FROM unnest($1::uuid[], $2::bigint[], $3::int[], $4::text[], $5::timestamptz[], $6::text[], $7::text[], $8::uuid[], $9::text[], $10::uuid[])
		         AS x(id, case_id, seq, type, at, kind, actor, req, payload, recip))
		INSERT INTO outbox (msg_id, subject, payload)
		SELECT id, subject, convert_to(payload, 'UTF8') FROM unnest($12::text[], $11::text[], $9::text[]) WITH ORDINALITY AS x(id, subject, payload, o)
		ORDER BY o
		RETURNING id, msg_id`,
		ids, caseIDs, seqs, types, ats, kinds, actors, reqIDs, payloads, recips, subjects, ids)
	if err != nil {
		return fault.E(fault.Transient, fmt.Errorf("%w: events: %w", errBatchWrite, err))
	}
	outboxID := map[string]int64{}
	for rows.Next() {
		var id int64
		var msgID string
		if err := rows.Scan(&id, &msgID); err != nil {
			rows.Close()
			return fault.E(fault.Transient, fmt.Errorf("%w: events: %w", errBatchWrite, err))
		}
		outboxID[msgID] = id
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fault.E(fault.Transient, fmt.Errorf("%w: events: %w", errBatchWrite, err))
	}
	for i, ev := range evs {
		t.pending = append(t.pending, OutboxMsg{ID: outboxID[ids[i]], MsgID: ids[i], Subject: ev.subject, Payload: ev.payload})
	}
	return nil
}

func (t *RouteTx) flushDecisions(ctx context.Context) error {
	ds := t.batch.decisions
	if len(ds) == 0 {
		return nil
	}
	t.batch.decisions = nil
	n := len(ds)
	reqIDs, caseIDs, outcomes, comps, terrs := make([]string, n), make([]int64, n), make([]string, n), make([]string, n), make([]string, n)
	confs, versions, reasons, by, cits := make([]*float32, n), make([]string, n), make([]string, n), make([]string, n), make([]int64, n)
	touch := make([]bool, n)
	for i, x := range ds {
		d := x.d
		reqIDs[i], caseIDs[i], outcomes[i], comps[i], terrs[i] = d.RequestID, d.CaseID, d.Outcome, d.Competence, d.Territory
		if d.Confidence != nil {
			f := float32(*d.Confidence)
			confs[i] = &f
		}
		versions[i], reasons[i], by[i], cits[i] = d.ModelVersion, x.reasons, d.DecidedBy, x.citizenID
		// A case opened by this request was written a moment ago: touching
		// it again would only leave a dead row behind.
		touch[i] = d.Outcome != "new_case"
	}
	if _, err := t.tx.Exec(ctx, `
		WITH d AS (
		    SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::real[], $7::text[], $8::text[], $9::text[], $10::bigint[], $11::bool[])
		           AS x(request_id, case_id, outcome, competence, territory, confidence, model_version, reasons, decided_by, citizen_id, touch)),
		dec AS (
		    INSERT INTO routing_decisions (request_id, case_id, outcome, competence, territory, confidence, model_version, reasons, decided_by)
		    SELECT request_id, case_id, outcome, competence, NULLIF(territory, ''), confidence, model_version, reasons::jsonb, decided_by FROM d),
		req AS (
		    UPDATE requests r SET status = 'routed', case_id = d.case_id, citizen_id = NULLIF(d.citizen_id, 0), failure = NULL, routed_at = now()
		    FROM d WHERE r.id = d.request_id),
		touched AS (
		    UPDATE cases c SET updated_at = now() WHERE c.id IN (SELECT case_id FROM d WHERE touch)),
		search AS (
		    INSERT INTO request_search (request_id, case_id, competence, territory, doc)
		    SELECT r.id, c.id, c.competence, c.territory,
		           to_tsvector('guichet_fr', request_text(r.payload)) || search_period(r.id, r.received_at)
		    FROM d JOIN requests r ON r.id = d.request_id JOIN cases c ON c.id = d.case_id
		    ON CONFLICT DO NOTHING)
		SELECT`, reqIDs, caseIDs, outcomes, comps, terrs, confs, versions, reasons, by, cits, touch); err != nil {
		return fault.E(fault.Transient, fmt.Errorf("%w: decisions: %w", errBatchWrite, err))
	}
	return nil
}

// decodeRequests reads requests' payloads, leaving out what does not
// read (a request is never lost for it: this is for comparison only).
func decodeRequests(payloads [][]byte) []schemas.Request {
	var out []schemas.Request
	for _, p := range payloads {
		var req schemas.Request
		if json.Unmarshal(p, &req) == nil {
			out = append(out, req)
		}
	}
	return out
}

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

// batchCase is the case of id if this batch opened it.
func (t *RouteTx) batchCase(id int64) *batchCase {
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
