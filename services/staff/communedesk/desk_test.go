package communedesk_test

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
	"github.com/ampmetropole/guichet/services/outbound/notify"
	"github.com/ampmetropole/guichet/services/platform/mailer"
	"github.com/ampmetropole/guichet/services/platform/staffshell"
	"github.com/ampmetropole/guichet/services/staff/auth"
	"github.com/ampmetropole/guichet/services/staff/communedesk"
	"github.com/ampmetropole/guichet/services/testkit"
	"github.com/ampmetropole/guichet/services/testkit/stack"
)

func TestMain(m *testing.M) { testkit.Main(m) }

const (
	gardanne = "13041"
	cassis   = "13022"
)

// desk is the mairies' desk behind the real sign-in, on a stack whose
// router classifies with the shipped model, and a notifier writing its
// mail to an outbox.
type desk struct {
	st   stack.Stack
	srv  *httptest.Server
	mail *mailer.Outbox
}

func password(login string) string { return "mot de passe de " + login + " assez long" }

func serve(t *testing.T) desk {
	t.Helper()
	ctx := context.Background()
	st := stack.New(t, stack.Options{Router: true, Model: true})
	d, err := communedesk.New(communedesk.Deps{Guard: st.Auth, Store: st.Store, Intake: st.Intake, Catalogue: st.Catalogue,
		Places: st.Places, Log: testkit.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	st.Auth.Register(mux)
	mux.Handle("GET "+staffshell.AssetsPath, staffshell.Assets())
	mux.Handle(communedesk.Base, d)
	mux.Handle(communedesk.Base+"/", d)
	srv := httptest.NewServer(st.Auth.Middleware(mux))
	t.Cleanup(srv.Close)
	for login, communes := range map[string][]string{"gardanne": {gardanne}, "cassis": {cassis}} {
		if _, err := st.Auth.CreateCommuneAccount(ctx, login, "Accueil "+login, password(login), communes); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.Auth.CreateAccount(ctx, "julie", "Julie", auth.RoleTeam, password("julie"), []string{"voirie"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Auth.CreateAccount(ctx, "root", "Root", auth.RoleAdmin, password("root"), nil, nil); err != nil {
		t.Fatal(err)
	}
	mail, err := mailer.NewOutbox(t.TempDir(), "Métropole <ne-pas-repondre@example.org>")
	if err != nil {
		t.Fatal(err)
	}
	n, err := notify.New(notify.Config{PublicURL: "https://demarches.example.org"}, st.Conn, st.Store, mail, st.Catalogue, st.Validator, testkit.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Stop)
	return desk{st: st, srv: srv, mail: mail}
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
	resp, err := c.PostForm(d.srv.URL+auth.LoginPath, url.Values{"identifiant": {login}, "mot_de_passe": {password(login)}, "retour": {communedesk.Base}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") == auth.LoginPath {
		t.Fatalf("%s not signed in: %d %s", login, resp.StatusCode, resp.Header.Get("Location"))
	}
	return person{t: t, base: d.srv.URL, client: c}
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
var nonceField = regexp.MustCompile(`name="cle" value="([^"]+)"`)

// post sends form with the CSRF token of page ("": none); it returns the
// status, the body and the redirect's location.
func (p person) post(page, path string, form url.Values) (int, string, string) {
	p.t.Helper()
	if m := csrfField.FindStringSubmatch(page); m != nil {
		form.Set(auth.CSRFField, m[1])
	}
	resp, err := p.client.PostForm(p.base+path, form)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header.Get("Location")
}

// submit files a web request located in a commune and waits for its case;
// it returns the case and the request's tracking code.
func (d desk) submit(t *testing.T, insee, postal, subject, body, name string) (string, string) {
	t.Helper()
	ref, rc := d.st.Route(t, schemas.Request{Channel: schemas.ChannelWeb, Source: schemas.Source{Adapter: "test"}, Subject: subject, Body: body,
		Citizen:  &schemas.Citizen{Name: name, Email: strings.NewReplacer(" ", ".", "é", "e").Replace(strings.ToLower(name)) + "@example.net"},
		Location: &schemas.Location{Address: "3 avenue de la Libération", PostalCode: postal, CommuneINSEE: insee}})
	return ref, rc.TrackingCode
}

// TestTwoCommunesNeverSeeEachOther: each mairie lists, opens and counts the
// cases located in its own commune only; the other's are not found; a case
// filed by the Métropole's channels shows its state and team, never the
// citizen's data.
func TestTwoCommunesNeverSeeEachOther(t *testing.T) {
	d := serve(t)
	inGardanne, _ := d.submit(t, gardanne, "13120", "Nid-de-poule", "Un nid-de-poule profond sur la chaussée avenue de la Libération, dangereux pour les vélos.", "Hortense Valbonne")
	inCassis, _ := d.submit(t, cassis, "13260", "Lampadaire éteint", "Le lampadaire devant chez moi est éteint depuis une semaine, la rue est dans le noir.", "Aristide Bellegarde")

	g, c := d.signIn(t, "gardanne"), d.signIn(t, "cassis")
	for _, tc := range []struct {
		who         person
		mine, other string
		otherName   string
	}{{g, inGardanne, inCassis, "Aristide"}, {c, inCassis, inGardanne, "Hortense"}} {
		code, list := tc.who.get("/mairie/dossiers")
		if code != http.StatusOK || !strings.Contains(list, tc.mine) || strings.Contains(list, tc.other) {
			t.Fatalf("list %d: has own %s %v, has other %s %v", code, tc.mine, strings.Contains(list, tc.mine), tc.other, strings.Contains(list, tc.other))
		}
		code, page := tc.who.get("/mairie/dossiers/" + tc.mine)
		if code != http.StatusOK || !strings.Contains(page, "Service en charge") {
			t.Fatalf("own case %d", code)
		}
		// Filed through the Métropole's web form: the state and the team,
		// not the citizen.
		if strings.Contains(page, "@example.net") || strings.Contains(page, "Hortense") || strings.Contains(page, "Aristide") || strings.Contains(page, "nid-de-poule profond") {
			t.Errorf("a case filed elsewhere shows someone's data to the mairie:\n%s", page)
		}
		if code, page := tc.who.get("/mairie/dossiers/" + tc.other); code != http.StatusNotFound || strings.Contains(page, tc.otherName) {
			t.Errorf("the other commune's case %s: %d", tc.other, code)
		}
		if code, page := tc.who.get("/mairie"); code != http.StatusOK || strings.Contains(page, tc.other) {
			t.Errorf("dashboard %d, other's case on it: %v", code, strings.Contains(page, tc.other))
		}
	}
	// Figures: each dashboard counts one open case.
	figs, err := d.st.Store.CommuneDashboard(context.Background(), []string{gardanne}, time.Now().Add(-time.Hour))
	if err != nil || figs.Open != 1 {
		t.Errorf("Gardanne's figures %+v %v", figs, err)
	}
}

// TestCounterRequestGetsAReceipt: the front desk files a request for a
// citizen who came in; it gets a tracking code at once (the receipt page),
// goes through the same intake and router, is acknowledged by e-mail like
// any channel, and the mairie reads it in full. Posted twice, it is one
// request. The other commune sees neither the receipt nor the case.
func TestCounterRequestGetsAReceipt(t *testing.T) {
	d := serve(t)
	g := d.signIn(t, "gardanne")
	_, form := g.get("/mairie/accueil")
	nonce := nonceField.FindStringSubmatch(form)
	if nonce == nil {
		t.Fatal("no form key on the counter form")
	}
	v := url.Values{"cle": {nonce[1]}, "commune": {gardanne}, "competence": {""}, "objet": {"Fuite d'eau"},
		"description": {"Une fuite d'eau sur le trottoir devant l'école, l'eau coule depuis ce matin sur la chaussée."},
		"adresse":     {"12 boulevard Bontemps"}, "code_postal": {"13120"}, "nom": {"Germaine Roustan"},
		"courriel": {"germaine.roustan@example.net"}, "telephone": {"06 12 34 56 78"}, "reponse": {"email"}}
	code, _, loc := g.post(form, "/mairie/accueil", v)
	if code != http.StatusSeeOther || !strings.HasPrefix(loc, "/mairie/accueil/") {
		t.Fatalf("counter post: %d %q", code, loc)
	}
	id := strings.TrimPrefix(loc, "/mairie/accueil/")
	code, receipt := g.get(loc)
	tr, err := d.st.Store.RequestStatus(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if code != http.StatusOK || !strings.Contains(receipt, "Récépissé de dépôt") || !strings.Contains(receipt, tr.TrackingCode) {
		t.Fatalf("receipt %d, tracking code %q:\n%s", code, tr.TrackingCode, receipt)
	}
	// Sent again (a double click): the same request.
	code, _, again := g.post(form, "/mairie/accueil", v)
	if code != http.StatusSeeOther || again != loc {
		t.Errorf("posted twice: %d %q, want %q", code, again, loc)
	}
	ref := d.st.CaseRef(t, id)
	req, err := d.st.Store.Request(context.Background(), id)
	if err != nil || req.Channel != schemas.ChannelCounter || req.Source.System != casestore.CounterSystem(gardanne) || req.Source.OperatorID != "gardanne" ||
		req.Citizen.Phone != "+33612345678" || req.Location.CommuneINSEE != gardanne {
		t.Errorf("request %+v %v", req, err)
	}
	// The same acknowledgement as every channel.
	testkit.Eventually(t, 10*time.Second, "acknowledgement", func() bool {
		for _, m := range mustList(t, d.mail) {
			if m.To == "germaine.roustan@example.net" && strings.Contains(m.Subject, "Accusé de réception de votre demande déposée en mairie") && strings.Contains(m.Body, tr.TrackingCode) {
				return true
			}
		}
		return false
	})
	// Filed at its counter: the mairie reads it in full.
	if code, page := g.get("/mairie/dossiers/" + ref); code != http.StatusOK || !strings.Contains(page, "Germaine Roustan") || !strings.Contains(page, "germaine.roustan@example.net") {
		t.Errorf("the mairie's own counter request %d", code)
	}
	c := d.signIn(t, "cassis")
	if code, _ := c.get(loc); code != http.StatusNotFound {
		t.Errorf("another mairie opened the receipt: %d", code)
	}
	if code, _ := c.get("/mairie/dossiers/" + ref); code != http.StatusNotFound {
		t.Errorf("another mairie opened the case: %d", code)
	}
}

// TestCommunalMatterHandedOver: a request outside the Métropole's remit that
// names a communal matter (neighbours' noise) is redirected by the router
// to the mairie of its commune; the mairie gets a handoff e-mail without
// anyone's data, reads the request in full on its desk, and the citizen is
// told their mairie takes it over. A Métropole matter in the same commune
// stays with the Métropole.
func TestCommunalMatterHandedOver(t *testing.T) {
	d := serve(t)
	ctx := context.Background()
	if err := d.st.Store.SetCommuneContact(ctx, gardanne, "accueil@mairie-gardanne.example.fr", "test"); err != nil {
		t.Fatal(err)
	}
	noise, code := d.submit(t, gardanne, "13120", "Voisins bruyants", "Bonjour, mes voisins font du tapage nocturne toutes les nuits, musique à fond jusqu'à trois heures du matin. Que faire ?", "Léonce Papazian")
	pothole, _ := d.submit(t, gardanne, "13120", "Nid-de-poule", "Un nid-de-poule profond sur la chaussée avenue de la Libération, dangereux pour les vélos.", "Léonce Papazian")
	f, err := d.st.Store.CaseFile(ctx, noise)
	if err != nil || f.State != "redirected" {
		t.Fatalf("the noise case is %q (%v), want redirected", f.State, err)
	}
	if p, _ := d.st.Store.CaseFile(ctx, pothole); p.State == "redirected" {
		t.Errorf("a Métropole matter was handed over to the mairie")
	}
	var handoff, told mailer.Stored
	testkit.Eventually(t, 15*time.Second, "handoff and notice", func() bool {
		for _, m := range mustList(t, d.mail) {
			switch {
			case m.To == "accueil@mairie-gardanne.example.fr" && strings.Contains(m.Subject, noise):
				handoff = m
			case m.To == "leonce.papazian@example.net" && strings.Contains(m.Body, "la mairie de Gardanne, à qui nous l'avons transmise"):
				told = m
			}
		}
		return handoff.ID != "" && told.ID != ""
	})
	if !strings.Contains(handoff.Body, "/mairie/dossiers/"+noise) || !strings.Contains(handoff.Body, "bruit de voisinage") ||
		strings.Contains(handoff.Body, "Papazian") || strings.Contains(handoff.Body, "tapage") {
		t.Errorf("handoff e-mail:\n%s", handoff.Body)
	}
	// The citizen's status page says where the request went.
	if tr, err := d.st.Store.Tracking(ctx, code); err != nil || tr.RedirectTo != "la mairie de Gardanne" || !tr.HandedOver {
		t.Errorf("the citizen's status: %+v %v", tr, err)
	}
	g := d.signIn(t, "gardanne")
	if code, page := g.get("/mairie"); code != http.StatusOK || !strings.Contains(page, noise) {
		t.Errorf("the handed-over case is not on the mairie's dashboard (%d)", code)
	}
	if code, page := g.get("/mairie/dossiers/" + noise); code != http.StatusOK || !strings.Contains(page, "Léonce Papazian") || !strings.Contains(page, "tapage nocturne") {
		t.Errorf("the mairie cannot read the request handed over to it (%d)", code)
	}
	if code, page := g.get("/mairie/dossiers?filtre=transmis"); code != http.StatusOK || !strings.Contains(page, noise) || strings.Contains(page, pothole) {
		t.Errorf("handed-over list %d", code)
	}
	c := d.signIn(t, "cassis")
	if code, _ := c.get("/mairie/dossiers/" + noise); code != http.StatusNotFound {
		t.Errorf("Cassis opened Gardanne's handoff: %d", code)
	}
}

// TestDeskAbuse: no session, the wrong role, a forged or missing CSRF
// token, oversized and malformed input.
func TestDeskAbuse(t *testing.T) {
	d := serve(t)
	anon := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, path := range []string{"/mairie", "/mairie/dossiers", "/mairie/accueil"} {
		resp, err := anon.Get(d.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 3 || !strings.HasPrefix(resp.Header.Get("Location"), auth.LoginPath) {
			t.Errorf("%s without a session: %d %s", path, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	// Staff of the Métropole are not a mairie: an admin neither (no commune).
	for _, login := range []string{"julie", "root"} {
		if code, _ := d.signIn(t, login).get("/mairie"); code != http.StatusForbidden {
			t.Errorf("%s on the mairie's desk: %d", login, code)
		}
	}
	g := d.signIn(t, "gardanne")
	_, form := g.get("/mairie/accueil")
	good := func() url.Values {
		return url.Values{"commune": {gardanne}, "description": {"Un trou dans la chaussée."}, "nom": {"Alix Brun"}, "courriel": {"alix@example.net"}, "reponse": {"email"}}
	}
	if code, _, _ := g.post("", "/mairie/accueil", good()); code != http.StatusForbidden {
		t.Errorf("counter post without CSRF token: %d", code)
	}
	big := good()
	big.Set("description", strings.Repeat("x", 70<<10))
	if code, _, _ := g.post(form, "/mairie/accueil", big); code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized counter post: %d", code)
	}
	for _, tc := range []struct {
		field, value, want string
	}{
		{"commune", cassis, "Commune : choisissez"},
		{"description", "", "Description de la demande : à remplir"},
		{"courriel", "pas une adresse", "Courriel : une seule adresse"},
		{"telephone", "12", "pas un numéro de téléphone"},
		{"code_postal", "13260", "ne correspond pas à la commune"},
		{"competence", "piscines", "choisissez un domaine de la liste"},
		{"reponse", "pigeon", "Réponse souhaitée"},
		{"nom", "Alix\x00Brun", "caractère non permis"},
	} {
		v := good()
		v.Set(tc.field, tc.value)
		code, page, _ := g.post(form, "/mairie/accueil", v)
		if code != http.StatusUnprocessableEntity || !strings.Contains(page, tc.want) {
			t.Errorf("%s=%q: %d, want 422 with %q", tc.field, tc.value, code, tc.want)
		}
	}
	for _, path := range []string{"/mairie/dossiers/AMP-2026-99999999", "/mairie/dossiers/%27%20OR%201%3D1", "/mairie/accueil/pas-un-uuid", "/mairie/accueil/01900000-0000-7000-8000-000000000000", "/mairie/inconnu"} {
		if code, _ := g.get(path); code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, code)
		}
	}
	if code, page := g.get("/mairie/dossiers?page=-3&filtre=%00"); code != http.StatusOK || !strings.Contains(page, "Aucun dossier") {
		t.Errorf("malformed list query: %d", code)
	}
}

func mustList(t *testing.T, o *mailer.Outbox) []mailer.Stored {
	t.Helper()
	list, err := o.List(context.Background(), 200)
	if err != nil {
		t.Fatal(err)
	}
	return list
}
