package rgpddesk_test

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
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/deadline"
	"github.com/ampmetropole/guichet/services/cases/personaldata"
	"github.com/ampmetropole/guichet/services/cases/retention"
	"github.com/ampmetropole/guichet/services/platform/frtime"
	"github.com/ampmetropole/guichet/services/platform/staffshell"
	"github.com/ampmetropole/guichet/services/staff/auth"
	"github.com/ampmetropole/guichet/services/staff/rgpddesk"
	"github.com/ampmetropole/guichet/services/testkit"
	"github.com/ampmetropole/guichet/services/testkit/stack"
)

func TestMain(m *testing.M) { testkit.Main(m) }

const (
	email = "zephyrin.quenouille@example.net"
	name  = "Zéphyrin Quenouille-Arbogast"
)

// desk is a test back end with the desk behind the real sign-in, accounts
// of every role, and one person's open case.
type desk struct {
	st   stack.Stack
	srv  *httptest.Server
	open string // the person's case, open
}

var accounts = []struct{ login, role string }{
	{"dpd", auth.RoleDPO}, {"root", auth.RoleAdmin}, {"nadia", auth.RoleSupervisor}, {"ines", auth.RoleAgent},
	{"julie", auth.RoleTeam}, {"marc", auth.RoleMailroom},
}

func password(login string) string { return "mot de passe de " + login + " assez long" }

func serve(t *testing.T) desk {
	t.Helper()
	st := stack.New(t, stack.Options{Router: true})
	officer := personaldata.NewOfficer(personaldata.NewExporter(st.Store.DB(), st.Catalogue, st.Places),
		retention.New(st.Store.DB(), st.Catalogue, testkit.Logger(t)), personaldata.BuildRegister(st.Catalogue, personaldata.RegisterConfig{}))
	d, err := rgpddesk.New(rgpddesk.Deps{Guard: st.Auth, Officer: officer, Catalogue: st.Catalogue, Log: testkit.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	st.Auth.Register(mux)
	mux.Handle("GET "+staffshell.AssetsPath, staffshell.Assets())
	mux.Handle(rgpddesk.Base, d)
	mux.Handle(rgpddesk.Base+"/", d)
	srv := httptest.NewServer(st.Auth.Middleware(mux))
	t.Cleanup(srv.Close)
	for _, a := range accounts {
		var comps []string
		if a.role == auth.RoleTeam {
			comps = []string{personaldata.Competence}
		}
		if _, err := st.Auth.CreateAccount(context.Background(), a.login, strings.ToUpper(a.login[:1])+a.login[1:], a.role, password(a.login), comps, nil); err != nil {
			t.Fatal(err)
		}
	}
	open, _ := st.Route(t, schemas.Request{Channel: schemas.ChannelWeb, Subject: "Nid-de-poule", Body: "Devant le 37 impasse des Tamaris-Bleus.\nDangereux.",
		Citizen: &schemas.Citizen{Name: name, Email: email, Phone: "+33756123456"}, Hints: &schemas.Hints{Competence: "voirie"}})
	return desk{st: st, srv: srv, open: open}
}

type person struct {
	t      testing.TB
	base   string
	client *http.Client
}

func (d desk) signIn(t testing.TB, login string) person {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 15 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(d.srv.URL+auth.LoginPath, url.Values{"identifiant": {login}, "mot_de_passe": {password(login)}, "retour": {rgpddesk.Base}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") == auth.LoginPath {
		t.Fatalf("%s not signed in: %d %s", login, resp.StatusCode, resp.Header.Get("Location"))
	}
	return person{t: t, base: d.srv.URL, client: c}
}

func (p person) get(path string) (int, string, http.Header) {
	p.t.Helper()
	resp, err := p.client.Get(p.base + path)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

var csrfField = regexp.MustCompile(`name="` + auth.CSRFField + `" value="([^"]+)"`)

// post sends form with the CSRF token of page ("": none) and follows a
// 303 within the desk.
func (p person) post(page, path string, form url.Values) (int, string, http.Header) {
	p.t.Helper()
	if page != "" {
		m := csrfField.FindStringSubmatch(page)
		if m == nil {
			p.t.Fatalf("no CSRF token on the page")
		}
		form.Set(auth.CSRFField, m[1])
	}
	resp, err := p.client.PostForm(p.base+path, form)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if loc := resp.Header.Get("Location"); resp.StatusCode == http.StatusSeeOther && strings.HasPrefix(loc, rgpddesk.Base) {
		return p.get(loc)
	}
	return resp.StatusCode, string(b), resp.Header
}

func wants(t *testing.T, what, page string, parts ...string) {
	t.Helper()
	for _, s := range parts {
		if !strings.Contains(page, s) {
			t.Errorf("%s lacks %q", what, s)
		}
	}
}

// Only the data protection officer and admins reach the desk: nobody
// signed in is sent to sign in, the other roles get 403; a form without
// the session's CSRF token, an unknown page, a form too large, and every
// mistake in a form get a French answer, and nothing is done.
func TestDeskRefusesWhoAndWhatItShould(t *testing.T) {
	d := serve(t)
	// The DPO's scope is the catalogue's competence of the requests
	// about personal data.
	if auth.DPOCompetence != personaldata.Competence || !d.st.Catalogue.Known(personaldata.Competence) ||
		!(auth.Principal{Role: auth.RoleDPO}).SeesCase(personaldata.Competence, "pays-d-aix") {
		t.Fatalf("the DPO's competence %q is not the catalogue's %q", auth.DPOCompetence, personaldata.Competence)
	}
	anon := person{t: t, base: d.srv.URL, client: testkit.NoRedirect()}
	if code, _, hd := anon.get(rgpddesk.Base); (code != http.StatusFound && code != http.StatusSeeOther) || !strings.HasPrefix(hd.Get("Location"), auth.LoginPath) {
		t.Errorf("nobody signed in: %d %s", code, hd.Get("Location"))
	}
	if code, body, hd := anon.post("", rgpddesk.Base+"/personne", url.Values{"par": {"email"}, "valeur": {email}}); strings.Contains(body, "Tamaris") ||
		!(code == http.StatusForbidden || (code == http.StatusFound || code == http.StatusSeeOther) && strings.HasPrefix(hd.Get("Location"), auth.LoginPath)) {
		t.Errorf("nobody signed in, a search: %d %s", code, hd.Get("Location"))
	}
	for _, login := range []string{"nadia", "ines", "julie", "marc"} {
		p := d.signIn(t, login)
		if code, _, _ := p.get(rgpddesk.Base); code != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", login, code)
		}
		if code, _, _ := p.get(rgpddesk.Base + "/registre"); code != http.StatusForbidden {
			t.Errorf("%s, the register: %d, want 403", login, code)
		}
		if code, body, _ := p.post("", rgpddesk.Base+"/personne", url.Values{"par": {"email"}, "valeur": {email}}); code != http.StatusForbidden || strings.Contains(body, "Tamaris") {
			t.Errorf("%s, a search: %d", login, code)
		}
	}
	if code, _, _ := d.signIn(t, "root").get(rgpddesk.Base); code != http.StatusOK {
		t.Errorf("an admin: %d", code)
	}
	p := d.signIn(t, "dpd")
	code, page, _ := p.get(rgpddesk.Base)
	if code != http.StatusOK {
		t.Fatalf("the DPO: %d", code)
	}
	if code, body, _ := p.post("", rgpddesk.Base+"/personne", url.Values{"par": {"email"}, "valeur": {email}}); code != http.StatusForbidden || strings.Contains(body, "Tamaris") {
		t.Errorf("a search without the CSRF token: %d", code)
	}
	if code, _, _ := p.get(rgpddesk.Base + "/nulle-part"); code != http.StatusNotFound {
		t.Errorf("an unknown page: %d", code)
	}
	if code, _, _ := p.post(page, rgpddesk.Base+"/personne", url.Values{"par": {"email"}, "valeur": {strings.Repeat("a", 20000)}}); code != http.StatusRequestEntityTooLarge {
		t.Errorf("a form too large: %d, want 413", code)
	}
	for _, tc := range []struct {
		form url.Values
		id   string
		says string
	}{
		{url.Values{"par": {"email"}, "valeur": {""}}, "valeur", "Indiquez l&#39;adresse électronique"},
		{url.Values{"valeur": {email}}, "par-email", "Choisissez comment chercher"},
		{url.Values{"par": {"email"}, "valeur": {"pas une adresse"}}, "valeur", "Adresse électronique invalide"},
		{url.Values{"par": {"telephone"}, "valeur": {"12"}}, "valeur", "Numéro de téléphone invalide"},
		{url.Values{"par": {"nom"}, "valeur": {"Lé"}}, "valeur", "Nom trop court"},
		{url.Values{"par": {"nom"}, "valeur": {"Léa\x00Martin"}}, "valeur", "non permis"},
	} {
		code, body, _ := p.post(page, rgpddesk.Base+"/personne", tc.form)
		if code != http.StatusUnprocessableEntity {
			t.Errorf("search %v: %d, want 422", tc.form, code)
		}
		wants(t, "the refused search", body, `<a href="#`+tc.id+`">`, tc.says)
		if tc.id == "valeur" {
			wants(t, "the refused search", body, `aria-invalid="true" aria-describedby="valeur-erreur"`)
		}
	}
	for _, tc := range []struct {
		path string
		form url.Values
		code int
		says string
	}{
		{"/gels", url.Values{"dossier": {"pas-une-ref"}, "motif": {"x"}}, 422, `<a href="#gel-dossier">`},
		{"/gels", url.Values{"dossier": {d.open}}, 422, `<a href="#gel-motif">`},
		{"/gels", url.Values{"dossier": {"AMP-2019-999999"}, "motif": {"contentieux"}}, 422, "n&#39;existe pas"},
		{"/gels/" + d.open + "/lever", url.Values{"motif": {"fin"}}, 409, "n&#39;est pas sous conservation"},
		{"/gels/nimporte/lever", url.Values{"motif": {"fin"}}, 404, ""},
		{"/conservation", url.Values{"date": {"demain"}}, 422, `<a href="#simulation-date">`},
		{"/effacer", url.Values{"par": {"email"}, "valeur": {email}}, 422, `<a href="#motif">`},
		{"/personne/telecharger", url.Values{"par": {"email"}, "valeur": {email}, "format": {"pdf"}}, 400, "JSON ou texte"},
	} {
		code, body, _ := p.post(page, rgpddesk.Base+tc.path, tc.form)
		if code != tc.code || !strings.Contains(body, tc.says) {
			t.Errorf("%s %v: %d, want %d saying %q", tc.path, tc.form, code, tc.code, tc.says)
		}
	}
	code, body, _ := p.post(page, rgpddesk.Base+"/effacer", url.Values{"par": {"email"}, "valeur": {email}, "motif": {"demande"}})
	if code != 422 || !strings.Contains(body, `<a href="#confirmation">`) {
		t.Errorf("an erasure not confirmed: %d", code)
	}
	if c, err := d.st.Store.Case(context.Background(), d.open); err != nil || !strings.Contains(c.Events[0].Summary, "Nid-de-poule") {
		t.Fatalf("a refused form changed the case: %v", err)
	}
}

// The DPO's day: find a person, read and download what is held, see an
// erasure refused while a case is open, hold and release a case, simulate
// the schedule, read the register, and erase once the case is closed;
// each act is in the audit log.
func TestDeskFlow(t *testing.T) {
	d := serve(t)
	ctx := context.Background()
	p := d.signIn(t, "dpd")
	_, page, _ := p.get(rgpddesk.Base)
	wants(t, "the desk", page, "<h1>Données personnelles</h1>", "Chercher une personne", "Aucun dossier n'est gelé.",
		"Identité et coordonnées des usagers", "Lire le registre des activités de traitement")

	person := url.Values{"par": {"email"}, "valeur": {" Zephyrin.Quenouille@Example.net "}}
	code, found, _ := p.post(page, rgpddesk.Base+"/personne", person)
	if code != 200 {
		t.Fatalf("search: %d", code)
	}
	wants(t, "the person's page", found, "Données de l&#39;adresse électronique "+email, name, "07 56 12 34 56", "Devant le 37 impasse des Tamaris-Bleus.",
		d.open, "Télécharger le document à lui envoyer (texte)", "Un effacement serait refusé aujourd'hui", "encore ouvert")
	if strings.Contains(found, "?valeur=") || strings.Contains(found, "par=email&") {
		t.Error("the person's address is put in a URL")
	}
	for format, want := range map[string]string{"json": `"schema": "guichet.personal-data.v1"`, "texte": "Données personnelles détenues par la Métropole"} {
		resp, err := p.client.PostForm(p.base+rgpddesk.Base+"/personne/telecharger", url.Values{"par": {"email"}, "valeur": {email}, "format": {format},
			auth.CSRFField: {csrfField.FindStringSubmatch(found)[1]}})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") || !strings.Contains(string(b), want) {
			t.Errorf("download %s: %d %s", format, resp.StatusCode, resp.Header.Get("Content-Disposition"))
		}
	}

	// The erasure: confirmation, then refused with the reason.
	code, confirm, _ := p.post(found, rgpddesk.Base+"/effacement", url.Values{"par": {"email"}, "valeur": {email}})
	wants(t, "the confirmation", confirm, "Effacer les données de", "L'effacement sera refusé", d.open, "Effacer définitivement")
	code, refused, _ := p.post(confirm, rgpddesk.Base+"/effacer", url.Values{"par": {"email"}, "valeur": {email}, "motif": {"demande du 3 mars"}, "confirmation": {"oui"}})
	if code != http.StatusConflict {
		t.Errorf("an erasure with an open case: %d", code)
	}
	wants(t, "the refusal", refused, "<h1>Effacement refusé</h1>", d.open, "Rien n'a été effacé")

	// Holds.
	code, held, _ := p.post(page, rgpddesk.Base+"/gels", url.Values{"dossier": {strings.ToLower(d.open)}, "motif": {"recours n° 27-0042"}})
	if code != 200 {
		t.Fatalf("hold: %d", code)
	}
	wants(t, "the desk after a hold", held, "Le dossier est gelé", d.open+"</strong>, gelé le", "recours n° 27-0042", `id="lever-`+d.open+`"`)
	code, again, _ := p.post(held, rgpddesk.Base+"/gels", url.Values{"dossier": {d.open}, "motif": {"encore"}})
	if code != 422 || !strings.Contains(again, "déjà sous conservation") {
		t.Errorf("hold twice: %d", code)
	}
	code, body, _ := p.post(held, rgpddesk.Base+"/gels/"+d.open+"/lever", url.Values{"motif": {""}})
	if code != 422 || !strings.Contains(body, `<a href="#lever-`+d.open+`">`) {
		t.Errorf("release without a reason: %d", code)
	}
	code, released, _ := p.post(held, rgpddesk.Base+"/gels/"+d.open+"/lever", url.Values{"motif": {"recours rejeté"}})
	if code != 200 || !strings.Contains(released, "Le gel est levé") || !strings.Contains(released, "Aucun dossier n'est gelé.") {
		t.Errorf("release: %d", code)
	}

	// The simulation and the register.
	if _, err := d.st.Store.Transition(ctx, casestore.TransitionRequest{Ref: d.open, To: "rejected", Role: auth.RoleTeam,
		Change: casestore.Change{Actor: "julie", Reason: "hors sujet"}}, deadline.New(frtime.Paris())); err != nil {
		t.Fatal(err)
	}
	code, sim, _ := p.post(page, rgpddesk.Base+"/conservation", url.Values{"date": {"2040-01-01"}})
	if code != 200 {
		t.Fatalf("simulation: %d", code)
	}
	wants(t, "the simulation", sim, "Au 1er janvier 2040, les durées de conservation effaceraient 1 dossier(s)", d.open, "Rien n'a été effacé.")
	code, reg, _ := p.get(rgpddesk.Base + "/registre")
	if code != 200 {
		t.Fatalf("register: %d", code)
	}
	wants(t, "the register", reg, "<h1>Registre des activités de traitement</h1>", "Délégué à la protection des données", "Direction de la voirie",
		"non configuré : aucun SMS n&#39;est envoyé")
	for path, ctype := range map[string]string{"/registre.md": "text/markdown", "/registre.json": "application/json"} {
		if code, _, hd := p.get(rgpddesk.Base + path); code != 200 || !strings.HasPrefix(hd.Get("Content-Type"), ctype) {
			t.Errorf("%s: %d %s", path, code, hd.Get("Content-Type"))
		}
	}

	// The erasure, the case closed.
	code, done, _ := p.post(confirm, rgpddesk.Base+"/effacer", url.Values{"par": {"email"}, "valeur": {email}, "motif": {"demande du 3 mars"}, "confirmation": {"oui"}})
	if code != 200 {
		t.Fatalf("erase: %d\n%s", code, done)
	}
	wants(t, "the erasure", done, "<h1>Données effacées</h1>", "1 dossier(s)", d.open)
	_, after, _ := p.post(page, rgpddesk.Base+"/personne", person)
	if strings.Contains(after, "Tamaris") || strings.Contains(after, "Quenouille-Arbogast") || !strings.Contains(after, "Aucune donnée n'est détenue") {
		t.Errorf("after the erasure the page still shows the person")
	}

	entries, err := d.st.Auth.AuditLog(ctx, auth.AuditFilter{Actor: "dpd"}, 200)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, a := range entries {
		seen[a.Action]++
	}
	for _, action := range []string{personaldata.ActionExport, personaldata.ActionEraseRefused, personaldata.ActionRetention, "rgpd.hold", "rgpd.release", "rgpd.erase"} {
		if seen[action] == 0 {
			t.Errorf("no %s in the audit log (%v)", action, seen)
		}
	}
	if seen[personaldata.ActionExport] < 4 {
		t.Errorf("%d exports audited: the page and both downloads each count", seen[personaldata.ActionExport])
	}
}
