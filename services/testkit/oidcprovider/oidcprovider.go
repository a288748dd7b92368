// Package oidcprovider is a small OpenID Connect provider for tests, written
// by hand from the specifications rather than with the client library the
// code under test uses: discovery, a key set, an authorization endpoint that
// signs the user in at once and sends back a code, a token endpoint that
// checks the client, the code, the redirect URI and PKCE and returns an
// RS256 ID token, a userinfo endpoint, and an end-session endpoint. What the
// next ID tokens say (and what is wrong with them) is set with Set; the
// authorization and logout requests it received are kept for the tests to
// read. The staff's sign-in (services/staff/auth) and the citizens'
// FranceConnect sign-in (services/channels/web/webform) are tested with it.
package oidcprovider

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Next is what the provider's next sign-ins say, and what is wrong with them.
type Next struct {
	Subject       string
	Email         string
	EmailVerified *bool          // nil: the claim is left out
	Claims        map[string]any // more claims, in the ID token and from userinfo (given_name, family_name…)
	// EmailInUserInfo keeps the e-mail address (and Claims) out of the ID
	// token: only the userinfo endpoint gives them, as FranceConnect does.
	EmailInUserInfo bool
	Audience        string          // "": the client id
	Nonce           string          // "": the nonce asked for
	ACR             string          // "": the acr_values asked for, if any
	Lifetime        time.Duration   // of the ID token (0: 5 minutes); negative: expired
	SignWith        *rsa.PrivateKey // nil: the published key
	Refuse          string          // an error to send back instead of a code (access_denied…)
}

// Provider is a running test provider; the test's cleanup stops it.
type Provider struct {
	// ClientID and ClientSecret are the one client the provider knows.
	ClientID, ClientSecret string

	t   testing.TB
	srv *httptest.Server
	key *rsa.PrivateKey

	mu             sync.Mutex
	now            func() time.Time
	redirectURI    string
	next           Next
	codes          map[string]grant
	userinfo       map[string]map[string]any // access token → its claims
	authorizations []url.Values
	logouts        []url.Values
}

type grant struct {
	nonce, challenge, redirectURI, acr string
}

// Start runs a provider knowing one client, whose sign-ins say nothing yet
// (see Set).
func Start(t testing.TB, clientID, clientSecret string) *Provider {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &Provider{ClientID: clientID, ClientSecret: clientSecret, t: t, key: key, now: time.Now,
		codes: map[string]grant{}, userinfo: map[string]map[string]any{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /jwks", p.jwks)
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	mux.HandleFunc("GET /userinfo", p.userInfo)
	mux.HandleFunc("GET /logout", p.logout)
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

// URL is the provider's issuer.
func (p *Provider) URL() string { return p.srv.URL }

// Close stops the provider at once (a provider that is away).
func (p *Provider) Close() { p.srv.Close() }

// SetRedirectURI is the one redirect URI the client registered.
func (p *Provider) SetRedirectURI(uri string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.redirectURI = uri
}

// SetClock sets the provider's clock, which dates the ID tokens.
func (p *Provider) SetClock(now func() time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.now = now
}

// Set changes what the next sign-ins say.
func (p *Provider) Set(f func(n *Next)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(&p.next)
}

// Authorizations are the query strings of the authorization requests the
// provider received, oldest first.
func (p *Provider) Authorizations() []url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]url.Values(nil), p.authorizations...)
}

// Logouts are the query strings of the end-session requests the provider
// received, oldest first.
func (p *Provider) Logouts() []url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]url.Values(nil), p.logouts...)
}

func (p *Provider) discovery(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                p.srv.URL,
		"authorization_endpoint":                p.srv.URL + "/authorize",
		"token_endpoint":                        p.srv.URL + "/token",
		"userinfo_endpoint":                     p.srv.URL + "/userinfo",
		"end_session_endpoint":                  p.srv.URL + "/logout",
		"jwks_uri":                              p.srv.URL + "/jwks",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
	})
}

func (p *Provider) jwks(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &p.key.PublicKey, KeyID: "cle-1", Algorithm: string(jose.RS256), Use: "sig"}}})
}

func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.authorizations = append(p.authorizations, q)
	if q.Get("client_id") != p.ClientID || q.Get("response_type") != "code" || !strings.Contains(q.Get("scope"), "openid") ||
		q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" || q.Get("state") == "" ||
		q.Get("redirect_uri") != p.redirectURI {
		http.Error(w, "bad authorization request: "+r.URL.RawQuery, http.StatusBadRequest)
		return
	}
	back, _ := url.Parse(q.Get("redirect_uri"))
	v := url.Values{"state": {q.Get("state")}}
	if p.next.Refuse != "" {
		v.Set("error", p.next.Refuse)
	} else {
		code := rand.Text()
		p.codes[code] = grant{nonce: q.Get("nonce"), challenge: q.Get("code_challenge"), redirectURI: q.Get("redirect_uri"), acr: q.Get("acr_values")}
		v.Set("code", code)
	}
	back.RawQuery = v.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	tokenError := func(status int, code string) { writeJSON(w, status, map[string]string{"error": code}) }
	if id != p.ClientID || secret != p.ClientSecret {
		tokenError(http.StatusUnauthorized, "invalid_client")
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	g, ok := p.codes[r.PostForm.Get("code")]
	delete(p.codes, r.PostForm.Get("code"))
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if !ok || r.PostForm.Get("grant_type") != "authorization_code" || r.PostForm.Get("redirect_uri") != g.redirectURI ||
		base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
		tokenError(http.StatusBadRequest, "invalid_grant")
		return
	}
	n := p.next
	now := p.now()
	lifetime := n.Lifetime
	if lifetime == 0 {
		lifetime = 5 * time.Minute
	}
	person := map[string]any{}
	for k, v := range n.Claims {
		person[k] = v
	}
	if n.Email != "" {
		person["email"] = n.Email
	}
	if n.EmailVerified != nil {
		person["email_verified"] = *n.EmailVerified
	}
	claims := map[string]any{"iss": p.srv.URL, "sub": n.Subject, "aud": p.ClientID, "iat": now.Unix(),
		"exp": now.Add(lifetime).Unix(), "nonce": g.nonce}
	if !n.EmailInUserInfo {
		for k, v := range person {
			claims[k] = v
		}
	}
	if n.Audience != "" {
		claims["aud"] = n.Audience
	}
	if n.Nonce != "" {
		claims["nonce"] = n.Nonce
	}
	switch {
	case n.ACR != "":
		claims["acr"] = n.ACR
	case g.acr != "":
		claims["acr"] = g.acr
	}
	key := p.key
	if n.SignWith != nil {
		key = n.SignWith
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
	access := rand.Text()
	person["sub"] = n.Subject
	p.userinfo[access] = person
	writeJSON(w, http.StatusOK, map[string]any{"access_token": access, "token_type": "Bearer", "expires_in": 300, "id_token": idToken})
}

func (p *Provider) userInfo(w http.ResponseWriter, r *http.Request) {
	access, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	p.mu.Lock()
	claims, known := p.userinfo[access]
	p.mu.Unlock()
	if !ok || !known {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		http.Error(w, "invalid_token", http.StatusUnauthorized)
		return
	}
	writeJSON(w, http.StatusOK, claims)
}

// logout ends the provider's session: it is recorded, and the browser sent
// back to post_logout_redirect_uri (with the state) when one is given.
func (p *Provider) logout(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p.mu.Lock()
	p.logouts = append(p.logouts, q)
	p.mu.Unlock()
	if back := q.Get("post_logout_redirect_uri"); back != "" {
		u, err := url.Parse(back)
		if err != nil {
			http.Error(w, "bad post_logout_redirect_uri", http.StatusBadRequest)
			return
		}
		if s := q.Get("state"); s != "" {
			v := u.Query()
			v.Set("state", s)
			u.RawQuery = v.Encode()
		}
		http.Redirect(w, r, u.String(), http.StatusFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("déconnecté"))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
