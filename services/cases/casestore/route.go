package casestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

// ErrAlreadyRouted says a request was routed before: a replay, to be
// acknowledged without doing anything.
var ErrAlreadyRouted = errors.New("casestore: request already routed")

// OutboxMsg is a message committed in the outbox, to publish after commit.
type OutboxMsg struct {
	ID      int64
	MsgID   string
	Subject string
	Payload []byte
}

// RouteTx is one routing transaction: everything a request changes in the
// case history is written through it and committed at once.
type RouteTx struct {
	tx      pgx.Tx
	s       *Store
	pending []OutboxMsg
	// nextSeq knows the next event number of the cases this transaction
	// opened, saving a query per event.
	nextSeq map[int64]int
	// batch is set in RouteBatch: the batch's reads done at once and its
	// writes kept for one statement per table.
	batch *batchState
}

// Route runs fn in one transaction and commits it; it returns the outbox
// messages the transaction wrote, for the caller to publish.
func (s *Store) Route(ctx context.Context, fn func(ctx context.Context, tx *RouteTx) error) ([]OutboxMsg, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: begin: %w", err))
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	rt := &RouteTx{tx: tx, s: s}
	if err := fn(ctx, rt); err != nil {
		return nil, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: commit: %w", err))
	}
	return rt.pending, nil
}

// ClaimRequest records the request (if the intake had not) and locks it. It
// returns ErrAlreadyRouted when an earlier delivery already routed it.
func (t *RouteTx) ClaimRequest(ctx context.Context, r schemas.Request, raw []byte) error {
	if b := t.batch; b != nil {
		// Locked with the whole batch.
		if st, ok := b.status[r.ID]; ok {
			if st == "routed" {
				return ErrAlreadyRouted
			}
			return nil
		}
	}
	lock := func() (string, error) {
		var status string
		err := t.tx.QueryRow(ctx, `SELECT status FROM requests WHERE id = $1 FOR UPDATE`, r.ID).Scan(&status)
		return status, err
	}
	// The intake has nearly always recorded it: lock it without sending
	// (and making PostgreSQL parse) the payload again.
	status, err := lock()
	if errors.Is(err, pgx.ErrNoRows) {
		if err := insertRequest(ctx, t.tx, r, raw); err != nil {
			return err
		}
		status, err = lock()
	}
	if errors.Is(err, pgx.ErrNoRows) {
		// Not inserted, yet not there: another request holds its tracking code.
		return fault.E(fault.Conflict, fmt.Errorf("casestore: request %s: tracking code %s already used", r.ID, r.TrackingCode))
	}
	if err != nil {
		return fault.E(fault.Transient, fmt.Errorf("casestore: lock request %s: %w", r.ID, err))
	}
	if status == "routed" {
		return ErrAlreadyRouted
	}
	if t.batch != nil {
		t.batch.status[r.ID] = status
	}
	return nil
}

// searchRow writes, once, what the back office searches of a request: its
// text and the month it came (migration 00011) with its case and the case's
// scope (migration 00010).
const searchRow = `INSERT INTO request_search (request_id, case_id, competence, territory, doc)
		    SELECT r.id, c.id, c.competence, c.territory,
		           to_tsvector('guichet_fr', request_text(r.payload)) || search_period(r.id, r.received_at)
		    FROM requests r, cases c WHERE r.id = $1 AND c.id = $2
		    ON CONFLICT DO NOTHING`

// Identity is what identifies a citizen across channels, already normalized.
type Identity struct {
	Name  string
	Email string // lower case
	Phone string // E.164
}

// ResolveCitizen finds the citizen by e-mail, then by phone, completing the
// record with what it lacked, or creates one. It returns 0 when the request
// carries nothing to know the person by.
func (t *RouteTx) ResolveCitizen(ctx context.Context, id Identity) (int64, error) {
	if id.Email == "" && id.Phone == "" && id.Name == "" {
		return 0, nil
	}
	if cid, ok := t.batchCitizenOf(id); ok {
		return cid, nil
	}
	find := func() (int64, error) {
		var cid int64
		for _, q := range []struct{ col, val string }{{"email", id.Email}, {"phone", id.Phone}} {
			if q.val == "" {
				continue
			}
			err := t.tx.QueryRow(ctx, `SELECT id FROM citizens WHERE `+q.col+` = $1`, q.val).Scan(&cid)
			if err == nil {
				return cid, nil
			}
			if !errors.Is(err, pgx.ErrNoRows) {
				return 0, fault.E(fault.Transient, fmt.Errorf("casestore: find citizen: %w", err))
			}
		}
		return 0, nil
	}
	if id.Email != "" || id.Phone != "" {
		cid, err := find()
		if err != nil || cid != 0 {
			if cid != 0 {
				err = t.completeCitizen(ctx, cid, id)
			}
			return cid, err
		}
	}
	var cid int64
	err := t.tx.QueryRow(ctx, `
		INSERT INTO citizens (name, email, phone) VALUES (NULLIF($1, ''), NULLIF($2, ''), NULLIF($3, ''))
		ON CONFLICT DO NOTHING RETURNING id`, id.Name, id.Email, id.Phone).Scan(&cid)
	if errors.Is(err, pgx.ErrNoRows) {
		// Another transaction created the same person meanwhile.
		return find()
	}
	if err != nil {
		return 0, fault.E(fault.Transient, fmt.Errorf("casestore: create citizen: %w", err))
	}
	return cid, nil
}

// completeCitizen fills in a name, e-mail or phone the record lacked, unless
// another citizen already holds that e-mail or phone.
func (t *RouteTx) completeCitizen(ctx context.Context, cid int64, id Identity) error {
	_, err := t.tx.Exec(ctx, `
		UPDATE citizens SET
		    name  = COALESCE(name, NULLIF($2, '')),
		    email = CASE WHEN email IS NULL AND $3 <> '' AND NOT EXISTS (SELECT 1 FROM citizens WHERE email = $3) THEN $3 ELSE email END,
		    phone = CASE WHEN phone IS NULL AND $4 <> '' AND NOT EXISTS (SELECT 1 FROM citizens WHERE phone = $4) THEN $4 ELSE phone END,
		    updated_at = now()
		WHERE id = $1`, cid, id.Name, id.Email, id.Phone)
	if err != nil {
		return fault.E(fault.Transient, fmt.Errorf("casestore: complete citizen %d: %w", cid, err))
	}
	return nil
}

// NewCase describes a case to open.
type NewCase struct {
	Competence string
	Territory  string // empty when unknown
	Priority   string // default normal
	CitizenID  int64  // 0 when anonymous
	Deadline   *time.Time
	// Places are the places its request names (incident.Keys), and Lat,
	// Lon its coordinates: where grouping looks for other reports.
	Places   []string
	Lat, Lon *float64
	// Commune is the INSEE code of the commune it is located in (Marseille
	// for its arrondissements); empty when unknown.
	Commune string
	// Channel is the channel of the request that opens it (empty when
	// requests are moved into it, which then bring theirs).
	Channel string
}

// CaseRow is a case as the routing transaction sees it.
type CaseRow struct {
	ID         int64
	Ref        string
	Competence string
	Territory  string
	State      string
	MergedInto string // reference of the case it was merged into
}

// CreateCase opens a case with the next reference of the year, in
// caseref's form: six digits at least, more past the millionth case (lpad
// alone would cut them).
func (t *RouteTx) CreateCase(ctx context.Context, c NewCase) (CaseRow, error) {
	if c.Priority == "" {
		c.Priority = "normal"
	}
	row := CaseRow{Competence: c.Competence, Territory: c.Territory}
	err := t.tx.QueryRow(ctx, `
		INSERT INTO cases (ref, competence, territory, priority, citizen_id, deadline, place_keys, lat, lon, commune, channels)
		VALUES ('AMP-' || to_char(now() AT TIME ZONE 'Europe/Paris', 'YYYY') || '-' ||
		        (SELECT lpad(n::text, greatest(6, length(n::text)), '0') FROM nextval('case_ref_seq') AS n),
		        $1, NULLIF($2, ''), $3, NULLIF($4, 0::bigint), $5, $6, $7, $8, NULLIF($9, ''), channels_with('{}', ARRAY[NULLIF($10, '')]))
		RETURNING id, ref, state`, c.Competence, c.Territory, c.Priority, c.CitizenID, c.Deadline, placeKeys(c.Places), c.Lat, c.Lon, c.Commune, c.Channel).Scan(&row.ID, &row.Ref, &row.State)
	if err != nil {
		return CaseRow{}, fault.E(fault.Transient, fmt.Errorf("casestore: create case: %w", err))
	}
	if t.nextSeq == nil {
		t.nextSeq = map[int64]int{}
	}
	t.nextSeq[row.ID] = 1
	t.noteCase(row, c)
	return row, nil
}

// LockCase finds a case by reference and locks it for this transaction.
func (t *RouteTx) LockCase(ctx context.Context, ref string) (CaseRow, error) {
	return t.lockCase(ctx, ref, `
		SELECT c.id, c.ref, c.competence, c.territory, c.state, COALESCE(m.ref, '')
		FROM cases c LEFT JOIN cases m ON m.id = c.merged_into WHERE c.ref = $1 FOR UPDATE OF c`)
}

// LockCaseOfRequest finds the case an earlier request went into and locks
// it; NotFound when that request is unknown or was not routed to a case.
func (t *RouteTx) LockCaseOfRequest(ctx context.Context, requestID string) (CaseRow, error) {
	if err := t.flush(ctx); err != nil {
		return CaseRow{}, err
	}
	return t.lockCase(ctx, requestID, `
		SELECT c.id, c.ref, c.competence, c.territory, c.state, COALESCE(m.ref, '')
		FROM requests r JOIN cases c ON c.id = r.case_id LEFT JOIN cases m ON m.id = c.merged_into WHERE r.id = $1 FOR UPDATE OF c`)
}

func (t *RouteTx) lockCase(ctx context.Context, key, query string) (CaseRow, error) {
	var row CaseRow
	var territory *string
	err := t.tx.QueryRow(ctx, query, key).Scan(&row.ID, &row.Ref, &row.Competence, &territory, &row.State, &row.MergedInto)
	if errors.Is(err, pgx.ErrNoRows) {
		return CaseRow{}, notFound("case", key)
	}
	if err != nil {
		return CaseRow{}, fault.E(fault.Transient, fmt.Errorf("casestore: lock case %s: %w", key, err))
	}
	if territory != nil {
		row.Territory = *territory
	}
	return row, nil
}

// AppendEvent adds e to the case's history with the next sequence number
// (validated against case-event.v1 when Config.CheckEvents) and puts it in
// the outbox. The event's
// Seq and CaseRef are set here.
func (t *RouteTx) AppendEvent(ctx context.Context, c CaseRow, e schemas.CaseEvent) (schemas.CaseEvent, error) {
	return t.appendEvent(ctx, c, e, "")
}

// appendEvent is AppendEvent for an event addressed to one request's
// thread (a reply: recipient is that request's id), or to none ("").
func (t *RouteTx) appendEvent(ctx context.Context, c CaseRow, e schemas.CaseEvent, recipient string) (schemas.CaseEvent, error) {
	if n, ok := t.nextSeq[c.ID]; ok {
		e.Seq = n
	} else if err := t.tx.QueryRow(ctx, `SELECT COALESCE(MAX(seq), 0) + 1 FROM case_events WHERE case_id = $1`, c.ID).Scan(&e.Seq); err != nil {
		return e, fault.E(fault.Transient, fmt.Errorf("casestore: next event of %s: %w", c.Ref, err))
	}
	e.CaseRef = c.Ref
	var payload []byte
	var err error
	if t.s.checkEvents {
		payload, err = t.s.validate.EncodeEvent(e)
	} else {
		payload, err = json.Marshal(e)
	}
	if err != nil {
		// We built it: a bug, not bad input, but never publish it.
		return e, fault.E(fault.Permanent, fmt.Errorf("casestore: event for %s: %w", c.Ref, err))
	}
	var requestID, recipientID *string
	if e.RequestID != "" {
		requestID = &e.RequestID
	}
	if recipient != "" {
		recipientID = &recipient
	}
	if t.batch != nil {
		// Written with the batch's other events (flush).
		t.batch.events = append(t.batch.events, batchEvent{e: e, caseID: c.ID, payload: payload, recipient: recipientID, subject: e.Subject()})
		if t.nextSeq == nil {
			t.nextSeq = map[int64]int{}
		}
		t.nextSeq[c.ID] = e.Seq + 1
		return e, nil
	}
	// The event and its outbox row in one round trip.
	msg := OutboxMsg{MsgID: e.ID, Subject: e.Subject(), Payload: payload}
	if err := t.tx.QueryRow(ctx, `
		WITH ev AS (
		    INSERT INTO case_events (id, case_id, seq, type, at, actor_kind, actor_id, request_id, payload, recipient_request)
		    VALUES ($1, $2, $3, $4, $5, $6, NULLIF($7, ''), $8, $9, $13::uuid))
		INSERT INTO outbox (msg_id, subject, payload) VALUES ($10, $11, $12) RETURNING id`,
		e.ID, c.ID, e.Seq, e.Type, e.At, e.Actor.Kind, e.Actor.ID, requestID, payload,
		msg.MsgID, msg.Subject, msg.Payload, recipientID).Scan(&msg.ID); err != nil {
		return e, fault.E(fault.Transient, fmt.Errorf("casestore: event of %s: %w", c.Ref, err))
	}
	if t.nextSeq == nil {
		t.nextSeq = map[int64]int{}
	}
	t.nextSeq[c.ID] = e.Seq + 1
	t.pending = append(t.pending, msg)
	return e, nil
}

// CaseCitizens lists the citizens a case belongs to: its own and those of
// the requests it holds.
func (t *RouteTx) CaseCitizens(ctx context.Context, caseID int64) ([]int64, error) {
	if err := t.flush(ctx); err != nil {
		return nil, err
	}
	rows, err := t.tx.Query(ctx, `
		SELECT citizen_id FROM cases WHERE id = $1 AND citizen_id IS NOT NULL
		UNION SELECT citizen_id FROM requests WHERE case_id = $1 AND citizen_id IS NOT NULL`, caseID)
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: citizens of case %d: %w", caseID, err))
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: citizens of case %d: %w", caseID, err))
	}
	return ids, nil
}

// Decision is why a request went where it went.
type Decision struct {
	RequestID    string
	CaseID       int64
	Outcome      string // new_case | linked
	Competence   string
	Territory    string
	Confidence   *float64
	ModelVersion string
	Reasons      []Reason
	DecidedBy    string
	Follows      string // a finished case this request's new case follows
	Proposed     string // another citizen's case the request cites, proposed to the team rather than joined
}

// Reason is one human-readable reason of a decision.
type Reason struct {
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

// RecordDecision stores the routing decision of a request.
func (t *RouteTx) RecordDecision(ctx context.Context, d Decision) error {
	reasons, err := json.Marshal(d.Reasons)
	if err != nil {
		return fmt.Errorf("casestore: reasons: %w", err)
	}
	if _, err := t.tx.Exec(ctx, `
		INSERT INTO routing_decisions (request_id, case_id, outcome, competence, territory, confidence, model_version, reasons, decided_by)
		VALUES ($1, $2, $3, $4, NULLIF($5, ''), $6, $7, $8, $9)`,
		d.RequestID, d.CaseID, d.Outcome, d.Competence, d.Territory, d.Confidence, d.ModelVersion, reasons, d.DecidedBy); err != nil {
		return fault.E(fault.Transient, fmt.Errorf("casestore: decision for %s: %w", d.RequestID, err))
	}
	return nil
}

// touchCase marks case $2 updated by request $1, adding its channel.
const touchCase = `UPDATE cases SET updated_at = now(), channels = channels_with(channels, ARRAY(SELECT channel FROM requests WHERE id = $1)) WHERE id = $2`

// FinishRouted records the router's decision and marks the request routed,
// in one round trip (RecordDecision and FinishRequest together).
func (t *RouteTx) FinishRouted(ctx context.Context, d Decision, citizenID int64) error {
	reasons, err := json.Marshal(d.Reasons)
	if err != nil {
		return fmt.Errorf("casestore: reasons: %w", err)
	}
	if b := t.batch; b != nil {
		// Written with the batch's other decisions (flush).
		b.decisions = append(b.decisions, batchDecision{d: d, reasons: string(reasons), citizenID: citizenID})
		b.status[d.RequestID] = "routed"
		t.touched(d.CaseID, citizenID)
		t.noteRouted(d.RequestID, d.CaseID)
		return nil
	}
	// A case opened by this request was written a moment ago: touching it
	// again would only leave a dead row behind.
	touch := touchCase
	if d.Outcome == "new_case" {
		touch = `SELECT`
	}
	if _, err := t.tx.Exec(ctx, `
		WITH dec AS (
		    INSERT INTO routing_decisions (request_id, case_id, outcome, competence, territory, confidence, model_version, reasons, decided_by)
		    VALUES ($1, $2, $3, $4, NULLIF($5, ''), $6, $7, $8, $9)),
		req AS (
		    UPDATE requests SET status = 'routed', case_id = $2, citizen_id = NULLIF($10, 0::bigint), failure = NULL, routed_at = now()
		    WHERE id = $1),
		search AS (`+searchRow+`)
		`+touch,
		d.RequestID, d.CaseID, d.Outcome, d.Competence, d.Territory, d.Confidence, d.ModelVersion, reasons, d.DecidedBy, citizenID); err != nil {
		return fault.E(fault.Transient, fmt.Errorf("casestore: finish request %s: %w", d.RequestID, err))
	}
	return nil
}

// FinishRequest marks the request routed to a case.
func (t *RouteTx) FinishRequest(ctx context.Context, requestID string, caseID, citizenID int64) error {
	if _, err := t.tx.Exec(ctx, `
		UPDATE requests SET status = 'routed', case_id = $2, citizen_id = NULLIF($3, 0::bigint), failure = NULL, routed_at = now()
		WHERE id = $1`, requestID, caseID, citizenID); err != nil {
		return fault.E(fault.Transient, fmt.Errorf("casestore: finish request %s: %w", requestID, err))
	}
	if _, err := t.tx.Exec(ctx, touchCase, requestID, caseID); err != nil {
		return fault.E(fault.Transient, fmt.Errorf("casestore: touch case: %w", err))
	}
	if _, err := t.tx.Exec(ctx, searchRow, requestID, caseID); err != nil {
		return fault.E(fault.Transient, fmt.Errorf("casestore: search text of %s: %w", requestID, err))
	}
	return nil
}

// OpenCase is an open case of a citizen with the requests it holds, for
// the router to tell whether a new request is about the same matter.
type OpenCase struct {
	CaseRow
	LastAt   time.Time
	Requests []schemas.Request // newest first, at most 20
}

// OpenCasesOf lists the citizen's cases still open that received a request
// since the given time, most recent first (at most 10).
func (t *RouteTx) OpenCasesOf(ctx context.Context, citizenID int64, since time.Time) ([]OpenCase, error) {
	if list, ok := t.batchOpenCases(citizenID, since); ok {
		return list, nil
	}
	if err := t.flush(ctx); err != nil {
		return nil, err
	}
	rows, err := t.tx.Query(ctx, `
		SELECT c.id, c.ref, c.competence, COALESCE(c.territory, ''), c.state, max(r.received_at),
		       (array_agg(r.payload ORDER BY r.received_at DESC))[1:20]
		FROM cases c JOIN requests r ON r.case_id = c.id
		WHERE c.citizen_id = $1 AND c.state NOT IN ('closed', 'rejected', 'redirected', 'merged')
		GROUP BY c.id
		HAVING max(r.received_at) >= $2
		ORDER BY max(r.received_at) DESC
		LIMIT 10`, citizenID, since)
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: open cases of %d: %w", citizenID, err))
	}
	defer rows.Close()
	var out []OpenCase
	for rows.Next() {
		var oc OpenCase
		var payloads [][]byte
		if err := rows.Scan(&oc.ID, &oc.Ref, &oc.Competence, &oc.Territory, &oc.State, &oc.LastAt, &payloads); err != nil {
			return nil, fault.E(fault.Transient, fmt.Errorf("casestore: open cases of %d: %w", citizenID, err))
		}
		oc.Requests = decodeRequests(payloads)
		out = append(out, oc)
	}
	if err := rows.Err(); err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: open cases of %d: %w", citizenID, err))
	}
	return out, nil
}

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
