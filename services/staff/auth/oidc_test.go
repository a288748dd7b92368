package auth_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/services/staff/auth"
	"github.com/ampmetropole/guichet/services/testkit/oidcprovider"
)

// oidcSite is Guichet with OpenID Connect sign-in against a test provider.
type oidcSite struct {
	svc *auth.Service
	b   bundle
	idp *oidcprovider.Provider
	url string
}

func newOIDCSite(t *testing.T) oidcSite {
	t.Helper()
	p := oidcprovider.Start(t, "guichet", "secret-du-client")
	var h http.Handler
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(site.Close)
	p.SetRedirectURI(site.URL + "/bo/oidc/callback")
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	svc, b := setup(t, dev, func(c *auth.Config) {
		c.OIDC = &auth.OIDCConfig{IssuerURL: p.URL(), ClientID: p.ClientID, ClientSecret: p.ClientSecret,
			RedirectURL: site.URL + "/bo/oidc/callback", HTTPClient: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
	})
	p.SetClock(b.clock.Now)
	mux := http.NewServeMux()
	svc.Register(mux)
	whoami(mux)
	mux.Handle("GET /bo/", svc.RequirePage(auth.PermCaseRead)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pr, _ := auth.FromContext(r.Context())
		fmt.Fprintf(w, "bonjour %s", pr.Name)
	})))
	h = svc.Middleware(mux)
	return oidcSite{svc: svc, b: b, idp: p, url: site.URL}
}

// signIn goes through the whole flow in browser c, starting from Guichet's
// button, and returns the answer of Guichet's callback.
func (s oidcSite) signIn(t *testing.T, c *http.Client, retour string, tamper func(callback *url.URL)) response {
	t.Helper()
	r := get(t, c, s.url+"/bo/oidc/login?retour="+url.QueryEscape(retour))
	if r.code != http.StatusFound || !strings.HasPrefix(r.header.Get("Location"), s.idp.URL()+"/authorize?") {
		t.Fatalf("start: %d to %q (%s)", r.code, r.header.Get("Location"), r.body)
	}
	r = get(t, c, r.header.Get("Location"))
	if r.code != http.StatusFound {
		t.Fatalf("provider: %d %s", r.code, r.body)
	}
	back, _ := url.Parse(r.header.Get("Location"))
	if tamper != nil {
		tamper(back)
	}
	return get(t, c, back.String())
}

func sessionCookieSet(r response) bool {
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == auth.SessionCookie && c.MaxAge >= 0 {
			return true
		}
	}
	return false
}

func TestOIDCSignIn(t *testing.T) {
	t.Parallel()
	s := newOIDCSite(t)
	ctx := context.Background()
	if _, err := s.svc.CreateAccount(ctx, "lea.martin@ampmetropole.fr", "Léa Martin", auth.RoleTeam, "", []string{"voirie"}, nil); err != nil {
		t.Fatal(err)
	}
	s.idp.Set(func(n *oidcprovider.Next) { n.Subject, n.Email = "f81d4fae-7dec-11d0", "Lea.Martin@AmpMetropole.fr" })

	// The sign-in page offers the provider.
	if r := get(t, browser(t), s.url+auth.LoginPath+"?retour=/bo/dossiers"); !strings.Contains(r.body, `href="/bo/oidc/login?retour=%2fbo%2fdossiers"`) {
		t.Fatalf("sign-in page without the provider's button: %s", r.body)
	}

	// First sign-in: by e-mail, which ties the account to the subject.
	c := browser(t)
	r := s.signIn(t, c, "/bo/dossiers?etat=ouvert", nil)
	if r.code != http.StatusSeeOther || r.header.Get("Location") != "/bo/dossiers?etat=ouvert" || !sessionCookieSet(r) {
		t.Fatalf("success: %d %v %s", r.code, r.header, r.body)
	}
	if r := get(t, c, s.url+"/bo/dossiers"); r.body != "bonjour lea.martin@ampmetropole.fr" {
		t.Fatalf("signed in as %q", r.body)
	}
	accounts, _ := s.svc.ListAccounts(ctx)
	if len(accounts) != 1 || !accounts[0].OIDCLinked {
		t.Fatalf("account not tied to the subject: %+v", accounts)
	}
	entries, _ := s.svc.AuditLog(ctx, auth.AuditFilter{Action: auth.ActionLogin}, 0)
	if len(entries) != 1 || entries[0].Details["method"] != "oidc" || entries[0].Actor != "lea.martin@ampmetropole.fr" {
		t.Fatalf("login audit %+v", entries)
	}

	// Next time by subject, even when the e-mail address changed.
	s.idp.Set(func(n *oidcprovider.Next) { n.Email = "lea.dupont@ampmetropole.fr" })
	if r := s.signIn(t, browser(t), "", nil); r.code != http.StatusSeeOther || r.header.Get("Location") != "/bo/" {
		t.Fatalf("by subject: %d %v", r.code, r.header)
	}

	// Another subject with her address does not get her account.
	s.idp.Set(func(n *oidcprovider.Next) { n.Subject, n.Email = "autre-sujet", "lea.martin@ampmetropole.fr" })
	if r := s.signIn(t, browser(t), "", nil); r.code != http.StatusForbidden || sessionCookieSet(r) {
		t.Fatalf("another subject: %d", r.code)
	}
}

func TestOIDCRefusals(t *testing.T) {
	t.Parallel()
	s := newOIDCSite(t)
	ctx := context.Background()
	if _, err := s.svc.CreateAccount(ctx, "lea.martin@ampmetropole.fr", "Léa Martin", auth.RoleTeam, "", []string{"voirie"}, nil); err != nil {
		t.Fatal(err)
	}
	mustAccount(t, s.svc, "parti@ampmetropole.fr", auth.RoleAgent, nil, nil)
	if err := s.svc.Disable(ctx, "parti@ampmetropole.fr"); err != nil {
		t.Fatal(err)
	}
	otherKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	no := false
	normal := func(n *oidcprovider.Next) {
		*n = oidcprovider.Next{Subject: "sujet-lea", Email: "lea.martin@ampmetropole.fr", Lifetime: 5 * time.Minute}
	}
	tests := []struct {
		name   string
		idp    func(n *oidcprovider.Next)
		tamper func(u *url.URL)
		clock  time.Duration // moved between leaving for the provider and coming back
		code   int
		text   string
	}{
		{name: "wrong nonce", idp: func(n *oidcprovider.Next) { n.Nonce = "un-autre-nonce" }, code: 401, text: "Connexion non vérifiée"},
		{name: "wrong audience", idp: func(n *oidcprovider.Next) { n.Audience = "une-autre-application" }, code: 401, text: "Connexion non vérifiée"},
		{name: "expired token", idp: func(n *oidcprovider.Next) { n.Lifetime = -time.Minute }, code: 401, text: "Connexion non vérifiée"},
		{name: "signed with another key", idp: func(n *oidcprovider.Next) { n.SignWith = otherKey }, code: 401, text: "Connexion non vérifiée"},
		{name: "unknown user", idp: func(n *oidcprovider.Next) { n.Subject, n.Email = "sujet-inconnu", "inconnu@ampmetropole.fr" }, code: 403,
			text: "aucun compte Guichet ne vous est ouvert"},
		{name: "unknown user without e-mail", idp: func(n *oidcprovider.Next) { n.Subject, n.Email = "sujet-sans-courriel", "" }, code: 403,
			text: "ne sont pas créés automatiquement"},
		{name: "e-mail not verified", idp: func(n *oidcprovider.Next) { n.EmailVerified = &no }, code: 403, text: "aucun compte Guichet"},
		{name: "disabled account", idp: func(n *oidcprovider.Next) { n.Subject, n.Email = "sujet-parti", "parti@ampmetropole.fr" }, code: 403, text: "désactivé"},
		{name: "provider refuses", idp: func(n *oidcprovider.Next) { n.Refuse = "access_denied" }, code: 401, text: "Connexion refusée"},
		{name: "state changed", tamper: func(u *url.URL) {
			q := u.Query()
			q.Set("state", "etat-forge")
			u.RawQuery = q.Encode()
		}, code: 400, text: "Connexion expirée"},
		{name: "code changed", tamper: func(u *url.URL) {
			q := u.Query()
			q.Set("code", "code-forge")
			u.RawQuery = q.Encode()
		}, code: 401, text: "Connexion non vérifiée"},
		{name: "too slow", clock: 11 * time.Minute, code: 400, text: "Connexion expirée"},
	}
	for _, tt := range tests {
		s.idp.Set(normal)
		if tt.idp != nil {
			s.idp.Set(tt.idp)
		}
		tamper := tt.tamper
		if tt.clock != 0 {
			tamper = func(*url.URL) { s.b.clock.Advance(tt.clock) }
		}
		c := browser(t)
		r := s.signIn(t, c, "/bo/dossiers", tamper)
		if r.code != tt.code || !strings.Contains(r.body, tt.text) || sessionCookieSet(r) {
			t.Errorf("%s: %d, want %d with %q: %s", tt.name, r.code, tt.code, tt.text, r.body)
		}
		if r := get(t, c, s.url+"/moi"); r.code != http.StatusUnauthorized {
			t.Errorf("%s: signed in after all", tt.name)
		}
	}
	// Nobody was created, nobody was tied to a subject.
	accounts, _ := s.svc.ListAccounts(ctx)
	if len(accounts) != 2 || accounts[0].OIDCLinked || accounts[1].OIDCLinked {
		t.Fatalf("accounts after the refusals: %+v", accounts)
	}
	entries, _ := s.svc.AuditLog(ctx, auth.AuditFilter{Action: auth.ActionLoginFailed}, 0)
	reasons := map[string]int{}
	for _, e := range entries {
		reasons[fmt.Sprint(e.Details["method"], "/", e.Details["reason"])]++
	}
	if reasons["oidc/unknown"] != 3 || reasons["oidc/disabled"] != 1 || len(entries) != 4 {
		t.Fatalf("refusals audited: %v", reasons)
	}

	// A callback without the state cookie (another browser) is refused.
	s.idp.Set(normal)
	r := get(t, browser(t), s.url+"/bo/oidc/login")
	r = get(t, browser(t), r.header.Get("Location"))
	if r := get(t, browser(t), r.header.Get("Location")); r.code != 400 {
		t.Fatalf("callback without the cookie: %d", r.code)
	}
	// The flow still works after all that.
	if r := s.signIn(t, browser(t), "", nil); r.code != http.StatusSeeOther {
		t.Fatalf("after the refusals: %d %s", r.code, r.body)
	}
}

func TestOIDCNotConfigured(t *testing.T) {
	t.Parallel()
	svc, _ := setup(t, dev)
	srv := server(t, svc, nil)
	for _, p := range []string{"/bo/oidc/login", "/bo/oidc/callback?code=x&state=y"} {
		if r := get(t, browser(t), srv.URL+p); r.code != http.StatusNotFound {
			t.Errorf("%s without OpenID Connect: %d", p, r.code)
		}
	}
}

// When the provider is away, sign-in says so; it works once it is back.
func TestOIDCProviderAway(t *testing.T) {
	t.Parallel()
	s := newOIDCSite(t)
	s.idp.Close()
	if r := get(t, browser(t), s.url+"/bo/oidc/login"); r.code != http.StatusServiceUnavailable || !strings.Contains(r.body, "ne répond pas") {
		t.Fatalf("provider away: %d %s", r.code, r.body)
	}
}
