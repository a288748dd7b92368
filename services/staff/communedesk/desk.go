// Package communedesk is the mairies' desk, under /mairie, for the staff
// of the 92 communes (role commune, scoped to one commune or several):
//
//   - a dashboard of the cases located in their communes, by domain and
//     state, and of those the Métropole handed over to them;
//   - the list of those cases, with their state and the team in charge;
//   - a case's page: what happened to it, and the requests in full only
//     where the mairie may read them — those its front desk filed, and
//     every request of a case handed over to it (the handoff the law asks
//     of an administration that receives a request it is not competent
//     for); the others are only counted;
//   - the front desk (« accueil »): a request filed for a citizen who came
//     in person, on the counter channel, with the same receipt as every
//     channel (the tracking code at once, the acknowledgement by e-mail,
//     SMS or letter).
//
// A mairie never sees another commune's case: every query is bounded by the
// communes of the signed-in account, and a case outside them does not
// exist (404). Every page showing someone's data is audited.
package communedesk

import (
	"context"
	"embed"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/catalogue"
	"github.com/ampmetropole/guichet/services/cases/lifecycle"
	"github.com/ampmetropole/guichet/services/cases/territory"
	"github.com/ampmetropole/guichet/services/intake"
	"github.com/ampmetropole/guichet/services/platform/frtime"
	"github.com/ampmetropole/guichet/services/platform/htmlpage"
	"github.com/ampmetropole/guichet/services/platform/staffshell"
	"github.com/ampmetropole/guichet/services/staff/auth"
)

//go:embed templates/*.html
var files embed.FS

// Base is where the desk is mounted: mount the handler at Base and Base+"/".
const Base = "/mairie"

// Guard signs people in and says what they may do (auth.Service).
type Guard interface {
	RequirePage(perm auth.Permission) func(http.Handler) http.Handler
	CSRFField(r *http.Request) template.HTML
	Viewer(r *http.Request) staffshell.Viewer
	Audit(ctx context.Context, p auth.Principal, action, target string, details map[string]any) error
}

// Store is what the desk reads of the case history (casestore.Store).
type Store interface {
	CommuneCases(ctx context.Context, f casestore.CommuneFilter) ([]casestore.CommuneCase, error)
	CommuneCaseByRef(ctx context.Context, communes []string, ref string) (casestore.CommuneCaseDetail, error)
	CommuneDashboard(ctx context.Context, communes []string, since time.Time) (casestore.CommuneFigures, error)
	RequestStatus(ctx context.Context, id string) (casestore.RequestStatus, error)
}

// Intake publishes the requests filed at the front desk (intake.Intake).
type Intake interface {
	Submit(ctx context.Context, req schemas.Request) (intake.Receipt, error)
	DerivedID(namespace, key string, at time.Time) string
}

// Deps are what the desk needs.
type Deps struct {
	Guard     Guard
	Store     Store
	Intake    Intake
	Catalogue *catalogue.Catalogue
	Places    *territory.Directory
	// CaseWait is how long the receipt waits for the router to give a
	// filed request its case; default 3 s (the receipt shows the tracking
	// code either way).
	CaseWait time.Duration
	// Now is the clock; nil: time.Now.
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

// maxForm bounds a form of the desk: a request written at the counter.
const maxForm = 64 << 10

// New builds the desk.
func New(d Deps) (*Handler, error) {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.CaseWait <= 0 {
		d.CaseWait = 3 * time.Second
	}
	h := &Handler{deps: d, pages: map[string]*template.Template{}}
	var err error
	if h.shell, err = staffshell.New(d.Log); err != nil {
		return nil, fmt.Errorf("communedesk: %w", err)
	}
	funcs := template.FuncMap{
		"date":       frtime.Date,
		"datetime":   frtime.DateTime,
		"state":      lifecycle.Label,
		"competence": h.competenceLabel,
		"team":       h.team,
		"commune":    h.communeName,
		"channel":    schemas.ChannelName,
		"step":       stepLabel,
		"reply":      replyLabel,
		"lines":      func(s string) []string { return strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") },
	}
	for _, name := range []string{"accueil", "dossiers", "dossier", "guichet", "recepisse"} {
		if h.pages[name], err = h.shell.Parse(name+".html", funcs, files, "templates/"+name+".html", "templates/liste.html"); err != nil {
			return nil, fmt.Errorf("communedesk: %w", err)
		}
	}
	mairie := d.Guard.RequirePage(auth.PermCommune)
	mux := http.NewServeMux()
	route := func(pattern string, fn http.HandlerFunc) { mux.Handle(pattern, mairie(fn)) }
	route("GET "+Base, h.showDashboard)
	route("GET "+Base+"/dossiers", h.showCases)
	route("GET "+Base+"/dossiers/{ref}", h.showCase)
	route("GET "+Base+"/accueil", h.showCounter)
	route("POST "+Base+"/accueil", h.fileAtCounter)
	route("GET "+Base+"/accueil/{id}", h.showReceipt)
	mux.Handle(Base+"/", mairie(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.shell.Error(w, h.deps.Guard.Viewer(r), http.StatusNotFound, "Cette page n'existe pas. Revenez à l'espace mairie.")
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
	CSRF     template.HTML
	Communes []string // the account's communes (INSEE)
	Names    string   // their names, for titles
}

func (h *Handler) base(r *http.Request, title string) (page, auth.Principal) {
	p, _ := auth.FromContext(r.Context())
	names := make([]string, len(p.Communes))
	for i, c := range p.Communes {
		names[i] = h.communeName(c)
	}
	return page{Page: staffshell.Page{Title: title, Shell: h.deps.Guard.Viewer(r), Sheet: "mairie.css"},
		CSRF: h.deps.Guard.CSRFField(r), Communes: p.Communes, Names: strings.Join(names, ", ")}, p
}

func (h *Handler) render(w http.ResponseWriter, name string, status int, data any) {
	h.shell.Render(w, h.pages[name], status, data)
}

func (h *Handler) unavailable(w http.ResponseWriter, r *http.Request, err error) {
	h.deps.Log.Error("commune desk", "path", r.URL.Path, "err", err)
	h.shell.Error(w, h.deps.Guard.Viewer(r), http.StatusServiceUnavailable, "")
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.shell.Error(w, h.deps.Guard.Viewer(r), http.StatusNotFound,
		"Ce dossier n'existe pas, ou il ne concerne pas votre commune. Revenez à la liste des dossiers de votre commune.")
}

// audit records a view or an act; it is done already, so a failure is
// logged.
func (h *Handler) audit(r *http.Request, action, target string, details map[string]any) {
	p, _ := auth.FromContext(r.Context())
	if details == nil {
		details = map[string]any{}
	}
	details["page"] = "mairie"
	if err := h.deps.Guard.Audit(r.Context(), p, action, target, details); err != nil {
		h.deps.Log.Error("audit", "action", action, "err", err)
	}
}

func (h *Handler) competenceLabel(code string) string {
	if code == schemas.CompetenceTriage {
		return "à orienter (file de tri)"
	}
	if c, ok := h.deps.Catalogue.Competence(code); ok {
		return c.Label
	}
	return code
}

// team names who handles a case: the competence's team of the territory,
// else its service.
func (h *Handler) team(competence, territory string) string {
	if competence == schemas.CompetenceTriage {
		return "Centre de relation usagers (orientation)"
	}
	if t, ok := h.deps.Catalogue.Team(competence, territory); ok {
		return t.Name
	}
	if c, ok := h.deps.Catalogue.Competence(competence); ok && c.Service != "" {
		return c.Service
	}
	return "—"
}

func (h *Handler) communeName(insee string) string {
	if c, ok := h.deps.Places.ByINSEE(insee); ok {
		return c.Name
	}
	return insee
}

func replyLabel(c string) string {
	return map[string]string{"email": "par courriel", "phone": "par téléphone (SMS ou appel)", "mail": "par courrier", "none": "aucune"}[c]
}

// stepLabel says what a step of the history was, without anyone's words.
func stepLabel(typ string) string {
	switch typ {
	case schemas.EventCreated:
		return "demande reçue, dossier ouvert"
	case schemas.EventRequestLinked:
		return "nouvelle demande rattachée"
	case schemas.EventStateChanged:
		return "changement d'état"
	case schemas.EventAssigned:
		return "confié à un agent"
	case schemas.EventRerouted:
		return "confié à un autre service"
	case schemas.EventReplied:
		return "réponse envoyée au demandeur"
	case schemas.EventNoteAdded:
		return "note interne"
	case schemas.EventMerged:
		return "regroupé avec un autre dossier"
	case schemas.EventBreached:
		return "délai dépassé"
	}
	return "autre étape"
}
