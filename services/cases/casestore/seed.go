package casestore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/caseref"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/platform/frtime"
)

// SeedCitizen is a synthetic citizen.
type SeedCitizen struct {
	Name, Email, Phone string // empty: none
}

// SeedCase is one synthetic case with its whole history, as the router and
// the teams would have left it.
type SeedCase struct {
	Competence, Territory, State, Priority string
	Deadline, BreachedAt                   *time.Time
	Assignee                               string
	OpenedAt, UpdatedAt                    time.Time
	Citizen                                int // index in SeedBatch.Citizens; -1: anonymous
	// Requests are the contacts, oldest first: the first opened the case.
	Requests []schemas.Request
	// Events are the history, oldest first; the writer numbers them and
	// sets their id, case reference, competence and territory.
	Events     []schemas.CaseEvent
	Confidence float64
}

// SeedBatch is what one Seed call writes.
type SeedBatch struct {
	Citizens []SeedCitizen
	Cases    []SeedCase
}

// Seed writes a batch of synthetic cases in one transaction, with bulk
// statements (unnest, COPY) rather than the router's path: it fills a
// database for benchmarks and demonstrations at the volume of years of
// service. It returns the references given to the cases.
func (s *Store) Seed(ctx context.Context, b SeedBatch) ([]string, error) {
	var refs []string
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		refs, err = seedBatch(ctx, tx, b)
		return err
	})
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: seed: %w", err))
	}
	return refs, nil
}

func seedBatch(ctx context.Context, tx pgx.Tx, b SeedBatch) ([]string, error) {
	reserve := func(seq string, n int) ([]int64, error) {
		rows, err := tx.Query(ctx, `SELECT nextval($1::regclass) FROM generate_series(1, $2)`, seq, n)
		if err != nil {
			return nil, err
		}
		return pgx.CollectRows(rows, pgx.RowTo[int64])
	}
	citizenIDs, err := reserve("citizens_id_seq", len(b.Citizens))
	if err != nil {
		return nil, fmt.Errorf("citizen ids: %w", err)
	}
	caseIDs, err := reserve("cases_id_seq", len(b.Cases))
	if err != nil {
		return nil, fmt.Errorf("case ids: %w", err)
	}
	numbers, err := reserve("case_ref_seq", len(b.Cases))
	if err != nil {
		return nil, fmt.Errorf("case references: %w", err)
	}

	nullable := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	var names, emails, phones []*string
	var created []time.Time
	firstSeen := make([]time.Time, len(b.Citizens))
	for _, c := range b.Cases {
		if c.Citizen >= 0 && (firstSeen[c.Citizen].IsZero() || c.OpenedAt.Before(firstSeen[c.Citizen])) {
			firstSeen[c.Citizen] = c.OpenedAt
		}
	}
	for i, c := range b.Citizens {
		names, emails, phones = append(names, nullable(c.Name)), append(emails, nullable(c.Email)), append(phones, nullable(c.Phone))
		created = append(created, firstSeen[i])
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO citizens (id, name, email, phone, created_at, updated_at) OVERRIDING SYSTEM VALUE
		SELECT id, name, email, phone, at, at FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::timestamptz[]) AS t(id, name, email, phone, at)`,
		citizenIDs, names, emails, phones, created); err != nil {
		return nil, fmt.Errorf("citizens: %w", err)
	}

	refs := make([]string, len(b.Cases))
	var (
		comps, states, prios, terrs, assignees []*string
		deadlines, breached                    []*time.Time
		opened, updated                        []time.Time
		citizens                               []*int64
		reqRows, eventRows, decisionRows       [][]any
		searched, channels                     []string
	)
	for i, c := range b.Cases {
		refs[i] = caseref.Format(c.OpenedAt.In(frtime.Paris()).Year(), int(numbers[i])).String()
		comps, states, prios = append(comps, &c.Competence), append(states, &c.State), append(prios, &c.Priority)
		terrs, assignees = append(terrs, nullable(c.Territory)), append(assignees, nullable(c.Assignee))
		deadlines, breached = append(deadlines, c.Deadline), append(breached, c.BreachedAt)
		opened, updated = append(opened, c.OpenedAt), append(updated, c.UpdatedAt)
		var cid *int64
		if c.Citizen >= 0 {
			cid = &citizenIDs[c.Citizen]
		}
		citizens = append(citizens, cid)
		var chs []string
		for _, r := range c.Requests {
			chs = append(chs, r.Channel)
		}
		slices.Sort(chs)
		channels = append(channels, strings.Join(slices.Compact(chs), ","))
		for j, r := range c.Requests {
			payload, err := json.Marshal(r)
			if err != nil {
				return nil, fmt.Errorf("request %s: %w", r.ID, err)
			}
			routed := r.ReceivedAt.Add(800 * time.Millisecond)
			reqRows = append(reqRows, []any{r.ID, r.TrackingCode, r.Channel, r.ReceivedAt, "routed", payload, cid, caseIDs[i], r.ReceivedAt, routed})
			searched = append(searched, r.ID)
			outcome := "linked"
			if j == 0 {
				outcome = "new_case"
			}
			conf := float32(c.Confidence)
			reasons, _ := json.Marshal([]Reason{{Code: "model", Detail: fmt.Sprintf("%s %d %%", c.Competence, int(c.Confidence*100))}})
			decisionRows = append(decisionRows, []any{r.ID, caseIDs[i], outcome, c.Competence, nullable(c.Territory), &conf, "seed", reasons, "router", routed})
		}
		for j, ev := range c.Events {
			id, err := uuid.NewV7()
			if err != nil {
				return nil, err
			}
			ev.ID, ev.Schema, ev.CaseRef, ev.Seq = id.String(), schemas.CaseEventV1, refs[i], j+1
			ev.Competence, ev.Territory = c.Competence, c.Territory
			payload, err := json.Marshal(ev)
			if err != nil {
				return nil, fmt.Errorf("event of %s: %w", refs[i], err)
			}
			eventRows = append(eventRows, []any{ev.ID, caseIDs[i], ev.Seq, ev.Type, ev.At, ev.Actor.Kind, nullable(ev.Actor.ID), nullable(ev.RequestID), payload})
		}
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO cases (id, ref, competence, territory, state, priority, deadline, breached_at, assignee, citizen_id, opened_at, updated_at, channels) OVERRIDING SYSTEM VALUE
		SELECT id, ref, competence, territory, state, priority, deadline, breached_at, assignee, citizen_id, opened_at, updated_at, string_to_array(channels, ',')
		FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::timestamptz[], $9::text[], $10::bigint[], $11::timestamptz[], $12::timestamptz[], $13::text[])
		     AS x(id, ref, competence, territory, state, priority, deadline, breached_at, assignee, citizen_id, opened_at, updated_at, channels)`,
		caseIDs, refs, comps, terrs, states, prios, deadlines, breached, assignees, citizens, opened, updated, channels); err != nil {
		return nil, fmt.Errorf("cases: %w", err)
	}
	copies := []struct {
		table string
		cols  []string
		rows  [][]any
	}{
		{"requests", []string{"id", "tracking_code", "channel", "received_at", "status", "payload", "citizen_id", "case_id", "recorded_at", "routed_at"}, reqRows},
		{"case_events", []string{"id", "case_id", "seq", "type", "at", "actor_kind", "actor_id", "request_id", "payload"}, eventRows},
		{"routing_decisions", []string{"request_id", "case_id", "outcome", "competence", "territory", "confidence", "model_version", "reasons", "decided_by", "decided_at"}, decisionRows},
	}
	for _, c := range copies {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{c.table}, c.cols, pgx.CopyFromRows(c.rows)); err != nil {
			return nil, fmt.Errorf("%s: %w", c.table, err)
		}
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO request_search (request_id, case_id, competence, territory, doc)
		SELECT r.id, c.id, c.competence, c.territory,
		       to_tsvector('guichet_fr', request_text(r.payload)) || search_period(r.id, r.received_at)
		FROM requests r JOIN cases c ON c.id = r.case_id WHERE r.id = ANY($1::uuid[])`, searched); err != nil {
		return nil, fmt.Errorf("search text: %w", err)
	}
	return refs, nil
}
