package auth

import (
	"embed"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/platform/htmlpage"
	"github.com/ampmetropole/guichet/services/platform/staffshell"
)

//go:embed templates/*.html
var files embed.FS

func parsePages(shell *staffshell.Shell) (pages, error) {
	login, err := shell.Parse("connexion.html", nil, files, "templates/connexion.html")
	if err != nil {
		return pages{}, fmt.Errorf("auth: %w", err)
	}
	message, err := shell.Parse("message.html", nil, files, "templates/message.html")
	if err != nil {
		return pages{}, fmt.Errorf("auth: %w", err)
	}
	return pages{shell: shell, login: login, message: message}, nil
}

// Handler serves the sign-in pages, with the staff pages' security headers
// and cross-site posts refused ([htmlpage.Protect]):
//
//	GET  /bo/connexion         the sign-in form (?retour= the page to go back to)
//	POST /bo/connexion         sign in with a login and password
//	POST /bo/deconnexion       sign out
//	GET  /bo/oidc/login        sign in with the Métropole's identity provider (when configured)
//	GET  /bo/oidc/callback     where the provider sends back
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+LoginPath, s.showLogin)
	mux.HandleFunc("POST "+LoginPath, s.postLogin)
	mux.HandleFunc("POST "+LogoutPath, s.postLogout)
	mux.HandleFunc("GET /bo/oidc/login", s.oidcLogin)
	mux.HandleFunc("GET /bo/oidc/callback", s.oidcCallback)
	protected := htmlpage.Protect(mux, htmlpage.StaffCSP)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ClientIP(r.Context()) == "" {
			r = r.WithContext(WithClientIP(r.Context(), s.cfg.ClientIP(r)))
		}
		protected.ServeHTTP(w, r)
	})
}

// Register mounts [Service.Handler] on mux at its routes.
func (s *Service) Register(mux *http.ServeMux) {
	h := s.Handler()
	for _, p := range []string{"GET " + LoginPath, "POST " + LoginPath, "POST " + LogoutPath,
		"GET /bo/oidc/login", "GET /bo/oidc/callback"} {
		mux.Handle(p, h)
	}
}

// fieldError is an error named in the summary, linked to its field.
type fieldError struct {
	Field   string
	Message string
}

type loginPage struct {
	staffshell.Page
	Login         string
	Return        string
	Notice        string
	OIDC          bool
	Errors        []fieldError
	LoginError    string
	PasswordError string
}

type messagePage struct {
	staffshell.Page
	Text     string
	Link     string
	LinkText string
}

// renderMessage answers a page with a title and a sentence. It sets the
// staff pages' headers itself, since [Service.RequirePage] may answer
// outside the page's own [htmlpage.Protect].
func (s *Service) renderMessage(w http.ResponseWriter, r *http.Request, status int, title string, p messagePage) {
	p.Page = staffshell.Page{Title: title, Shell: s.Viewer(r), Narrow: true}
	hd := w.Header()
	hd.Set("Content-Security-Policy", htmlpage.StaffCSP)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cache-Control", "no-store")
	htmlpage.Render(w, s.pages.message, status, p, s.log)
}

// renderLogin answers the sign-in form, in the frame without a menu.
func (s *Service) renderLogin(w http.ResponseWriter, status int, p loginPage) {
	p.Page = staffshell.Page{Title: "Connexion", Narrow: true}
	if p.Errors != nil {
		p.Title = "Erreur – Connexion"
	}
	htmlpage.Render(w, s.pages.login, status, p, s.log)
}

func (s *Service) showLogin(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ret := safeReturn(q.Get("retour"), "")
	if c, err := r.Cookie(SessionCookie); err == nil {
		if p, ok, err := s.sessionPrincipal(r.Context(), c.Value); err == nil && ok {
			http.Redirect(w, r, orHome(ret, s.home(p.Role)), http.StatusSeeOther)
			return
		}
	}
	p := loginPage{Return: ret, OIDC: s.oidc != nil}
	switch {
	case q.Has("deconnecte"):
		p.Notice = "Vous êtes déconnecté."
	case ret != "":
		p.Notice = "Connectez-vous pour accéder à cette page."
	}
	s.renderLogin(w, http.StatusOK, p)
}

func (s *Service) postLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "Formulaire illisible ou trop volumineux.", http.StatusBadRequest)
		return
	}
	login := strings.TrimSpace(r.PostFormValue("identifiant"))
	password := r.PostFormValue("mot_de_passe")
	p := loginPage{Login: cleanText(login, 200), Return: safeReturn(r.PostFormValue("retour"), ""), OIDC: s.oidc != nil}
	if login == "" {
		p.LoginError = "Saisissez votre identifiant."
		p.Errors = append(p.Errors, fieldError{"identifiant", p.LoginError})
	}
	if password == "" {
		p.PasswordError = "Saisissez votre mot de passe."
		p.Errors = append(p.Errors, fieldError{"mot-de-passe", p.PasswordError})
	}
	if p.Errors != nil {
		s.renderLogin(w, http.StatusUnprocessableEntity, p)
		return
	}
	sess, err := s.Login(r.Context(), login, password)
	switch fault.KindOf(err) {
	case fault.Other:
		if err == nil {
			s.SetSessionCookie(w, sess)
			http.Redirect(w, r, orHome(p.Return, s.home(sess.Principal.Role)), http.StatusSeeOther)
			return
		}
	case fault.Invalid:
		p.Errors = []fieldError{{"identifiant", "Identifiant ou mot de passe incorrect."}}
		s.renderLogin(w, http.StatusUnprocessableEntity, p)
		return
	case fault.TooMany:
		wait := s.cfg.MaxBackoff
		var le *LimitError
		if errors.As(err, &le) {
			wait = le.Wait
		}
		w.Header().Set("Retry-After", strconv.Itoa(seconds(wait)))
		p.Errors = []fieldError{{"", fmt.Sprintf("Trop de tentatives de connexion infructueuses : réessayez dans %s. Si vous avez oublié votre mot de passe, adressez-vous à un administrateur de Guichet.",
			waitText(wait))}}
		s.renderLogin(w, http.StatusTooManyRequests, p)
		return
	}
	s.log.Error("login", "err", err)
	w.Header().Set("Retry-After", "5")
	s.renderMessage(w, r, http.StatusServiceUnavailable, "Connexion momentanément impossible", messagePage{
		Text: "Un incident technique empêche la connexion. Réessayez dans quelques instants.", Link: LoginPath, LinkText: "Réessayer"})
}

func (s *Service) postLogout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(SessionCookie); err == nil {
		if err := s.Logout(r.Context(), c.Value); err != nil {
			s.log.Error("logout", "err", err)
			s.renderMessage(w, r, http.StatusServiceUnavailable, "Déconnexion momentanément impossible", messagePage{
				Text: "Un incident technique empêche la déconnexion. Réessayez dans quelques instants ; fermer le navigateur met aussi fin à la session.",
				Link: s.homeOf(r), LinkText: "Retour"})
			return
		}
	}
	s.clearCookie(w, SessionCookie, "/")
	http.Redirect(w, r, LoginPath+"?deconnecte=1", http.StatusSeeOther)
}

// safeReturn gives back raw when it is a path on this site to return to
// after sign-in, else fallback: no scheme, no host, no "//" or "\" that a
// browser would read as another site, nothing but visible ASCII, and not
// the sign-in pages themselves.
func safeReturn(raw, fallback string) string {
	if raw == "" || len(raw) > 2048 || raw[0] != '/' || strings.HasPrefix(raw, "//") || strings.Contains(raw, `\`) {
		return fallback
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] <= ' ' || raw[i] >= 0x7f {
			return fallback
		}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") ||
		strings.HasPrefix(u.Path, "//") {
		return fallback
	}
	if u.Path == LoginPath || u.Path == LogoutPath || strings.HasPrefix(u.Path, "/bo/oidc/") {
		return fallback
	}
	return raw
}

func orHome(ret, home string) string {
	if ret == "" {
		return home
	}
	return ret
}
