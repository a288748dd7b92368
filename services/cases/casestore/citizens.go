package casestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5"
	"golang.org/x/text/unicode/norm"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/territory"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

// CitizenCard is what an agent sees of a caller: who they are and their
// cases, most recently active first.
type CitizenCard struct {
	ID    int64
	Name  string
	Email string
	Phone string
	Cases []CaseSummary
}

// CaseSummary is a case with its timeline, oldest event first, and what an
// agent needs to talk about it: what was asked, where, the photos sent and
// the last answer given.
type CaseSummary struct {
	Ref        string
	Competence string
	Territory  string
	State      string
	OpenedAt   time.Time
	UpdatedAt  time.Time
	Events     []schemas.CaseEvent
	// Subject and Description are what the case's first request said (its
	// text cut to 600 characters).
	Subject     string
	Description string
	// Place is where, as the citizen gave it: the first place a request of
	// the case gave (address, postal code, commune); nil when none did.
	Place *schemas.Location
	// Photos are the images sent with the case's requests, the first
	// [MaxCasePhotos].
	Photos []schemas.Attachment
	// LastReply is the last answer sent to the citizen (e-mail or letter;
	// not a call-back asked of the call centre); nil when none yet.
	LastReply *Reply
}

// MaxCasePhotos bounds the photos a [CaseSummary] lists.
const MaxCasePhotos = 6

// Open says whether the case is still being handled.
func (c CaseSummary) Open() bool {
	switch c.State {
	case "closed", "rejected", "redirected", "merged":
		return false
	}
	return true
}

// CitizenQuery finds citizens by one identifier; the first field set wins,
// except Name and Place, which go together.
type CitizenQuery struct {
	CaseRef string // the citizen of that case
	Email   string // normalized
	Phone   string // E.164
	Name    string // part of the name, any case
	// Place is a street, a commune or a postal code ("rue Paradis",
	// "Aubagne", "13400"): the citizens whose requests gave that place or
	// speak of it. With Name, those whose name matches come first.
	Place string
}

// FindCitizens returns the matching citizens (at most limit) with their
// most recent cases (at most casesPerCitizen each, open ones first).
// A case without a known citizen comes back on a card with ID 0: the case
// of a reference, or the cases of a place whose requests nobody signed.
func (s *Store) FindCitizens(ctx context.Context, q CitizenQuery, limit, casesPerCitizen int) ([]CitizenCard, error) {
	if limit <= 0 {
		return nil, nil
	}
	var cards []CitizenCard
	var anonymous []int64 // cases of the place without a known citizen
	var err error
	switch {
	case q.CaseRef != "":
		var cid *int64
		err := s.pool.QueryRow(ctx, `SELECT citizen_id FROM cases WHERE ref = $1`, q.CaseRef).Scan(&cid)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, nil
		}
		if err != nil {
			return nil, fault.E(fault.Transient, fmt.Errorf("casestore: find case %s: %w", q.CaseRef, err))
		}
		if cid == nil {
			c, err := s.caseSummaries(ctx, `WHERE c.ref = $1`, q.CaseRef, 1)
			if err != nil {
				return nil, err
			}
			return []CitizenCard{{Cases: c}}, nil
		}
		cards, err = s.citizens(ctx, `WHERE id = $1`, *cid)
	case q.Email != "":
		cards, err = s.citizens(ctx, `WHERE email = $1`, q.Email)
	case q.Phone != "":
		cards, err = s.citizens(ctx, `WHERE phone = $1`, q.Phone)
	case strings.TrimSpace(q.Name) != "" || strings.TrimSpace(q.Place) != "":
		cards, anonymous, err = s.citizensByNameOrPlace(ctx, q, limit)
	default:
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	for i := range cards {
		if cards[i].Cases, err = s.caseSummaries(ctx, `WHERE c.citizen_id = $1`, cards[i].ID, casesPerCitizen); err != nil {
			return nil, err
		}
	}
	if len(anonymous) > 0 && len(cards) < limit {
		cs, err := s.caseSummaries(ctx, `WHERE c.id = ANY($1)`, anonymous, casesPerCitizen)
		if err != nil {
			return nil, err
		}
		cards = append(cards, CitizenCard{Cases: cs})
	}
	return cards, nil
}

// citizens reads the citizens where says (its arguments follow).
func (s *Store) citizens(ctx context.Context, where string, args ...any) ([]CitizenCard, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, name, email, phone FROM citizens `+where, args...)
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: find citizens: %w", err))
	}
	cards, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (CitizenCard, error) {
		var c CitizenCard
		var name, email, phone *string
		err := row.Scan(&c.ID, &name, &email, &phone)
		c.Name, c.Email, c.Phone = deref(name), deref(email), deref(phone)
		return c, err
	})
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: find citizens: %w", err))
	}
	return cards, nil
}

// citizensByNameOrPlace finds the citizens whose name matches, then those
// of the place (the latest first), limit in all, and the cases of the
// place that have no known citizen.
func (s *Store) citizensByNameOrPlace(ctx context.Context, q CitizenQuery, limit int) ([]CitizenCard, []int64, error) {
	var cards []CitizenCard
	if name := strings.TrimSpace(q.Name); name != "" {
		pattern := "%" + likeEscaper.Replace(name) + "%"
		var err error
		if cards, err = s.citizens(ctx, `WHERE name ILIKE $1 ORDER BY updated_at DESC LIMIT $2`, pattern, limit); err != nil {
			return nil, nil, err
		}
	}
	place := strings.TrimSpace(q.Place)
	if place == "" || len(cards) >= limit {
		return cards, nil, nil
	}
	ids, anonymous, err := s.citizensAt(ctx, place, limit)
	if err != nil {
		return nil, nil, err
	}
	seen := make(map[int64]bool, len(cards))
	for _, c := range cards {
		seen[c.ID] = true
	}
	var more []int64
	for _, id := range ids {
		if !seen[id] && len(cards)+len(more) < limit {
			seen[id] = true
			more = append(more, id)
		}
	}
	if len(more) == 0 {
		return cards, anonymous, nil
	}
	found, err := s.citizens(ctx, `WHERE id = ANY($1)`, more)
	if err != nil {
		return nil, nil, err
	}
	byID := make(map[int64]CitizenCard, len(found))
	for _, c := range found {
		byID[c.ID] = c
	}
	for _, id := range more {
		if c, ok := byID[id]; ok {
			cards = append(cards, c)
		}
	}
	return cards, anonymous, nil
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`)

// Bounds of a search by place. The place a request gave (its address,
// postal code, commune) is in no index: only the latest placeWindow
// requests are read for it, within placeTimeout; what the requests say in
// their text (an address spoken in a call, written in a letter) is found
// through the text index over the whole history.
const (
	placeWindow  = 20000
	placeTimeout = 3 * time.Second
)

// placeHit is a request that names a place.
type placeHit struct {
	request string // its id, UUIDv7: sorts by arrival
	citizen *int64
	caseID  int64
}

// citizensAt returns the citizens whose requests gave or named place, the
// latest first (at most limit), and the cases among those without a
// known citizen.
func (s *Store) citizensAt(ctx context.Context, place string, limit int) ([]int64, []int64, error) {
	ctx, cancel := context.WithTimeout(ctx, placeTimeout)
	defer cancel()
	hits := min(limit*5, 200)
	said, err := s.placeSaid(ctx, place, hits)
	if err != nil {
		return nil, nil, err
	}
	given, err := s.placeGiven(ctx, place, hits)
	if err != nil {
		return nil, nil, err
	}
	all := append(said, given...)
	sort.SliceStable(all, func(i, j int) bool { return all[i].request > all[j].request })
	var citizens, anonymous []int64
	seen := map[int64]bool{}
	seenCase := map[int64]bool{}
	for _, h := range all {
		switch {
		case h.citizen != nil && !seen[*h.citizen] && len(citizens) < limit:
			seen[*h.citizen] = true
			citizens = append(citizens, *h.citizen)
		case h.citizen == nil && !seenCase[h.caseID] && len(anonymous) < limit:
			seenCase[h.caseID] = true
			anonymous = append(anonymous, h.caseID)
		}
	}
	return citizens, anonymous, nil
}

// placeSaid reads the latest routed requests whose text names place,
// through the text index: the last two months first, all time when they
// hold fewer than hits (as the back office's search does).
func (s *Store) placeSaid(ctx context.Context, place string, hits int) ([]placeHit, error) {
	var out []placeHit
	for _, months := range searchWindows {
		period := ""
		if months > 0 {
			period = searchPeriods(time.Now(), months)
		}
		rows, err := s.pool.Query(ctx, `
			SELECT h.request_id::text, COALESCE(r.citizen_id, c.citizen_id), c.id FROM (
				SELECT s.request_id, s.case_id FROM request_search s
				WHERE s.case_id IS NOT NULL AND s.doc @@ (CASE WHEN @period = '' THEN websearch_to_tsquery('guichet_fr', @q)
				                     WHEN numnode(websearch_to_tsquery('guichet_fr', @q)) = 0 THEN NULL
				                     ELSE websearch_to_tsquery('guichet_fr', @q) && @period::tsquery END)
				ORDER BY `+latestFirst+` LIMIT @hits) h
			JOIN requests r ON r.id = h.request_id JOIN cases c ON c.id = h.case_id`,
			pgx.QueryExecModeExec, pgx.NamedArgs{"q": place, "period": period, "hits": hits})
		if err != nil {
			return nil, fault.E(fault.Transient, fmt.Errorf("casestore: search place: %w", err))
		}
		if out, err = collectHits(rows); err != nil {
			return nil, fault.E(fault.Transient, fmt.Errorf("casestore: search place: %w", err))
		}
		if len(out) >= hits {
			break
		}
	}
	return out, nil
}

// placeGiven reads, among the latest placeWindow requests, the routed
// ones whose place has every word of place in its address, or lies in
// the commune or postal code place names.
func (s *Store) placeGiven(ctx context.Context, place string, hits int) ([]placeHit, error) {
	var patterns []string
	for _, w := range strings.Fields(foldPlace(place)) {
		if len([]rune(w)) >= 2 {
			patterns = append(patterns, "%"+likeEscaper.Replace(w)+"%")
		}
	}
	insee, postal := communeCodes(place)
	var conds []string
	if len(patterns) > 0 {
		conds = append(conds, `unaccent(lower(r.loc->>'address')) LIKE ALL (@patterns::text[])`)
	}
	if len(insee) > 0 {
		conds = append(conds, `r.loc->>'commune_insee' = ANY(@insee::text[])`)
	}
	if len(postal) > 0 {
		conds = append(conds, `(COALESCE(r.loc->>'commune_insee', '') = '' AND r.loc->>'postal_code' = ANY(@postal::text[]))`)
	}
	if len(conds) == 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `
		SELECT h.id::text, COALESCE(h.citizen_id, c.citizen_id), c.id FROM (
			SELECT r.id, r.citizen_id, r.case_id FROM (
				SELECT id, citizen_id, case_id, payload->'location' AS loc FROM requests ORDER BY id DESC LIMIT @window) r
			WHERE r.case_id IS NOT NULL AND r.loc IS NOT NULL AND (`+strings.Join(conds, " OR ")+`)
			ORDER BY r.id DESC LIMIT @hits) h
		JOIN cases c ON c.id = h.case_id`,
		pgx.NamedArgs{"window": placeWindow, "hits": hits, "patterns": patterns, "insee": insee, "postal": postal})
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: search place: %w", err))
	}
	out, err := collectHits(rows)
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: search place: %w", err))
	}
	return out, nil
}

func collectHits(rows pgx.Rows) ([]placeHit, error) {
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (placeHit, error) {
		var h placeHit
		err := row.Scan(&h.request, &h.citizen, &h.caseID)
		return h, err
	})
}

// communes is the Métropole's communes, read once.
var communes = sync.OnceValues(territory.Load)

// communeCodes returns the INSEE codes and postal codes of the commune
// place names ("Aubagne", "aix en provence"), or of the postal code it is
// ("13400"); none when it is neither.
func communeCodes(place string) (insee, postal []string) {
	d, err := communes()
	if err != nil {
		return nil, nil
	}
	place = strings.TrimSpace(place)
	if len(place) == 5 && strings.Trim(place, "0123456789") == "" {
		for _, c := range d.ByPostalCode(place) {
			insee = append(insee, c.INSEE)
		}
		return insee, []string{place}
	}
	want := foldPlace(place)
	for _, c := range d.Communes() {
		if foldPlace(c.Name) != want {
			continue
		}
		insee = append(insee, c.INSEE)
		// Marseille's arrondissements have INSEE codes of their own.
		for n := 13201; n <= 13216; n++ {
			if a, ok := d.ByINSEE(strconv.Itoa(n)); ok && a == c {
				insee = append(insee, strconv.Itoa(n))
			}
		}
		postal = append(postal, c.PostalCodes...)
	}
	return insee, postal
}

// foldPlace writes a place name the way it is compared: lower case,
// without accents, hyphens and apostrophes as spaces ("L'Île-Rousse" →
// "l ile rousse").
func foldPlace(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(strings.ToLower(s)) {
		switch {
		case unicode.Is(unicode.Mn, r):
		case r == '-' || r == '\'' || r == '’' || unicode.IsSpace(r):
			b.WriteRune(' ')
		default:
			b.WriteRune(r)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// caseSummaries loads cases matching where (one argument) with their events.
func (s *Store) caseSummaries(ctx context.Context, where string, arg any, limit int) ([]CaseSummary, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT c.id, c.ref, c.competence, COALESCE(c.territory, ''), c.state, c.opened_at, c.updated_at
		FROM cases c `+where+`
		ORDER BY c.state IN ('closed', 'rejected', 'redirected', 'merged'), c.updated_at DESC
		LIMIT `+fmt.Sprint(limit), arg)
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: cases: %w", err))
	}
	type row struct {
		id int64
		CaseSummary
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var x row
		err := r.Scan(&x.id, &x.Ref, &x.Competence, &x.Territory, &x.State, &x.OpenedAt, &x.UpdatedAt)
		return x, err
	})
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: cases: %w", err))
	}
	ids := make([]int64, len(list))
	for i, x := range list {
		ids[i] = x.id
	}
	details, err := s.caseDetails(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]CaseSummary, 0, len(list))
	for _, x := range list {
		if x.Events, err = s.events(ctx, x.id); err != nil {
			return nil, err
		}
		d := details[x.id]
		x.Subject, x.Description, x.Place, x.Photos = d.Subject, d.Description, d.Place, d.Photos
		x.LastReply = lastReply(x.Events)
		out = append(out, x.CaseSummary)
	}
	return out, nil
}

// caseDetails reads, for each case, what its first request asked, the
// first place given and the first photos, in one query.
func (s *Store) caseDetails(ctx context.Context, ids []int64) (map[int64]CaseSummary, error) {
	out := make(map[int64]CaseSummary, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `
		SELECT x.id, COALESCE(f.payload->>'subject', ''), left(COALESCE(f.payload->>'body', ''), 600),
		       (SELECT r.payload->'location' FROM requests r WHERE r.case_id = x.id AND r.payload ? 'location' ORDER BY r.id LIMIT 1),
		       COALESCE((SELECT jsonb_agg(p.a ORDER BY p.id, p.n) FROM (
		           SELECT r.id, a.n, a.a FROM requests r
		           CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(r.payload->'attachments') = 'array' THEN r.payload->'attachments' ELSE '[]' END)
		                WITH ORDINALITY a(a, n)
		           WHERE r.case_id = x.id AND a.a->>'content_type' LIKE 'image/%'
		           ORDER BY r.id, a.n LIMIT $2) p), '[]')
		FROM unnest($1::bigint[]) x(id)
		LEFT JOIN LATERAL (SELECT payload FROM requests r WHERE r.case_id = x.id ORDER BY r.id LIMIT 1) f ON true`, ids, MaxCasePhotos)
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: case details: %w", err))
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var d CaseSummary
		var place, photos []byte
		if err := rows.Scan(&id, &d.Subject, &d.Description, &place, &photos); err != nil {
			return nil, fault.E(fault.Transient, fmt.Errorf("casestore: case details: %w", err))
		}
		if len(place) > 0 && string(place) != "null" {
			var l schemas.Location
			if json.Unmarshal(place, &l) == nil && l != (schemas.Location{}) {
				d.Place = &l
			}
		}
		_ = json.Unmarshal(photos, &d.Photos) // a payload the schema validated
		out[id] = d
	}
	if err := rows.Err(); err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: case details: %w", err))
	}
	return out, nil
}

// lastReply is the last answer to the citizen in a case's history (a
// call-back asked of the call centre is no answer yet).
func lastReply(events []schemas.CaseEvent) *Reply {
	for i := len(events) - 1; i >= 0; i-- {
		e := events[i]
		if e.Type != schemas.EventReplied || e.Data["channel"] == ReplyCallback {
			continue
		}
		if msg, _ := e.Data["message"].(string); msg != "" {
			return &Reply{At: e.At, Message: msg}
		}
	}
	return nil
}

// events returns a case's history, oldest first.
func (s *Store) events(ctx context.Context, caseID int64) ([]schemas.CaseEvent, error) {
	rows, err := s.pool.Query(ctx, `SELECT payload FROM case_events WHERE case_id = $1 ORDER BY seq`, caseID)
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: events: %w", err))
	}
	events, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (schemas.CaseEvent, error) {
		var raw []byte
		var e schemas.CaseEvent
		if err := row.Scan(&raw); err != nil {
			return e, err
		}
		return e, json.Unmarshal(raw, &e)
	})
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: events: %w", err))
	}
	return events, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
