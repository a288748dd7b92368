package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ampmetropole/guichet/services/cases/caseref"
)

// sameRowsBatch is how many requests' rows one transaction of the fair
// limit writes: the router's batches are of that order.
const sameRowsBatch = 500

// sameRow is what the product writes for one routed request, built before
// the clock starts: the database's share of the work is what is timed.
type sameRow struct {
	request, caseRow, event, outbox, decision []any
	id                                        uuid.UUID
}

// benchRawSameRows is the fair limit of the end-to-end figure: the rows
// the product writes for each routed request — the request with its
// routed status and payload, its case, the case's first event and that
// event's outbox row, the routing decision, and the search row with its
// French tsvector — written set-wise, 500 requests a transaction (COPY for
// the rows, one INSERT … SELECT for the tsvector, computed by PostgreSQL as
// the product has it computed), into temporary tables made LIKE the real
// ones (indexes, defaults and checks; no foreign keys). It returns requests
// per second. bodies are the bench's requests (their payloads are stored).
func benchRawSameRows(ctx context.Context, conn *pgx.Conn, bodies [][]byte) (float64, error) {
	if _, err := conn.Exec(ctx, `
		CREATE TEMP TABLE same_requests (LIKE requests INCLUDING ALL);
		CREATE TEMP TABLE same_cases (LIKE cases INCLUDING ALL);
		CREATE TEMP TABLE same_events (LIKE case_events INCLUDING ALL);
		CREATE TEMP TABLE same_outbox (LIKE outbox INCLUDING ALL);
		CREATE TEMP TABLE same_decisions (LIKE routing_decisions INCLUDING ALL);
		CREATE TEMP TABLE same_search (LIKE request_search INCLUDING ALL)`); err != nil {
		return 0, fmt.Errorf("bench : tables de la limite équitable : %w", err)
	}
	rows, err := sameRows(bodies)
	if err != nil {
		return 0, err
	}
	copyIn := func(tx pgx.Tx, table string, cols []string, pick func(sameRow) []any, batch []sameRow) error {
		src := make([][]any, len(batch))
		for i, r := range batch {
			src[i] = pick(r)
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromRows(src)); err != nil {
			return fmt.Errorf("bench : copie dans %s : %w", table, err)
		}
		return nil
	}
	start := time.Now()
	for done := 0; done < len(rows); done += sameRowsBatch {
		batch := rows[done:min(done+sameRowsBatch, len(rows))]
		tx, err := conn.Begin(ctx)
		if err != nil {
			return 0, fmt.Errorf("bench : %w", err)
		}
		err = copyIn(tx, "same_requests", []string{"id", "tracking_code", "channel", "received_at", "status", "payload", "case_id", "routed_at"},
			func(r sameRow) []any { return r.request }, batch)
		if err == nil {
			err = copyIn(tx, "same_cases", []string{"id", "ref", "competence", "territory", "state", "priority", "deadline", "place_keys", "commune"},
				func(r sameRow) []any { return r.caseRow }, batch)
		}
		if err == nil {
			err = copyIn(tx, "same_events", []string{"id", "case_id", "seq", "type", "at", "actor_kind", "actor_id", "request_id", "payload"},
				func(r sameRow) []any { return r.event }, batch)
		}
		if err == nil {
			err = copyIn(tx, "same_outbox", []string{"id", "msg_id", "subject", "payload"}, func(r sameRow) []any { return r.outbox }, batch)
		}
		if err == nil {
			err = copyIn(tx, "same_decisions", []string{"id", "request_id", "case_id", "outcome", "competence", "territory", "confidence", "model_version", "reasons", "decided_by"},
				func(r sameRow) []any { return r.decision }, batch)
		}
		if err == nil {
			ids := make([]uuid.UUID, len(batch))
			for i, r := range batch {
				ids[i] = r.id
			}
			_, err = tx.Exec(ctx, `
				INSERT INTO same_search (request_id, case_id, competence, territory, doc)
				SELECT r.id, r.case_id, c.competence, c.territory,
				       to_tsvector('guichet_fr', request_text(r.payload)) || search_period(r.id, r.received_at)
				FROM same_requests r JOIN same_cases c ON c.id = r.case_id WHERE r.id = ANY($1)`, ids)
			if err != nil {
				err = fmt.Errorf("bench : texte de recherche : %w", err)
			}
		}
		if err != nil {
			tx.Rollback(ctx)
			return 0, err
		}
		if err := tx.Commit(ctx); err != nil {
			return 0, fmt.Errorf("bench : %w", err)
		}
	}
	return float64(len(rows)) / time.Since(start).Seconds(), nil
}

// sameRows builds the rows of each request as the product would: the
// payload completed as the intake completes it, a case event and a
// decision of the product's usual size.
func sameRows(bodies [][]byte) ([]sameRow, error) {
	now := time.Now().UTC()
	reasons := []byte(`[{"code":"territory","detail":"le lieu indiqué est dans le territoire Pays d'Aix"},{"code":"classifier","detail":"eclairage à 97 % ; mots décisifs : « lampadaire », « éteint », « rue », « nuit »"},{"code":"catalogue","detail":"règles du catalogue : « lampadaire » (+2.5)"}]`)
	out := make([]sameRow, len(bodies))
	for i, b := range bodies {
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("bench : demande %d : %w", i, err)
		}
		id, err := uuid.Parse(fmt.Sprint(m["id"]))
		if err != nil {
			return nil, fmt.Errorf("bench : demande %d sans identifiant : %w", i, err)
		}
		code := fmt.Sprintf("B%03d-%04d-%04d", i/100000000, i/10000%10000, i%10000)
		m["schema"], m["tracking_code"], m["received_at"], m["language"] = "request.v1", code, now.Format(time.RFC3339Nano), "fr"
		payload, err := json.Marshal(m)
		if err != nil {
			return nil, err
		}
		caseID := int64(i + 1)
		ref := caseref.Format(2026, int(caseID)).String()
		channel := fmt.Sprint(m["channel"])
		deadline := now.Add(5 * 24 * time.Hour)
		eventID, _ := uuid.NewV7()
		event, err := json.Marshal(map[string]any{
			"schema": "case-event.v1", "id": eventID, "case_ref": ref, "seq": 1, "type": "created", "at": now,
			"actor": map[string]string{"kind": "router", "id": "router-v1"}, "request_id": id, "competence": "eclairage",
			"territory": "pays-d-aix", "state": "received", "channel": channel, "deadline": deadline,
			"data": map[string]any{"outcome": "new_case", "confidence": 0.97, "model_version": "router-v1/clf-bench", "reasons": json.RawMessage(reasons)},
		})
		if err != nil {
			return nil, err
		}
		out[i] = sameRow{
			id:       id,
			request:  []any{id, code, channel, now, "routed", payload, caseID, now},
			caseRow:  []any{caseID, ref, "eclairage", "pays-d-aix", "received", "normal", deadline, []string{"rue:jeanne-d-arc", "num:4"}, "13001"},
			event:    []any{eventID, caseID, 1, "created", now, "router", "router-v1", id, event},
			outbox:   []any{caseID, eventID.String(), "guichet.cases.eclairage.created", event},
			decision: []any{caseID, id, caseID, "new_case", "eclairage", "pays-d-aix", float32(0.97), "router-v1/clf-bench", reasons, "router"},
		}
	}
	return out, nil
}
