package retention

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/ampmetropole/guichet/services/cases/catalogue"
	"github.com/ampmetropole/guichet/services/cases/citizen"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

// Erase erases a person's data at once (right to erasure), refusing with a French reason
// (fault.Conflict) when one of their cases is open or under a legal hold.
//
// The person is found by e-mail address or phone number (their citizens
// records and every request that carries it; a request that carries only
// another of their addresses or numbers is found by that one), or by name:
// exactly, once case, accents, hyphens and spaces are set aside; several
// people of that name are never told apart by guessing, the erasure is
// refused asking for the e-mail address or the phone number. Their cases are erased
// whole (the skeleton stays, as in a purge); in a case shared with other
// people (another's request linked to it), only their own requests go,
// with the events they caused or that answered them. Their records are
// emptied, and the audit entries, sign-in links, sessions, rejected mail
// and message records that name their address, number or name are cleared.
// Nothing found is an empty report. The reason is audited with the
// person's address, number and name taken out of it.
func (s *Service) Erase(ctx context.Context, who Subject, reason, actor string) (Report, error) {
	var rep Report
	if err := checkWhoWhy(actor, reason); err != nil {
		return rep, err
	}
	key, err := subjectKey(who)
	if err != nil {
		return rep, err
	}
	var f found
	if err := s.inTx(ctx, true, func(tx pgx.Tx) error {
		var err error
		f, err = findPerson(ctx, tx, key)
		return err
	}); err != nil {
		return rep, err
	}
	if len(f.refused) > 0 {
		rep.Refused = f.refused
		var why []string
		for _, r := range f.refused {
			why = append(why, r.Reason)
		}
		return rep, fault.E(fault.Conflict, fmt.Errorf("retention: effacement refusé : %s", strings.Join(why, " ; ")))
	}
	if f.nothing() {
		return rep, nil
	}
	o := purgeOpts{actor: actor, reason: scrub(reason, f.identifiers()), action: "rgpd.erase",
		details: map[string]any{"by": key.by}}
	var forgetErrs []error
	var contacts []string
	for i := 0; i == 0 || i*s.batch < len(f.whole); i++ {
		b := batch{cases: f.whole[i*s.batch : min(len(f.whole), (i+1)*s.batch)]}
		last := (i+1)*s.batch >= len(f.whole)
		if last {
			b.loose, b.citizens, b.contacts = f.loose, f.citizens, f.contacts
		}
		var p plan
		var pending int64
		err := s.inTx(ctx, false, func(tx pgx.Tx) error {
			if err := recheck(ctx, tx, b); err != nil {
				return err
			}
			var err error
			if p, pending, err = s.purge(ctx, tx, b, o); err != nil {
				return err
			}
			if last {
				return clearTraces(ctx, tx, slices.Concat(contacts, p.purged.Contacts, f.contacts), f.emails(), f.phones(), f.names)
			}
			return nil
		})
		if err != nil {
			return rep, err
		}
		contacts = append(contacts, p.purged.Contacts...)
		s.afterCommit(ctx, pending, p.purged, &rep, &forgetErrs)
	}
	s.log.Info("personal data erased", "by", key.by, "cases", rep.Cases, "requests", rep.Requests, "files", rep.Files)
	return rep, errors.Join(forgetErrs...)
}

// subject is a Subject checked and normalized.
type subject struct {
	by    string // email | phone | name
	value string // normalized e-mail, E.164 number, or the name as given
}

func subjectKey(who Subject) (subject, error) {
	set := 0
	for _, v := range []string{who.Email, who.Phone, who.Name} {
		if strings.TrimSpace(v) != "" {
			set++
		}
	}
	if set != 1 {
		return subject{}, fault.E(fault.Invalid, errors.New("retention: indiquez une adresse électronique, un numéro de téléphone ou un nom, un seul"))
	}
	switch {
	case strings.TrimSpace(who.Email) != "":
		e, err := citizen.NormalizeEmail(who.Email)
		if err != nil {
			return subject{}, fault.E(fault.Invalid, errors.New("retention: adresse électronique invalide"))
		}
		return subject{"email", e}, nil
	case strings.TrimSpace(who.Phone) != "":
		p, err := citizen.NormalizePhone(who.Phone)
		if err != nil {
			return subject{}, fault.E(fault.Invalid, errors.New("retention: numéro de téléphone invalide"))
		}
		return subject{"phone", p}, nil
	}
	name := strings.Join(strings.Fields(who.Name), " ")
	if utf8.RuneCountInString(name) > 200 || !utf8.ValidString(name) || strings.ContainsRune(name, 0) {
		return subject{}, fault.E(fault.Invalid, errors.New("retention: nom invalide (200 caractères au plus)"))
	}
	return subject{"name", name}, nil
}

// found is a person as the database holds them.
type found struct {
	citizens []int64
	names    []string // as their records hold them
	contacts []string // their addresses and numbers (records, the subject)
	whole    []caseTarget
	loose    []reqTarget
	refused  []Refusal
}

func (f found) nothing() bool {
	return len(f.citizens) == 0 && len(f.whole) == 0 && len(f.loose) == 0
}

func (f found) emails() []string {
	var out []string
	for _, c := range f.contacts {
		if strings.Contains(c, "@") {
			out = append(out, c)
		}
	}
	return out
}

func (f found) phones() []string {
	var out []string
	for _, c := range f.contacts {
		if !strings.Contains(c, "@") {
			out = append(out, c)
		}
	}
	return out
}

// identifiers are the strings that name the person, to take out of the
// reason written in the audit log.
func (f found) identifiers() []string {
	out := slices.Clone(f.contacts)
	for _, p := range f.phones() {
		if strings.HasPrefix(p, "+33") {
			national := "0" + p[3:]
			out = append(out, national, citizen.DisplayPhone(p))
		}
	}
	return append(out, f.names...)
}

// scrub takes the person's identifiers out of a text.
func scrub(text string, ids []string) string {
	for _, id := range ids {
		if strings.TrimSpace(id) == "" {
			continue
		}
		text = regexp.MustCompile(`(?i)`+regexp.QuoteMeta(id)).ReplaceAllString(text, "[donnée effacée]")
	}
	return text
}

// findPerson finds the person's records, requests and cases, and whether
// any of them must stay.
func findPerson(ctx context.Context, tx pgx.Tx, key subject) (found, error) {
	var f found
	wrap := func(err error) error { return fault.E(fault.Transient, fmt.Errorf("retention: find person: %w", err)) }
	var rows pgx.Rows
	var err error
	switch key.by {
	case "email":
		rows, err = tx.Query(ctx, `SELECT id, name, email, phone FROM citizens WHERE email = $1`, key.value)
	case "phone":
		rows, err = tx.Query(ctx, `SELECT id, name, email, phone FROM citizens WHERE phone = $1`, key.value)
	default:
		rows, err = tx.Query(ctx, `SELECT id, name, email, phone FROM citizens
			WHERE guichet_name_key(name) = guichet_name_key($1) AND name IS NOT NULL AND erased_at IS NULL ORDER BY id`, key.value)
	}
	if err != nil {
		return f, wrap(err)
	}
	for rows.Next() {
		var id int64
		var name, email, phone *string
		if err := rows.Scan(&id, &name, &email, &phone); err != nil {
			rows.Close()
			return f, wrap(err)
		}
		f.citizens = append(f.citizens, id)
		for _, v := range []*string{email, phone} {
			if v != nil && !slices.Contains(f.contacts, *v) {
				f.contacts = append(f.contacts, *v)
			}
		}
		if name != nil && !slices.Contains(f.names, *name) {
			f.names = append(f.names, *name)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return f, wrap(err)
	}
	if key.by == "name" {
		if len(f.citizens) > 1 {
			return f, fault.E(fault.Conflict, fmt.Errorf(
				"retention: %d personnes portent le nom « %s » : précisez l'adresse électronique ou le numéro de téléphone de la personne à effacer "+
					"(une fiche sans coordonnées, celle d'un courrier par exemple, s'efface ensuite par le nom)",
				len(f.citizens), key.value))
		}
		if !slices.Contains(f.names, key.value) {
			f.names = append(f.names, key.value)
		}
	} else if !slices.Contains(f.contacts, key.value) {
		f.contacts = append(f.contacts, key.value)
	}
	if f.citizens == nil {
		f.citizens = []int64{}
	}

	// Their requests: filed under their records, or carrying the address
	// or number given, whoever's record they were filed under. Not those
	// carrying the records' other addresses or numbers: a record joins an
	// e-mail address and a phone number somebody typed side by side, maybe
	// somebody else's (see casestore/citizenspace.go).
	emails, phones := []string{}, []string{}
	switch key.by {
	case "email":
		emails = append(emails, key.value)
	case "phone":
		phones = append(phones, key.value)
	}
	rows, err = tx.Query(ctx, `
		SELECT r.id::text, r.case_id, r.status, r.tracking_code, r.received_at FROM requests r
		WHERE r.purged_at IS NULL AND r.id IN (
			SELECT id FROM requests WHERE citizen_id = ANY($1::bigint[])
			UNION SELECT id FROM requests WHERE lower(btrim(payload #>> '{citizen,email}')) = ANY($2::text[])
			UNION SELECT id FROM requests WHERE (payload #>> '{citizen,phone}') = ANY($3::text[]))
		ORDER BY r.received_at, r.id`, f.citizens, emails, phones)
	if err != nil {
		return f, wrap(err)
	}
	type req struct {
		id, status, code string
		caseID           *int64
		at               time.Time
	}
	var reqs []req
	for rows.Next() {
		var r req
		if err := rows.Scan(&r.id, &r.caseID, &r.status, &r.code, &r.at); err != nil {
			rows.Close()
			return f, wrap(err)
		}
		reqs = append(reqs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return f, wrap(err)
	}
	reqIDs := []string{}
	for _, r := range reqs {
		reqIDs = append(reqIDs, r.id)
		switch {
		case r.caseID != nil:
		case r.status == "received":
			f.refused = append(f.refused, Refusal{Reason: fmt.Sprintf("la demande de code de suivi %s, reçue le %s, n'est pas encore traitée : réessayez dans quelques minutes",
				r.code, frenchDate(r.at))})
		default:
			f.loose = append(f.loose, reqTarget{id: r.id, arts: caseArtifacts})
		}
	}

	// Their cases: those of their requests and those filed under them,
	// with the state of the case a merged one went into, and whether
	// someone else has a request or the case's record in it.
	rows, err = tx.Query(ctx, `
		WITH RECURSIVE mine AS (
			SELECT DISTINCT id FROM (
				SELECT case_id AS id FROM requests WHERE id = ANY($1::uuid[]) AND case_id IS NOT NULL
				UNION SELECT id FROM cases WHERE citizen_id = ANY($2::bigint[])) x
		), up(start, id, ref, state, merged_into, n) AS (
			SELECT c.id, c.id, c.ref, c.state, c.merged_into, 0 FROM cases c JOIN mine ON mine.id = c.id
			UNION ALL
			SELECT up.start, m.id, m.ref, m.state, m.merged_into, up.n + 1 FROM up JOIN cases m ON m.id = up.merged_into
			WHERE up.state = 'merged' AND up.n < 20
		), root AS (
			SELECT DISTINCT ON (start) start, ref, state FROM up ORDER BY start, n DESC
		)
		SELECT c.id, c.ref, c.state, root.ref, root.state, c.purged_at IS NOT NULL,
		       h.held_at, h.held_by,
		       EXISTS (SELECT 1 FROM requests r WHERE r.case_id = c.id AND NOT r.id = ANY($1::uuid[]))
		           OR (c.citizen_id IS NOT NULL AND NOT c.citizen_id = ANY($2::bigint[]))
		FROM cases c JOIN root ON root.start = c.id
		LEFT JOIN legal_holds h ON h.case_id = c.id AND h.released_at IS NULL
		ORDER BY c.id`, reqIDs, f.citizens)
	if err != nil {
		return f, wrap(err)
	}
	shared := map[int64]string{}
	for rows.Next() {
		var id int64
		var ref, state, rootRef, rootState string
		var purged, others bool
		var heldAt *time.Time
		var heldBy *string
		if err := rows.Scan(&id, &ref, &state, &rootRef, &rootState, &purged, &heldAt, &heldBy, &others); err != nil {
			rows.Close()
			return f, wrap(err)
		}
		switch {
		case heldAt != nil:
			f.refused = append(f.refused, Refusal{Ref: ref, Reason: heldReason(ref, *heldAt, deref(heldBy))})
		case rootRef != ref && !slices.Contains(finished, rootState):
			f.refused = append(f.refused, Refusal{Ref: ref, Reason: fmt.Sprintf(
				"le dossier %s a été regroupé dans le dossier %s, encore ouvert (%s) : effacez une fois celui-ci clos", ref, rootRef, catalogue.StateLabel(rootState))})
		case rootRef == ref && !slices.Contains(finished, state):
			f.refused = append(f.refused, Refusal{Ref: ref, Reason: fmt.Sprintf(
				"le dossier %s est encore ouvert (%s) : effacez une fois qu'il sera clos", ref, catalogue.StateLabel(state))})
		case purged:
		case others:
			shared[id] = ref
		default:
			f.whole = append(f.whole, caseTarget{id: id, ref: ref, arts: caseArtifacts})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return f, wrap(err)
	}
	for _, r := range reqs {
		if r.caseID == nil {
			continue
		}
		if ref, ok := shared[*r.caseID]; ok {
			f.loose = append(f.loose, reqTarget{id: r.id, caseID: r.caseID, ref: ref, arts: caseArtifacts})
		}
	}
	return f, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// recheck locks the batch's cases and checks they are still finished and
// not held: a case reopened or held since the person was found stops the
// erasure (nothing of this batch is erased).
func recheck(ctx context.Context, tx pgx.Tx, b batch) error {
	ids := []int64{}
	for _, c := range b.cases {
		ids = append(ids, c.id)
	}
	for _, r := range b.loose {
		if r.caseID != nil {
			ids = append(ids, *r.caseID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	var ref string
	err := tx.QueryRow(ctx, `
		SELECT c.ref FROM cases c
		WHERE c.id = ANY($1) AND ((c.state <> 'merged' AND NOT c.state = ANY($2))
		   OR EXISTS (SELECT 1 FROM legal_holds h WHERE h.case_id = c.id AND h.released_at IS NULL))
		LIMIT 1`, ids, finished).Scan(&ref)
	if err == nil {
		return fault.E(fault.Conflict, fmt.Errorf("retention: effacement refusé : le dossier %s a été rouvert ou mis sous conservation légale entre-temps", ref))
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return fault.E(fault.Transient, fmt.Errorf("retention: recheck: %w", err))
	}
	if _, err := tx.Exec(ctx, `SELECT 1 FROM cases WHERE id = ANY($1) FOR UPDATE`, ids); err != nil {
		return fault.E(fault.Transient, fmt.Errorf("retention: lock cases: %w", err))
	}
	return nil
}

// clearTraces clears what names the person outside their cases: audit
// entries whose target or details hold their address, number or a word of
// their name (a search for them, a file name: a search for a namesake's
// surname goes too, which costs the log a detail and nobody a right), their
// sign-in links and sessions, the mail rejected from their address or
// name, and the records of messages sent to them. Run in the erasure's last transaction, after guichet_begin_purge.
func clearTraces(ctx context.Context, tx pgx.Tx, contacts, emails, phones, names []string) error {
	var all []string
	for _, c := range slices.Concat(contacts, emails, phones) {
		if !slices.Contains(all, c) {
			all = append(all, c)
		}
	}
	// A number is looked for by its digits, as typed: 07 56 12 34 56,
	// 0756123456 or +33 7 56 12 34 56.
	var digits []string
	for _, p := range phones {
		d := strings.TrimPrefix(p, "+")
		digits = append(digits, d)
		if strings.HasPrefix(d, "33") {
			digits = append(digits, "0"+d[2:])
		}
	}
	var lowered []string
	for _, e := range emails {
		lowered = append(lowered, strings.ToLower(e))
	}
	if all == nil {
		all = []string{}
	}
	if lowered == nil {
		lowered = []string{}
	}
	if digits == nil {
		digits = []string{}
	}
	if names == nil {
		names = []string{}
	}
	steps := []struct {
		what string
		sql  string
		args []any
	}{
		{"audit entries", `
			WITH terms AS (SELECT DISTINCT w AS k FROM unnest($3::text[]) n, regexp_split_to_table(guichet_name_key(n), ' ') w WHERE length(w) >= 3),
			hit AS (
				SELECT a.id,
				       EXISTS (SELECT 1 FROM unnest($1::text[]) e WHERE strpos(lower(a.target), e) > 0)
				    OR EXISTS (SELECT 1 FROM unnest($2::text[]) d WHERE strpos(regexp_replace(a.target, '\D', '', 'g'), d) > 0)
				    OR EXISTS (SELECT 1 FROM terms WHERE terms.k IS NOT NULL AND strpos(' ' || COALESCE(guichet_name_key(a.target), '') || ' ', ' ' || terms.k || ' ') > 0)
				       AS in_target,
				       EXISTS (SELECT 1 FROM unnest($1::text[]) e WHERE strpos(lower(a.details::text), e) > 0)
				    OR EXISTS (SELECT 1 FROM unnest($2::text[]) d WHERE strpos(regexp_replace(a.details::text, '\D', '', 'g'), d) > 0)
				    OR EXISTS (SELECT 1 FROM terms WHERE terms.k IS NOT NULL AND strpos(' ' || COALESCE(guichet_name_key(a.details::text), '') || ' ', ' ' || terms.k || ' ') > 0)
				       AS in_details
				FROM audit_log a
				WHERE (a.target <> '' OR a.details <> '{}') AND a.xmin::text <> (pg_current_xact_id()::text::numeric % 4294967296)::text
			)
			UPDATE audit_log a SET target = CASE WHEN hit.in_target THEN '' ELSE a.target END,
			                       details = CASE WHEN hit.in_details THEN '{}' ELSE a.details END,
			                       purged_at = COALESCE(a.purged_at, now())
			FROM hit WHERE a.id = hit.id AND (hit.in_target OR hit.in_details)`, []any{lowered, digits, names}},
		{"sign-in links", `DELETE FROM citizen_sign_in_links WHERE address = ANY($1::text[])`, []any{all}},
		{"sessions", `DELETE FROM citizen_sessions WHERE email = ANY($1::text[]) OR phone = ANY($1::text[])`, []any{all}},
		{"rejected mail", `
			DELETE FROM mail_rejections m
			WHERE EXISTS (SELECT 1 FROM unnest($1::text[]) e WHERE strpos(lower(m.sender), e) > 0)
			   OR EXISTS (SELECT 1 FROM unnest($2::text[]) n, regexp_split_to_table(guichet_name_key(n), ' ') w
			              WHERE length(w) >= 3 AND strpos(' ' || COALESCE(guichet_name_key(m.sender), '') || ' ', ' ' || w || ' ') > 0)`,
			[]any{lowered, names}},
		{"messages sent", `UPDATE notifications SET recipient = '' WHERE recipient = ANY($1::text[])`, []any{all}},
	}
	for _, st := range steps {
		if nothing(st.args) {
			continue
		}
		if _, err := tx.Exec(ctx, st.sql, st.args...); err != nil {
			return fault.E(fault.Transient, fmt.Errorf("retention: clear %s: %w", st.what, err))
		}
	}
	return nil
}
