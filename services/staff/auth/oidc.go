package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/jackc/pgx/v5"
	"golang.org/x/oauth2"

	"github.com/ampmetropole/guichet/services/platform/fault"
)

// Sign-in with the Métropole's OpenID Connect provider: the authorization
// code flow with PKCE (S256), a state and a nonce, all three kept for ten
// minutes in a cookie signed with the secret. The ID token's signature,
// issuer, audience, expiry and nonce are checked; its subject is then
// matched to an account by oidc_subject, else — the first time — by login
// equal to its e-mail address (unless the provider says that address is
// not verified), which records the subject. Nobody gets an account by
// signing in: an unknown person is refused.

const (
	stateCookie   = "guichet_oidc"
	stateLifetime = 10 * time.Minute
)

// oidcClient holds the provider's configuration, discovered at the first
// sign-in (so that Guichet starts while the provider is away) and kept.
type oidcClient struct {
	cfg      OIDCConfig
	mu       sync.Mutex
	oauth    *oauth2.Config
	verifier *oidc.IDTokenVerifier
}

func (s *Service) oidcSetup(ctx context.Context) (*oauth2.Config, *oidc.IDTokenVerifier, error) {
	o := s.oidc
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.oauth != nil {
		return o.oauth, o.verifier, nil
	}
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, o.cfg.HTTPClient), o.cfg.IssuerURL)
	if err != nil {
		return nil, nil, fault.E(fault.Transient, fmt.Errorf("auth: OpenID Connect discovery: %w", err))
	}
	// The key set fetches keys in the background with this context's client.
	keys := oidc.ClientContext(context.Background(), o.cfg.HTTPClient)
	o.verifier = p.VerifierContext(keys, &oidc.Config{ClientID: o.cfg.ClientID, Now: s.cfg.Now})
	o.oauth = &oauth2.Config{ClientID: o.cfg.ClientID, ClientSecret: o.cfg.ClientSecret, Endpoint: p.Endpoint(),
		RedirectURL: o.cfg.RedirectURL, Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}
	return o.oauth, o.verifier, nil
}

// oidcState is what the browser keeps between leaving for the provider and
// coming back.
type oidcState struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Return   string `json:"r,omitempty"`
	Expires  int64  `json:"e"` // Unix seconds
}

func (s *Service) signState(st oidcState) string {
	data, _ := json.Marshal(st)
	m := hmac.New(sha256.New, s.stateKey)
	m.Write(data)
	return base64.RawURLEncoding.EncodeToString(data) + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// readState checks the state cookie's signature and age.
func (s *Service) readState(v string) (oidcState, bool) {
	var st oidcState
	data64, sig64, ok := strings.Cut(v, ".")
	if !ok || len(v) > 4096 {
		return st, false
	}
	data, err1 := base64.RawURLEncoding.DecodeString(data64)
	sig, err2 := base64.RawURLEncoding.DecodeString(sig64)
	if err1 != nil || err2 != nil {
		return st, false
	}
	m := hmac.New(sha256.New, s.stateKey)
	m.Write(data)
	if !hmac.Equal(sig, m.Sum(nil)) {
		return st, false
	}
	if err := json.Unmarshal(data, &st); err != nil || st.State == "" || st.Nonce == "" || st.Verifier == "" {
		return oidcState{}, false
	}
	if s.now().Unix() > st.Expires {
		return oidcState{}, false
	}
	st.Return = safeReturn(st.Return, "")
	return st, true
}

// oidcLogin leaves for the provider.
func (s *Service) oidcLogin(w http.ResponseWriter, r *http.Request) {
	if s.oidc == nil {
		http.NotFound(w, r)
		return
	}
	conf, _, err := s.oidcSetup(r.Context())
	if err != nil {
		s.oidcUnavailable(w, r, err)
		return
	}
	state, _ := newToken()
	nonce, _ := newToken()
	st := oidcState{State: state, Nonce: nonce, Verifier: oauth2.GenerateVerifier(),
		Return: safeReturn(r.URL.Query().Get("retour"), ""), Expires: s.now().Add(stateLifetime).Unix()}
	http.SetCookie(w, &http.Cookie{Name: stateCookie, Value: s.signState(st), Path: "/bo/oidc/",
		MaxAge: int(stateLifetime.Seconds()), HttpOnly: true, Secure: s.secureCookie, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, conf.AuthCodeURL(st.State, oidc.Nonce(st.Nonce), oauth2.S256ChallengeOption(st.Verifier)), http.StatusFound)
}

// oidcCallback comes back from the provider: checks everything, finds the
// account, opens the session.
func (s *Service) oidcCallback(w http.ResponseWriter, r *http.Request) {
	if s.oidc == nil {
		http.NotFound(w, r)
		return
	}
	ctx := r.Context()
	q := r.URL.Query()
	var st oidcState
	ok := false
	if c, err := r.Cookie(stateCookie); err == nil {
		st, ok = s.readState(c.Value)
	}
	s.clearCookie(w, stateCookie, "/bo/oidc/")
	if !ok || !hmac.Equal([]byte(q.Get("state")), []byte(st.State)) {
		s.renderMessage(w, r, http.StatusBadRequest, "Connexion expirée", messagePage{
			Text: "La connexion a pris trop de temps ou n'a pas été commencée depuis Guichet. Recommencez.",
			Link: LoginPath, LinkText: "Revenir à la page de connexion"})
		return
	}
	if e := q.Get("error"); e != "" {
		s.log.Warn("oidc: the provider refused", "error", cleanText(e, 100), "description", cleanText(q.Get("error_description"), 300))
		s.renderMessage(w, r, http.StatusUnauthorized, "Connexion refusée", messagePage{
			Text: "Le fournisseur d'identité de la Métropole n'a pas autorisé la connexion.",
			Link: LoginPath, LinkText: "Revenir à la page de connexion"})
		return
	}
	conf, verifier, err := s.oidcSetup(ctx)
	if err != nil {
		s.oidcUnavailable(w, r, err)
		return
	}
	idt, err := s.exchange(ctx, conf, verifier, q.Get("code"), st)
	if err != nil {
		s.log.Warn("oidc: sign-in not verified", "err", err)
		s.renderMessage(w, r, http.StatusUnauthorized, "Connexion non vérifiée", messagePage{
			Text: "La connexion n'a pas pu être vérifiée auprès du fournisseur d'identité de la Métropole. Recommencez ; si cela se reproduit, prévenez un administrateur de Guichet.",
			Link: LoginPath, LinkText: "Revenir à la page de connexion"})
		return
	}
	var claims struct {
		Email         string `json:"email"`
		EmailVerified *bool  `json:"email_verified"`
	}
	if err := idt.Claims(&claims); err != nil {
		s.log.Warn("oidc: claims", "err", err)
	}
	a, reason, err := s.oidcAccount(ctx, idt.Subject, claims.Email, claims.EmailVerified == nil || *claims.EmailVerified)
	if err != nil {
		s.oidcUnavailable(w, r, err)
		return
	}
	if reason != "" {
		who := cleanText(claims.Email, 200)
		if who == "" {
			who = cleanText(idt.Subject, 200)
		}
		if err := s.Audit(ctx, Principal{Kind: KindAccount, Name: who}, ActionLoginFailed, who,
			map[string]any{"method": "oidc", "reason": reason, "subject": cleanText(idt.Subject, 200)}); err != nil {
			s.log.Error("audit oidc refusal", "err", err)
		}
		text := "Vous êtes bien identifié auprès de la Métropole, mais aucun compte Guichet ne vous est ouvert. " +
			"Les comptes ne sont pas créés automatiquement : demandez à votre responsable ou à un administrateur de Guichet de créer le vôtre."
		if reason == "disabled" {
			text = "Votre compte Guichet est désactivé. Adressez-vous à votre responsable ou à un administrateur de Guichet."
		}
		s.renderMessage(w, r, http.StatusForbidden, "Pas de compte Guichet", messagePage{Text: text})
		return
	}
	sess, err := s.signIn(ctx, a, "oidc")
	if err != nil {
		s.oidcUnavailable(w, r, err)
		return
	}
	s.SetSessionCookie(w, sess)
	http.Redirect(w, r, orHome(st.Return, s.home(sess.Principal.Role)), http.StatusSeeOther)
}

// exchange trades the code for tokens (with the PKCE verifier) and checks
// the ID token, nonce included.
func (s *Service) exchange(ctx context.Context, conf *oauth2.Config, verifier *oidc.IDTokenVerifier, code string, st oidcState) (*oidc.IDToken, error) {
	if code == "" {
		return nil, errors.New("no code")
	}
	tok, err := conf.Exchange(oidc.ClientContext(ctx, s.oidc.cfg.HTTPClient), code, oauth2.VerifierOption(st.Verifier))
	if err != nil {
		return nil, fmt.Errorf("exchange the code: %w", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, errors.New("no ID token in the provider's answer")
	}
	idt, err := verifier.Verify(oidc.ClientContext(ctx, s.oidc.cfg.HTTPClient), raw)
	if err != nil {
		return nil, err
	}
	if !hmac.Equal([]byte(idt.Nonce), []byte(st.Nonce)) {
		return nil, errors.New("the ID token's nonce is not the one sent")
	}
	if idt.Subject == "" {
		return nil, errors.New("the ID token has no subject")
	}
	return idt, nil
}

// oidcAccount finds the account of a provider's subject. reason is set when
// there is none to sign in: "unknown", "disabled", "subject_mismatch" (the
// account of that e-mail address is tied to another subject).
func (s *Service) oidcAccount(ctx context.Context, subject, email string, emailVerified bool) (a accountRow, reason string, err error) {
	a, err = scanAccount(s.db.QueryRow(ctx, `SELECT `+accountColumns+` FROM accounts WHERE oidc_subject = $1`, subject))
	if err == nil {
		if a.disabled {
			return a, "disabled", nil
		}
		return a, "", nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return a, "", dbError("oidc account", err)
	}
	login := normalizeLogin(email)
	if login == "" || !emailVerified || !loginPattern.MatchString(login) {
		return a, "unknown", nil
	}
	a, err = scanAccount(s.db.QueryRow(ctx, `SELECT `+accountColumns+` FROM accounts WHERE login = $1`, login))
	if errors.Is(err, pgx.ErrNoRows) {
		return a, "unknown", nil
	}
	if err != nil {
		return a, "", dbError("oidc account", err)
	}
	if a.oidcSubject != nil {
		return a, "subject_mismatch", nil
	}
	if a.disabled {
		return a, "disabled", nil
	}
	tag, err := s.db.Exec(ctx, `UPDATE accounts SET oidc_subject = $2 WHERE id = $1 AND oidc_subject IS NULL`, a.id, subject)
	if isUniqueViolation(err) || (err == nil && tag.RowsAffected() == 0) {
		return a, "subject_mismatch", nil
	}
	if err != nil {
		return a, "", dbError("oidc link", err)
	}
	return a, "", nil
}

func (s *Service) oidcUnavailable(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("oidc", "err", err)
	w.Header().Set("Retry-After", "30")
	s.renderMessage(w, r, http.StatusServiceUnavailable, "Connexion momentanément impossible", messagePage{
		Text: "Le fournisseur d'identité de la Métropole ne répond pas. Réessayez dans quelques instants, ou connectez-vous avec un identifiant et un mot de passe Guichet si vous en avez un.",
		Link: LoginPath, LinkText: "Revenir à la page de connexion"})
}
