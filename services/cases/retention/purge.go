package retention

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/ampmetropole/guichet/services/cases/catalogue"
	"github.com/ampmetropole/guichet/services/cases/citizen"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

// caseArtifacts are the artifacts purged case by case; the others
// (outgoing, audit, streams) go by the age of each copy.
var caseArtifacts = []string{catalogue.ArtifactIdentity, catalogue.ArtifactFreeText, catalogue.ArtifactTranscripts, catalogue.ArtifactFiles}

// caseTarget is a case to purge, with the artifacts due now.
type caseTarget struct {
	id   int64
	ref  string
	arts []string
}

// reqTarget is a request purged on its own: one that never made a case,
// or a person's request in a case shared with other people (Erase), whose
// events caused by it or addressed to it go with it.
type reqTarget struct {
	id     string
	caseID *int64
	ref    string // of its case, "" without one
	arts   []string
}

// batch is what one purge transaction erases.
type batch struct {
	cases []caseTarget
	loose []reqTarget
	// citizens are emptied whatever else they still hold (the person
	// asked: Erase).
	citizens []int64
	// contacts are addresses and numbers erased in any case (Erase's
	// subject), checked like the others.
	contacts []string
}

// plan is a batch as PostgreSQL holds it: every request it touches, the
// citizens records it empties and what the other stores must forget.
type plan struct {
	reqIDs, reqArts     []string // every request, with its artifacts (comma-joined)
	caseIDs             []int64
	caseArts            []string
	looseIDs, looseArts []string
	// shared are the cases of loose requests whose free texts go: there,
	// what people wrote about the case goes too (notes, reasons), not what
	// the others wrote or were answered.
	shared   []int64
	citizens []int64
	purged   Purged
}

func join(arts []string) string { return strings.Join(arts, ",") }

// has says whether a comma-joined artifact list holds one of arts.
func has(joined string, arts ...string) bool {
	for _, a := range strings.Split(joined, ",") {
		if slices.Contains(arts, a) {
			return true
		}
	}
	return false
}

// filter keeps the ids whose artifacts hold one of arts.
func filter(ids, joined []string, arts ...string) []string {
	out := []string{}
	for i, id := range ids {
		if has(joined[i], arts...) {
			out = append(out, id)
		}
	}
	return out
}

func filterCases(ids []int64, joined []string, arts ...string) []int64 {
	out := []int64{}
	for i, id := range ids {
		if has(joined[i], arts...) {
			out = append(out, id)
		}
	}
	return out
}

// describe reads, without changing anything, what the batch erases.
func describe(ctx context.Context, tx pgx.Tx, b batch) (plan, error) {
	var p plan
	wrap := func(what string, err error) error {
		return fault.E(fault.Transient, fmt.Errorf("retention: %s: %w", what, err))
	}
	for _, c := range b.cases {
		p.caseIDs, p.caseArts = append(p.caseIDs, c.id), append(p.caseArts, join(c.arts))
		p.purged.Cases, p.purged.CaseIDs = append(p.purged.Cases, c.ref), append(p.purged.CaseIDs, c.id)
	}
	if p.caseIDs == nil {
		p.caseIDs, p.caseArts = []int64{}, []string{}
	}
	rows, err := tx.Query(ctx, `
		SELECT r.id::text, t.arts FROM unnest($1::bigint[], $2::text[]) AS t(case_id, arts) JOIN requests r ON r.case_id = t.case_id
		ORDER BY r.id`, p.caseIDs, p.caseArts)
	if err != nil {
		return p, wrap("requests of the cases", err)
	}
	for rows.Next() {
		var id, arts string
		if err := rows.Scan(&id, &arts); err != nil {
			rows.Close()
			return p, wrap("requests of the cases", err)
		}
		p.reqIDs, p.reqArts = append(p.reqIDs, id), append(p.reqArts, arts)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return p, wrap("requests of the cases", err)
	}
	p.looseIDs, p.looseArts = []string{}, []string{}
	for _, r := range b.loose {
		p.reqIDs, p.reqArts = append(p.reqIDs, r.id), append(p.reqArts, join(r.arts))
		p.looseIDs, p.looseArts = append(p.looseIDs, r.id), append(p.looseArts, join(r.arts))
		if r.caseID != nil && !slices.Contains(p.purged.CaseIDs, *r.caseID) {
			p.purged.Cases, p.purged.CaseIDs = append(p.purged.Cases, r.ref), append(p.purged.CaseIDs, *r.caseID)
		}
		if r.caseID != nil && slices.Contains(r.arts, catalogue.ArtifactFreeText) && !slices.Contains(p.shared, *r.caseID) {
			p.shared = append(p.shared, *r.caseID)
		}
	}
	if p.shared == nil {
		p.shared = []int64{}
	}
	if p.reqIDs == nil {
		p.reqIDs, p.reqArts = []string{}, []string{}
	}
	p.purged.Requests = slices.Clone(p.reqIDs)

	// The files of the requests whose files go, unless another request
	// (the same photo sent twice) still holds them.
	withFiles := filter(p.reqIDs, p.reqArts, catalogue.ArtifactFiles)
	if len(withFiles) > 0 {
		rows, err := tx.Query(ctx, `
			SELECT DISTINCT a->>'object_key'
			FROM requests r, jsonb_array_elements(CASE WHEN jsonb_typeof(r.payload->'attachments') = 'array' THEN r.payload->'attachments' ELSE '[]' END) a
			WHERE r.id = ANY($1::uuid[]) AND COALESCE(a->>'object_key', '') <> ''
			  AND NOT EXISTS (SELECT 1 FROM requests o
			                  WHERE o.payload->'attachments' @> jsonb_build_array(jsonb_build_object('object_key', a->>'object_key'))
			                    AND NOT o.id = ANY($1::uuid[]))
			ORDER BY 1`, withFiles)
		if err != nil {
			return p, wrap("files", err)
		}
		if p.purged.Files, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return p, wrap("files", err)
		}
	}

	identReqs := filter(p.reqIDs, p.reqArts, catalogue.ArtifactIdentity)
	identCases := filterCases(p.caseIDs, p.caseArts, catalogue.ArtifactIdentity)
	identLoose := filter(p.looseIDs, p.looseArts, catalogue.ArtifactIdentity)
	forced := slices.Clone(b.citizens)
	if forced == nil {
		forced = []int64{}
	}
	if len(identReqs) == 0 && len(identCases) == 0 && len(forced) == 0 && len(b.contacts) == 0 {
		return p, nil
	}
	// The citizens records left with nothing that keeps an identity.
	rows, err = tx.Query(ctx, `
		WITH cand AS (
			SELECT c.citizen_id AS id FROM cases c WHERE c.id = ANY($1::bigint[]) AND c.citizen_id IS NOT NULL
			UNION SELECT r.citizen_id FROM requests r WHERE r.id = ANY($2::uuid[]) AND r.citizen_id IS NOT NULL
		)
		SELECT z.id FROM citizens z JOIN cand ON cand.id = z.id
		WHERE z.erased_at IS NULL
		  AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.citizen_id = z.id AND NOT 'identity' = ANY(c.purged) AND NOT c.id = ANY($1::bigint[]))
		  AND NOT EXISTS (SELECT 1 FROM requests r WHERE r.citizen_id = z.id AND NOT 'identity' = ANY(r.purged) AND NOT r.id = ANY($2::uuid[]))
		UNION SELECT z.id FROM citizens z WHERE z.id = ANY($3::bigint[]) AND z.erased_at IS NULL
		ORDER BY 1`, identCases, identReqs, forced)
	if err != nil {
		return p, wrap("citizens", err)
	}
	if p.citizens, err = pgx.CollectRows(rows, pgx.RowTo[int64]); err != nil {
		return p, wrap("citizens", err)
	}
	if p.citizens == nil {
		p.citizens = []int64{}
	}

	// The addresses and numbers erased: those the requests carry, the
	// replies and notices went to, the emptied records held…
	rows, err = tx.Query(ctx, `
		WITH ev AS (
			SELECT e.id, e.type, e.payload FROM case_events e WHERE e.case_id = ANY($2::bigint[])
			UNION SELECT e.id, e.type, e.payload FROM case_events e WHERE e.request_id = ANY($3::uuid[]) OR e.recipient_request = ANY($3::uuid[])
		)
		SELECT r.payload #>> '{citizen,email}' FROM requests r WHERE r.id = ANY($1::uuid[])
		UNION SELECT r.payload #>> '{citizen,phone}' FROM requests r WHERE r.id = ANY($1::uuid[])
		UNION SELECT n.recipient FROM notifications n WHERE n.request_id = ANY($1::uuid[])
		UNION SELECT n.recipient FROM notifications n JOIN ev ON ev.id = n.request_id WHERE ev.type = 'replied'
		UNION SELECT ev.payload->'data'->>'to' FROM ev WHERE ev.type = 'replied' AND ev.payload->'data'->>'channel' IN ('email', 'callback')
		UNION SELECT z.email FROM citizens z WHERE z.id = ANY($4::bigint[])
		UNION SELECT z.phone FROM citizens z WHERE z.id = ANY($4::bigint[])`,
		identReqs, identCases, identLoose, p.citizens)
	if err != nil {
		return p, wrap("contacts", err)
	}
	raw, err := pgx.CollectRows(rows, pgx.RowTo[*string])
	if err != nil {
		return p, wrap("contacts", err)
	}
	var candidates []string
	for _, c := range append(raw, ptrs(b.contacts)...) {
		if c == nil {
			continue
		}
		if v, ok := normalizeContact(*c); ok && !slices.Contains(candidates, v) {
			candidates = append(candidates, v)
		}
	}
	if len(candidates) == 0 {
		return p, nil
	}
	// …unless someone else's record or request still carries them: their
	// outbox files are not this purge's to remove.
	rows, err = tx.Query(ctx, `
		SELECT x FROM unnest($1::text[]) x
		WHERE NOT EXISTS (SELECT 1 FROM requests o WHERE lower(btrim(o.payload #>> '{citizen,email}')) = x AND NOT o.id = ANY($2::uuid[]))
		  AND NOT EXISTS (SELECT 1 FROM requests o WHERE (o.payload #>> '{citizen,phone}') = x AND NOT o.id = ANY($2::uuid[]))
		  AND NOT EXISTS (SELECT 1 FROM citizens z WHERE (z.email = x OR z.phone = x) AND NOT z.id = ANY($3::bigint[]))
		ORDER BY 1`, candidates, identReqs, p.citizens)
	if err != nil {
		return p, wrap("contacts", err)
	}
	if p.purged.Contacts, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		return p, wrap("contacts", err)
	}
	return p, nil
}

func ptrs(ss []string) []*string {
	out := make([]*string, len(ss))
	for i := range ss {
		out[i] = &ss[i]
	}
	return out
}

// normalizeContact reads an e-mail address (lower case) or a phone number
// (E.164) as written anywhere; false for anything else (a postal address).
func normalizeContact(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", false
	}
	if strings.Contains(s, "@") {
		e, err := citizen.NormalizeEmail(s)
		return e, err == nil
	}
	p, err := citizen.NormalizePhone(s)
	return p, err == nil
}

// execute erases the plan in the transaction tx, which called
// guichet_begin_purge.
func execute(ctx context.Context, tx pgx.Tx, p plan) error {
	identReqs := filter(p.reqIDs, p.reqArts, catalogue.ArtifactIdentity)
	textReqs := filter(p.reqIDs, p.reqArts, catalogue.ArtifactIdentity, catalogue.ArtifactFreeText)
	freeReqs := filter(p.reqIDs, p.reqArts, catalogue.ArtifactFreeText)
	searchReqs := filter(p.reqIDs, p.reqArts, catalogue.ArtifactFreeText, catalogue.ArtifactTranscripts)
	identCases := filterCases(p.caseIDs, p.caseArts, catalogue.ArtifactIdentity)
	freeCases := filterCases(p.caseIDs, p.caseArts, catalogue.ArtifactFreeText)
	identLoose := filter(p.looseIDs, p.looseArts, catalogue.ArtifactIdentity)
	freeLoose := filter(p.looseIDs, p.looseArts, catalogue.ArtifactFreeText)
	steps := []struct {
		what string
		sql  string
		args []any
	}{
		{"requests", `
			UPDATE requests r
			SET payload = guichet_purged_request(r.payload, a.arts),
			    failure = CASE WHEN 'free_text' = ANY(a.arts) THEN NULL ELSE r.failure END,
			    purged = ARRAY(SELECT DISTINCT x FROM unnest(r.purged || a.arts) x ORDER BY x),
			    purged_at = CASE WHEN ARRAY['files', 'free_text', 'identity', 'transcripts'] <@ (r.purged || a.arts)
			                     THEN COALESCE(r.purged_at, now()) ELSE r.purged_at END
			FROM (SELECT id, string_to_array(arts, ',') AS arts FROM unnest($1::uuid[], $2::text[]) AS t(id, arts)) a
			WHERE r.id = a.id`, []any{p.reqIDs, p.reqArts}},
		// The search text is read again from what the request keeps: only
		// the month it came remains.
		{"search text", `
			UPDATE request_search s SET doc = to_tsvector('guichet_fr', request_text(r.payload)) || search_period(r.id, r.received_at)
			FROM requests r WHERE r.id = ANY($1::uuid[]) AND s.request_id = r.id`, []any{searchReqs}},
		{"routing reasons", `
			UPDATE routing_decisions d
			SET reasons = (SELECT COALESCE(jsonb_agg(jsonb_build_object('code', x->>'code', 'detail', '')), '[]') FROM jsonb_array_elements(d.reasons) x)
			WHERE (d.request_id = ANY($1::uuid[]) OR d.request_id IN (SELECT r.id FROM requests r WHERE r.case_id = ANY($2::bigint[])))
			  AND jsonb_typeof(d.reasons) = 'array'
			  AND EXISTS (SELECT 1 FROM jsonb_array_elements(d.reasons) x WHERE COALESCE(x->>'detail', '') <> '')`, []any{freeReqs, p.shared}},
		// The events, and their copies in the outbox: published ones go,
		// one still to publish leaves anonymised.
		{"events", `
			WITH raw(id, arts) AS (
				SELECT e.id, string_to_array(c.arts, ',')
				FROM unnest($1::bigint[], $2::text[]) AS c(case_id, arts) JOIN case_events e ON e.case_id = c.case_id
				UNION ALL
				SELECT e.id, string_to_array(l.arts, ',')
				FROM unnest($3::uuid[], $4::text[]) AS l(request_id, arts)
				JOIN case_events e ON e.request_id = l.request_id OR e.recipient_request = l.request_id
				UNION ALL
				SELECT e.id, ARRAY['free_text'] FROM case_events e
				WHERE e.case_id = ANY($5::bigint[]) AND e.actor_kind = 'agent'
				  AND (e.recipient_request IS NULL OR e.recipient_request = ANY($3::uuid[]))
			), t AS (
				SELECT raw.id, array_agg(DISTINCT a) AS arts FROM raw, unnest(raw.arts) a GROUP BY raw.id
			), upd AS (
				UPDATE case_events e SET payload = guichet_purged_event(e.payload, t.arts)
				FROM t WHERE e.id = t.id AND guichet_purged_event(e.payload, t.arts) IS DISTINCT FROM e.payload
				RETURNING e.id, e.payload
			), gone AS (
				DELETE FROM outbox o USING upd WHERE o.msg_id = upd.id::text AND o.published_at IS NOT NULL
			)
			UPDATE outbox o SET payload = convert_to(upd.payload::text, 'UTF8')
			FROM upd WHERE o.msg_id = upd.id::text AND o.published_at IS NULL`, []any{p.caseIDs, p.caseArts, p.looseIDs, p.looseArts, p.shared}},
		// Where acknowledgements, notices and replies were sent.
		{"notifications", `
			UPDATE notifications n SET recipient = ''
			WHERE n.recipient <> '' AND (n.request_id = ANY($1::uuid[])
			   OR n.request_id IN (SELECT e.id FROM case_events e WHERE e.case_id = ANY($2::bigint[]))
			   OR n.request_id IN (SELECT e.id FROM case_events e WHERE e.request_id = ANY($3::uuid[]) OR e.recipient_request = ANY($3::uuid[])))`,
			[]any{identReqs, identCases, identLoose}},
		// Letters owed: posted ones lose address and text, one never
		// posted is not to be printed any more.
		{"letters", `
			WITH del AS (DELETE FROM postal_notices WHERE request_id = ANY($1::uuid[]) AND posted_at IS NULL)
			UPDATE postal_notices SET recipient = '', subject = '', body = '', purged_at = now()
			WHERE request_id = ANY($1::uuid[]) AND posted_at IS NOT NULL AND purged_at IS NULL`, []any{textReqs}},
		// A letter or call-back not done yet has no address any more.
		{"reply tasks", `
			INSERT INTO reply_tasks_done (event_id, done_by)
			SELECT e.id, 'rgpd' FROM case_events e
			WHERE (e.case_id = ANY($1::bigint[]) OR e.recipient_request = ANY($2::uuid[]))
			  AND e.type = 'replied' AND e.payload->'data'->>'channel' IN ('letter', 'callback')
			ON CONFLICT DO NOTHING`, []any{identCases, identLoose}},
		// The places grouping read in the words (cases.place_keys) go with
		// the words of any of the case's requests: not read again, the case
		// is no longer found by place.
		{"places read in the words", `
			UPDATE cases SET place_keys = '{}', lat = NULL, lon = NULL
			WHERE (id = ANY($1::bigint[]) OR id IN (SELECT case_id FROM requests WHERE id = ANY($2::uuid[])))
			  AND (place_keys <> '{}' OR lat IS NOT NULL)`, []any{freeCases, searchReqs}},
		{"satisfaction comments", `
			UPDATE satisfaction SET comment = NULL
			WHERE comment IS NOT NULL AND (case_id = ANY($1::bigint[]) OR thread_id = ANY($2::uuid[]))`, []any{freeCases, freeLoose}},
		{"legal holds", `
			UPDATE legal_holds SET reason = '', release_reason = CASE WHEN release_reason IS NULL THEN NULL ELSE '' END
			WHERE case_id = ANY($1::bigint[]) AND released_at IS NOT NULL AND (reason <> '' OR release_reason <> '')`, []any{freeCases}},
		{"cases", `
			UPDATE cases c
			SET purged = ARRAY(SELECT DISTINCT x FROM unnest(c.purged || a.arts) x ORDER BY x),
			    purged_at = CASE WHEN ARRAY['files', 'free_text', 'identity', 'transcripts'] <@ (c.purged || a.arts)
			                     THEN COALESCE(c.purged_at, now()) ELSE c.purged_at END
			FROM (SELECT id, string_to_array(arts, ',') AS arts FROM unnest($1::bigint[], $2::text[]) AS t(id, arts)) a
			WHERE c.id = a.id`, []any{p.caseIDs, p.caseArts}},
		{"citizens", `
			UPDATE citizens SET name = NULL, email = NULL, phone = NULL, erased_at = now(), updated_at = now()
			WHERE id = ANY($1::bigint[]) AND erased_at IS NULL`, []any{p.citizens}},
	}
	for _, st := range steps {
		if nothing(st.args) {
			continue
		}
		if _, err := tx.Exec(ctx, st.sql, st.args...); err != nil {
			return fault.E(fault.Transient, fmt.Errorf("retention: purge %s: %w", st.what, err))
		}
	}
	return nil
}

// nothing says whether a statement's arrays are all empty: it would do
// nothing, and is not sent.
func nothing(args []any) bool {
	for _, a := range args {
		switch v := a.(type) {
		case []string:
			if len(v) > 0 {
				return false
			}
		case []int64:
			if len(v) > 0 {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// purgeOpts says who purges, why, and under which audit action.
type purgeOpts struct {
	actor, reason, action string
	details               map[string]any
	dry                   bool
}

// purge describes the batch and, unless dry, erases it in tx after opening
// the purge (its audit entry) and records what the other stores must
// forget. It returns that record's id (0: nothing to forget).
func (s *Service) purge(ctx context.Context, tx pgx.Tx, b batch, o purgeOpts) (plan, int64, error) {
	p, err := describe(ctx, tx, b)
	if err != nil || o.dry {
		return p, 0, err
	}
	details := map[string]any{"cases": len(p.purged.Cases), "requests": len(p.purged.Requests), "files": len(p.purged.Files),
		"citizens": len(p.citizens)}
	if len(p.purged.Cases) <= 100 {
		details["refs"] = p.purged.Cases
	}
	var arts []string
	for _, a := range slices.Concat(p.caseArts, p.looseArts) {
		for _, x := range strings.Split(a, ",") {
			if x != "" && !slices.Contains(arts, x) {
				arts = append(arts, x)
			}
		}
	}
	slices.Sort(arts)
	details["artifacts"] = arts
	for k, v := range o.details {
		details[k] = v
	}
	audit, err := beginPurge(ctx, tx, o.actor, o.reason, o.action, "", details)
	if err != nil {
		return p, 0, err
	}
	if err := execute(ctx, tx, p); err != nil {
		return p, 0, err
	}
	if len(s.forget) == 0 || p.purged.Empty() {
		return p, 0, nil
	}
	id, err := recordPending(ctx, tx, audit, p.purged)
	return p, id, err
}

// beginPurge calls guichet_begin_purge: the audit entry of what follows in
// the transaction, which lets the append-only tables be anonymised.
func beginPurge(ctx context.Context, tx pgx.Tx, actor, reason, action, target string, details map[string]any) (int64, error) {
	if details == nil {
		details = map[string]any{} // JSON null would make the entry's details an array
	}
	raw, err := json.Marshal(details)
	if err != nil {
		return 0, fmt.Errorf("retention: audit details: %w", err)
	}
	var id int64
	if err := tx.QueryRow(ctx, `SELECT guichet_begin_purge($1, $2, $3, $4, $5)`, actor, reason, action, target, raw).Scan(&id); err != nil {
		return 0, fault.E(fault.Transient, fmt.Errorf("retention: begin purge: %w", err))
	}
	return id, nil
}

// inTx runs fn in a transaction (read-only for a dry run) and commits it.
func (s *Service) inTx(ctx context.Context, readOnly bool, fn func(tx pgx.Tx) error) error {
	opts := pgx.TxOptions{}
	if readOnly {
		opts.AccessMode = pgx.ReadOnly
	}
	tx, err := s.db.BeginTx(ctx, opts)
	if err != nil {
		return fault.E(fault.Transient, fmt.Errorf("retention: begin: %w", err))
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil && !errors.Is(err, pgx.ErrTxClosed) {
		return fault.E(fault.Transient, fmt.Errorf("retention: commit: %w", err))
	}
	return nil
}

// add counts a purge into the report and lists it, MaxListed at most.
func (r *Report) add(p Purged) {
	r.Cases += len(p.Cases)
	r.Requests += len(p.Requests)
	r.Files += len(p.Files)
	r.Purged.Cases = appendBounded(r.Purged.Cases, p.Cases)
	r.Purged.Requests = appendBounded(r.Purged.Requests, p.Requests)
	r.Purged.CaseIDs = appendBounded(r.Purged.CaseIDs, p.CaseIDs)
	r.Purged.Files = appendBounded(r.Purged.Files, p.Files)
	for _, c := range p.Contacts {
		if !slices.Contains(r.Purged.Contacts, c) && len(r.Purged.Contacts) < MaxListed {
			r.Purged.Contacts = append(r.Purged.Contacts, c)
		}
	}
}

func appendBounded[T any](to, from []T) []T {
	n := min(len(from), MaxListed-len(to))
	if n <= 0 {
		return to
	}
	return append(to, from[:n]...)
}
