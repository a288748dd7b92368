// Package knowledgedesk is the back office's side of the knowledge base of
// first-contact answers, under /bo/connaissances: the list of entries with
// French full-text search, which to review and how often each answered a
// call over the last 30 days, for everyone who may read them; writing,
// changing, archiving and restoring entries for supervisors and admins,
// every change audited. The call centre finds the entries in its console
// (services/channels/phone/console).
package knowledgedesk

import (
	"context"
	"embed"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/ampmetropole/guichet/services/cases/catalogue"
	"github.com/ampmetropole/guichet/services/cases/knowledge"
	"github.com/ampmetropole/guichet/services/cases/territory"
	"github.com/ampmetropole/guichet/services/platform/frtime"
	"github.com/ampmetropole/guichet/services/platform/htmlpage"
	"github.com/ampmetropole/guichet/services/platform/staffshell"
	"github.com/ampmetropole/guichet/services/staff/auth"
)

//go:embed templates/*.html
var files embed.FS

// Base is where the desk is mounted: mount the handler at Base and Base+"/".
const Base = "/bo/connaissances"

// Actions the desk writes to the audit log (target: "fiche <id>").
const (
	ActionCreate  = "knowledge.create"
	ActionUpdate  = "knowledge.update"
	ActionArchive = "knowledge.archive"
	ActionRestore = "knowledge.restore"
)

// Guard signs people in and says what they may do (auth.Service).
type Guard interface {
	RequirePage(perm auth.Permission) func(http.Handler) http.Handler
	CSRFField(r *http.Request) template.HTML
	Viewer(r *http.Request) staffshell.Viewer
	Audit(ctx context.Context, p auth.Principal, action, target string, details map[string]any) error
}

// Store keeps the entries (knowledge.Store).
type Store interface {
	Create(ctx context.Context, d knowledge.Draft, editor string) (knowledge.Entry, error)
	Update(ctx context.Context, id int64, version int, d knowledge.Draft, editor string) (knowledge.Entry, error)
	Archive(ctx context.Context, id int64, editor string) (knowledge.Entry, error)
	Restore(ctx context.Context, id int64, editor string) (knowledge.Entry, error)
	Get(ctx context.Context, id int64) (knowledge.Entry, error)
	List(ctx context.Context, q knowledge.ListQuery) ([]knowledge.Entry, error)
}

// Deps are the desk's collaborators.
type Deps struct {
	Guard     Guard
	Store     Store
	Catalogue *catalogue.Catalogue
	// Now is the clock (review dates, the form's bounds); nil: time.Now.
	Now func() time.Time
	Log *slog.Logger
}

// Handler serves the desk.
type Handler struct {
	deps      Deps
	shell     *staffshell.Shell
	list      *template.Template
	entry     *template.Template
	form      *template.Template
	protected http.Handler
}

// New builds the desk.
func New(d Deps) (*Handler, error) {
	if d.Now == nil {
		d.Now = time.Now
	}
	h := &Handler{deps: d}
	var err error
	if h.shell, err = staffshell.New(d.Log); err != nil {
		return nil, fmt.Errorf("knowledgedesk: %w", err)
	}
	funcs := template.FuncMap{
		"date":       frtime.Date,
		"datetime":   frtime.DateTime,
		"competence": h.competenceLabel,
		"territory":  territoryLabel,
		"due":        func(e knowledge.Entry) bool { return e.Due(h.deps.Now()) },
	}
	for name, t := range map[string]**template.Template{"liste": &h.list, "fiche": &h.entry, "formulaire": &h.form} {
		if *t, err = h.shell.Parse(name+".html", funcs, files, "templates/"+name+".html"); err != nil {
			return nil, fmt.Errorf("knowledgedesk: %w", err)
		}
	}
	read := d.Guard.RequirePage(auth.PermKnowledgeRead)
	edit := d.Guard.RequirePage(auth.PermKnowledgeEdit)
	mux := http.NewServeMux()
	mux.Handle("GET "+Base, read(http.HandlerFunc(h.showList)))
	mux.Handle("POST "+Base, edit(http.HandlerFunc(h.create)))
	mux.Handle("GET "+Base+"/nouvelle", edit(http.HandlerFunc(h.newForm)))
	mux.Handle("GET "+Base+"/{id}", read(http.HandlerFunc(h.showEntry)))
	mux.Handle("POST "+Base+"/{id}", edit(http.HandlerFunc(h.update)))
	mux.Handle("GET "+Base+"/{id}/modifier", edit(http.HandlerFunc(h.editForm)))
	mux.Handle("POST "+Base+"/{id}/archiver", edit(http.HandlerFunc(h.archive)))
	mux.Handle("POST "+Base+"/{id}/restaurer", edit(http.HandlerFunc(h.restore)))
	mux.Handle(Base+"/", read(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.notFound(w, r) })))
	h.protected = h.shell.Recover(htmlpage.Protect(mux, htmlpage.StaffCSP), d.Guard.Viewer)
	return h, nil
}

// ServeHTTP serves the desk with the staff pages' headers; cross-site
// posts are refused.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.protected.ServeHTTP(w, r) }

// page is what every page of the desk carries.
type page struct {
	staffshell.Page
	CSRF template.HTML
	// Edit: the viewer may write entries.
	Edit bool
}

func (h *Handler) base(r *http.Request, title string) page {
	p, _ := auth.FromContext(r.Context())
	return page{Page: staffshell.Page{Title: title, Shell: h.deps.Guard.Viewer(r), Sheet: "connaissances.css"},
		CSRF: h.deps.Guard.CSRFField(r), Edit: p.Can(auth.PermKnowledgeEdit)}
}

func (h *Handler) render(w http.ResponseWriter, t *template.Template, status int, data any) {
	h.shell.Render(w, t, status, data)
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.shell.Error(w, h.deps.Guard.Viewer(r), http.StatusNotFound,
		"Cette fiche n'existe pas. Elle a pu être mal recopiée : retrouvez-la depuis la liste des réponses types.")
}

func (h *Handler) unavailable(w http.ResponseWriter, r *http.Request, err error) {
	h.deps.Log.Error("knowledge desk", "path", r.URL.Path, "err", err)
	h.shell.Error(w, h.deps.Guard.Viewer(r), http.StatusServiceUnavailable, "")
}

// entryID reads the {id} of the path: a positive number, else none.
func entryID(r *http.Request) (int64, bool) {
	s := r.PathValue("id")
	if len(s) == 0 || len(s) > 18 {
		return 0, false
	}
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil && id > 0
}

func (h *Handler) competenceLabel(code string) string {
	if code == "" {
		return "Toutes compétences"
	}
	if k, ok := h.deps.Catalogue.Competence(code); ok {
		return k.Label
	}
	return code
}

func territoryLabel(code string) string {
	if code == "" {
		return "Tous territoires"
	}
	if n := territory.TerritoryName(code); n != "" {
		return n
	}
	return code
}

// audit records a change; it is already made, so a failure is logged.
func (h *Handler) audit(r *http.Request, p auth.Principal, action string, e knowledge.Entry) {
	details := map[string]any{"title": e.Title, "version": e.Version}
	if e.Competence != "" {
		details["competence"] = e.Competence
	}
	if e.Territory != "" {
		details["territory"] = e.Territory
	}
	if action == ActionCreate || action == ActionUpdate {
		details["review_on"] = e.ReviewOn.Format(time.DateOnly)
	}
	if err := h.deps.Guard.Audit(r.Context(), p, action, "fiche "+strconv.FormatInt(e.ID, 10), details); err != nil {
		h.deps.Log.Error("audit", "action", action, "entry", e.ID, "err", err)
	}
}
