package auth_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/ampmetropole/guichet/services/staff/auth"
)

// idp is a small OpenID Connect provider: discovery, keys, an
// authorization endpoint that signs the user in at once and sends back a
// code, and a token endpoint that checks the client, the code and PKCE and
// returns an RS256 ID token. Its fields say what the next ID token says.
type idp struct {
	t            *testing.T
	srv          *httptest.Server
	key          *rsa.PrivateKey
	clientID     string
	clientSecret string
	redirectURI  string
	now          func() time.Time

	mu            sync.Mutex
	codes         map[string]grant
	subject       string
	email         string
	emailVerified *bool
	audience      string          // "": the client id
	nonce         string          // "": the nonce asked for
	lifetime      time.Duration   // of the ID token; negative: expired
	signWith      *rsa.PrivateKey // nil: the published key
	refuse        string          // an error to send back instead of a code
}

type grant struct{ nonce, challenge, redirectURI string }

func newIdP(t *testing.T) *idp {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &idp{t: t, key: key, clientID: "guichet", clientSecret: "secret-du-client", codes: map[string]grant{}, lifetime: 5 * time.Minute}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /jwks", p.jwks)
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

// set changes what the next ID tokens say.
func (p *idp) set(f func(p *idp)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(p)
}

func (p *idp) discovery(w http.ResponseWriter, r *http.Request) {
	json.NewEncoder(w).Encode(map[string]any{
		"issuer":                                p.srv.URL,
		"authorization_endpoint":                p.srv.URL + "/authorize",
		"token_endpoint":                        p.srv.URL + "/token",
		"jwks_uri":                              p.srv.URL + "/jwks",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
	})
}

func (p *idp) jwks(w http.ResponseWriter, r *http.Request) {
	json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &p.key.PublicKey, KeyID: "cle-1", Algorithm: string(jose.RS256), Use: "sig"}}})
}

func (p *idp) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != p.clientID || q.Get("response_type") != "code" || !strings.Contains(q.Get("scope"), "openid") ||
		q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" || q.Get("state") == "" ||
		q.Get("redirect_uri") != p.redirectURI {
		http.Error(w, "bad authorization request: "+r.URL.RawQuery, http.StatusBadRequest)
		return
	}
	back, _ := url.Parse(q.Get("redirect_uri"))
	v := url.Values{"state": {q.Get("state")}}
	p.mu.Lock()
	if p.refuse != "" {
		v.Set("error", p.refuse)
	} else {
		code := rand.Text()
		p.codes[code] = grant{nonce: q.Get("nonce"), challenge: q.Get("code_challenge"), redirectURI: q.Get("redirect_uri")}
		v.Set("code", code)
	}
	p.mu.Unlock()
	back.RawQuery = v.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func (p *idp) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	tokenError := func(status int, code string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"error": code})
	}
	if id != p.clientID || secret != p.clientSecret {
		tokenError(401, "invalid_client")
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	g, ok := p.codes[r.PostForm.Get("code")]
	delete(p.codes, r.PostForm.Get("code"))
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if !ok || r.PostForm.Get("grant_type") != "authorization_code" || r.PostForm.Get("redirect_uri") != g.redirectURI ||
		base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
		tokenError(400, "invalid_grant")
		return
	}
	now := p.now()
	claims := map[string]any{"iss": p.srv.URL, "sub": p.subject, "aud": p.clientID, "iat": now.Unix(),
		"exp": now.Add(p.lifetime).Unix(), "nonce": g.nonce, "name": "Léa Martin"}
	if p.audience != "" {
		claims["aud"] = p.audience
	}
	if p.nonce != "" {
		claims["nonce"] = p.nonce
	}
	if p.email != "" {
		claims["email"] = p.email
	}
	if p.emailVerified != nil {
		claims["email_verified"] = *p.emailVerified
	}
	key := p.key
	if p.signWith != nil {
		key = p.signWith
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: "cle-1"}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		p.t.Error(err)
		return
	}
	payload, _ := json.Marshal(claims)
	jws, err := signer.Sign(payload)
	if err != nil {
		p.t.Error(err)
		return
	}
	idToken, _ := jws.CompactSerialize()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"access_token": rand.Text(), "token_type": "Bearer", "expires_in": 300, "id_token": idToken})
}

// oidcSite is Guichet with OpenID Connect sign-in against a test provider.
type oidcSite struct {
	svc *auth.Service
	b   bundle
	idp *idp
	url string
}

func newOIDCSite(t *testing.T) oidcSite {
	t.Helper()
	p := newIdP(t)
	var h http.Handler
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(site.Close)
	p.redirectURI = site.URL + "/bo/oidc/callback"
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	svc, b := setup(t, dev, func(c *auth.Config) {
		c.OIDC = &auth.OIDCConfig{IssuerURL: p.srv.URL, ClientID: p.clientID, ClientSecret: p.clientSecret,
			RedirectURL: p.redirectURI, HTTPClient: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
	})
	p.now = b.clock.Now
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
	if r.code != http.StatusFound || !strings.HasPrefix(r.header.Get("Location"), s.idp.srv.URL+"/authorize?") {
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
	s.idp.set(func(p *idp) { p.subject, p.email = "f81d4fae-7dec-11d0", "Lea.Martin@AmpMetropole.fr" })

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
	s.idp.set(func(p *idp) { p.email = "lea.dupont@ampmetropole.fr" })
	if r := s.signIn(t, browser(t), "", nil); r.code != http.StatusSeeOther || r.header.Get("Location") != "/bo/" {
		t.Fatalf("by subject: %d %v", r.code, r.header)
	}

	// Another subject with her address does not get her account.
	s.idp.set(func(p *idp) { p.subject, p.email = "autre-sujet", "lea.martin@ampmetropole.fr" })
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
	normal := func(p *idp) {
		p.subject, p.email, p.emailVerified, p.audience, p.nonce, p.lifetime, p.signWith, p.refuse =
			"sujet-lea", "lea.martin@ampmetropole.fr", nil, "", "", 5*time.Minute, nil, ""
	}
	tests := []struct {
		name   string
		idp    func(p *idp)
		tamper func(u *url.URL)
		clock  time.Duration // moved between leaving for the provider and coming back
		code   int
		text   string
	}{
		{name: "wrong nonce", idp: func(p *idp) { p.nonce = "un-autre-nonce" }, code: 401, text: "Connexion non vérifiée"},
		{name: "wrong audience", idp: func(p *idp) { p.audience = "une-autre-application" }, code: 401, text: "Connexion non vérifiée"},
		{name: "expired token", idp: func(p *idp) { p.lifetime = -time.Minute }, code: 401, text: "Connexion non vérifiée"},
		{name: "signed with another key", idp: func(p *idp) { p.signWith = otherKey }, code: 401, text: "Connexion non vérifiée"},
		{name: "unknown user", idp: func(p *idp) { p.subject, p.email = "sujet-inconnu", "inconnu@ampmetropole.fr" }, code: 403,
			text: "aucun compte Guichet ne vous est ouvert"},
		{name: "unknown user without e-mail", idp: func(p *idp) { p.subject, p.email = "sujet-sans-courriel", "" }, code: 403,
			text: "ne sont pas créés automatiquement"},
		{name: "e-mail not verified", idp: func(p *idp) { p.emailVerified = &no }, code: 403, text: "aucun compte Guichet"},
		{name: "disabled account", idp: func(p *idp) { p.subject, p.email = "sujet-parti", "parti@ampmetropole.fr" }, code: 403, text: "désactivé"},
		{name: "provider refuses", idp: func(p *idp) { p.refuse = "access_denied" }, code: 401, text: "Connexion refusée"},
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
		s.idp.set(normal)
		if tt.idp != nil {
			s.idp.set(tt.idp)
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
	s.idp.set(normal)
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
	s.idp.srv.Close()
	if r := get(t, browser(t), s.url+"/bo/oidc/login"); r.code != http.StatusServiceUnavailable || !strings.Contains(r.body, "ne répond pas") {
		t.Fatalf("provider away: %d %s", r.code, r.body)
	}
}
