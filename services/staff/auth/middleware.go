package auth

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

// Paths of the sign-in pages.
const (
	LoginPath  = "/bo/connexion"
	LogoutPath = "/bo/deconnexion"
)

type refusedKey struct{}

// Middleware finds who is calling and puts it in the request's context
// ([FromContext]), with the client's address ([ClientIP]): an
// "Authorization: Bearer" token (an API token, or the development token),
// else the session cookie, whose idle timeout it moves on. It refuses
// nothing itself — [Service.RequirePage] and [Service.RequireAPI] do — but
// answers 503 when the database cannot say who the caller is.
func (s *Service) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := WithClientIP(r.Context(), s.cfg.ClientIP(r))
		if h := r.Header.Get("Authorization"); len(h) >= 6 && strings.EqualFold(h[:6], "bearer") {
			p, ok := Principal{}, false
			var err error
			if tok, valid := parseBearer(h); valid {
				p, ok, err = s.tokenPrincipal(ctx, tok)
			}
			if err != nil {
				s.unavailable(w, r, err)
				return
			}
			if ok {
				ctx = WithPrincipal(ctx, p)
			} else {
				ctx = context.WithValue(ctx, refusedKey{}, true)
			}
			next.ServeHTTP(w, r.WithContext(ctx))
			return
		}
		if c, err := r.Cookie(SessionCookie); err == nil {
			p, ok, err := s.sessionPrincipal(ctx, c.Value)
			if err != nil {
				s.unavailable(w, r, err)
				return
			}
			if ok {
				ctx = WithPrincipal(ctx, p)
			} else {
				s.clearCookie(w, SessionCookie, "/")
			}
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func (s *Service) unavailable(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Warn("auth: cannot tell who is calling", "path", r.URL.Path, "err", err)
	w.Header().Set("Retry-After", "5")
	if strings.HasPrefix(r.URL.Path, "/api/") {
		writeJSON(w, http.StatusServiceUnavailable, "service momentanément indisponible, réessayez dans quelques secondes")
		return
	}
	http.Error(w, "Service momentanément indisponible : réessayez dans quelques secondes.", http.StatusServiceUnavailable)
}

// RequirePage guards a staff page: without a session it sends to the
// sign-in page (302 for GET and HEAD, coming back here afterwards; 303
// otherwise), with a role that lacks perm it answers a 403 page, and on a
// POST, PUT, PATCH or DELETE of a session it checks the CSRF token (see
// [Service.CSRFField]). Put it inside [Service.Middleware].
func (s *Service) RequirePage(perm Permission) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := FromContext(r.Context())
			if !ok {
				s.toLogin(w, r)
				return
			}
			if !p.Can(perm) {
				s.DenyPage(w, r)
				return
			}
			if unsafeMethod(r.Method) && p.session != nil {
				ok, tooLarge := s.csrfOK(w, r, p)
				if tooLarge {
					s.renderMessage(w, r, http.StatusRequestEntityTooLarge, "Envoi trop volumineux", messagePage{
						Text: "Ce formulaire dépasse la taille permise (1 Mio de texte) : rien n'a été enregistré. Revenez à la page précédente, raccourcissez le texte et recommencez.",
						Link: s.homeOf(r), LinkText: "Retour à l'accueil"})
					return
				}
				if ok {
					next.ServeHTTP(w, r)
					return
				}
				s.renderMessage(w, r, http.StatusForbidden, "Formulaire expiré", messagePage{
					Text: "Ce formulaire a expiré ou ne vient pas de Guichet. Revenez à la page précédente, rechargez-la et recommencez.",
					Link: s.homeOf(r), LinkText: "Retour à l'accueil"})
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// RequireAPI guards an API route: without valid credentials it answers 401
// with WWW-Authenticate: Bearer, with a role that lacks perm 403, both in
// JSON; a call made with a session cookie rather than a token must send the
// CSRF token in the X-CSRF-Token header on POST, PUT, PATCH and DELETE.
// Put it inside [Service.Middleware].
func (s *Service) RequireAPI(perm Permission) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := FromContext(r.Context())
			if !ok {
				challenge := `Bearer realm="guichet"`
				if refused, _ := r.Context().Value(refusedKey{}).(bool); refused {
					challenge += `, error="invalid_token"`
				}
				w.Header().Set("WWW-Authenticate", challenge)
				writeJSON(w, http.StatusUnauthorized, "authentification requise")
				return
			}
			if !p.Can(perm) {
				DenyAPI(w)
				return
			}
			if unsafeMethod(r.Method) && p.session != nil {
				got := r.Header.Get(CSRFHeader)
				if got == "" || !hmac.Equal([]byte(got), []byte(s.csrfFor(p.session))) {
					writeJSON(w, http.StatusForbidden, "jeton CSRF manquant ou invalide (en-tête X-CSRF-Token)")
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

// DenyPage answers the 403 page: signed in, but not allowed. Handlers call
// it when [Principal.SeesCase] says no.
func (s *Service) DenyPage(w http.ResponseWriter, r *http.Request) {
	s.renderMessage(w, r, http.StatusForbidden, "Accès refusé", messagePage{
		Text: "Votre compte ne donne pas accès à cette page. Si vous en avez besoin pour votre travail, demandez-le à votre responsable ou à un administrateur de Guichet.",
		Link: s.homeOf(r), LinkText: "Retour à l'accueil"})
}

// DenyAPI answers 403 in JSON: authenticated, but not allowed. Handlers
// call it when [Principal.SeesCase] says no.
func DenyAPI(w http.ResponseWriter) {
	writeJSON(w, http.StatusForbidden, "accès refusé : votre rôle ou votre périmètre ne le permet pas")
}

// toLogin sends to the sign-in page, to come back to this page after.
func (s *Service) toLogin(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		http.Redirect(w, r, LoginPath+"?retour="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
		return
	}
	http.Redirect(w, r, LoginPath, http.StatusSeeOther)
}

func unsafeMethod(m string) bool {
	return m != http.MethodGet && m != http.MethodHead && m != http.MethodOptions && m != http.MethodTrace
}

func writeJSON(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(map[string]string{"error": msg})
}
