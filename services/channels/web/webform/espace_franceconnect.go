package webform

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/citizen"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

// Sign-in to "Mes demandes" with FranceConnect, the State's identity
// federation, an OpenID Connect provider: the authorization code flow with
// PKCE (S256), a state and a nonce, all three kept for ten minutes in a
// cookie signed with the secret; scopes openid, email, given_name and
// family_name; acr_values=eidas1. The ID token's signature, issuer,
// audience, expiry, nonce and level (acr eidas1 or above) are checked. The
// person is who holds the e-mail address FranceConnect gives (from the ID
// token, else from the userinfo endpoint, whose subject must be the ID
// token's). Signing out goes on to FranceConnect's end_session_endpoint,
// with the ID token as id_token_hint.

// FranceConnectConfig is the client Guichet is at FranceConnect.
type FranceConnectConfig struct {
	IssuerURL    string // e.g. https://oidc.franceconnect.gouv.fr/api/v2
	ClientID     string
	ClientSecret string
	HTTPClient   *http.Client // nil: http.DefaultClient with a 10 s timeout
}

// FranceConnect's scopes and eIDAS level.
var fcScopes = []string{oidc.ScopeOpenID, "email", "given_name", "family_name"}

const (
	fcACR           = "eidas1"
	fcStateCookie   = "guichet_franceconnect"
	fcStateLifetime = 10 * time.Minute
)

// franceConnect holds the provider's configuration, discovered at the
// first sign-in (so that Guichet starts while it is away) and kept.
type franceConnect struct {
	cfg         FranceConnectConfig
	stateKey    []byte
	redirectURL string
	afterLogout string

	mu         sync.Mutex
	provider   *oidc.Provider
	oauth      *oauth2.Config
	verifier   *oidc.IDTokenVerifier
	endSession string
}

func newFranceConnect(cfg FranceConnectConfig, secret, publicURL string) (*franceConnect, error) {
	if cfg.IssuerURL == "" || cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("webform: FranceConnect needs its issuer, client id and client secret")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("guichet webform franceconnect state"))
	return &franceConnect{cfg: cfg, stateKey: m.Sum(nil), redirectURL: publicURL + spaceFCReturn, afterLogout: publicURL + spaceSignedOut}, nil
}

func (f *franceConnect) setup(ctx context.Context) (*oidc.Provider, *oauth2.Config, *oidc.IDTokenVerifier, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.provider != nil {
		return f.provider, f.oauth, f.verifier, nil
	}
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, f.cfg.HTTPClient), f.cfg.IssuerURL)
	if err != nil {
		return nil, nil, nil, fault.E(fault.Transient, fmt.Errorf("webform: FranceConnect discovery: %w", err))
	}
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := p.Claims(&meta); err != nil {
		return nil, nil, nil, fmt.Errorf("webform: FranceConnect discovery: %w", err)
	}
	// The key set fetches keys in the background with this context's client.
	keys := oidc.ClientContext(context.Background(), f.cfg.HTTPClient)
	f.provider, f.endSession = p, meta.EndSession
	f.verifier = p.VerifierContext(keys, &oidc.Config{ClientID: f.cfg.ClientID})
	f.oauth = &oauth2.Config{ClientID: f.cfg.ClientID, ClientSecret: f.cfg.ClientSecret, Endpoint: p.Endpoint(),
		RedirectURL: f.redirectURL, Scopes: fcScopes}
	return f.provider, f.oauth, f.verifier, nil
}

// endSessionOrigin is the origin of the provider's logout ("" unknown).
func (f *franceConnect) endSessionOrigin(ctx context.Context) string {
	if _, _, _, err := f.setup(ctx); err != nil {
		return ""
	}
	u, err := url.Parse(f.endSession)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// logoutURL is where the browser ends its FranceConnect session ("" when
// the provider has no end_session_endpoint).
func (f *franceConnect) logoutURL(ctx context.Context, idToken string) (string, error) {
	if _, _, _, err := f.setup(ctx); err != nil {
		return "", err
	}
	if f.endSession == "" {
		return "", nil
	}
	u, err := url.Parse(f.endSession)
	if err != nil {
		return "", fmt.Errorf("webform: FranceConnect end_session_endpoint: %w", err)
	}
	state, _ := newSpaceToken()
	q := u.Query()
	q.Set("id_token_hint", idToken)
	q.Set("state", state)
	q.Set("post_logout_redirect_uri", f.afterLogout)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// fcState is what the browser keeps between leaving for FranceConnect and
// coming back.
type fcState struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Expires  int64  `json:"e"` // Unix seconds
}

func (f *franceConnect) sign(st fcState) string {
	data, _ := json.Marshal(st)
	m := hmac.New(sha256.New, f.stateKey)
	m.Write(data)
	return base64.RawURLEncoding.EncodeToString(data) + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// read checks the state cookie's signature and age.
func (f *franceConnect) read(v string, now time.Time) (fcState, bool) {
	var st fcState
	data64, sig64, ok := strings.Cut(v, ".")
	if !ok || len(v) > 4096 {
		return st, false
	}
	data, err1 := base64.RawURLEncoding.DecodeString(data64)
	sig, err2 := base64.RawURLEncoding.DecodeString(sig64)
	if err1 != nil || err2 != nil {
		return st, false
	}
	m := hmac.New(sha256.New, f.stateKey)
	m.Write(data)
	if !hmac.Equal(sig, m.Sum(nil)) {
		return st, false
	}
	if err := json.Unmarshal(data, &st); err != nil || st.State == "" || st.Nonce == "" || st.Verifier == "" || now.Unix() > st.Expires {
		return fcState{}, false
	}
	return st, true
}

// startFranceConnect leaves for FranceConnect.
func (h *Handler) startFranceConnect(w http.ResponseWriter, r *http.Request) {
	fc := h.space.fc
	if fc == nil {
		h.notFound(w, r)
		return
	}
	_, conf, _, err := fc.setup(r.Context())
	if err != nil {
		h.franceConnectAway(w, r, err)
		return
	}
	state, _ := newSpaceToken()
	nonce, _ := newSpaceToken()
	st := fcState{State: state, Nonce: nonce, Verifier: oauth2.GenerateVerifier(), Expires: h.now().Add(fcStateLifetime).Unix()}
	http.SetCookie(w, &http.Cookie{Name: fcStateCookie, Value: fc.sign(st), Path: spaceFCPath, MaxAge: int(fcStateLifetime.Seconds()),
		HttpOnly: true, Secure: h.space.secure, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, conf.AuthCodeURL(st.State, oidc.Nonce(st.Nonce), oauth2.S256ChallengeOption(st.Verifier),
		oauth2.SetAuthURLParam("acr_values", fcACR)), http.StatusFound)
}

// franceConnectReturn comes back from FranceConnect: checks everything,
// opens the session of the e-mail address FranceConnect vouches for.
func (h *Handler) franceConnectReturn(w http.ResponseWriter, r *http.Request) {
	fc := h.space.fc
	if fc == nil {
		h.notFound(w, r)
		return
	}
	ctx := r.Context()
	q := r.URL.Query()
	var st fcState
	ok := false
	if c, err := r.Cookie(fcStateCookie); err == nil {
		st, ok = fc.read(c.Value, h.now())
	}
	http.SetCookie(w, &http.Cookie{Name: fcStateCookie, Value: "", Path: spaceFCPath, MaxAge: -1, HttpOnly: true,
		Secure: h.space.secure, SameSite: http.SameSiteLaxMode})
	if !ok || !hmac.Equal([]byte(q.Get("state")), []byte(st.State)) {
		h.spaceRefusal(w, r, http.StatusBadRequest, "Connexion expirée",
			"La connexion avec FranceConnect a pris trop de temps ou n'a pas été commencée depuis ce site. Recommencez.")
		return
	}
	if e := q.Get("error"); e != "" {
		h.deps.Log.Warn("franceconnect: the provider refused", "error", oneLine(e, 100))
		h.spaceRefusal(w, r, http.StatusUnauthorized, "Connexion refusée",
			"FranceConnect n'a pas autorisé la connexion, ou vous l'avez annulée. Vous pouvez recommencer, ou recevoir un lien de connexion par e-mail ou par SMS.")
		return
	}
	p, conf, verifier, err := fc.setup(ctx)
	if err != nil {
		h.franceConnectAway(w, r, err)
		return
	}
	email, idToken, err := fc.exchange(ctx, p, conf, verifier, q.Get("code"), st)
	if err != nil {
		h.deps.Log.Warn("franceconnect: sign-in not verified", "err", err)
		h.spaceRefusal(w, r, http.StatusUnauthorized, "Connexion non vérifiée",
			"La connexion n'a pas pu être vérifiée auprès de FranceConnect. Recommencez ; si cela se reproduit, recevez plutôt un lien de connexion par e-mail ou par SMS.")
		return
	}
	if email == "" {
		h.spaceRefusal(w, r, http.StatusForbidden, "Adresse e-mail manquante",
			"FranceConnect n'a pas transmis d'adresse e-mail vérifiée : c'est par elle que vos demandes sont retrouvées. Recevez plutôt un lien de connexion par e-mail ou par SMS.")
		return
	}
	if err := h.openSession(w, r, casestore.CitizenIdentity{Email: email}, idToken); err != nil {
		h.unavailable(w, r, err)
		return
	}
	h.deps.Log.Info("mes demandes: signed in", "method", "franceconnect")
	http.Redirect(w, r, spacePath+"?bienvenue=1", http.StatusSeeOther)
}

// exchange trades the code for tokens (with the PKCE verifier), checks the
// ID token, and returns the e-mail address it vouches for ("" when none is
// given, or it is said not verified) and the raw ID token.
func (f *franceConnect) exchange(ctx context.Context, p *oidc.Provider, conf *oauth2.Config, verifier *oidc.IDTokenVerifier, code string, st fcState) (email, raw string, err error) {
	if code == "" {
		return "", "", errors.New("no code")
	}
	cctx := oidc.ClientContext(ctx, f.cfg.HTTPClient)
	tok, err := conf.Exchange(cctx, code, oauth2.VerifierOption(st.Verifier))
	if err != nil {
		return "", "", fmt.Errorf("exchange the code: %w", err)
	}
	raw, _ = tok.Extra("id_token").(string)
	if raw == "" {
		return "", "", errors.New("no ID token in the provider's answer")
	}
	idt, err := verifier.Verify(cctx, raw)
	if err != nil {
		return "", "", err
	}
	if !hmac.Equal([]byte(idt.Nonce), []byte(st.Nonce)) {
		return "", "", errors.New("the ID token's nonce is not the one sent")
	}
	if idt.Subject == "" {
		return "", "", errors.New("the ID token has no subject")
	}
	var claims struct {
		ACR           string `json:"acr"`
		Email         string `json:"email"`
		EmailVerified *bool  `json:"email_verified"`
	}
	if err := idt.Claims(&claims); err != nil {
		return "", "", fmt.Errorf("ID token claims: %w", err)
	}
	switch claims.ACR {
	case "eidas1", "eidas2", "eidas3":
	default:
		return "", "", fmt.Errorf("the ID token's level %q is not eidas1 or above", oneLine(claims.ACR, 40))
	}
	if claims.Email == "" {
		// FranceConnect gives the identity at the userinfo endpoint.
		info, err := p.UserInfo(cctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			return "", "", fmt.Errorf("userinfo: %w", err)
		}
		if info.Subject != idt.Subject {
			return "", "", errors.New("userinfo is about another subject than the ID token")
		}
		if err := info.Claims(&claims); err != nil {
			return "", "", fmt.Errorf("userinfo claims: %w", err)
		}
	}
	if claims.EmailVerified != nil && !*claims.EmailVerified {
		return "", raw, nil
	}
	e, err := citizen.NormalizeEmail(claims.Email)
	if err != nil {
		return "", raw, nil
	}
	return e, raw, nil
}

func (h *Handler) franceConnectAway(w http.ResponseWriter, r *http.Request, err error) {
	h.deps.Log.Error("franceconnect", "err", err)
	w.Header().Set("Retry-After", "30")
	h.spaceRefusal(w, r, http.StatusServiceUnavailable, "FranceConnect ne répond pas",
		"FranceConnect ne répond pas pour le moment. Réessayez dans quelques instants, ou recevez un lien de connexion par e-mail ou par SMS.")
}

// oneLine keeps a provider's text fit for a log line.
func oneLine(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > max {
		s = s[:max]
	}
	return s
}
