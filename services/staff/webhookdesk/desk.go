// Package webhookdesk is the admins' page of the partners' webhooks, under
// /bo/webhooks: the subscriptions with their last delivery status and
// counts, a new subscription (its signing secret shown once), disabling
// one, its recent deliveries and the dead ones, sent again with
// « Relancer ». Every change is audited. The sending itself is
// services/outbound/webhook's.
package webhookdesk

import (
	"context"
	"embed"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ampmetropole/guichet/services/cases/catalogue"
	"github.com/ampmetropole/guichet/services/cases/territory"
	"github.com/ampmetropole/guichet/services/outbound/webhook"
	"github.com/ampmetropole/guichet/services/platform/frtime"
	"github.com/ampmetropole/guichet/services/platform/htmlpage"
	"github.com/ampmetropole/guichet/services/platform/staffshell"
	"github.com/ampmetropole/guichet/services/staff/auth"
)

//go:embed templates/*.html
var files embed.FS

// Base is where the desk is mounted: mount the handler at Base and Base+"/".
const Base = "/bo/webhooks"

// Actions the desk writes to the audit log (target: "webhook <id>").
const (
	ActionCreate  = "webhook.create"
	ActionDisable = "webhook.disable"
	ActionRequeue = "webhook.requeue"
)

// Guard signs people in and says what they may do (auth.Service).
type Guard interface {
	RequirePage(perm auth.Permission) func(http.Handler) http.Handler
	CSRFField(r *http.Request) template.HTML
	Viewer(r *http.Request) staffshell.Viewer
	Audit(ctx context.Context, p auth.Principal, action, target string, details map[string]any) error
}

// Store keeps the subscriptions and deliveries (webhook.Store).
type Store interface {
	Create(ctx context.Context, d webhook.Draft, by string) (webhook.Subscription, string, error)
	Subscriptions(ctx context.Context) ([]webhook.Subscription, error)
	Subscription(ctx context.Context, id int64) (webhook.Subscription, error)
	Disable(ctx context.Context, id int64, by string) (webhook.Subscription, error)
	Deliveries(ctx context.Context, subscription int64, status string, limit int) ([]webhook.Delivery, error)
	Requeue(ctx context.Context, subscription int64, webhookID string) (webhook.Delivery, error)
}

// Deps are the desk's collaborators.
type Deps struct {
	Guard     Guard
	Store     Store
	Catalogue *catalogue.Catalogue
	Places    *territory.Directory
	// Requeued is told when a delivery is queued again, to send it at once
	// (webhook.Service.Kick) when this process sends; nil: the sending
	// process finds it within a second.
	Requeued func()
	Log      *slog.Logger
}

// Handler serves the desk.
type Handler struct {
	deps      Deps
	shell     *staffshell.Shell
	pages     map[string]*template.Template
	protected http.Handler
}

// maxForm bounds the body of a form: a name, a URL, filters.
const maxForm = 64 << 10

// New builds the desk.
func New(d Deps) (*Handler, error) {
	h := &Handler{deps: d, pages: map[string]*template.Template{}}
	var err error
	if h.shell, err = staffshell.New(d.Log); err != nil {
		return nil, fmt.Errorf("webhookdesk: %w", err)
	}
	funcs := template.FuncMap{
		"datetime":   datetime,
		"iso":        func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"competence": h.competenceLabel,
		"territory":  territoryLabel,
		"commune":    h.communeLabel,
		"eventType":  eventTypeLabel,
		"status":     statusLabel,
		"join":       strings.Join,
	}
	for _, name := range []string{"liste", "formulaire", "secret", "abonnement"} {
		if h.pages[name], err = h.shell.Parse(name+".html", funcs, files, "templates/"+name+".html"); err != nil {
			return nil, fmt.Errorf("webhookdesk: %w", err)
		}
	}
	admin := d.Guard.RequirePage(auth.PermAdminAccounts)
	mux := http.NewServeMux()
	route := func(pattern string, fn http.HandlerFunc) { mux.Handle(pattern, admin(fn)) }
	route("GET "+Base, h.showList)
	route("POST "+Base, h.create)
	route("GET "+Base+"/nouveau", h.newForm)
	route("GET "+Base+"/{id}", h.showSubscription)
	route("POST "+Base+"/{id}/desactiver", h.disable)
	route("POST "+Base+"/{id}/envois/{delivery}/relancer", h.requeue)
	mux.Handle(Base+"/", admin(http.HandlerFunc(h.notFound)))
	h.protected = h.shell.Recover(htmlpage.Protect(mux, htmlpage.StaffCSP), d.Guard.Viewer)
	return h, nil
}

// ServeHTTP serves the desk with the staff pages' headers; cross-site
// posts are refused.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Secrets and partners' addresses: nothing of it kept in caches.
	w.Header().Set("Cache-Control", "no-store")
	h.protected.ServeHTTP(w, r)
}

// page is what every page of the desk carries.
type page struct {
	staffshell.Page
	CSRF template.HTML
}

func (h *Handler) base(r *http.Request, title string) page {
	return page{Page: staffshell.Page{Title: title, Shell: h.deps.Guard.Viewer(r), Sheet: "connaissances.css"}, CSRF: h.deps.Guard.CSRFField(r)}
}

func (h *Handler) render(w http.ResponseWriter, name string, status int, data any) {
	h.shell.Render(w, h.pages[name], status, data)
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.shell.Error(w, h.deps.Guard.Viewer(r), http.StatusNotFound,
		"Cet abonnement ou cet envoi n'existe pas. Retrouvez-le depuis la liste des webhooks.")
}

func (h *Handler) unavailable(w http.ResponseWriter, r *http.Request, err error) {
	h.deps.Log.Error("webhook desk", "path", r.URL.Path, "err", err)
	h.shell.Error(w, h.deps.Guard.Viewer(r), http.StatusServiceUnavailable, "")
}

// subscriptionID reads the {id} of the path: a positive number, else none.
func subscriptionID(r *http.Request) (int64, bool) {
	s := r.PathValue("id")
	if len(s) == 0 || len(s) > 18 {
		return 0, false
	}
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil && id > 0
}

func (h *Handler) competenceLabel(code string) string {
	if h.deps.Catalogue != nil {
		if k, ok := h.deps.Catalogue.Competence(code); ok {
			return k.Label
		}
	}
	return code
}

func territoryLabel(code string) string {
	if n := territory.TerritoryName(code); n != "" {
		return n
	}
	return code
}

func (h *Handler) communeLabel(code string) string {
	if h.deps.Places != nil {
		if c, ok := h.deps.Places.ByINSEE(code); ok && c.INSEE == code {
			return c.Name + " (" + code + ")"
		}
	}
	return code
}

// datetime writes a time, or a time that may be nil, in French.
func datetime(v any) string {
	switch t := v.(type) {
	case time.Time:
		return frtime.DateTime(t)
	case *time.Time:
		if t != nil {
			return frtime.DateTime(*t)
		}
	}
	return ""
}

func eventTypeLabel(code string) string {
	for _, t := range webhook.EventTypes {
		if t.Code == code {
			return t.Label
		}
	}
	return code
}

func statusLabel(s string) string {
	switch s {
	case webhook.StatusPending:
		return "en attente"
	case webhook.StatusDelivered:
		return "remis"
	case webhook.StatusDead:
		return "abandonné"
	}
	return s
}

// audit records a change; it is already made, so a failure is logged.
func (h *Handler) audit(r *http.Request, p auth.Principal, action string, id int64, details map[string]any) {
	if err := h.deps.Guard.Audit(r.Context(), p, action, "webhook "+strconv.FormatInt(id, 10), details); err != nil {
		h.deps.Log.Error("audit", "action", action, "subscription", id, "err", err)
	}
}
