// Package backoffice is the teams' console under /bo/: their queue with
// filters and search, the case page with one timeline of every contact and
// action across channels and why the router chose the team, the lifecycle
// actions, the triage queue where a supervisor routes in one click what the
// router was unsure of, the dashboard with its CSV exports, and the audit
// log. Server-rendered French pages in the staff frame; the few scripts
// (templates at the cursor, live refresh) only add to pages that work
// without them.
package backoffice

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
	"github.com/ampmetropole/guichet/services/cases/caseref"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/catalogue"
	"github.com/ampmetropole/guichet/services/cases/citizen"
	"github.com/ampmetropole/guichet/services/cases/footprint"
	"github.com/ampmetropole/guichet/services/cases/lifecycle"
	"github.com/ampmetropole/guichet/services/cases/scope"
	"github.com/ampmetropole/guichet/services/cases/territory"
	"github.com/ampmetropole/guichet/services/platform/frtime"
	"github.com/ampmetropole/guichet/services/platform/htmlpage"
	"github.com/ampmetropole/guichet/services/platform/staffshell"
	"github.com/ampmetropole/guichet/services/staff/auth"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

//go:embed templates/*.html
var files embed.FS

// Guard signs people in and says what they may do (auth.Service).
type Guard interface {
	RequirePage(perm auth.Permission) func(http.Handler) http.Handler
	DenyPage(w http.ResponseWriter, r *http.Request)
	CSRFField(r *http.Request) template.HTML
	Viewer(r *http.Request) staffshell.Viewer
	Audit(ctx context.Context, p auth.Principal, action, target string, details map[string]any) error
	AuditLog(ctx context.Context, f auth.AuditFilter, limit int) ([]auth.AuditEntry, error)
	// Members lists the people who can work a case of this competence and territory.
	Members(ctx context.Context, competence, territory string) ([]auth.Member, error)
}

// Store reads and changes cases.
type Store interface {
	Cases(ctx context.Context, f casestore.Filter) (casestore.CasePage, error)
	CaseFile(ctx context.Context, ref string) (casestore.CaseFile, error)
	Transition(ctx context.Context, tr casestore.TransitionRequest, clock casestore.Clock) ([]casestore.OutboxMsg, error)
	Reroute(ctx context.Context, ref, competence, territory string, ch casestore.Change) ([]casestore.OutboxMsg, error)
	AddNote(ctx context.Context, ref, text string, ch casestore.Change) ([]casestore.OutboxMsg, error)
	Dashboard(ctx context.Context, sc scope.Scope, days int, now time.Time) (casestore.Dashboard, error)
	Satisfaction(ctx context.Context, sc scope.Scope, days int, now time.Time) (casestore.SatisfactionFigures, error)
	Performance(ctx context.Context, sc scope.Scope, days int, now time.Time) (casestore.PerformanceFigures, error)
	Control(ctx context.Context, sc scope.Scope, weeks int, now time.Time) ([]casestore.ControlCount, error)
	TriageQueue(ctx context.Context, sc scope.Scope, limit int) ([]casestore.TriageCase, int, error)
	Reply(ctx context.Context, ref string, r casestore.ReplyRequest, ch casestore.Change) ([]casestore.OutboxMsg, error)
	Assign(ctx context.Context, ref, assignee string, ch casestore.Change) ([]casestore.OutboxMsg, error)
	MoveRequests(ctx context.Context, fromRef string, ids []string, toRef string, ch casestore.Change) (string, []casestore.OutboxMsg, error)
	Merge(ctx context.Context, fromRef, intoRef string, ch casestore.Change) ([]casestore.OutboxMsg, error)
	Unmerge(ctx context.Context, ref string, ch casestore.Change) ([]casestore.OutboxMsg, error)
	FileHolders(ctx context.Context, sha string) ([]casestore.Holder, error)
	// LatestFootprint is the report `guichet footprint` recorded last.
	LatestFootprint(ctx context.Context) (rec footprint.Recorded, ok bool, err error)
}

// Files serves the attachments and scans of requests.
type Files interface {
	Get(ctx context.Context, key string) ([]byte, error)
}

// Deps are the back office's collaborators.
type Deps struct {
	Guard     Guard
	Store     Store
	Files     Files
	Catalogue *catalogue.Catalogue
	Clock     casestore.Clock
	Log       *slog.Logger
	// Feed tells the queue and triage pages that cases changed (live.go);
	// nil: the pages do not refresh themselves.
	Feed CaseFeed
	// Incidents works the incidents (incidents.go); nil: the Store's, when
	// it has them.
	Incidents Incidents
	// Places are the Métropole's communes, to whose mairies a case about a
	// communal matter is handed over; nil: no handover from the case page.
	Places *territory.Directory
	// Storage measures the storage per case for the dashboard's footprint
	// panel (footprint.go); nil: the panel does not show it.
	Storage StorageMeter
	// DashboardFresh is how long the dashboard's figures of a scope and
	// period are shown as computed (default one minute); up to five times
	// as long they are shown while new ones are computed (figures.go).
	DashboardFresh time.Duration
}

// Handler serves /bo/.
type Handler struct {
	deps  Deps
	shell *staffshell.Shell
	pages map[string]*template.Template
	mux   *http.ServeMux
	// protected is mux behind the staff pages' security headers.
	protected http.Handler
	live      *hub // the pages' live refresh (live.go)
	figures   *figuresCache
}

// New builds the back office.
func New(d Deps) (*Handler, error) {
	if d.Incidents == nil {
		d.Incidents, _ = d.Store.(Incidents)
	}
	h := &Handler{deps: d, pages: map[string]*template.Template{}, mux: http.NewServeMux(), figures: newFiguresCache(d.DashboardFresh)}
	var err error
	if h.shell, err = staffshell.New(d.Log); err != nil {
		return nil, fmt.Errorf("backoffice: %w", err)
	}
	funcs := template.FuncMap{
		"date":            frtime.DateTime,
		"phone":           citizen.DisplayPhone, // 06 87 65 43 21
		"stateLabel":      lifecycle.Label,
		"communes":        h.communes,
		"competenceLabel": h.competenceLabel,
		"territoryLabel":  territoryLabel,
		"channelLabel":    schemas.ChannelName,
		"eventLabel":      eventLabel,
		"outcomeLabel":    outcomeLabel,
		"actorLabel":      actorLabel,
		"percent":         func(f *float64) string { return fmt.Sprintf("%.0f %%", *f*100) },
		"number":          message.NewPrinter(language.French).Sprint, // 10 000, as French writes it
		"pieceID":         func(key string) string { return strings.TrimPrefix(key, "sha256/") },
		"caseRefPattern":  func() string { return caseref.TypedPattern },
	}
	funcs["percentOf"] = func(f float64) float64 { return f * 100 } // 0.82 → 82
	funcs["day"] = func(t time.Time) string { return t.Format("02/01") }
	funcs["ageLimit"] = ageLimit
	for k, f := range h.pilotageFuncs() { // triage, dashboard, audit (pilotage.go)
		funcs[k] = f
	}
	funcs["average"] = func(f float64) string { return message.NewPrinter(language.French).Sprintf("%.1f", f) } // 3,7
	for _, name := range []string{"home", "queue", "case", "triage", "dashboard", "audit", "incident"} {
		t, err := h.shell.Parse(name+".html", funcs, files, "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("backoffice: %w", err)
		}
		h.pages[name] = t
	}
	read := d.Guard.RequirePage(auth.PermCaseRead)
	h.mux.Handle("GET /bo/{$}", read(http.HandlerFunc(h.home)))
	h.mux.Handle("GET /bo/dossiers", read(http.HandlerFunc(h.queue)))
	h.mux.Handle("GET /bo/dossiers/{ref}", read(http.HandlerFunc(h.caseFile)))
	h.mux.Handle("GET /bo/pieces/{sha}", read(http.HandlerFunc(h.piece)))
	h.mux.Handle("GET /bo/dossiers/{ref}/courriers/{event}", read(http.HandlerFunc(h.letter)))
	h.mux.Handle("POST /bo/dossiers/{ref}/etat", d.Guard.RequirePage(auth.PermCaseTransition)(http.HandlerFunc(h.transition)))
	h.mux.Handle("POST /bo/dossiers/{ref}/orienter", d.Guard.RequirePage(auth.PermCaseReroute)(http.HandlerFunc(h.reroute)))
	h.mux.Handle("GET /bo/tri", d.Guard.RequirePage(auth.PermTriage)(http.HandlerFunc(h.triage)))
	h.mux.Handle("GET /bo/audit", d.Guard.RequirePage(auth.PermAuditRead)(http.HandlerFunc(h.audit)))
	h.mux.Handle("GET /bo/tableau", d.Guard.RequirePage(auth.PermDashboard)(http.HandlerFunc(h.dashboard)))
	h.pilotageRoutes() // triage routing, dashboard export, live refresh (pilotage.go)
	h.mux.Handle("POST /bo/dossiers/{ref}/attribution", d.Guard.RequirePage(auth.PermCaseTransition)(http.HandlerFunc(h.assign)))
	merge := d.Guard.RequirePage(auth.PermCaseMerge)
	h.mux.Handle("POST /bo/dossiers/{ref}/separer", merge(http.HandlerFunc(h.split)))
	h.mux.Handle("POST /bo/dossiers/{ref}/fusionner", merge(http.HandlerFunc(h.merge)))
	h.mux.Handle("POST /bo/dossiers/{ref}/defusionner", merge(http.HandlerFunc(h.unmerge)))
	h.mux.Handle("POST /bo/dossiers/{ref}/note", d.Guard.RequirePage(auth.PermReply)(http.HandlerFunc(h.note)))
	h.mux.Handle("POST /bo/dossiers/{ref}/reponse", d.Guard.RequirePage(auth.PermReply)(http.HandlerFunc(h.reply)))
	h.mux.Handle("POST /bo/dossiers/{ref}/modele", d.Guard.RequirePage(auth.PermReply)(http.HandlerFunc(h.insertTemplate)))
	h.incidentRoutes() // the incident page and its actions (incidents.go)
	// Any other address under /bo/: the French 404 page, in the frame.
	h.mux.Handle("/bo/", read(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.notFound(w, r, "") })))
	h.protected = h.shell.Recover(htmlpage.Protect(h.mux, htmlpage.StaffCSP), d.Guard.Viewer)
	return h, nil
}

// ServeHTTP serves the back office with the staff pages' headers.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.protected.ServeHTTP(w, r) }

// who is the signed-in person as the pages show them.
type who struct {
	Name, RoleLabel, Scope                           string
	Read, Triage, Agent, Mailroom, Transition, Audit bool
}

// page is what every page carries.
type page struct {
	staffshell.Page
	Nav  string
	Who  who
	CSRF template.HTML
}

func (h *Handler) base(r *http.Request, title, nav string) (page, auth.Principal) {
	p, _ := auth.FromContext(r.Context())
	w := who{Name: p.DisplayName, RoleLabel: roleLabel(p.Role), Read: p.Can(auth.PermCaseRead), Triage: p.Can(auth.PermTriage),
		Agent: p.Can(auth.PermAgentConsole), Mailroom: p.Can(auth.PermMailroom), Transition: p.Can(auth.PermCaseTransition), Audit: p.Can(auth.PermAuditRead)}
	if w.Name == "" {
		w.Name = p.Name
	}
	var scope []string
	for _, c := range p.Competences {
		scope = append(scope, h.competenceLabel(c))
	}
	for _, t := range p.Territories {
		scope = append(scope, territory.TerritoryName(t))
	}
	w.Scope = strings.Join(scope, ", ")
	return page{Page: staffshell.Page{Title: title, Shell: h.deps.Guard.Viewer(r), Sheet: "dossiers.css"}, Nav: nav, Who: w, CSRF: h.deps.Guard.CSRFField(r)}, p
}

func (h *Handler) render(w http.ResponseWriter, name string, status int, data any) {
	htmlpage.Render(w, h.pages[name], status, data, h.deps.Log)
}

// notFound answers the 404 page: an address that does not exist, or a
// case outside the viewer's scope (the same answer, so that a reference
// does not tell whether it exists).
func (h *Handler) notFound(w http.ResponseWriter, r *http.Request, text string) {
	h.shell.Error(w, h.deps.Guard.Viewer(r), http.StatusNotFound, text)
}

// unavailable answers the 503 page: the database is out of reach.
func (h *Handler) unavailable(w http.ResponseWriter, r *http.Request, text string) {
	h.shell.Error(w, h.deps.Guard.Viewer(r), http.StatusServiceUnavailable, text)
}

func (h *Handler) home(w http.ResponseWriter, r *http.Request) {
	pg, _ := h.base(r, "Accueil", "")
	h.render(w, "home", http.StatusOK, pg)
}

// option is a choice of a select.
type option struct{ Code, Name string }
