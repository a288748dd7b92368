package casestore_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/catalogue"
	"github.com/ampmetropole/guichet/services/cases/scope"
	"github.com/ampmetropole/guichet/services/intake"
	"github.com/ampmetropole/guichet/services/testkit"
)

// file routes a request with body into a new case.
func file(t *testing.T, s *casestore.Store, competence, territory, channel, body string, due time.Time) string {
	t.Helper()
	return fileAt(t, s, competence, territory, channel, body, due, time.Time{})
}

// fileAt is file for a request that came at a given time (its UUIDv7 id
// says so too), now when at is zero.
func fileAt(t *testing.T, s *casestore.Store, competence, territory, channel, body string, due, at time.Time) string {
	t.Helper()
	req, _ := newRequest(t)
	req.Channel, req.Body = channel, body
	if !at.IsZero() {
		id, err := uuid.Parse(req.ID)
		if err != nil {
			t.Fatal(err)
		}
		ms := uint64(at.UnixMilli())
		for i := range 6 {
			id[i] = byte(ms >> (40 - 8*i))
		}
		req.ID, req.ReceivedAt = id.String(), at.UTC().Truncate(time.Millisecond)
		req.TrackingCode = intake.TrackingCode([]byte("test-secret-16-bytes"), req.ID)
	}
	if channel == "phone" {
		req.Transcript = []schemas.Turn{{Speaker: "caller", Text: body}}
	}
	return routeNew(t, s, req, competence, territory, due)
}

// routeNew routes req into a new case due at due and returns its reference.
func routeNew(t *testing.T, s *casestore.Store, req schemas.Request, competence, territory string, due time.Time) string {
	t.Helper()
	v, _ := schemas.NewValidator()
	raw, err := v.EncodeRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	var ref string
	if _, err := s.Route(context.Background(), func(ctx context.Context, tx *casestore.RouteTx) error {
		if err := tx.ClaimRequest(ctx, req, raw); err != nil {
			return err
		}
		c, err := tx.CreateCase(ctx, casestore.NewCase{Competence: competence, Territory: territory, Deadline: &due})
		if err != nil {
			return err
		}
		ref = c.Ref
		return tx.FinishRequest(ctx, req.ID, c.ID, 0)
	}); err != nil {
		t.Fatal(err)
	}
	return ref
}

func TestQueueFiltersSortsAndSearches(t *testing.T) {
	s, b := setup(t)
	ctx := context.Background()
	now := time.Now()
	late := file(t, s, "eclairage", "pays-d-aix", "web", "Le lampadaire de la place est éteint.", now.Add(-time.Hour))
	soon := file(t, s, "eclairage", "pays-d-aix", "phone", "lampadaire qui clignote devant l'école", now.Add(2*time.Hour))
	other := file(t, s, "eclairage", "marseille-provence", "web", "Réverbère cassé.", now.Add(time.Hour))
	file(t, s, "voirie", "pays-d-aix", "web", "Nid-de-poule.", now.Add(30*time.Minute))

	refs := func(p casestore.CasePage) []string {
		var out []string
		for _, c := range p.Cases {
			out = append(out, c.Ref)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		f    casestore.Filter
		want []string
	}{
		{"scoped team, deadline first", casestore.Filter{Scope: scope.Scope{Competences: []string{"eclairage"}, Territories: []string{"pays-d-aix"}}}, []string{late, soon}},
		{"by channel", casestore.Filter{Scope: scope.Everything(), Competence: "eclairage", Channel: "phone"}, []string{soon}},
		{"overdue", casestore.Filter{Scope: scope.Everything(), Overdue: true}, []string{late}},
		{"search without accents", casestore.Filter{Scope: scope.Everything(), Q: "lampadaire eteint"}, []string{late}},
		{"search a stem, the most recent first", casestore.Filter{Scope: scope.Everything(), Q: "lampadaires"}, []string{soon, late}},
		{"search a reference in lower case", casestore.Filter{Scope: scope.Everything(), Q: strings.ToLower(other)}, []string{other}},
		{"search a reference", casestore.Filter{Scope: scope.Everything(), Q: other}, []string{other}},
		{"search a reference as typed", casestore.Filter{Scope: scope.Everything(), Q: typedRef(other)}, []string{other}},
		{"territory", casestore.Filter{Scope: scope.Everything(), Competence: "eclairage", Territory: "marseille-provence"}, []string{other}},
	} {
		p, err := s.Cases(ctx, tc.f)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := refs(p); len(got) != len(tc.want) || (len(got) > 0 && (got[0] != tc.want[0] || got[len(got)-1] != tc.want[len(tc.want)-1])) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
		if p.Total != len(tc.want) {
			t.Errorf("%s: total %d", tc.name, p.Total)
		}
	}
	p, err := s.Cases(ctx, casestore.Filter{Scope: scope.Everything(), Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Cases) != 2 || p.Total != 4 || p.ByState["received"] != 4 {
		t.Errorf("page %d of %d, by state %v", len(p.Cases), p.Total, p.ByState)
	}
	// Finished cases leave the pending queue and its counts, not the
	// history.
	testkit.Exec(t, b.url, `UPDATE cases SET state = 'closed' WHERE ref = $1`, soon)
	pending, err := s.Cases(ctx, casestore.Filter{Scope: scope.Everything(), State: casestore.StatePending})
	if err != nil {
		t.Fatal(err)
	}
	all, err := s.Cases(ctx, casestore.Filter{Scope: scope.Everything()})
	if err != nil {
		t.Fatal(err)
	}
	if pending.Total != 3 || len(pending.Cases) != 3 || all.Total != 4 || all.ByState["closed"] != 0 || all.ByState["received"] != 3 || all.TotalCapped {
		t.Errorf("pending %d (%v), all %d (%v)", pending.Total, pending.ByState, all.Total, all.ByState)
	}
	if p.Cases[0].Ref != late || !p.Cases[0].Overdue || p.Cases[0].Requests != 1 || len(p.Cases[0].Channels) != 1 || p.Cases[0].Summary == "" {
		t.Errorf("first %+v", p.Cases[0])
	}
}

func TestDashboardFigures(t *testing.T) {
	s, b := setup(t)
	ctx := context.Background()
	now := time.Now()
	file(t, s, "eclairage", "pays-d-aix", "web", "a", now.Add(-time.Hour))
	file(t, s, "eclairage", "pays-d-aix", "phone", "b", now.Add(time.Hour))
	closed := file(t, s, "voirie", "marseille-provence", "web", "c", now.Add(time.Hour))
	testkit.Exec(t, b.url, `UPDATE cases SET state = 'closed' WHERE ref = $1`, closed)
	d, err := s.Dashboard(ctx, scope.Everything(), 7, now)
	if err != nil {
		t.Fatal(err)
	}
	if d.Open != 2 || d.Overdue != 1 || len(d.ByCompetence) != 1 || d.ByCompetence[0] != (casestore.Count{Key: "eclairage", N: 2}) ||
		len(d.ByChannel) != 2 || len(d.Days) != 8 || d.Days[7].Total != 3 || d.Days[7].ByChannel["web"] != 2 {
		t.Errorf("dashboard %+v", d)
	}
	scoped, err := s.Dashboard(ctx, scope.Scope{Competences: []string{"voirie"}}, 7, now)
	if err != nil {
		t.Fatal(err)
	}
	if scoped.Open != 0 || scoped.Days[7].Total != 1 {
		t.Errorf("scoped dashboard %+v", scoped)
	}
}

// A search reads the last two months first and the whole history only
// when they do not fill the page: either way the latest matches come
// first, and the months written beside the words never match by
// themselves.
func TestSearchBeyondTheLastMonths(t *testing.T) {
	s, _ := setup(t)
	ctx := context.Background()
	now := time.Now()
	due := now.Add(48 * time.Hour)
	var recent, old []string
	for i := range 3 {
		old = append(old, fileAt(t, s, "dechets", "pays-d-aix", "web", "Le conteneur de verre déborde, bouteilles partout.", due, now.AddDate(0, -7, -i)))
	}
	for i := range 7 {
		recent = append(recent, fileAt(t, s, "dechets", "pays-d-aix", "web", "Le conteneur de verre déborde.", due, now.Add(-time.Duration(7-i)*time.Hour)))
	}
	fileAt(t, s, "dechets", "pays-d-aix", "web", "Encombrants sur le trottoir.", due, now.AddDate(0, -1, 0))
	latestFirst := slices.Clone(recent)
	slices.Reverse(latestFirst)
	for _, tc := range []struct {
		name        string
		f           casestore.Filter
		want        []string // in order
		totalCapped bool
	}{
		// 2 shown + 1 to know there are more, a quarter more and 4 for
		// cases matched twice: 6 matches are enough, all in the last months.
		{"a page the last months fill", casestore.Filter{Scope: scope.Everything(), Q: "conteneur verre", Limit: 2}, []string{recent[6], recent[5]}, true},
		{"a page that needs the history", casestore.Filter{Scope: scope.Everything(), Q: "conteneur verre", Limit: 20},
			append(latestFirst, old...), false},
		{"only older matches", casestore.Filter{Scope: scope.Everything(), Q: "bouteilles", Limit: 20}, old, false},
		{"stop words only", casestore.Filter{Scope: scope.Everything(), Q: "le de", Limit: 20}, nil, false},
		{"a month is no word", casestore.Filter{Scope: scope.Everything(), Q: now.UTC().Format("2006-01"), Limit: 20}, nil, false},
	} {
		p, err := s.Cases(ctx, tc.f)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var got []string
		for _, c := range p.Cases {
			got = append(got, c.Ref)
		}
		if !slices.Equal(got, tc.want) || p.TotalCapped != tc.totalCapped {
			t.Errorf("%s: %v (capped %v), want %v (capped %v)", tc.name, got, p.TotalCapped, tc.want, tc.totalCapped)
		}
	}
}

// A team's search finds its cases and only them, also after a case is
// re-routed or a request moved to another case.
func TestScopedSearchFollowsReroutesAndMoves(t *testing.T) {
	s, _ := setup(t)
	ctx := context.Background()
	due := time.Now().Add(time.Hour)
	lamp := file(t, s, "eclairage", "pays-d-aix", "web", "Le lampadaire du square clignote.", due)
	hole := file(t, s, "voirie", "pays-d-aix", "web", "Un lampadaire tombé a creusé un trou.", due)
	find := func(comp string) []string {
		t.Helper()
		p, err := s.Cases(ctx, casestore.Filter{Q: "lampadaire", Scope: scope.Scope{Competences: []string{comp}, Territories: []string{"pays-d-aix"}}})
		if err != nil {
			t.Fatal(err)
		}
		var refs []string
		for _, c := range p.Cases {
			refs = append(refs, c.Ref)
		}
		return refs
	}
	if got := find("eclairage"); len(got) != 1 || got[0] != lamp {
		t.Fatalf("lighting team finds %v, want %s", got, lamp)
	}
	ch := casestore.Change{Actor: "nadia", Reason: "c'est la voirie"}
	if _, err := s.Reroute(ctx, lamp, "voirie", "", ch); err != nil {
		t.Fatal(err)
	}
	if got := find("eclairage"); len(got) != 0 {
		t.Errorf("after re-routing, the lighting team still finds %v", got)
	}
	if got := find("voirie"); len(got) != 2 {
		t.Errorf("after re-routing, the roads team finds %v, want %s and %s", got, lamp, hole)
	}
	f, err := s.CaseFile(ctx, hole)
	if err != nil {
		t.Fatal(err)
	}
	moved, _, err := s.MoveRequests(ctx, hole, []string{f.Requests[0].ID}, lamp, ch)
	if err != nil || moved != lamp {
		t.Fatalf("move into %s: %s %v", lamp, moved, err)
	}
	if got := find("voirie"); len(got) != 1 || got[0] != lamp {
		t.Errorf("after the move, the search finds %v, want only %s", got, lamp)
	}
}

// The queue, the search and scope.Sees apply one rule: for every scope, a
// queue and a search list exactly the cases Sees holds — triage cases
// included, within a supervisor's territories.
func TestScopeListsWhatItSees(t *testing.T) {
	s, _ := setup(t)
	ctx := context.Background()
	due := time.Now().Add(time.Hour)
	type made struct{ ref, competence, territory string }
	var cases []made
	for _, c := range []struct{ competence, territory string }{
		{"voirie", "marseille-provence"}, {"voirie", "pays-d-aix"}, {"voirie", ""},
		{"dechets", "marseille-provence"}, {"triage", "marseille-provence"}, {"triage", "pays-d-aix"}, {"triage", ""},
	} {
		ref := file(t, s, c.competence, c.territory, "web", "Signalement commun numéro sept", due)
		cases = append(cases, made{ref, c.competence, c.territory})
	}
	for name, sc := range map[string]scope.Scope{
		"everything":             scope.Everything(),
		"nothing":                {},
		"team voirie MP":         {Competences: []string{"voirie"}, Territories: []string{"marseille-provence"}},
		"team voirie everywhere": {Competences: []string{"voirie"}},
		"supervisor of Aix":      {AllCompetences: true, Territories: []string{"pays-d-aix"}},
		"supervisor voirie+tri":  {Competences: []string{"voirie", "triage"}, Territories: []string{"marseille-provence", "pays-d-aix"}},
	} {
		var want []string
		for _, c := range cases {
			if sc.Sees(c.competence, c.territory) {
				want = append(want, c.ref)
			}
		}
		slices.Sort(want)
		for _, q := range []string{"", "signalement"} {
			p, err := s.Cases(ctx, casestore.Filter{Scope: sc, Q: q, State: "", Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range p.Cases {
				got = append(got, c.Ref)
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s, search %q: listed %v, Sees holds %v", name, q, got, want)
			}
		}
	}
}

// typedRef writes a reference as a person may type it: "AMP-2026-000003"
// as " amp 2026 3 ".
func typedRef(ref string) string {
	parts := strings.Split(ref, "-")
	return " amp " + parts[1] + " " + strings.TrimLeft(parts[2], "0") + " "
}

// A case keeps the channels of its requests, which the queue's channel
// filter reads: written by a batch that opens a case and adds to it, by a
// request added alone, and carried over when requests move between cases.
func TestCaseChannelsFollowItsRequests(t *testing.T) {
	s, _ := setup(t)
	ctx := context.Background()
	awa := casestore.Identity{Name: "Awa Diallo", Email: "awa@example.fr"}
	web, byPhone := batchItem(t, s, awa, false), batchItem(t, s, awa, false)
	byPhone.Request.Channel, byPhone.Request.Transcript = "phone", []schemas.Turn{{Speaker: "caller", Text: "texte"}}
	_, errs, cases := routeAll(t, s, []casestore.BatchItem{web, byPhone}, nil)
	if errs[0] != nil || errs[1] != nil || cases[0] != cases[1] {
		t.Fatalf("batch: %v, cases %v", errs, cases)
	}
	channels := func(f casestore.Filter) map[string][]string {
		t.Helper()
		f.Scope = scope.Everything()
		p, err := s.Cases(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]string{}
		for _, c := range p.Cases {
			out[c.Ref] = c.Channels
		}
		return out
	}
	all := channels(casestore.Filter{})
	if len(all) != 1 {
		t.Fatalf("queue %v, want the one case", all)
	}
	var ref string
	for r, chs := range all {
		ref = r
		if !slices.Equal(chs, []string{"phone", "web"}) {
			t.Errorf("case opened on the web and added to by phone shows channels %v", chs)
		}
	}
	if got := channels(casestore.Filter{Channel: "phone"}); len(got) != 1 {
		t.Errorf("by phone: %v", got)
	}
	// A request routed alone into it brings its channel.
	mail, _ := newRequest(t)
	mail.Channel = "mail"
	routeInto(t, s, mail, ref)
	if got := channels(casestore.Filter{Channel: "mail"}); !slices.Equal(got[ref], []string{"mail", "phone", "web"}) {
		t.Errorf("after a letter: %v", got)
	}
	// The phone request split off into a case of its own takes its channel.
	ch := casestore.Change{Actor: "nadia", Reason: "autre sujet"}
	split, _, err := s.MoveRequests(ctx, ref, []string{byPhone.Request.ID}, "", ch)
	if err != nil {
		t.Fatal(err)
	}
	got := channels(casestore.Filter{Channel: "phone"})
	if len(got) != 1 || !slices.Equal(got[split], []string{"phone"}) {
		t.Errorf("after the split, by phone: %v, want only %s", got, split)
	}
	if got := channels(casestore.Filter{})[ref]; !slices.Equal(got, []string{"mail", "web"}) {
		t.Errorf("the case split from shows %v", got)
	}
	// Merged back, the phone request's channel is the case's again.
	if _, err := s.Merge(ctx, split, ref, ch); err != nil {
		t.Fatal(err)
	}
	if got := channels(casestore.Filter{Channel: "phone"}); len(got) != 1 || !slices.Equal(got[ref], []string{"mail", "phone", "web"}) {
		t.Errorf("after the merge, by phone: %v", got)
	}
}

// A search lists the case a merged one went into, never the merged one:
// its requests, and their search rows, moved with the merge.
func TestSearchAfterAMerge(t *testing.T) {
	s, _ := setup(t)
	ctx := context.Background()
	due := time.Now().Add(time.Hour)
	first := file(t, s, "proprete", "pays-d-aix", "web", "Des tags sur le mur de l'école.", due)
	second := file(t, s, "proprete", "pays-d-aix", "phone", "Encore des tags sur l'école ce matin.", due)
	if _, err := s.Merge(ctx, second, first, casestore.Change{Actor: "nadia", Reason: "même signalement"}); err != nil {
		t.Fatal(err)
	}
	for _, sc := range []scope.Scope{scope.Everything(), {Competences: []string{"proprete"}, Territories: []string{"pays-d-aix"}}} {
		p, err := s.Cases(ctx, casestore.Filter{Q: "tags école", Scope: sc})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Cases) != 1 || p.Cases[0].Ref != first || p.Cases[0].Requests != 2 {
			t.Errorf("scope %+v: search after the merge lists %+v, want only %s with both requests", sc, p.Cases, first)
		}
	}
}

// Each competence of the shipped catalogue, and triage, has its own
// partition of the search text (migration 00027 lists them): a competence
// added to the catalogue without one would be searched in the default
// partition, with every other newcomer's words.
func TestEveryCompetenceHasItsSearchPartition(t *testing.T) {
	_, b := setup(t)
	cat, err := catalogue.Default()
	if err != nil {
		t.Fatal(err)
	}
	codes := []string{schemas.CompetenceTriage}
	for _, c := range cat.Competences {
		codes = append(codes, c.Code)
	}
	for _, code := range codes {
		var bound string
		testkit.QueryRow(t, b.url, `SELECT COALESCE((SELECT pg_get_expr(c.relpartbound, c.oid) FROM pg_class c
			WHERE c.oid = to_regclass('request_search_' || $1)), '')`, []any{code}, &bound)
		if want := "FOR VALUES IN ('" + code + "')"; bound != want {
			t.Errorf("competence %s: partition %q, want %q (a migration must add it)", code, bound, want)
		}
	}
}
