package webform_test

import (
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/services/testkit/oidcprovider"
)

// fcSignIn goes through FranceConnect in browser c, from the button to
// the provider and back, and returns Guichet's answer to the return.
func (s espSite) fcSignIn(t *testing.T, c *http.Client, tamper func(back *url.URL)) espResponse {
	t.Helper()
	r := espDo(t, c, s.url+"/mes-demandes/franceconnect", nil, nil)
	if r.code != http.StatusFound || !strings.HasPrefix(r.location(), s.idp.URL()+"/authorize?") {
		t.Fatalf("start: %d to %q (%s)", r.code, r.location(), r.body)
	}
	r = espDo(t, c, r.location(), nil, nil)
	if r.code != http.StatusFound {
		t.Fatalf("provider: %d %s", r.code, r.body)
	}
	back, err := url.Parse(r.location())
	if err != nil {
		t.Fatal(err)
	}
	if tamper != nil {
		tamper(back)
	}
	return espDo(t, c, back.String(), nil, nil)
}

func sessionSet(r espResponse) bool {
	c := espCookie(r, "guichet_mes_demandes")
	return c != nil && c.MaxAge >= 0 && c.Value != ""
}

// Léa signs in with FranceConnect: the flow asks for what FranceConnect
// wants (scopes, eidas1, PKCE, state, nonce), her address comes from the
// userinfo endpoint, her requests are listed; signing out ends her
// FranceConnect session too, with the ID token as id_token_hint.
func TestSpaceFranceConnect(t *testing.T) {
	s := espSetup(t, espOptions{franceConnect: true})
	q := espScene(t, s.st)
	s.idp.Set(func(n *oidcprovider.Next) {
		*n = oidcprovider.Next{Subject: "fc-lea", Email: "Lea.Martinez@Example.net", EmailInUserInfo: true,
			Claims: map[string]any{"given_name": "Léa", "family_name": "Martinez"}}
	})
	c := espBrowser(t)
	if r := espDo(t, c, s.url+"/mes-demandes/connexion", nil, nil); !strings.Contains(r.body, `href="/mes-demandes/franceconnect"`) {
		t.Fatalf("no FranceConnect button: %s", r.body)
	}
	r := s.fcSignIn(t, c, nil)
	if r.code != http.StatusSeeOther || r.location() != "/mes-demandes?bienvenue=1" || !sessionSet(r) {
		t.Fatalf("sign-in: %d %q %s", r.code, r.location(), r.body)
	}
	auths := s.idp.Authorizations()
	if len(auths) != 1 {
		t.Fatalf("%d authorization requests", len(auths))
	}
	a := auths[0]
	if a.Get("scope") != "openid email given_name family_name" || a.Get("acr_values") != "eidas1" || a.Get("code_challenge_method") != "S256" ||
		a.Get("nonce") == "" || a.Get("state") == "" || a.Get("redirect_uri") != s.url+"/mes-demandes/franceconnect/retour" {
		t.Errorf("authorization request %v", a)
	}
	list := espDo(t, c, s.url+"/mes-demandes", nil, nil)
	if got := listed(list.body); !sameSet(got, []string{q.web, q.letter}) {
		t.Errorf("Léa by FranceConnect sees %v, want %s and %s", got, q.web, q.letter)
	}
	if !strings.Contains(list.body, "lea.martinez@example.net</strong>, par FranceConnect") {
		t.Errorf("the page does not say how she signed in: %s", list.body)
	}
	if csp := list.header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' "+s.idp.URL()+";") {
		t.Errorf("the sign-out form may not lead to FranceConnect's logout: %s", csp)
	}

	// Sign-out: to FranceConnect's logout, and back.
	r = espDo(t, c, s.url+"/mes-demandes/deconnexion", url.Values{}, nil)
	if r.code != http.StatusSeeOther || !strings.HasPrefix(r.location(), s.idp.URL()+"/logout?") {
		t.Fatalf("sign-out: %d %q", r.code, r.location())
	}
	r = espDo(t, c, r.location(), nil, nil)
	if r.code != http.StatusFound || !strings.HasPrefix(r.location(), s.url+"/mes-demandes/deconnecte?state=") {
		t.Fatalf("provider's logout: %d %q", r.code, r.location())
	}
	if r := espDo(t, c, r.location(), nil, nil); r.code != http.StatusOK || !strings.Contains(r.body, "déconnecté(e)") {
		t.Errorf("back from the logout: %d", r.code)
	}
	outs := s.idp.Logouts()
	if len(outs) != 1 || strings.Count(outs[0].Get("id_token_hint"), ".") != 2 || outs[0].Get("state") == "" ||
		outs[0].Get("post_logout_redirect_uri") != s.url+"/mes-demandes/deconnecte" {
		t.Errorf("logout request %v", outs)
	}
	if r := espDo(t, c, s.url+"/mes-demandes", nil, nil); r.code != http.StatusSeeOther {
		t.Errorf("still signed in: %d", r.code)
	}

	// The address in the ID token itself does as well.
	s.idp.Set(func(n *oidcprovider.Next) { n.EmailInUserInfo = false })
	c = espBrowser(t)
	if r := s.fcSignIn(t, c, nil); r.code != http.StatusSeeOther || !sessionSet(r) {
		t.Fatalf("address in the ID token: %d %s", r.code, r.body)
	}
	if got := listed(espDo(t, c, s.url+"/mes-demandes", nil, nil).body); !sameSet(got, []string{q.web, q.letter}) {
		t.Errorf("Léa by FranceConnect (ID token) sees %v", got)
	}
}

// Every way a FranceConnect return can be wrong ends without a session.
func TestSpaceFranceConnectRefusals(t *testing.T) {
	s := espSetup(t, espOptions{franceConnect: true})
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	no := false
	normal := func(n *oidcprovider.Next) {
		*n = oidcprovider.Next{Subject: "fc-lea", Email: "lea.martinez@example.net", EmailInUserInfo: true}
	}
	setParam := func(k, v string) func(u *url.URL) {
		return func(u *url.URL) {
			q := u.Query()
			q.Set(k, v)
			u.RawQuery = q.Encode()
		}
	}
	tests := []struct {
		name   string
		next   func(n *oidcprovider.Next)
		tamper func(u *url.URL)
		code   int
		text   string
	}{
		{name: "state changed", tamper: setParam("state", "etat-forge"), code: 400, text: "Connexion expirée"},
		{name: "code changed", tamper: setParam("code", "code-forge"), code: 401, text: "Connexion non vérifiée"},
		{name: "nonce not the one sent", next: func(n *oidcprovider.Next) { n.Nonce = "un-autre-nonce" }, code: 401, text: "Connexion non vérifiée"},
		{name: "sign-in refused", next: func(n *oidcprovider.Next) { n.Refuse = "access_denied" }, code: 401, text: "Connexion refusée"},
		{name: "level below eidas1", next: func(n *oidcprovider.Next) { n.ACR = "eidas0" }, code: 401, text: "Connexion non vérifiée"},
		{name: "ID token expired", next: func(n *oidcprovider.Next) { n.Lifetime = -time.Minute }, code: 401, text: "Connexion non vérifiée"},
		{name: "another audience", next: func(n *oidcprovider.Next) { n.Audience = "une-autre-application" }, code: 401, text: "Connexion non vérifiée"},
		{name: "signed with another key", next: func(n *oidcprovider.Next) { n.SignWith = otherKey }, code: 401, text: "Connexion non vérifiée"},
		{name: "address not verified", next: func(n *oidcprovider.Next) { n.EmailVerified = &no }, code: 403, text: "Adresse e-mail manquante"},
		{name: "no address", next: func(n *oidcprovider.Next) { n.Email = "" }, code: 403, text: "Adresse e-mail manquante"},
	}
	for _, tt := range tests {
		s.idp.Set(normal)
		if tt.next != nil {
			s.idp.Set(tt.next)
		}
		c := espBrowser(t)
		r := s.fcSignIn(t, c, tt.tamper)
		if r.code != tt.code || !strings.Contains(r.body, tt.text) || sessionSet(r) {
			t.Errorf("%s: %d, want %d with %q: %s", tt.name, r.code, tt.code, tt.text, r.body)
		}
		if r := espDo(t, c, s.url+"/mes-demandes", nil, nil); r.code != http.StatusSeeOther {
			t.Errorf("%s: signed in after all", tt.name)
		}
	}
	// A return without the state cookie (another browser) is refused.
	s.idp.Set(normal)
	r := espDo(t, espBrowser(t), s.url+"/mes-demandes/franceconnect", nil, nil)
	r = espDo(t, espBrowser(t), r.location(), nil, nil)
	if r := espDo(t, espBrowser(t), r.location(), nil, nil); r.code != http.StatusBadRequest || sessionSet(r) {
		t.Errorf("return without the cookie: %d", r.code)
	}
	// The flow still works after all that.
	if r := s.fcSignIn(t, espBrowser(t), nil); r.code != http.StatusSeeOther || !sessionSet(r) {
		t.Fatalf("after the refusals: %d %s", r.code, r.body)
	}
	// FranceConnect away: said so.
	s.idp.Close()
	s2 := espSetup(t, espOptions{franceConnect: true})
	s2.idp.Close()
	if r := espDo(t, espBrowser(t), s2.url+"/mes-demandes/franceconnect", nil, nil); r.code != http.StatusServiceUnavailable || !strings.Contains(r.body, "ne répond pas") {
		t.Errorf("FranceConnect away: %d %s", r.code, r.body)
	}
}
