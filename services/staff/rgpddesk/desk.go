// Package rgpddesk is the data protection officer's page, under /bo/rgpd,
// for those who do not use a terminal: find everything held about a person
// (by e-mail address, phone number or name) and download it as JSON or as
// the French document to send them, erase it (with a reason, after a
// confirmation; the refusals said), put cases under a legal hold and take
// it off, see what the retention schedule would erase on a given date, and
// read the register of processing. The same as `guichet rgpd` and
// /api/v1/rgpd, through services/cases/personaldata and retention; every
// act is audited.
//
// A person's identifiers are never put in a URL (where logs, the history
// and the Referer would keep them): the search and the downloads are
// POSTed forms, under the session's CSRF token.
package rgpddesk

import (
	"context"
	"embed"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/ampmetropole/guichet/services/cases/catalogue"
	"github.com/ampmetropole/guichet/services/cases/citizen"
	"github.com/ampmetropole/guichet/services/cases/personaldata"
	"github.com/ampmetropole/guichet/services/cases/retention"
	"github.com/ampmetropole/guichet/services/platform/frtime"
	"github.com/ampmetropole/guichet/services/platform/htmlpage"
	"github.com/ampmetropole/guichet/services/platform/staffshell"
	"github.com/ampmetropole/guichet/services/staff/auth"
)

//go:embed templates/*.html
var files embed.FS

// Base is where the desk is mounted: mount the handler at Base and Base+"/".
const Base = "/bo/rgpd"

// Guard signs people in and says what they may do (auth.Service).
type Guard interface {
	RequirePage(perm auth.Permission) func(http.Handler) http.Handler
	CSRFField(r *http.Request) template.HTML
	Viewer(r *http.Request) staffshell.Viewer
	Audit(ctx context.Context, p auth.Principal, action, target string, details map[string]any) error
}

// Officer is the data protection officer's work (personaldata.Officer).
type Officer interface {
	Export(ctx context.Context, who personaldata.Subject) (personaldata.Export, error)
	Erase(ctx context.Context, who personaldata.Subject, reason, actor string) (retention.Report, error)
	Apply(ctx context.Context, now time.Time, dryRun bool, actor string) (retention.Report, error)
	Hold(ctx context.Context, ref, reason, actor string) error
	Release(ctx context.Context, ref, reason, actor string) error
	Holds(ctx context.Context, limit int) ([]personaldata.Hold, error)
	Register() personaldata.Register
}

// Deps are the desk's collaborators.
type Deps struct {
	Guard     Guard
	Officer   Officer
	Catalogue *catalogue.Catalogue
	// Now is the clock (the simulation's default date); nil: time.Now.
	Now func() time.Time
	Log *slog.Logger
}

// Handler serves the desk.
type Handler struct {
	deps      Deps
	shell     *staffshell.Shell
	pages     map[string]*template.Template
	protected http.Handler
}

// maxForm bounds a form of the desk: a person, a reason, a date.
const maxForm = 16 << 10

// New builds the desk.
func New(d Deps) (*Handler, error) {
	if d.Now == nil {
		d.Now = time.Now
	}
	h := &Handler{deps: d, pages: map[string]*template.Template{}}
	var err error
	if h.shell, err = staffshell.New(d.Log); err != nil {
		return nil, fmt.Errorf("rgpddesk: %w", err)
	}
	funcs := template.FuncMap{
		"date":     frtime.Date,
		"datetime": frtime.DateTime,
		"iso":      func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"phone":    displayPhone,
		"channel":  personaldata.ChannelLabel,
		"duree":    personaldata.Duration,
		"size":     sizeText,
		"speaker": func(s string) string {
			switch s {
			case "agent":
				return "Agent"
			case "caller":
				return "La personne"
			}
			return "Interlocuteur"
		},
		"erased": erasedText,
		"reponse": func(ch string) string {
			return map[string]string{"email": "par courriel", "letter": "par courrier", "callback": "rappel téléphonique"}[ch]
		},
		"territory": personaldata.TerritoryLabel,
		"lines":     func(s string) []string { return strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") },
	}
	for _, name := range []string{"accueil", "personne", "effacement", "resultat", "conservation", "registre"} {
		if h.pages[name], err = h.shell.Parse(name+".html", funcs, files, "templates/"+name+".html"); err != nil {
			return nil, fmt.Errorf("rgpddesk: %w", err)
		}
	}
	dpo := d.Guard.RequirePage(auth.PermPersonalData)
	mux := http.NewServeMux()
	route := func(pattern string, fn http.HandlerFunc) { mux.Handle(pattern, dpo(fn)) }
	route("GET "+Base, h.showIndex)
	route("POST "+Base+"/personne", h.showPerson)
	route("POST "+Base+"/personne/telecharger", h.download)
	route("POST "+Base+"/effacement", h.confirmErase)
	route("POST "+Base+"/effacer", h.erase)
	route("POST "+Base+"/gels", h.hold)
	route("POST "+Base+"/gels/{ref}/lever", h.release)
	route("POST "+Base+"/conservation", h.simulate)
	route("GET "+Base+"/registre", h.showRegister)
	route("GET "+Base+"/registre.md", h.downloadRegister)
	route("GET "+Base+"/registre.json", h.downloadRegister)
	mux.Handle(Base+"/", dpo(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.shell.Error(w, h.deps.Guard.Viewer(r), http.StatusNotFound, "Cette page n'existe pas. Revenez à la page « Données personnelles ».")
	})))
	h.protected = h.shell.Recover(htmlpage.Protect(bounded(mux), htmlpage.StaffCSP), d.Guard.Viewer)
	return h, nil
}

// bounded limits what a form may send before anyone reads it.
func bounded(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		}
		next.ServeHTTP(w, r)
	})
}

// ServeHTTP serves the desk with the staff pages' headers; cross-site
// posts are refused.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.protected.ServeHTTP(w, r) }

// page is what every page of the desk carries.
type page struct {
	staffshell.Page
	CSRF template.HTML
}

func (h *Handler) base(r *http.Request, title string) page {
	return page{Page: staffshell.Page{Title: title, Shell: h.deps.Guard.Viewer(r), Sheet: "rgpd.css"}, CSRF: h.deps.Guard.CSRFField(r)}
}

func (h *Handler) render(w http.ResponseWriter, name string, status int, data any) {
	h.shell.Render(w, h.pages[name], status, data)
}

func (h *Handler) unavailable(w http.ResponseWriter, r *http.Request, err error) {
	h.deps.Log.Error("rgpd desk", "path", r.URL.Path, "err", err)
	h.shell.Error(w, h.deps.Guard.Viewer(r), http.StatusServiceUnavailable, "")
}

// tooLarge answers a form over maxForm.
func (h *Handler) tooLarge(w http.ResponseWriter, r *http.Request) {
	h.shell.Error(w, h.deps.Guard.Viewer(r), http.StatusRequestEntityTooLarge,
		"Ce formulaire dépasse la taille permise : rien n'a été fait. Revenez à la page précédente, raccourcissez le motif et recommencez.")
}

// readForm parses a posted form; false when it was answered (too large,
// unreadable).
func (h *Handler) readForm(w http.ResponseWriter, r *http.Request) bool {
	if err := r.ParseForm(); err != nil {
		if strings.Contains(err.Error(), "too large") {
			h.tooLarge(w, r)
			return false
		}
		h.shell.Error(w, h.deps.Guard.Viewer(r), http.StatusBadRequest, "")
		return false
	}
	return true
}

// audit records an act; it is done already, so a failure is logged.
func (h *Handler) audit(r *http.Request, action, target string, details map[string]any) {
	p, _ := auth.FromContext(r.Context())
	details["page"] = "bo"
	if err := h.deps.Guard.Audit(r.Context(), p, action, target, details); err != nil {
		h.deps.Log.Error("audit", "action", action, "err", err)
	}
}

// actor is who acts, as the audit log names them.
func actor(r *http.Request) string {
	p, _ := auth.FromContext(r.Context())
	return p.Name
}

func displayPhone(p string) string {
	if strings.HasPrefix(p, "+") {
		return citizen.DisplayPhone(p)
	}
	return p
}

// sizeText writes a file's size in French units.
func sizeText(n int64) string {
	switch {
	case n >= 1<<20:
		return strings.Replace(fmt.Sprintf("%.1f Mio", float64(n)/(1<<20)), ".", ",", 1)
	case n >= 1<<10:
		return fmt.Sprintf("%d Kio", (n+512)>>10)
	}
	return fmt.Sprintf("%d octets", n)
}

func erasedText(arts []string) string {
	names := map[string]string{"identity": "identité et coordonnées", "free_text": "textes", "transcripts": "transcriptions d'appels", "files": "pièces jointes"}
	var out []string
	for _, a := range arts {
		if n, ok := names[a]; ok {
			out = append(out, n)
		} else {
			out = append(out, a)
		}
	}
	return strings.Join(out, ", ")
}

// fieldError is an error of a summary, linked to its field.
type fieldError struct{ ID, Message string }

// errorsOf indexes errors by field id, for the template.
func errorsOf(errs []fieldError) map[string]string {
	m := map[string]string{}
	for _, e := range errs {
		if _, ok := m[e.ID]; !ok {
			m[e.ID] = e.Message
		}
	}
	return m
}
