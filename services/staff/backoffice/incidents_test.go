package backoffice_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/staff/auth"
	"github.com/ampmetropole/guichet/services/testkit"
	"github.com/ampmetropole/guichet/services/testkit/stack"
)

// makeIncident records an open incident and links the cases to it, as the
// router does when it is sure (the router's own grouping is tested with
// the router).
func makeIncident(t *testing.T, st stack.Stack, ref, competence, place, label string, cases ...string) {
	t.Helper()
	testkit.Exec(t, st.DBURL, `INSERT INTO incidents (ref, competence, territory, commune, place, label, first_reported_at, last_reported_at)
		VALUES ($1, $2, 'marseille', '13206', $3, $4, now() - interval '2 hours', now())`, ref, competence, place, label)
	for _, c := range cases {
		testkit.Exec(t, st.DBURL, `UPDATE cases SET incident_id = (SELECT id FROM incidents WHERE ref = $1) WHERE ref = $2`, ref, c)
	}
}

// eventCount counts the case events of a type with this incident in data.
func eventCount(t *testing.T, st stack.Stack, caseRef, typ, incident string) int {
	t.Helper()
	var n int
	testkit.QueryRow(t, st.DBURL, `SELECT count(*) FROM case_events e JOIN cases c ON c.id = e.case_id
		WHERE c.ref = $1 AND e.type = $2 AND e.payload->'data'->>'incident' = $3 AND e.payload->'actor'->>'id' <> ''`,
		[]any{caseRef, typ, incident}, &n)
	return n
}

// The team sees an incident with its cases, detaches a case and puts it
// back, moves one to another incident, and resolves the incident once:
// each pending case goes to resolved through the lifecycle. Every action
// is a case event naming the person; the abuses are refused.
func TestIncidentPage(t *testing.T) {
	st, srv := serve(t)
	ctx := context.Background()
	for _, a := range []struct{ login, role, comp string }{
		{"julie", auth.RoleTeam, "voirie"}, {"paul", auth.RoleTeam, "dechets"}, {"amir", auth.RoleAgent, ""},
	} {
		var comps []string
		if a.comp != "" {
			comps = []string{a.comp}
		}
		if _, err := st.Auth.CreateAccount(ctx, a.login, strings.ToUpper(a.login[:1])+a.login[1:], a.role, "mot-de-passe-"+a.login, comps, nil); err != nil {
			t.Fatal(err)
		}
	}
	submit := func(req schemas.Request) string {
		t.Helper()
		req.Source = schemas.Source{Adapter: "test"}
		req.Hints = &schemas.Hints{Competence: "voirie"}
		rc, err := st.Intake.Submit(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return st.CaseRef(t, rc.ID)
	}
	loc := &schemas.Location{Address: "112 rue Paradis", PostalCode: "13006", CommuneINSEE: "13206"}
	a := submit(schemas.Request{Channel: "web", Subject: "Nid-de-poule", Body: "Un trou profond devant le 112 rue Paradis.", Location: loc,
		Citizen: &schemas.Citizen{Name: "Léa Martinez", Email: "lea@example.net"}})
	b := submit(schemas.Request{Channel: "phone", Body: "Il y a un nid-de-poule au 112 rue Paradis.", Location: loc,
		Citizen: &schemas.Citizen{Name: "Marc Durand", Phone: "+33612345678"}})
	c := submit(schemas.Request{Channel: "mail", Body: "Je vous signale un trou dans la chaussée rue Paradis, au 112.", Location: loc,
		Citizen: &schemas.Citizen{Name: "Anne Roux", Address: &schemas.PostalAddress{Lines: []string{"3 place Castellane"}, PostalCode: "13006", City: "Marseille"}}})
	other := submit(schemas.Request{Channel: "web", Subject: "Trottoir", Body: "Trottoir défoncé boulevard Baille.",
		Location: &schemas.Location{Address: "40 boulevard Baille", PostalCode: "13005"}, Citizen: &schemas.Citizen{Name: "Jo", Email: "jo@example.net"}})
	// Whatever the router decided, the test starts from known incidents.
	testkit.Exec(t, st.DBURL, `UPDATE cases SET incident_id = NULL`)
	makeIncident(t, st, "INC-2026-900001", "voirie", "rue Paradis, Marseille 6e", "nid-de-poule", a, b, c)
	makeIncident(t, st, "INC-2026-900002", "voirie", "boulevard Baille, Marseille 5e", "trottoir défoncé", other)
	makeIncident(t, st, "INC-2026-900003", "dechets", "cours Julien", "conteneurs qui débordent")

	julie := signIn(t, srv.URL, "julie", "mot-de-passe-julie")
	code, page := julie.get("/bo/incidents/INC-2026-900001")
	if code != 200 || !strings.Contains(page, "rue Paradis, Marseille 6e") || !strings.Contains(page, "nid-de-poule") ||
		!strings.Contains(page, `href="/bo/dossiers/`+a+`"`) || !strings.Contains(page, `href="/bo/dossiers/`+c+`"`) ||
		!strings.Contains(page, `<dd id="demandeurs">3 (3 dossier(s))</dd>`) || !strings.Contains(page, "Résoudre l'incident") {
		t.Fatalf("incident page: %d\n%s", code, page)
	}
	// The queue and the case page name the incident and its reporters.
	if code, q := julie.get("/bo/dossiers"); code != 200 || !strings.Contains(q, `href="/bo/incidents/INC-2026-900001"`) || !strings.Contains(q, "3 demandeur(s)") {
		t.Fatalf("queue: %d\n%s", code, q)
	}
	if code, cp := julie.get("/bo/dossiers/" + b); code != 200 || !strings.Contains(cp, `id="incident">Incident <a href="/bo/incidents/INC-2026-900001"`) {
		t.Fatalf("case page: %d\n%s", code, cp)
	}
	// A suggestion of the router is offered on the case page; accepting it
	// moves the case.
	testkit.Exec(t, st.DBURL, `INSERT INTO incident_suggestions (case_id, incident_id, confidence, reasons)
		SELECT c.id, i.id, 0.62, '["même rue"]' FROM cases c, incidents i WHERE c.ref = $1 AND i.ref = 'INC-2026-900001'`, other)
	code, cp := julie.get("/bo/dossiers/" + other)
	if code != 200 || !strings.Contains(cp, "Peut-être le même incident que") || !strings.Contains(cp, "(confiance 62 %)") {
		t.Fatalf("suggestion: %d\n%s", code, cp)
	}

	// Abuses: no session, a role without the permission, another team's
	// or a nonexistent or malformed incident, a case of another incident.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, p := range []string{"GET /bo/incidents/INC-2026-900001", "POST /bo/incidents/INC-2026-900001/resoudre", "POST /bo/incidents/INC-2026-900001/detacher"} {
		method, path, _ := strings.Cut(p, " ")
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader("message=x"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 3 || !strings.HasPrefix(resp.Header.Get("Location"), "/bo/connexion") {
			t.Errorf("%s without a session: %d %q", p, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	paul := signIn(t, srv.URL, "paul", "mot-de-passe-paul")
	for _, path := range []string{"/bo/incidents/INC-2026-900001", "/bo/incidents/INC-2026-999999", "/bo/incidents/INC-xyz", "/bo/incidents/" + strings.Repeat("9", 5000)} {
		if code, _ := paul.get(path); code != 404 {
			t.Errorf("paul on %s: %d", path, code)
		}
	}
	_, home := paul.get("/bo/")
	if code, _ := paul.post(home, "/bo/incidents/INC-2026-900001/resoudre", url.Values{"message": {"fait"}}); code != 404 {
		t.Errorf("paul resolving another team's incident: %d", code)
	}
	amir := signIn(t, srv.URL, "amir", "mot-de-passe-amir")
	_, home = amir.get("/bo/")
	if code, _ := amir.post(home, "/bo/incidents/INC-2026-900001/resoudre", url.Values{"message": {"fait"}}); code != 403 {
		t.Errorf("an agent resolving: %d", code)
	}
	if code, _ := amir.post(home, "/bo/incidents/INC-2026-900001/detacher", url.Values{"dossier": {a}, "motif": {"x"}}); code != 403 {
		t.Errorf("an agent detaching: %d", code)
	}
	if code, p := julie.post(page, "/bo/incidents/INC-2026-900001/detacher", url.Values{"dossier": {other}, "motif": {"x"}}); code != 422 || !strings.Contains(p, "ne fait pas partie de") {
		t.Errorf("detaching a case of another incident: %d", code)
	}
	if code, p := julie.post(page, "/bo/incidents/INC-2026-900001/detacher", url.Values{"dossier": {a}, "motif": {strings.Repeat("x", 17<<10)}}); code != 413 && code != 422 || !strings.Contains(p, "trop long") {
		t.Errorf("oversized form: %d\n%s", code, p)
	}
	if code, p := julie.post(page, "/bo/incidents/INC-2026-900001/detacher", url.Values{"dossier": {a}, "motif": {"a\x00b"}}); code != 400 || !strings.Contains(p, "caractère non permis") {
		t.Errorf("NUL in a form: %d", code)
	}
	if code, p := julie.post(page, "/bo/incidents/INC-2026-900001/detacher", url.Values{"dossier": {a}, "motif": {""}}); code != 422 || !strings.Contains(p, "obligatoires") {
		t.Errorf("detaching without a reason: %d\n%s", code, p)
	}
	if code, p := julie.post(page, "/bo/incidents/INC-2026-900001/detacher", url.Values{"dossier": {a}, "motif": {"x"}, "vers": {"INC-2026-900003"}}); code != 422 || !strings.Contains(p, "introuvable") {
		t.Errorf("moving to another team's incident: %d", code)
	}
	if code, p := julie.post(page, "/bo/incidents/INC-2026-900001/resoudre", url.Values{"message": {"  "}}); code != 422 || !strings.Contains(p, "écrivez ce qui a été fait") {
		t.Errorf("resolving without a message: %d", code)
	}

	// Detach, then undo: two events naming julie.
	code, page = julie.post(page, "/bo/incidents/INC-2026-900001/detacher", url.Values{"dossier": {b}, "motif": {"autre trou, plus loin"}})
	if code != 200 || !strings.Contains(page, "Le dossier est détaché") || strings.Contains(page, `href="/bo/dossiers/`+b+`"`) || !strings.Contains(page, "Annuler : rattacher à nouveau le dossier "+b) {
		t.Fatalf("detach: %d\n%s", code, page)
	}
	if eventCount(t, st, b, schemas.EventIncidentDetached, "INC-2026-900001") != 1 {
		t.Errorf("no incident_detached event on %s", b)
	}
	code, page = julie.post(page, "/bo/incidents/INC-2026-900001/rattacher", url.Values{"dossier": {b}, "motif": {"annulation du détachement"}})
	if code != 200 || !strings.Contains(page, "Le dossier est rattaché") || !strings.Contains(page, `href="/bo/dossiers/`+b+`"`) {
		t.Fatalf("undo: %d\n%s", code, page)
	}
	if eventCount(t, st, b, schemas.EventIncidentLinked, "INC-2026-900001") != 1 {
		t.Errorf("no incident_linked event on %s", b)
	}
	// Move the fourth case in from its own incident, then back.
	code, page = julie.post(cp, "/bo/incidents/INC-2026-900001/rattacher", url.Values{"dossier": {other}})
	if code != 200 || !strings.Contains(page, `href="/bo/dossiers/`+other+`"`) {
		t.Fatalf("accept the suggestion: %d\n%s", code, page)
	}
	code, page = julie.post(page, "/bo/incidents/INC-2026-900001/detacher", url.Values{"dossier": {other}, "motif": {"pas le même lieu"}, "vers": {"inc-2026-900002"}})
	if code != 200 || !strings.Contains(page, "Incident INC-2026-900002") || !strings.Contains(page, `href="/bo/dossiers/`+other+`"`) {
		t.Fatalf("move: %d\n%s", code, page)
	}
	var from string
	testkit.QueryRow(t, st.DBURL, `SELECT e.payload->'data'->>'from' FROM case_events e JOIN cases c ON c.id = e.case_id
		WHERE c.ref = $1 AND e.type = 'incident_linked' ORDER BY e.seq DESC LIMIT 1`, []any{other}, &from)
	if from != "INC-2026-900001" {
		t.Errorf("the move does not say where the case came from: %q", from)
	}

	// Resolve once: the three cases are resolved through the lifecycle.
	_, page = julie.get("/bo/incidents/INC-2026-900001")
	code, page = julie.post(page, "/bo/incidents/INC-2026-900001/resoudre", url.Values{"message": {"La chaussée a été reprise le 7 décembre."}})
	if code != 200 || !strings.Contains(page, "incident est résolu") || !strings.Contains(page, `<dd id="etat-incident">résolu</dd>`) {
		t.Fatalf("resolve: %d\n%s", code, page)
	}
	for _, ref := range []string{a, b, c} {
		f, err := st.Store.CaseFile(ctx, ref)
		if err != nil || f.State != "resolved" {
			t.Errorf("%s after the incident was resolved: %q %v", ref, f.State, err)
		}
	}
	if f, _ := st.Store.CaseFile(ctx, other); f.State == "resolved" {
		t.Errorf("a case of another incident was resolved")
	}
	// A resolved incident takes no more cases.
	if code, _ := julie.post(page, "/bo/incidents/INC-2026-900001/rattacher", url.Values{"dossier": {other}}); code != 422 {
		t.Errorf("linking to a resolved incident: %d", code)
	}
}
