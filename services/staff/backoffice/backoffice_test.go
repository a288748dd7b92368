package backoffice_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/deadline"
	"github.com/ampmetropole/guichet/services/intake/attachment"
	"github.com/ampmetropole/guichet/services/platform/frtime"
	"github.com/ampmetropole/guichet/services/platform/staffshell"
	"github.com/ampmetropole/guichet/services/staff/auth"
	"github.com/ampmetropole/guichet/services/staff/backoffice"
	"github.com/ampmetropole/guichet/services/testkit"
	"github.com/ampmetropole/guichet/services/testkit/stack"
)

func TestMain(m *testing.M) { testkit.Main(m) }

type person struct {
	t      testing.TB
	base   string
	client *http.Client
}

// signIn opens a session through the real sign-in page.
func signIn(t testing.TB, base, login, password string) person {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 15 * time.Second}
	resp, err := c.PostForm(base+"/bo/connexion", url.Values{"identifiant": {login}, "mot_de_passe": {password}, "retour": {"/bo/"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/bo/" {
		t.Fatalf("%s signed in to %s (%d)", login, resp.Request.URL, resp.StatusCode)
	}
	return person{t: t, base: base, client: c}
}

func (p person) get(path string) (int, string) {
	p.t.Helper()
	resp, err := p.client.Get(p.base + path)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var csrfField = regexp.MustCompile(`name="` + auth.CSRFField + `" value="([^"]+)"`)

// post sends a form from page (whose CSRF token it takes) to path.
func (p person) post(page, path string, form url.Values) (int, string) {
	p.t.Helper()
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		p.t.Fatalf("no CSRF token on the page")
	}
	form.Set(auth.CSRFField, m[1])
	resp, err := p.client.PostForm(p.base+path, form)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// serve starts a test back end with the back office on a test server.
func serve(t *testing.T) (stack.Stack, *httptest.Server) {
	t.Helper()
	st := stack.New(t, stack.Options{Router: true})
	files, err := attachment.NewStore(context.Background(), st.Conn.JS)
	if err != nil {
		t.Fatal(err)
	}
	bo, err := backoffice.New(backoffice.Deps{Guard: st.Auth, Store: st.Store, Files: files, Catalogue: st.Catalogue,
		Clock: deadline.New(frtime.Paris()), Log: testkit.Logger(t), Places: st.Places})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	st.Auth.Register(mux)
	mux.Handle("GET "+staffshell.AssetsPath, staffshell.Assets()) // styled, with its scripts, in Chromium
	mux.Handle("/bo/", bo)
	srv := httptest.NewServer(st.Auth.Middleware(mux))
	t.Cleanup(srv.Close)
	return st, srv
}

func TestTeamWorksACaseAndSupervisorTriages(t *testing.T) {
	st, srv := serve(t)
	ctx := context.Background()
	for _, a := range []struct {
		login, role string
		comp        []string
	}{
		{"julie", auth.RoleTeam, []string{"dechets"}}, {"paul", auth.RoleTeam, []string{"voirie"}}, {"nadia", auth.RoleSupervisor, nil},
	} {
		if _, err := st.Auth.CreateAccount(ctx, a.login, strings.ToUpper(a.login[:1])+a.login[1:], a.role, "mot-de-passe-"+a.login, a.comp, nil); err != nil {
			t.Fatal(err)
		}
	}
	submit := func(req schemas.Request) string {
		t.Helper()
		req.Source = schemas.Source{Adapter: "test"}
		rc, err := st.Intake.Submit(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		ref := st.CaseRef(t, rc.ID)
		return ref
	}
	bin := submit(schemas.Request{Channel: "web", Subject: "Bac jaune cassé", Body: "Le couvercle du bac jaune est arraché.",
		Location: &schemas.Location{PostalCode: "13400"}, Citizen: &schemas.Citizen{Name: "Léa Martinez", Email: "lea@example.net"},
		Hints: &schemas.Hints{Competence: "dechets"}})
	vague := submit(schemas.Request{Channel: "phone", Body: "je voudrais parler à quelqu'un", Citizen: &schemas.Citizen{Phone: "+33639981427"},
		Transcript: []schemas.Turn{{Speaker: "caller", Text: "je voudrais parler à quelqu'un"}}})

	julie := signIn(t, srv.URL, "julie", "mot-de-passe-julie")
	code, page := julie.get("/bo/dossiers")
	if code != 200 || !strings.Contains(page, bin) || strings.Contains(page, vague) || !strings.Contains(page, "Bac jaune cassé") {
		t.Fatalf("julie's queue: %d\n%s", code, page)
	}
	code, page = julie.get("/bo/dossiers/" + bin)
	if code != 200 || !strings.Contains(page, "Le couvercle du bac jaune est arraché.") || !strings.Contains(page, "formulaire web") ||
		!strings.Contains(page, "Pourquoi cette équipe") || !strings.Contains(page, "lea@example.net") || !strings.Contains(page, `<option value="qualified">`) {
		t.Fatalf("case page: %d\n%s", code, page)
	}
	code, page = julie.post(page, "/bo/dossiers/"+bin+"/etat", url.Values{"vers": {"qualified"}})
	if code != 200 || !strings.Contains(page, "État du dossier modifié.") || !strings.Contains(page, "qualifié") {
		t.Fatalf("qualify: %d\n%s", code, page)
	}
	code, page = julie.post(page, "/bo/dossiers/"+bin+"/etat", url.Values{"vers": {"closed"}})
	if code != 409 || !strings.Contains(page, "Changement refusé") {
		t.Fatalf("qualified → closed: %d\n%s", code, page)
	}
	// A template fills the answer; the answer and a note go to the history.
	code, page = julie.get("/bo/dossiers/" + bin + "?modele=resolution")
	if code != 200 || !strings.Contains(page, "Votre demande "+bin+" a été traitée") || !strings.Contains(page, `value="lea@example.net"`) && !strings.Contains(page, ">lea@example.net</textarea>") {
		t.Fatalf("template: %d\n%s", code, page)
	}
	code, page = julie.post(page, "/bo/dossiers/"+bin+"/reponse", url.Values{"canal": {"email"}, "destinataire": {"lea@example.net"},
		"objet": {"Votre bac"}, "message": {"Un nouveau bac sera livré jeudi."}})
	if code != 200 || !strings.Contains(page, "Réponse enregistrée") || !strings.Contains(page, "Un nouveau bac sera livré jeudi.") {
		t.Fatalf("reply: %d\n%s", code, page)
	}
	code, page = julie.post(page, "/bo/dossiers/"+bin+"/note", url.Values{"note": {"Livraison demandée au prestataire."}})
	if code != 200 || !strings.Contains(page, "Note ajoutée.") || !strings.Contains(page, "Livraison demandée au prestataire.") {
		t.Fatalf("note: %d\n%s", code, page)
	}
	code, page = julie.post(page, "/bo/dossiers/"+bin+"/reponse", url.Values{"canal": {"letter"}, "destinataire": {"Mme Léa Martinez\n12 rue Paradis\n13006 Marseille"},
		"objet": {"Votre bac"}, "message": {"Madame, votre bac arrive jeudi."}})
	pdfLink := regexp.MustCompile(`href="(/bo/dossiers/` + bin + `/courriers/[0-9a-f-]+\.pdf)"`).FindStringSubmatch(page)
	if code != 200 || pdfLink == nil {
		t.Fatalf("letter reply: %d\n%s", code, page)
	}
	if code, pdf := julie.get(pdfLink[1]); code != 200 || !strings.HasPrefix(pdf, "%PDF-") {
		t.Fatalf("letter PDF: %d", code)
	}
	if code, page := julie.post(page, "/bo/dossiers/"+bin+"/reponse", url.Values{"canal": {"pigeon"}, "destinataire": {"x"}, "message": {"y"}}); code != 422 || !strings.Contains(page, "Réponse refusée") {
		t.Fatalf("bad reply: %d", code)
	}
	tr, err := st.Store.Tracking(ctx, trackingOf(t, st, bin))
	if err != nil || len(tr.Replies) != 2 || tr.Replies[0].Message != "Un nouveau bac sera livré jeudi." {
		t.Fatalf("the citizen's status page: %+v %v", tr.Replies, err)
	}
	if code, _ := julie.get("/bo/tri"); code != 403 {
		t.Errorf("a team member on the triage queue: %d", code)
	}
	if code, _ := julie.get("/bo/dossiers/" + vague); code != 404 {
		t.Errorf("julie on a triage case: %d", code)
	}
	paul := signIn(t, srv.URL, "paul", "mot-de-passe-paul")
	if code, _ := paul.get("/bo/dossiers/" + bin); code != 404 {
		t.Errorf("another competence's case: %d", code)
	}
	// A form without its CSRF token is refused.
	resp, err := paul.client.PostForm(srv.URL+"/bo/dossiers/"+bin+"/etat", url.Values{"vers": {"in_progress"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("post without CSRF: %d", resp.StatusCode)
	}

	nadia := signIn(t, srv.URL, "nadia", "mot-de-passe-nadia")
	code, page = nadia.get("/bo/tri")
	if code != 200 || !strings.Contains(page, vague) {
		t.Fatalf("triage queue: %d\n%s", code, page)
	}
	code, page = nadia.post(page, "/bo/dossiers/"+vague+"/orienter", url.Values{"competence": {"hors_competence"}, "motif": {"demande de rappel"}, "retour": {"/bo/tri"}})
	if code != 200 || !strings.Contains(page, "Dossier "+vague+" orienté.") || strings.Contains(page, "/bo/dossiers/"+vague+`"`) {
		t.Fatalf("route from triage: %d\n%s", code, page)
	}
	c, err := st.Store.Case(ctx, vague)
	if err != nil || c.Competence != "hors_competence" || c.Events[len(c.Events)-1].Actor.ID != "nadia" {
		t.Fatalf("routed case %+v %v", c, err)
	}
	if code, page := nadia.get("/bo/dossiers?q=couvercle+arrache&state=qualified"); code != 200 || !strings.Contains(page, bin) {
		t.Errorf("search: %d\n%s", code, page)
	}
	if _, body := nadia.get("/bo/tableau"); !strings.Contains(body, "Aucun avis donné sur cette période.") {
		t.Error("the dashboard does not say no citizen answered")
	}
	// A citizen's answer (recorded as the status page does, see casestore).
	testkit.Exec(t, st.DBURL, `INSERT INTO satisfaction (case_id, thread_id, score, comment, competence, territory, channel)
		SELECT c.id, r.id, 4, 'Merci', c.competence, c.territory, r.channel FROM cases c JOIN requests r ON r.case_id = c.id WHERE c.ref = $1 LIMIT 1`, bin)
	code, page = nadia.get("/bo/tableau")
	if code != 200 || !strings.Contains(page, "Dossiers ouverts par compétence") || !strings.Contains(page, "<strong>2</strong> dossiers ouverts") ||
		!strings.Contains(page, "<th scope=\"row\">Déchets</th><td class=\"nombre\">1</td>") {
		t.Errorf("dashboard: %d\n%s", code, page)
	}
	if !strings.Contains(page, "Note moyenne <strong>4,0 sur 5</strong>, 1 avis") ||
		!strings.Contains(page, "<tr><th scope=\"row\">Déchets</th><td class=\"nombre\">1</td><td class=\"nombre\">4,0</td><td class=\"nombre\">0</td><td class=\"nombre\">0</td><td class=\"nombre\">0</td><td class=\"nombre\">1</td><td class=\"nombre\">0</td></tr>") {
		t.Errorf("dashboard without the satisfaction figures:\n%s", page)
	}
	// The queue shows what is to be dealt with; finished cases are a
	// choice away, and a search looks through them too.
	testkit.Exec(t, st.DBURL, `UPDATE cases SET state = 'redirected' WHERE ref = $1`, vague)
	for _, q := range []struct {
		path string
		want bool
	}{{"/bo/dossiers", false}, {"/bo/dossiers?state=all", true}, {"/bo/dossiers?state=redirected", true}, {"/bo/dossiers?q=parler", true},
		{"/bo/dossiers?q=parler&state=pending", false}} {
		if code, page := nadia.get(q.path); code != 200 || strings.Contains(page, "/bo/dossiers/"+vague+`"`) != q.want {
			t.Errorf("%s lists %s: %v (%d)", q.path, vague, !q.want, code)
		}
	}
	if code, _ := julie.get("/bo/tableau"); code != 403 {
		t.Errorf("a team member on the dashboard: %d", code)
	}
	// The admin reads who saw and changed what.
	if _, err := st.Auth.CreateAccount(ctx, "root", "Admin", auth.RoleAdmin, "mot-de-passe-root", nil, nil); err != nil {
		t.Fatal(err)
	}
	admin := signIn(t, srv.URL, "root", "mot-de-passe-root")
	code, page = admin.get("/bo/audit?action=case.&cible=" + bin)
	if code != 200 || !strings.Contains(page, "case.view") || !strings.Contains(page, "case.transition") || !strings.Contains(page, "julie") {
		t.Errorf("audit log: %d\n%s", code, page)
	}
	if code, _ := nadia.get("/bo/audit"); code != 403 {
		t.Errorf("a supervisor on the audit log: %d", code)
	}
}

// trackingOf finds the tracking code of a case's first request.
func trackingOf(t *testing.T, st stack.Stack, ref string) string {
	t.Helper()
	var code string
	testkit.QueryRow(t, st.DBURL, `SELECT r.tracking_code FROM requests r JOIN cases c ON c.id = r.case_id WHERE c.ref = $1 LIMIT 1`, []any{ref}, &code)
	return code
}

// Assign, split a request into its own case, merge it back and undo the
// merge — all from the case page, each an event of the history.
func TestCaseActions(t *testing.T) {
	st, srv := serve(t)
	ctx := context.Background()
	if _, err := st.Auth.CreateAccount(ctx, "julie", "Julie", auth.RoleTeam, "mot-de-passe-julie", []string{"dechets"}, nil); err != nil {
		t.Fatal(err)
	}
	first, err := st.Intake.Submit(ctx, schemas.Request{Channel: "web", Source: schemas.Source{Adapter: "test"}, Body: "Bac cassé.",
		Citizen: &schemas.Citizen{Email: "lea@example.net"}, Hints: &schemas.Hints{Competence: "dechets"}})
	if err != nil {
		t.Fatal(err)
	}
	ref := st.CaseRef(t, first.ID)
	second, err := st.Intake.Submit(ctx, schemas.Request{Channel: "web", Source: schemas.Source{Adapter: "test"}, Body: "Et les encombrants, dossier " + ref,
		Citizen: &schemas.Citizen{Email: "lea@example.net"}, Hints: &schemas.Hints{Competence: "dechets"}})
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, "linked", func() bool {
		s, err := st.Store.RequestStatus(ctx, second.ID)
		return err == nil && s.CaseRef != nil && *s.CaseRef == ref
	})
	julie := signIn(t, srv.URL, "julie", "mot-de-passe-julie")
	_, page := julie.get("/bo/dossiers/" + ref)
	code, page := julie.post(page, "/bo/dossiers/"+ref+"/attribution", url.Values{"a": {"julie"}})
	if code != 200 || !strings.Contains(page, "Attribution enregistrée.") || !strings.Contains(page, `<dt>Attribué à</dt><dd id="attribue">Julie (julie)</dd>`) {
		t.Fatalf("assign: %d\n%s", code, page)
	}
	code, page = julie.post(page, "/bo/dossiers/"+ref+"/separer", url.Values{"demande": {second.ID}, "motif": {"autre sujet"}})
	if code != 200 || !strings.Contains(page, "séparée(s) dans ce nouveau dossier") || strings.Contains(page, "<h1>Dossier "+ref+"</h1>") {
		t.Fatalf("split: %d\n%s", code, page)
	}
	newRef := regexp.MustCompile(`<h1>Dossier (AMP-\d{4}-\d+)</h1>`).FindStringSubmatch(page)[1]
	if !strings.Contains(page, `name="dans" required pattern="\s*[Aa][Mm][Pp][`) {
		t.Errorf("the merge form does not check the reference as caseref reads it:\n%s", page)
	}
	// The reference of the case that receives, as a person types it.
	code, page = julie.post(page, "/bo/dossiers/"+newRef+"/fusionner", url.Values{"dans": {" " + strings.ToLower(ref) + " "}, "motif": {"finalement le même"}})
	if code != 200 || !strings.Contains(page, "Dossier fusionné dans celui-ci.") || !strings.Contains(page, "<h1>Dossier "+ref+"</h1>") {
		t.Fatalf("merge: %d\n%s", code, page)
	}
	_, page = julie.get("/bo/dossiers/" + newRef)
	code, page = julie.post(page, "/bo/dossiers/"+newRef+"/defusionner", url.Values{"motif": {"erreur"}})
	if code != 200 || !strings.Contains(page, "Fusion annulée") || !strings.Contains(page, `data-etat="received"`) {
		t.Fatalf("unmerge: %d\n%s", code, page)
	}
	code, page = julie.post(page, "/bo/dossiers/"+newRef+"/fusionner", url.Values{"dans": {"AMP-2026-999999"}, "motif": {"x"}})
	if code != 422 || !strings.Contains(page, "introuvable") {
		t.Errorf("merge into an unknown case: %d", code)
	}
}

// Every back-office route, walked without a session, with roles that may
// not, with a team member of another competence, and with one who may.
func TestEveryPageNeedsTheRightPerson(t *testing.T) {
	st, srv := serve(t)
	ctx := context.Background()
	rc, err := st.Intake.Submit(ctx, schemas.Request{Channel: "web", Source: schemas.Source{Adapter: "test"}, Body: "Bac cassé.",
		Location: &schemas.Location{PostalCode: "13400"}, Hints: &schemas.Hints{Competence: "dechets"}})
	if err != nil {
		t.Fatal(err)
	}
	ref := st.CaseRef(t, rc.ID)
	people := map[string]person{}
	for _, a := range []struct {
		login, role string
		comp        []string
	}{
		{"agent", auth.RoleAgent, nil}, {"courrier", auth.RoleMailroom, nil}, {"voirie", auth.RoleTeam, []string{"voirie"}},
		{"dechets", auth.RoleTeam, []string{"dechets"}}, {"chef", auth.RoleSupervisor, nil}, {"admin", auth.RoleAdmin, nil},
	} {
		if _, err := st.Auth.CreateAccount(ctx, a.login, a.login, a.role, "mot-de-passe-"+a.login, a.comp, nil); err != nil {
			t.Fatal(err)
		}
		people[a.login] = signIn(t, srv.URL, a.login, "mot-de-passe-"+a.login)
	}
	noRedirect := testkit.NoRedirect()
	c := "/bo/dossiers/" + ref
	// who → status; "-" is nobody signed in.
	for _, tc := range []struct {
		method, path string
		want         map[string]int
	}{
		{"GET", "/bo/", map[string]int{"-": 302, "agent": 200, "voirie": 200}},
		{"GET", "/bo/dossiers", map[string]int{"-": 302, "courrier": 200, "dechets": 200}},
		{"GET", c, map[string]int{"-": 302, "voirie": 404, "dechets": 200, "agent": 200, "chef": 200}},
		{"GET", "/bo/tri", map[string]int{"-": 302, "agent": 403, "dechets": 403, "chef": 200}},
		{"GET", "/bo/tableau", map[string]int{"-": 302, "courrier": 403, "dechets": 403, "chef": 200, "admin": 200}},
		{"GET", "/bo/audit", map[string]int{"-": 302, "chef": 403, "admin": 200}},
		{"POST", c + "/etat", map[string]int{"-": 303, "agent": 403, "courrier": 403, "voirie": 404}},
		{"POST", c + "/orienter", map[string]int{"-": 303, "agent": 403, "voirie": 404}},
		{"POST", c + "/note", map[string]int{"-": 303, "courrier": 403, "voirie": 404}},
		{"POST", c + "/reponse", map[string]int{"-": 303, "agent": 403, "voirie": 404}},
		{"POST", c + "/attribution", map[string]int{"-": 303, "agent": 403, "voirie": 404}},
		{"POST", c + "/separer", map[string]int{"-": 303, "courrier": 403, "voirie": 404}},
		{"POST", c + "/fusionner", map[string]int{"-": 303, "agent": 403, "voirie": 404}},
		{"POST", c + "/defusionner", map[string]int{"-": 303, "agent": 403, "voirie": 404}},
	} {
		for who, want := range tc.want {
			var code int
			if who == "-" {
				req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(""))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				resp, err := noRedirect.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				code = resp.StatusCode
				if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "/bo/connexion") {
					t.Errorf("%s %s without a session: sent to %q", tc.method, tc.path, loc)
				}
			} else if tc.method == "GET" {
				code, _ = people[who].get(tc.path)
			} else {
				_, home := people[who].get("/bo/")
				code, _ = people[who].post(home, tc.path, url.Values{"vers": {"qualified"}})
			}
			if code != want {
				t.Errorf("%s %s as %s: %d, want %d", tc.method, tc.path, who, code, want)
			}
		}
	}
}
