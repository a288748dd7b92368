package webhookdesk_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/outbound/webhook"
	"github.com/ampmetropole/guichet/services/platform/staffshell"
	"github.com/ampmetropole/guichet/services/staff/auth"
	"github.com/ampmetropole/guichet/services/staff/webhookdesk"
	"github.com/ampmetropole/guichet/services/testkit"
	"github.com/ampmetropole/guichet/services/testkit/stack"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// partner is a partner's endpoint that the test turns on and off: 503
// while down, 204 for a request whose signature its secret verifies.
type partner struct {
	srv    *httptest.Server
	up     atomic.Bool
	mu     sync.Mutex
	secret string
	got    []string // webhook-ids verified
}

func newPartner(t *testing.T) *partner {
	p := &partner{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !p.up.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		wh, err := standardwebhooks.NewWebhook(p.secret)
		if err == nil {
			err = wh.Verify(body, r.Header)
		}
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		p.got = append(p.got, r.Header.Get("webhook-id"))
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *partner) received() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.got...)
}

// desk is a test back end with the desk behind the real sign-in, accounts
// of several roles, the webhook service sending with a short schedule,
// and a partner.
type desk struct {
	st      stack.Stack
	srv     *httptest.Server
	store   *webhook.Store
	partner *partner
}

var accounts = []struct{ login, role string }{
	{"root", auth.RoleAdmin}, {"nadia", auth.RoleSupervisor}, {"ines", auth.RoleAgent}, {"julie", auth.RoleTeam},
}

func password(login string) string { return "mot de passe de " + login + " assez long" }

func serve(t *testing.T) desk {
	t.Helper()
	st := stack.New(t, stack.Options{Router: true})
	store := webhook.NewStore(st.Store.DB(), webhook.Rules{AllowHTTP: true, Catalogue: st.Catalogue, Places: st.Places})
	svc, err := webhook.New(webhook.Config{PublicURL: "https://guichet.example.org", Backoff: []time.Duration{100 * time.Millisecond, 100 * time.Millisecond},
		Poll: 100 * time.Millisecond, Metrics: prometheus.NewRegistry()}, st.Conn, store, testkit.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Stop)
	d, err := webhookdesk.New(webhookdesk.Deps{Guard: st.Auth, Store: store, Catalogue: st.Catalogue, Places: st.Places, Requeued: svc.Kick, Log: testkit.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	st.Auth.Register(mux)
	mux.Handle("GET "+staffshell.AssetsPath, staffshell.Assets())
	mux.Handle(webhookdesk.Base, d)
	mux.Handle(webhookdesk.Base+"/", d)
	srv := httptest.NewServer(st.Auth.Middleware(mux))
	t.Cleanup(srv.Close)
	for _, a := range accounts {
		var comps []string
		if a.role == auth.RoleTeam {
			comps = []string{"voirie"}
		}
		if _, err := st.Auth.CreateAccount(context.Background(), a.login, strings.ToUpper(a.login[:1])+a.login[1:], a.role, password(a.login), comps, nil); err != nil {
			t.Fatal(err)
		}
	}
	return desk{st: st, srv: srv, store: store, partner: newPartner(t)}
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
	resp, err := c.PostForm(d.srv.URL+auth.LoginPath, url.Values{"identifiant": {login}, "mot_de_passe": {password(login)}, "retour": {webhookdesk.Base}})
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
	if loc := resp.Header.Get("Location"); resp.StatusCode == http.StatusSeeOther && strings.HasPrefix(loc, webhookdesk.Base) {
		return p.get(loc)
	}
	return resp.StatusCode, string(b), resp.Header
}

func wants(t *testing.T, what, page string, parts ...string) {
	t.Helper()
	page = html.UnescapeString(page)
	for _, s := range parts {
		if !strings.Contains(page, s) {
			t.Errorf("%s lacks %q", what, s)
		}
	}
}

func (d desk) count(t *testing.T) int {
	t.Helper()
	subs, err := d.store.Subscriptions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return len(subs)
}

func (d desk) audited(t *testing.T, action string) []auth.AuditEntry {
	t.Helper()
	es, err := d.st.Auth.AuditLog(context.Background(), auth.AuditFilter{Action: action}, 100)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// TestDeskRefusesWhoAndWhatItShould: only admins reach the desk; nobody
// signed in is sent to sign in, supervisors, agents and teams get 403; a
// form without the session's CSRF token is refused; a malformed,
// oversized or plain-http public address, an oversized name or form get a
// French answer, and nothing is stored.
func TestDeskRefusesWhoAndWhatItShould(t *testing.T) {
	d := serve(t)
	anon := person{t: t, base: d.srv.URL, client: testkit.NoRedirect()}
	if code, _, hd := anon.get(webhookdesk.Base); (code != http.StatusFound && code != http.StatusSeeOther) || !strings.HasPrefix(hd.Get("Location"), auth.LoginPath) {
		t.Errorf("nobody signed in: %d %s", code, hd.Get("Location"))
	}
	good := func() url.Values {
		return url.Values{"nom": {"Partenaire"}, "url": {"https://partenaire.example.fr/hooks"}}
	}
	if code, _, hd := anon.post("", webhookdesk.Base, good()); !(code == http.StatusForbidden ||
		(code == http.StatusFound || code == http.StatusSeeOther) && strings.HasPrefix(hd.Get("Location"), auth.LoginPath)) {
		t.Errorf("nobody signed in, a creation: %d %s", code, hd.Get("Location"))
	}
	for _, login := range []string{"nadia", "ines", "julie"} {
		p := d.signIn(t, login)
		for _, path := range []string{webhookdesk.Base, webhookdesk.Base + "/nouveau", webhookdesk.Base + "/1"} {
			if code, _, _ := p.get(path); code != http.StatusForbidden {
				t.Errorf("%s, %s: %d, want 403", login, path, code)
			}
		}
		if code, _, _ := p.post("", webhookdesk.Base, good()); code != http.StatusForbidden {
			t.Errorf("%s, a creation: %d, want 403", login, code)
		}
	}
	if n := d.count(t); n != 0 {
		t.Fatalf("%d subscriptions stored by people who may not", n)
	}

	p := d.signIn(t, "root")
	code, form, _ := p.get(webhookdesk.Base + "/nouveau")
	if code != http.StatusOK {
		t.Fatalf("the form: %d", code)
	}
	if code, _, _ := p.post("", webhookdesk.Base, good()); code != http.StatusForbidden {
		t.Errorf("a creation without the CSRF token: %d, want 403", code)
	}
	if code, _, _ := p.get(webhookdesk.Base + "/nulle-part"); code != http.StatusNotFound {
		t.Errorf("an unknown page: %d", code)
	}
	if code, _, _ := p.get(webhookdesk.Base + "/999"); code != http.StatusNotFound {
		t.Errorf("an unknown subscription: %d", code)
	}
	for _, tc := range []struct {
		name   string
		edit   func(url.Values)
		status int
		id     string
		says   string
	}{
		{"malformed URL", func(f url.Values) { f.Set("url", "partenaire.example.fr/hooks") }, 422, "url", "n'est pas une URL web valable"},
		{"no URL", func(f url.Values) { f.Set("url", " ") }, 422, "url", "Indiquez l'adresse (URL)"},
		{"public http", func(f url.Values) { f.Set("url", "http://partenaire.example.fr/hooks") }, 422, "url", "doit commencer par https://"},
		{"credentials", func(f url.Values) { f.Set("url", "https://moi:motdepasse@partenaire.example.fr/") }, 422, "url", "ni de mot de passe"},
		{"oversized URL", func(f url.Values) { f.Set("url", "https://partenaire.example.fr/"+strings.Repeat("a", 3000)) }, 413, "url", "trop longue"},
		{"no name", func(f url.Values) { f.Set("nom", "") }, 422, "nom", "Donnez un nom"},
		{"oversized name", func(f url.Values) { f.Set("nom", strings.Repeat("N", 101)) }, 413, "nom", "Le nom est trop long"},
		{"unknown commune", func(f url.Values) { f.Set("communes", "Aubagne, Lyon") }, 422, "communes", "Commune inconnue dans la Métropole : « Lyon »"},
		{"unknown competence", func(f url.Values) { f["competences"] = []string{"voirie", "astrologie"} }, 422, "competences", "astrologie"},
	} {
		f := good()
		tc.edit(f)
		code, body, _ := p.post(form, webhookdesk.Base, f)
		if code != tc.status {
			t.Errorf("%s: %d, want %d", tc.name, code, tc.status)
		}
		wants(t, tc.name, body, `<a href="#`+tc.id+`">`, tc.says, `id="`+tc.id+`"`, "L'abonnement n'a pas été créé", `value="`+html.EscapeString(f.Get("nom"))[:min(5, len(f.Get("nom")))])
	}
	if code, body, _ := p.post(form, webhookdesk.Base, url.Values{"nom": {"x"}, "url": {strings.Repeat("a", 70<<10)}}); code != http.StatusRequestEntityTooLarge || !strings.Contains(body, "trop") {
		t.Errorf("an oversized form: %d\n%s", code, body)
	}
	if n := d.count(t); n != 0 {
		t.Fatalf("%d subscriptions stored from refused forms", n)
	}
	if es := d.audited(t, "webhook."); len(es) != 0 {
		t.Errorf("refusals audited as changes: %+v", es)
	}
	// The name is unique.
	if code, _, _ := p.post(form, webhookdesk.Base, good()); code != http.StatusCreated {
		t.Fatalf("a good form: %d", code)
	}
	if code, body, _ := p.post(form, webhookdesk.Base, good()); code != http.StatusConflict || !strings.Contains(html.UnescapeString(body), "Un abonnement porte déjà ce nom") {
		t.Errorf("the same name again: %d", code)
	}
	if n := d.count(t); n != 1 {
		t.Errorf("%d subscriptions", n)
	}
}

var secretOnPage = regexp.MustCompile(`value="(whsec_[A-Za-z0-9+/=&#;]+)"`)

// TestDeskFlow: an admin subscribes the partner (the secret shown once,
// the one the deliveries are signed with); its event dies while the
// partner is away; « Relancer » sends it again; the subscription is
// disabled. Every change is in the audit log.
func TestDeskFlow(t *testing.T) {
	d := serve(t)
	p := d.signIn(t, "root")
	_, form, _ := p.get(webhookdesk.Base + "/nouveau")
	wants(t, "the form", form, "Nouvel abonnement", "Voirie", "Pays d'Aix", "Dossier créé", `name="communes"`)
	code, page, hd := p.post(form, webhookdesk.Base, url.Values{"nom": {"Mairie d'Aix – voirie"}, "url": {d.partner.srv.URL + "/guichet"},
		"competences": {"voirie"}, "communes": {"aix-en-provence"}, "evenements": {schemas.EventCreated}})
	if code != http.StatusCreated || hd.Get("Cache-Control") != "no-store" {
		t.Fatalf("creation: %d %q", code, hd.Get("Cache-Control"))
	}
	m := secretOnPage.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no secret on the page:\n%s", page)
	}
	m[1] = html.UnescapeString(m[1])
	wants(t, "the secret page", page, "il ne sera plus jamais affiché", "Mairie d'Aix – voirie")
	d.partner.mu.Lock()
	d.partner.secret = m[1]
	d.partner.mu.Unlock()
	subs, err := d.store.Subscriptions(context.Background())
	if err != nil || len(subs) != 1 {
		t.Fatalf("%v %v", subs, err)
	}
	sub := subs[0]
	if sub.Communes[0] != "13001" || sub.Competences[0] != "voirie" || sub.CreatedBy != "root" {
		t.Errorf("stored: %+v", sub)
	}
	if es := d.audited(t, webhookdesk.ActionCreate); len(es) != 1 || es[0].Actor != "root" || strings.Contains(es[0].Details["url"].(string), "whsec_") {
		t.Errorf("the creation's audit: %+v", es)
	}
	subPath := webhookdesk.Base + "/" + itoa(sub.ID)
	_, shown, _ := p.get(subPath)
	if strings.Contains(shown, m[1]) {
		t.Error("the secret is shown again")
	}
	wants(t, "the subscription", shown, "Aix-en-Provence (13001)", "Voirie", "Dossier créé", "Aucun envoi abandonné")

	// The partner is away: the delivery dies.
	ref, _ := d.st.Route(t, schemas.Request{Channel: schemas.ChannelWeb, Subject: "Nid-de-poule", Body: "Rue Espariat.",
		Hints: &schemas.Hints{Competence: "voirie"}, Location: &schemas.Location{CommuneINSEE: "13001"}})
	testkit.Eventually(t, 20*time.Second, "the delivery dead", func() bool {
		ds, err := d.store.Deliveries(context.Background(), sub.ID, webhook.StatusDead, 10)
		return err == nil && len(ds) == 1
	})
	_, shown, _ = p.get(subPath)
	wants(t, "the subscription with a dead delivery", shown, "Envois abandonnés", ref, "HTTP 503", "Relancer", "abandonné")
	_, list, _ := p.get(webhookdesk.Base)
	wants(t, "the list", list, "Mairie d'Aix – voirie", "<strong>Échec</strong> (HTTP 503)", "envois abandonnés de Mairie d'Aix – voirie")

	// « Relancer », without then with the form's token.
	dead, _ := d.store.Deliveries(context.Background(), sub.ID, webhook.StatusDead, 10)
	action := subPath + "/envois/" + dead[0].ID + "/relancer"
	d.partner.up.Store(true)
	if code, _, _ := p.post("", action, url.Values{}); code != http.StatusForbidden {
		t.Errorf("« Relancer » without the CSRF token: %d", code)
	}
	code, shown, _ = p.post(shown, action, url.Values{})
	if code != http.StatusOK {
		t.Fatalf("« Relancer »: %d", code)
	}
	wants(t, "after « Relancer »", shown, "L'envoi est remis dans la file")
	testkit.Eventually(t, 10*time.Second, "the delivery sent again", func() bool { return len(d.partner.received()) == 1 })
	if got := d.partner.received(); got[0] != dead[0].ID {
		t.Errorf("received %v", got)
	}
	if es := d.audited(t, webhookdesk.ActionRequeue); len(es) != 1 || es[0].Details["webhook_id"] != dead[0].ID || es[0].Target != "webhook "+itoa(sub.ID) {
		t.Errorf("the requeue's audit: %+v", es)
	}
	if code, _, _ := p.post(shown, action, url.Values{}); code != http.StatusNotFound {
		t.Errorf("« Relancer » a delivered one: %d", code)
	}

	// Disabled: nothing more is sent.
	code, shown, _ = p.post(shown, subPath+"/desactiver", url.Values{})
	if code != http.StatusOK {
		t.Fatalf("disable: %d", code)
	}
	wants(t, "disabled", shown, "L'abonnement est désactivé", "par root")
	if strings.Contains(shown, "Désactiver l'abonnement") {
		t.Error("the disable button is still there")
	}
	if es := d.audited(t, webhookdesk.ActionDisable); len(es) != 1 {
		t.Errorf("the disabling's audit: %+v", es)
	}
	d.st.Route(t, schemas.Request{Channel: schemas.ChannelWeb, Subject: "Autre trou", Body: "Cours Mirabeau.",
		Hints: &schemas.Hints{Competence: "voirie"}, Location: &schemas.Location{CommuneINSEE: "13001"}})
	time.Sleep(time.Second)
	if ds, _ := d.store.Deliveries(context.Background(), sub.ID, "", 10); len(ds) != 1 {
		t.Errorf("a disabled subscription got %d deliveries", len(ds))
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
