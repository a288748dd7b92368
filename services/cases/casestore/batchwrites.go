package casestore

import (
	"context"
	"fmt"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

// batchDecision and batchEvent are the rows a batch writes at its end.
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
		    UPDATE cases c SET updated_at = now(), channels = channels_with(c.channels, t.channels)
		    FROM (SELECT d.case_id, array_agg(r.channel) AS channels FROM d JOIN requests r ON r.id = d.request_id
		          WHERE d.touch GROUP BY d.case_id) t
		    WHERE c.id = t.case_id),
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
