package backoffice_test

import (
	"context"
	"encoding/csv"
	"io"
	"io/fs"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/deadline"
	"github.com/ampmetropole/guichet/services/cases/footprint"
	"github.com/ampmetropole/guichet/services/intake/attachment"
	"github.com/ampmetropole/guichet/services/platform/frtime"
	"github.com/ampmetropole/guichet/services/platform/staffshell"
	"github.com/ampmetropole/guichet/services/staff/auth"
	"github.com/ampmetropole/guichet/services/staff/backoffice"
	"github.com/ampmetropole/guichet/services/testkit"
	"github.com/ampmetropole/guichet/services/testkit/stack"
)

// pilot is a back office with the staff assets and, when asked, its live
// refresh fed by the CASES stream.
type pilot struct {
	st  stack.Stack
	bo  *backoffice.Handler
	srv *httptest.Server
}

func servePilot(t *testing.T, live bool, opts ...func(*backoffice.Deps)) pilot {
	t.Helper()
	st := stack.New(t, stack.Options{Router: true})
	files, err := attachment.NewStore(context.Background(), st.Conn.JS)
	if err != nil {
		t.Fatal(err)
	}
	d := backoffice.Deps{Guard: st.Auth, Store: st.Store, Files: files, Catalogue: st.Catalogue,
		Clock: deadline.New(frtime.Paris()), Log: testkit.Logger(t), Storage: footprint.NewMeter(st.Store.DB(), st.Conn.JS, testkit.Logger(t))}
	if live {
		d.Feed = backoffice.StreamFeed(st.Conn.JS)
	}
	for _, o := range opts {
		o(&d)
	}
	bo, err := backoffice.New(d)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	st.Auth.Register(mux)
	mux.Handle("GET "+staffshell.AssetsPath, staffshell.Assets())
	mux.Handle("/bo/", bo)
	srv := httptest.NewServer(st.Auth.Middleware(mux))
	t.Cleanup(func() { bo.Close(); srv.Close() })
	return pilot{st: st, bo: bo, srv: srv}
}

// account creates an account whose password is "mot-de-passe-"+login.
func (p pilot) account(t *testing.T, login, role string, competences, territories []string) {
	t.Helper()
	if _, err := p.st.Auth.CreateAccount(context.Background(), login, strings.ToUpper(login[:1])+login[1:], role, "mot-de-passe-"+login, competences, territories); err != nil {
		t.Fatal(err)
	}
}

func (p pilot) signIn(t *testing.T, login string) person {
	t.Helper()
	return signIn(t, p.srv.URL, login, "mot-de-passe-"+login)
}

// submit sends a request through intake and waits for its case.
func (p pilot) submit(t *testing.T, req schemas.Request) string {
	t.Helper()
	if req.Source.Adapter == "" {
		req.Source = schemas.Source{Adapter: "test"}
	}
	rc, err := p.st.Intake.Submit(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return p.st.CaseRef(t, rc.ID)
}

// vague is a request the router cannot place: it goes to triage.
func vague(text, address, postalCode string) schemas.Request {
	return schemas.Request{Channel: schemas.ChannelWeb, Subject: "Demande", Body: text,
		Location: &schemas.Location{Address: address, PostalCode: postalCode}, Citizen: &schemas.Citizen{Email: "lea@example.net"}}
}

func (p pilot) competenceOf(t *testing.T, ref string) string {
	t.Helper()
	c, err := p.st.Store.Case(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return c.Competence
}

// TestTriageShowsTheRequestAndRoutesWithoutDefault: the triage queue shows
// what the citizen wrote and where, the channel and date, the router's
// reasons in words; "other competence" has no default, and sending it
// without a choice says so next to the list and changes nothing.
func TestTriageShowsTheRequestAndRoutesWithoutDefault(t *testing.T) {
	p := servePilot(t, false)
	p.account(t, "nadia", auth.RoleSupervisor, nil, nil)
	p.account(t, "aubagne", auth.RoleSupervisor, nil, []string{"pays-d-aubagne-etoile"})
	p.account(t, "julie", auth.RoleTeam, []string{"voirie"}, nil)
	first := p.submit(t, vague("Bonjour, je voudrais parler à quelqu'un au sujet de ma rue s'il vous plaît.", "3 cours Foch", "13400"))
	second := p.submit(t, vague("Pouvez-vous me rappeler ? C'est urgent.", "12 rue Paradis", "13006"))
	for _, ref := range []string{first, second} {
		if c := p.competenceOf(t, ref); c != schemas.CompetenceTriage {
			t.Fatalf("%s went to %s, not to triage", ref, c)
		}
	}
	nadia := p.signIn(t, "nadia")
	code, page := nadia.get("/bo/tri")
	if code != 200 {
		t.Fatalf("triage: %d", code)
	}
	for _, want := range []string{
		"je voudrais parler à quelqu&#39;un au sujet de ma rue", // the text
		"3 cours Foch", "13400 Aubagne", "12 rue Paradis", "13006 Marseille", // the place as given, commune named
		"formulaire web, reçu le",       // channel and date
		"Pourquoi le tri", "Territoire", // the reasons, named
		"<option value=\"\">Choisir une compétence…</option>", // no default
		"(2 dossiers)",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the triage page lacks %q", want)
		}
	}
	// No raw code of the router on the page, outside the form values.
	text := regexp.MustCompile(`<[^>]*>`).ReplaceAllString(page, " ")
	for _, code := range []string{"hors_competence", "eau_assainissement", "espaces_verts", "classifier", "territory_unknown", "triage"} {
		if strings.Contains(text, code) {
			t.Errorf("the triage page shows the raw code %q:\n%s", code, text)
		}
	}
	if strings.Contains(page, " selected") {
		t.Error("a competence is chosen in advance")
	}
	if !regexp.MustCompile(`<select id="c-` + first + `" name="competence" required>`).MatchString(page) {
		t.Error("the other competence is not required")
	}

	// Without a choice: an error next to the list, the reason typed kept, nothing changed.
	code, page = nadia.post(page, "/bo/tri/"+first, url.Values{"competence": {""}, "motif": {"à voir"}})
	if code != 422 || !strings.Contains(page, `<p class="erreur" id="c-`+first+`-erreur"><span class="sr">Erreur : </span>Choisissez une compétence dans la liste.</p>`) ||
		!strings.Contains(page, `aria-invalid="true" aria-describedby="c-`+first+`-erreur"`) || !strings.Contains(page, `href="#c-`+first+`"`) ||
		!strings.Contains(page, `value="à voir"`) {
		t.Fatalf("routing without a choice: %d\n%s", code, page)
	}
	if c := p.competenceOf(t, first); c != schemas.CompetenceTriage {
		t.Fatalf("a refused form changed the case: %s", c)
	}
	code, page = nadia.post(page, "/bo/tri/"+first, url.Values{"competence": {"pas_une_competence"}})
	if code != 422 || p.competenceOf(t, first) != schemas.CompetenceTriage {
		t.Fatalf("an unknown competence: %d", code)
	}
	// A choice: routed, said, audited; the next case is there.
	code, page = nadia.post(page, "/bo/tri/"+first, url.Values{"competence": {"voirie"}})
	if code != 200 || !strings.Contains(page, "Dossier "+first+" orienté vers « Voirie ».") || !strings.Contains(page, "Encore 1 dossier à trier.") ||
		strings.Contains(page, `id="t-`+first+`"`) || !strings.Contains(page, `id="t-`+second+`"`) {
		t.Fatalf("routed: %d\n%s", code, page)
	}
	c, err := p.st.Store.Case(context.Background(), first)
	if err != nil || c.Competence != "voirie" || c.Events[len(c.Events)-1].Actor.ID != "nadia" || c.Events[len(c.Events)-1].Data["reason"] != "tri : autre compétence choisie" {
		t.Fatalf("routed case %+v %v", c, err)
	}
	entries, err := p.st.Auth.AuditLog(context.Background(), auth.AuditFilter{Action: "case.reroute", Target: first}, 10)
	if err != nil || len(entries) != 1 || entries[0].Actor != "nadia" || entries[0].Details["to"] != "voirie" {
		t.Fatalf("audit %+v %v", entries, err)
	}
	// The same case again (another tab, another supervisor): not routed twice.
	code, page = nadia.post(page, "/bo/tri/"+first, url.Values{"competence": {"dechets"}})
	if code != 200 || p.competenceOf(t, first) != "voirie" || !strings.Contains(page, "Dossier "+first+" orienté vers « Voirie ».") {
		t.Fatalf("routed twice: %d %s", code, p.competenceOf(t, first))
	}
	// A guess of the router, then the queue is empty.
	code, page = nadia.post(page, "/bo/tri/"+second, url.Values{"competence": {"hors_competence"}, "motif": {"tri : choix parmi les hypothèses du routeur"}})
	if code != 200 || !strings.Contains(page, "La file de tri est vide") || p.competenceOf(t, second) != "hors_competence" {
		t.Fatalf("last case: %d\n%s", code, page)
	}

	// A supervisor of one territory sees its triage cases only.
	third := p.submit(t, vague("Bonjour, je voudrais un renseignement s'il vous plaît.", "1 rue de la République", "13400"))
	fourth := p.submit(t, vague("Bonjour, je voudrais un renseignement s'il vous plaît, merci.", "1 rue Paradis", "13006"))
	aubagne := p.signIn(t, "aubagne")
	code, page = aubagne.get("/bo/tri")
	if code != 200 || !strings.Contains(page, third) || strings.Contains(page, fourth) {
		t.Fatalf("a territory's supervisor: %d\n%s", code, page)
	}

	// Abuse: nobody, a team member, another territory's case, an unknown
	// case, an oversized form, a NUL.
	noRedirect := testkit.NoRedirect()
	resp, err := noRedirect.PostForm(p.srv.URL+"/bo/tri/"+fourth, url.Values{"competence": {"voirie"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 303 || !strings.HasPrefix(resp.Header.Get("Location"), "/bo/connexion") {
		t.Errorf("without a session: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	julie := p.signIn(t, "julie")
	_, home := julie.get("/bo/")
	if code, _ := julie.post(home, "/bo/tri/"+fourth, url.Values{"competence": {"voirie"}}); code != 403 {
		t.Errorf("a team member routing: %d", code)
	}
	_, home = aubagne.get("/bo/")
	if code, _ := aubagne.post(home, "/bo/tri/"+fourth, url.Values{"competence": {"voirie"}}); code != 404 {
		t.Errorf("another territory's case: %d", code)
	}
	if code, _ := aubagne.post(home, "/bo/tri/AMP-2026-999999", url.Values{"competence": {"voirie"}}); code != 404 {
		t.Errorf("an unknown case: %d", code)
	}
	_, home = nadia.get("/bo/")
	if code, _ := nadia.post(home, "/bo/tri/"+fourth, url.Values{"competence": {"voirie"}, "motif": {strings.Repeat("x", 20<<10)}}); code != 413 {
		t.Errorf("an oversized form: %d", code)
	}
	if code, page := nadia.post(home, "/bo/tri/"+fourth, url.Values{"competence": {"voirie"}, "motif": {"a\x00b"}}); code != 400 || !strings.Contains(page, "Caractère non permis") {
		t.Errorf("a NUL: %d", code)
	}
	if c := p.competenceOf(t, fourth); c != schemas.CompetenceTriage {
		t.Errorf("abuse changed the case: %s", c)
	}
	if code, _ := julie.get("/bo/tri"); code != 403 {
		t.Errorf("a team member on triage: %d", code)
	}
}

// TestReasonsInWords: the router's reasons name competences and channels by
// their labels, leave the citizen's quoted words alone, and never touch a
// code inside a longer word.
func TestReasonsInWords(t *testing.T) {
	p := servePilot(t, false)
	p.account(t, "nadia", auth.RoleSupervisor, nil, nil)
	ref := p.submit(t, vague("je voudrais parler à quelqu'un", "", "13006"))
	// The router's reasons as it writes them, on this case's decision.
	testkit.Exec(t, p.st.DBURL, `UPDATE routing_decisions d SET reasons = $2 FROM requests r JOIN cases c ON c.id = r.case_id
		WHERE r.id = d.request_id AND c.ref = $1`, ref, `[
		{"code": "classifier", "detail": "hors_competence à 40 % ; mots décisifs : « voirie », « dechets » ; ensuite eau_assainissement à 20 %"},
		{"code": "hint", "detail": "compétence indiquée à la saisie (phone) : voirie, retenue (classifieur : 12 %)"},
		{"code": "triage", "detail": "confiance 40 % sous le seuil de 60 % : file de tri humain (hypothèses : hors_competence 40 %, eau_assainissement 20 %, voirie 10 %)"},
		{"code": "territory", "detail": "code postal 13006 : territoire Marseille-Provence (voiries)"}]`)
	_, page := p.signIn(t, "nadia").get("/bo/tri")
	for _, want := range []string{
		"Autre demande à 40 % ; mots décisifs : « voirie », « dechets » ; ensuite Eau et assainissement à 20 %",
		"compétence indiquée à la saisie (appel) : Voirie, retenue",
		"(hypothèses : Autre demande 40 %, Eau et assainissement 20 %, Voirie 10 %)",
		"Marseille-Provence (voiries)",
		`value="hors_competence">Autre demande <span class="meta-bouton">(40 %)</span></button>`,
		"<dt>Classement automatique</dt>", "<dt>Compétence indiquée à la saisie</dt>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the reasons lack %q", want)
		}
	}
}

// percentile is PostgreSQL's percentile_cont: linear interpolation between
// the sorted values at p × (n − 1).
func percentile(xs []float64, p float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	pos := p * float64(len(s)-1)
	lo := math.Floor(pos)
	if int(lo)+1 >= len(s) {
		return s[len(s)-1]
	}
	return s[int(lo)] + (pos-lo)*(s[int(lo)+1]-s[int(lo)])
}

// csvTable reads an export as a French spreadsheet would.
func csvTable(t *testing.T, body string) [][]string {
	t.Helper()
	if !strings.HasPrefix(body, "\ufeff") {
		t.Fatal("the CSV has no byte-order mark")
	}
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\ufeff")))
	r.Comma = ';'
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatalf("CSV: %v\n%s", err, body)
	}
	return rows
}

// row finds the row whose first field is label, as a map of the header.
func row(t *testing.T, rows [][]string, label string) map[string]string {
	t.Helper()
	for _, r := range rows[1:] {
		if r[0] == label {
			m := map[string]string{}
			for i, h := range rows[0] {
				m[h] = r[i]
			}
			return m
		}
	}
	t.Fatalf("no row %q in %v", label, rows)
	return nil
}

func hoursField(t *testing.T, v string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(strings.Replace(v, ",", ".", 1), 64)
	if err != nil {
		t.Fatalf("not a number of hours: %q", v)
	}
	return f
}

// TestDashboardTimesAndDeadlines: response and resolution times (median and
// 90th percentile, as computed here from the cases' own timestamps),
// deadlines kept and open cases past theirs, by competence, territory and
// team, on the page and in the CSV exports, within the viewer's scope.
func TestDashboardTimesAndDeadlines(t *testing.T) {
	p := servePilot(t, false)
	ctx := context.Background()
	p.account(t, "nadia", auth.RoleSupervisor, nil, nil)
	p.account(t, "aubagne", auth.RoleSupervisor, nil, []string{"pays-d-aubagne-etoile"})
	p.account(t, "julie", auth.RoleTeam, []string{"voirie"}, nil)
	req := func(competence, text, postal string) schemas.Request {
		return schemas.Request{Channel: schemas.ChannelWeb, Subject: text, Body: text, Location: &schemas.Location{PostalCode: postal},
			Citizen: &schemas.Citizen{Email: "lea@example.net"}, Hints: &schemas.Hints{Competence: competence}}
	}
	a := p.submit(t, req("voirie", "Nid-de-poule profond sur la chaussée devant le 12.", "13006"))
	b := p.submit(t, req("voirie", "Trottoir défoncé, chaussée abîmée, nids-de-poule.", "13006"))
	c := p.submit(t, req("voirie", "Chaussée effondrée rue de la République, nid-de-poule dangereux.", "13400"))
	d := p.submit(t, req("dechets", "Bac jaune cassé, le couvercle est arraché.", "13400"))
	e := p.submit(t, req("dechets", "Poubelles pas ramassées depuis une semaine, bac d'ordures ménagères plein.", "13100"))
	for ref, want := range map[string]string{a: "voirie", b: "voirie", c: "voirie", d: "dechets", e: "dechets"} {
		if got := p.competenceOf(t, ref); got != want {
			t.Fatalf("%s went to %s, not %s", ref, got, want)
		}
	}
	clock := deadline.New(frtime.Paris())
	move := func(ref string, states ...string) {
		t.Helper()
		for _, to := range states {
			if _, err := p.st.Store.Transition(ctx, casestore.TransitionRequest{Ref: ref, To: to, Role: auth.RoleTeam,
				Change: casestore.Change{Actor: "julie", Reason: "test"}}, clock); err != nil {
				t.Fatalf("%s → %s: %v", ref, to, err)
			}
		}
	}
	move(a, "qualified", "in_progress", "resolved")
	if _, err := p.st.Store.Reply(ctx, b, casestore.ReplyRequest{Channel: casestore.ReplyEmail, To: "lea@example.net", Subject: "Votre demande", Message: "Nous regardons."},
		casestore.Change{Actor: "julie"}); err != nil {
		t.Fatal(err)
	}
	move(b, "qualified", "in_progress")
	testkit.Exec(t, p.st.DBURL, `UPDATE cases SET deadline = now() - interval '1 hour' WHERE ref = $1`, b) // late
	move(b, "resolved")
	move(c, "qualified")
	testkit.Exec(t, p.st.DBURL, `UPDATE cases SET deadline = now() - interval '1 hour' WHERE ref = $1`, c) // open and overdue
	move(e, "qualified", "in_progress", "resolved")
	// The cases opened some time before their first response, as if the
	// teams had taken that long.
	before := map[string]string{a: "2 hours", b: "30 minutes", c: "5 hours", e: "26 hours"}
	for ref, ago := range before {
		testkit.Exec(t, p.st.DBURL, `UPDATE cases c SET opened_at = (SELECT min(e.at) FROM case_events e WHERE e.case_id = c.id AND e.actor_kind = 'agent') - $2::interval
			WHERE c.ref = $1`, ref, ago)
	}
	testkit.Exec(t, p.st.DBURL, `UPDATE cases SET opened_at = now() - interval '1 hour' WHERE ref = $1`, d)
	// What the figures must be, from the cases' timestamps.
	type times struct{ first, resolved float64 }
	measured := map[string]times{}
	for _, ref := range []string{a, b, c, e} {
		var first, resolved float64
		testkit.QueryRow(t, p.st.DBURL, `SELECT
			extract(epoch FROM (SELECT min(e.at) FROM case_events e WHERE e.case_id = c.id AND e.actor_kind = 'agent' AND e.type IN ('replied', 'state_changed')) - c.opened_at) / 3600,
			COALESCE(extract(epoch FROM (SELECT min(e.at) FROM case_events e WHERE e.case_id = c.id AND e.type = 'state_changed' AND e.payload->'data'->>'to' = 'resolved') - c.opened_at) / 3600, -1)
			FROM cases c WHERE c.ref = $1`, []any{ref}, &first, &resolved)
		measured[ref] = times{first, resolved}
	}
	expect := func(refs ...string) (first, resolved []float64) {
		for _, r := range refs {
			first = append(first, measured[r].first)
			if measured[r].resolved >= 0 {
				resolved = append(resolved, measured[r].resolved)
			}
		}
		return first, resolved
	}
	near := func(what, got string, want float64) {
		t.Helper()
		if g := hoursField(t, got); math.Abs(g-want) > 0.006 {
			t.Errorf("%s: %s h, want %.3f h", what, got, want)
		}
	}
	check := func(what string, r map[string]string, refs []string, open, overdue, opened, withDeadline, onTime int) {
		t.Helper()
		first, resolved := expect(refs...)
		near(what+" first response median", r["Première réponse : médiane (h)"], percentile(first, .5))
		near(what+" first response p90", r["Première réponse : 90e centile (h)"], percentile(first, .9))
		if len(resolved) > 0 {
			near(what+" resolution median", r["Résolution : médiane (h)"], percentile(resolved, .5))
			near(what+" resolution p90", r["Résolution : 90e centile (h)"], percentile(resolved, .9))
		} else if r["Résolution : médiane (h)"] != "" {
			t.Errorf("%s: a resolution time without a resolved case: %v", what, r)
		}
		for k, v := range map[string]int{"Dossiers ouverts": open, "dont en retard": overdue, "Ouverts sur la période": opened,
			"Résolus avec échéance": withDeadline, "Résolus dans le délai": onTime, "Première réponse : dossiers mesurés": len(first)} {
			if r[k] != strconv.Itoa(v) {
				t.Errorf("%s: %s = %q, want %d", what, k, r[k], v)
			}
		}
	}

	nadia := p.signIn(t, "nadia")
	get := func(who person, path string) (*http.Response, string) {
		t.Helper()
		resp, err := who.client.Get(p.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, body := get(nadia, "/bo/tableau.csv?table=competences")
	today := time.Now().In(frtime.Paris()).Format("2006-01-02")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
		resp.Header.Get("Content-Disposition") != `attachment; filename="tableau-de-bord-competences-30-jours-`+today+`.csv"` {
		t.Fatalf("export: %d %v", resp.StatusCode, resp.Header)
	}
	rows := csvTable(t, body)
	if rows[0][0] != "Compétence" || len(rows) != 3 {
		t.Fatalf("competences: %v", rows)
	}
	check("Voirie", row(t, rows, "Voirie"), []string{a, b, c}, 3, 1, 3, 2, 1)
	check("Déchets", row(t, rows, "Déchets"), []string{e}, 2, 0, 2, 1, 1)
	if r := row(t, rows, "Voirie"); r["Part dans le délai (%)"] != "50,0" {
		t.Errorf("on-time share: %v", r)
	}
	_, body = get(nadia, "/bo/tableau.csv?table=territoires&jours=7")
	rows = csvTable(t, body)
	check("Pays d'Aubagne", row(t, rows, "Pays d'Aubagne et de l'Étoile"), []string{c}, 2, 1, 2, 0, 0)
	check("Marseille-Provence", row(t, rows, "Marseille-Provence"), []string{a, b}, 2, 0, 2, 2, 1)
	_, body = get(nadia, "/bo/tableau.csv?table=equipes")
	rows = csvTable(t, body)
	if rows[0][0] != "Équipe" || rows[0][1] != "Compétence" || rows[0][2] != "Territoire" {
		t.Errorf("teams header %v", rows[0])
	}
	check("Voirie · Marseille-Provence", row(t, rows, "Voirie · Marseille-Provence"), []string{a, b}, 2, 0, 2, 2, 1)
	check("Déchets · Pays d'Aix", row(t, rows, "Déchets · Pays d'Aix"), []string{e}, 1, 0, 1, 1, 1)

	// The page: the same figures, in words, with the full territory name.
	code, page := nadia.get("/bo/tableau")
	first, _ := expect(a, b)
	wantMedian := time.Duration(percentile(first, .5) * float64(time.Hour))
	for _, want := range []string{
		"<th scope=\"row\">Voirie · Marseille-Provence</th>", "<th scope=\"row\">Pays d&#39;Aubagne et de l&#39;Étoile</th>",
		"1 sur 2 (50 %)", "Comment ces chiffres sont calculés", "première réponse envoyée au demandeur ou le premier changement d'état fait par une personne",
		`href="/bo/tableau.csv?table=equipes&amp;jours=30"`, `href="/bo/tableau.csv?table=jours&amp;jours=30"`,
		"<caption id=\"jours-titre\">Demandes reçues par jour et par canal</caption>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the dashboard lacks %q", want)
		}
	}
	if code != 200 || !strings.Contains(page, durationWords(wantMedian)) {
		t.Errorf("dashboard: %d, no %q", code, durationWords(wantMedian))
	}
	// The daily chart says its dates.
	if !regexp.MustCompile(`<text x="\d+" y="178" text-anchor="middle" class="axe">` + time.Now().In(frtime.Paris()).Format("02/01") + `</text>`).MatchString(page) {
		t.Error("the daily chart has no date under today")
	}

	// A supervisor of one territory sees it only.
	aubagne := p.signIn(t, "aubagne")
	_, body = get(aubagne, "/bo/tableau.csv?table=territoires")
	rows = csvTable(t, body)
	if len(rows) != 2 || rows[1][0] != "Pays d'Aubagne et de l'Étoile" {
		t.Errorf("territories of a territory's supervisor: %v", rows)
	}
	_, body = get(aubagne, "/bo/tableau.csv?table=competences")
	rows = csvTable(t, body)
	check("Voirie in Aubagne", row(t, rows, "Voirie"), []string{c}, 1, 1, 1, 0, 0)
	if _, page := aubagne.get("/bo/tableau"); strings.Contains(page, "· Marseille-Provence") || strings.Contains(page, ">Marseille-Provence<") ||
		!strings.Contains(page, "Voirie · Pays d&#39;Aubagne et de l&#39;Étoile") {
		t.Error("a territory's supervisor sees another territory, or not theirs")
	}

	// Every table exports, audited; satisfaction once there is an answer.
	testkit.Exec(t, p.st.DBURL, `INSERT INTO satisfaction (case_id, thread_id, score, comment, competence, territory, channel)
		SELECT c.id, r.id, 5, 'Merci', c.competence, c.territory, r.channel FROM cases c JOIN requests r ON r.case_id = c.id WHERE c.ref = $1 LIMIT 1`, a)
	for table, head := range map[string]string{"jours": "Jour", "canaux": "Canal du premier contact", "etats": "État", "satisfaction": "Regroupement"} {
		resp, body := get(nadia, "/bo/tableau.csv?table="+table)
		rows := csvTable(t, body)
		if resp.StatusCode != 200 || rows[0][0] != head || len(rows) < 2 {
			t.Errorf("%s: %d %v", table, resp.StatusCode, rows)
		}
		if table == "jours" {
			last := rows[len(rows)-1]
			if last[0] != time.Now().In(frtime.Paris()).Format("02/01/2006") || last[5] != "5" || len(rows) != 32 {
				t.Errorf("days: %v", rows)
			}
		}
		if table == "satisfaction" && !slices.Equal(rows[1], []string{"Ensemble", "Tous", "1", "5,00", "0", "0", "0", "0", "1"}) {
			t.Errorf("satisfaction: %v", rows)
		}
	}
	entries, err := p.st.Auth.AuditLog(ctx, auth.AuditFilter{Action: "dashboard.export", Actor: "nadia"}, 100)
	if err != nil || len(entries) != 7 || entries[0].Target != "satisfaction" && entries[0].Target != "jours" && entries[0].Target != "canaux" && entries[0].Target != "etats" {
		t.Errorf("exports audited: %d %v", len(entries), err)
	}
}

// durationWords is how the page writes a duration (see frDuration).
func durationWords(d time.Duration) string {
	d = d.Round(time.Minute)
	if d < time.Hour {
		return strconv.Itoa(int(d.Minutes())) + " min"
	}
	h, m := int(d.Hours()), int(d.Minutes())%60
	if m == 0 {
		return strconv.Itoa(h) + " h"
	}
	return strconv.Itoa(h) + " h " + strconv.Itoa(100 + m)[1:]
}

// TestDashboardExportRefusals: the export has the page's permission, and
// refuses what it does not know.
func TestDashboardExportRefusals(t *testing.T) {
	p := servePilot(t, false)
	p.account(t, "nadia", auth.RoleSupervisor, nil, nil)
	p.account(t, "julie", auth.RoleTeam, []string{"voirie"}, nil)
	resp, err := testkit.NoRedirect().Get(p.srv.URL + "/bo/tableau.csv?table=competences")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 302 || !strings.HasPrefix(resp.Header.Get("Location"), "/bo/connexion") {
		t.Errorf("without a session: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if code, _ := p.signIn(t, "julie").get("/bo/tableau.csv?table=competences"); code != 403 {
		t.Errorf("a team member: %d", code)
	}
	nadia := p.signIn(t, "nadia")
	for path, want := range map[string]int{
		"/bo/tableau.csv?table=personnes":                                 404,
		"/bo/tableau.csv":                                                 404,
		"/bo/tableau.csv?table=competences&jours=365":                     400,
		"/bo/tableau.csv?table=competences&jours=abc":                     400,
		"/bo/tableau.csv?table=" + strings.Repeat("x", 300):               400,
		"/bo/tableau?jours=1000":                                          400,
		"/bo/tableau.csv?table=competences&jours=90":                      200,
		"/bo/tableau.csv?table=competences&" + strings.Repeat("a=b&", 60): 400,
	} {
		code, page := nadia.get(path)
		if code != want {
			t.Errorf("%s: %d, want %d", path, code, want)
		}
		if want != 200 && !strings.Contains(page, "<html lang=\"fr\">") {
			t.Errorf("%s: not a French page", path)
		}
	}
	entries, err := p.st.Auth.AuditLog(context.Background(), auth.AuditFilter{Action: "dashboard.export"}, 100)
	if err != nil || len(entries) != 1 {
		t.Errorf("refused exports audited: %d %v", len(entries), err)
	}
}

// TestAuditLogInWords: the audit log names its actions and details in
// French, links the cases, and every action Guichet writes has its words.
func TestAuditLogInWords(t *testing.T) {
	p := servePilot(t, false)
	p.account(t, "root", auth.RoleAdmin, nil, nil)
	p.account(t, "julie", auth.RoleTeam, []string{"dechets"}, nil)
	ref := p.submit(t, schemas.Request{Channel: schemas.ChannelWeb, Body: "Bac jaune cassé.", Citizen: &schemas.Citizen{Email: "lea@example.net"},
		Location: &schemas.Location{Address: "3 cours Foch", PostalCode: "13400"},
		Hints:    &schemas.Hints{Competence: "dechets"}})
	julie := p.signIn(t, "julie")
	_, page := julie.get("/bo/dossiers/" + ref)
	julie.post(page, "/bo/dossiers/"+ref+"/etat", url.Values{"vers": {"qualified"}})
	if _, err := http.PostForm(p.srv.URL+"/bo/connexion", url.Values{"identifiant": {"julie"}, "mot_de_passe": {"faux"}}); err != nil {
		t.Fatal(err)
	}
	root := p.signIn(t, "root")
	code, page := root.get("/bo/audit")
	if code != 200 {
		t.Fatalf("audit: %d", code)
	}
	text := regexp.MustCompile(`<[^>]*>`).ReplaceAllString(page, "")
	for _, want := range []string{"Consultation du dossier", "Changement d'état du dossier", "de : reçu", "vers : qualifié", "Connexion refusée",
		"motif : mot de passe erroné", "méthode : mot de passe", "Création d'un compte", "rôle : équipe", "compétences : Déchets"} {
		if !strings.Contains(strings.ReplaceAll(text, "&#39;", "'"), want) {
			t.Errorf("the audit log lacks %q", want)
		}
	}
	for _, raw := range []string{"case.view", "method : password", "login_failed", "wrong_password"} {
		if strings.Contains(text, raw) {
			t.Errorf("the audit log shows %q", raw)
		}
	}
	if !strings.Contains(page, `<a href="/bo/dossiers/`+ref+`">`+ref+`</a>`) {
		t.Error("the case is not a link")
	}
	// Filtered by a family, in French.
	code, page = root.get("/bo/audit?action=case.&cible=" + ref)
	if code != 200 || !strings.Contains(page, `<option value="case." selected>Dossiers : toutes les actions</option>`) || strings.Contains(page, "Connexion refusée</td>") {
		t.Errorf("filtered: %d", code)
	}
}

// auditCall finds the action codes written to the audit log in Go source.
// (literals in calls, and constants named Action…).
var auditCall = regexp.MustCompile(`(?:\b[Aa]udit|AuditCaller|auditAs|h\.done)\((?:[^"()]|\([^()]*\))*?"([a-z_]+(?:\.[a-z_]+)+|login|logout|login_failed|login_limited)"|\bAction[A-Z]\w*\s*=\s*"([a-z_.]+)"`)

// TestEveryAuditedActionHasWords reads the code base for the actions
// written to the audit log: each has its French label.
func TestEveryAuditedActionHasWords(t *testing.T) {
	codes := map[string]bool{}
	for _, dir := range []string{"../../staff", "../../channels", "../../cases", "../../outbound", "../../intake"} {
		files, err := filepathGo(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			for _, m := range auditCall.FindAllStringSubmatch(f, -1) {
				codes[m[1]+m[2]] = true
			}
		}
	}
	for _, c := range []string{"case.view", "personal_data.search", "mail.upload", "account.create", "token.revoke", "login_failed"} {
		if !codes[c] {
			t.Fatalf("the source scan missed %s: %v", c, codes)
		}
	}
	for c := range codes {
		if label := backoffice.AuditAction(c); label == c || strings.HasSuffix(label, " : "+c) {
			t.Errorf("no French words for the audit action %q", c)
		}
	}
}

// filepathGo reads the Go files (not the tests) under dir.
func filepathGo(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		b, err := os.ReadFile(path)
		out = append(out, string(b))
		return err
	})
	return out, err
}
