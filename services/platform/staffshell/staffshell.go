// Package staffshell is the frame every staff page shares — the agent
// console, the mailroom and the back office: one style sheet any signed-in
// role can load, a header with who is signed in, a menu by role and
// sign-out, and the French error pages (403, 404, 500, 503). It knows
// nothing of roles: the sign-in service says who the viewer is and what
// their menu holds ([Viewer]); the desks render their pages inside it.
package staffshell

import (
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"

	"github.com/ampmetropole/guichet/services/platform/htmlpage"
)

//go:embed templates/*.html static
var files embed.FS

// AssetsPath is where [Assets] are mounted: outside every desk's guard, so
// that the mailroom loads the same style sheet as the back office.
const AssetsPath = "/personnel/static/"

// Link is an entry of the menu.
type Link struct {
	Label, Href string
	// Current: the page shown is this entry or one of its pages.
	Current bool
}

// Viewer is the signed-in person as the frame shows them.
type Viewer struct {
	Name  string // "Camille Roux"
	Login string
	Role  string // the role in words ("centre d'appels")
	Scope string // the competences and territories in words; "" for all
	Home  string // the person's first page
	Menu  []Link
	// CSRF is the anti-forgery field of the sign-out form.
	CSRF template.HTML
}

// SignedIn says whether someone is signed in (error pages can be shown to
// nobody).
func (v Viewer) SignedIn() bool { return v.Login != "" }

// Page is what the frame reads from a page's data: embed it.
type Page struct {
	Title string
	Shell Viewer
	// Narrow sets the content in one reading column (sign-in, messages).
	Narrow bool
	// Sheet is the desk's own style sheet among the assets
	// ("dossiers.css"), loaded after the common one; "" for none.
	Sheet string
}

// Shell parses pages inside the frame and answers the error pages.
type Shell struct {
	errors *template.Template
	log    *slog.Logger
}

// New builds a shell; each desk holds its own.
func New(log *slog.Logger) (*Shell, error) {
	s := &Shell{log: log}
	t, err := s.Parse("erreur.html", nil, files, "templates/erreur.html")
	if err != nil {
		return nil, err
	}
	s.errors = t
	return s, nil
}

// Parse reads a page (name: its file's base name) from fsys with the
// frame's templates: the page calls {{template "haut" .}} and
// {{template "bas" .}} around its content, and may define "tete" (extra
// head elements) and "scripts". Its data embeds [Page].
func (s *Shell) Parse(name string, funcs template.FuncMap, fsys fs.FS, patterns ...string) (*template.Template, error) {
	t, err := template.New(name).Funcs(funcs).ParseFS(files, "templates/shell.html")
	if err != nil {
		return nil, fmt.Errorf("staffshell: %w", err)
	}
	if t, err = t.ParseFS(fsys, patterns...); err != nil {
		return nil, fmt.Errorf("staffshell: %s: %w", name, err)
	}
	return t, nil
}

// Render writes a page parsed by [Shell.Parse] (see [htmlpage.Render]).
func (s *Shell) Render(w http.ResponseWriter, t *template.Template, status int, data any) {
	htmlpage.Render(w, t, status, data, s.log)
}

type errorPage struct {
	Page
	Text string
}

// Error answers status with its French page in the frame; text "" says
// what the status means in general words.
func (s *Shell) Error(w http.ResponseWriter, v Viewer, status int, text string) {
	title, def := errorWords(status)
	if text == "" {
		text = def
	}
	if status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", "5")
	}
	hd := w.Header()
	hd.Set("Content-Security-Policy", htmlpage.StaffCSP)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cache-Control", "no-store")
	s.Render(w, s.errors, status, errorPage{Page: Page{Title: title, Shell: v, Narrow: true}, Text: text})
}

func errorWords(status int) (title, text string) {
	switch status {
	case http.StatusBadRequest:
		return "Demande illisible", "La demande envoyée n'a pas pu être lue. Revenez à la page précédente et recommencez."
	case http.StatusForbidden:
		return "Accès refusé", "Votre compte ne donne pas accès à cette page. Si vous en avez besoin pour votre travail, demandez-le à votre responsable ou à un administrateur de Guichet."
	case http.StatusNotFound:
		return "Page introuvable", "Cette page n'existe pas, ou ce qu'elle montre n'est pas dans votre périmètre. Vérifiez l'adresse ou la référence."
	case http.StatusRequestEntityTooLarge:
		return "Envoi trop volumineux", "Ce qui a été envoyé dépasse la taille permise. Allégez-le et recommencez."
	case http.StatusServiceUnavailable:
		return "Service momentanément indisponible", "Un incident technique empêche d'afficher cette page. Réessayez dans quelques instants : rien de ce qui était enregistré n'est perdu."
	}
	if status >= 500 {
		return "Erreur interne", "La page n'a pas pu être affichée à cause d'une erreur de Guichet. Elle a été consignée ; réessayez, et si elle se répète, signalez-la au support."
	}
	return "Erreur", "La page n'a pas pu être affichée."
}

// Assets serves the style sheet and icons of the staff pages; mount it at
// [AssetsPath].
func Assets() http.Handler {
	static, _ := fs.Sub(files, "static")
	fsrv := http.StripPrefix(AssetsPath, http.FileServerFS(static))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "public, max-age=300")
		fsrv.ServeHTTP(w, r)
	})
}

// Recover turns a panic in next into the 500 page, logged with the path,
// so that no stack trace and no half page reaches a member of staff.
func (s *Shell) Recover(next http.Handler, viewer func(*http.Request) Viewer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("staff page panic", "path", r.URL.Path, "panic", fmt.Sprint(p))
				s.Error(w, viewer(r), http.StatusInternalServerError, "")
			}
		}()
		next.ServeHTTP(w, r)
	})
}
