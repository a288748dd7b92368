// Package backoffice is the teams' console under /bo/: their queue with
// filters and search, the case page with one timeline of every contact and
// action across channels and why the router chose the team, the lifecycle
// actions, and the triage queue where a supervisor routes in one click what
// the router was unsure of. Server-rendered French pages, no script.
package backoffice

import (
	"context"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/auth"
	"github.com/ampmetropole/guichet/services/casestore"
	"github.com/ampmetropole/guichet/services/catalogue"
	"github.com/ampmetropole/guichet/services/fault"
	"github.com/ampmetropole/guichet/services/frtime"
	"github.com/ampmetropole/guichet/services/htmlpage"
	"github.com/ampmetropole/guichet/services/letterpdf"
	"github.com/ampmetropole/guichet/services/lifecycle"
	"github.com/ampmetropole/guichet/services/territory"
)

//go:embed templates/*.html static/*
var files embed.FS

// Guard signs people in and says what they may do (auth.Service).
type Guard interface {
	RequirePage(perm auth.Permission) func(http.Handler) http.Handler
	DenyPage(w http.ResponseWriter, r *http.Request)
	CSRFField(r *http.Request) template.HTML
	Audit(ctx context.Context, p auth.Principal, action, target string, details map[string]any) error
	AuditLog(ctx context.Context, f auth.AuditFilter, limit int) ([]auth.AuditEntry, error)
}

// Store reads and changes cases.
type Store interface {
	Cases(ctx context.Context, f casestore.Filter) (casestore.CasePage, error)
	CaseFile(ctx context.Context, ref string) (casestore.CaseFile, error)
	Transition(ctx context.Context, tr casestore.TransitionRequest, clock casestore.Clock) ([]casestore.OutboxMsg, error)
	Reroute(ctx context.Context, ref, competence, territory string, ch casestore.Change) ([]casestore.OutboxMsg, error)
	AddNote(ctx context.Context, ref, text string, ch casestore.Change) ([]casestore.OutboxMsg, error)
	Dashboard(ctx context.Context, competences, territories []string, days int, now time.Time) (casestore.Dashboard, error)
	Reply(ctx context.Context, ref string, r casestore.ReplyRequest, ch casestore.Change) ([]casestore.OutboxMsg, error)
	Assign(ctx context.Context, ref, assignee string, ch casestore.Change) ([]casestore.OutboxMsg, error)
	MoveRequests(ctx context.Context, fromRef string, ids []string, toRef string, ch casestore.Change) (string, []casestore.OutboxMsg, error)
	Merge(ctx context.Context, fromRef, intoRef string, ch casestore.Change) ([]casestore.OutboxMsg, error)
	Unmerge(ctx context.Context, ref string, ch casestore.Change) ([]casestore.OutboxMsg, error)
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
}

// Handler serves /bo/.
type Handler struct {
	deps  Deps
	pages map[string]*template.Template
	mux   *http.ServeMux
	// protected is mux behind the staff pages' security headers.
	protected http.Handler
}

// New builds the back office.
func New(d Deps) (*Handler, error) {
	h := &Handler{deps: d, pages: map[string]*template.Template{}, mux: http.NewServeMux()}
	funcs := template.FuncMap{
		"date":            frtime.DateTime,
		"stateLabel":      lifecycle.Label,
		"competenceLabel": h.competenceLabel,
		"territoryLabel":  territoryLabel,
		"channelLabel":    channelLabel,
		"eventLabel":      eventLabel,
		"outcomeLabel":    outcomeLabel,
		"actorLabel":      actorLabel,
		"percent":         func(f *float64) string { return fmt.Sprintf("%.0f %%", *f*100) },
		"pieceID":         func(key string) string { return strings.TrimPrefix(key, "sha256/") },
	}
	funcs["day"] = func(t time.Time) string { return t.Format("02/01") }
	for _, name := range []string{"home", "queue", "case", "triage", "dashboard", "audit"} {
		t, err := template.New(name+".html").Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("backoffice: %w", err)
		}
		h.pages[name] = t
	}
	static, err := fs.Sub(files, "static")
	if err != nil {
		return nil, fmt.Errorf("backoffice: %w", err)
	}
	read := d.Guard.RequirePage(auth.PermCaseRead)
	h.mux.Handle("GET /bo/static/", http.StripPrefix("/bo/static/", http.FileServerFS(static)))
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
	h.mux.Handle("POST /bo/dossiers/{ref}/attribution", d.Guard.RequirePage(auth.PermCaseTransition)(http.HandlerFunc(h.assign)))
	merge := d.Guard.RequirePage(auth.PermCaseMerge)
	h.mux.Handle("POST /bo/dossiers/{ref}/separer", merge(http.HandlerFunc(h.split)))
	h.mux.Handle("POST /bo/dossiers/{ref}/fusionner", merge(http.HandlerFunc(h.merge)))
	h.mux.Handle("POST /bo/dossiers/{ref}/defusionner", merge(http.HandlerFunc(h.unmerge)))
	h.mux.Handle("POST /bo/dossiers/{ref}/note", d.Guard.RequirePage(auth.PermReply)(http.HandlerFunc(h.note)))
	h.mux.Handle("POST /bo/dossiers/{ref}/reponse", d.Guard.RequirePage(auth.PermReply)(http.HandlerFunc(h.reply)))
	h.protected = htmlpage.Protect(h.mux, htmlpage.StaffCSP)
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
	Title, Nav string
	Who        who
	CSRF       template.HTML
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
	return page{Title: title, Nav: nav, Who: w, CSRF: h.deps.Guard.CSRFField(r)}, p
}

func (h *Handler) render(w http.ResponseWriter, name string, status int, data any) {
	htmlpage.Render(w, h.pages[name], status, data, h.deps.Log)
}

func (h *Handler) home(w http.ResponseWriter, r *http.Request) {
	pg, _ := h.base(r, "Accueil", "")
	h.render(w, "home", http.StatusOK, pg)
}

// option is a choice of a select.
type option struct{ Code, Name string }

type queuePage struct {
	page
	F           casestore.Filter
	Page        casestore.CasePage
	Competences []catalogue.Competence
	Territories []option
	States      []string
	Channels    []string
	Prev, Next  string
	Triage      bool
	Error       string
}

func (h *Handler) territories() []option {
	var out []option
	for _, c := range []string{"marseille-provence", "pays-d-aix", "pays-salonais", "pays-d-aubagne-etoile", "istres-ouest-provence", "pays-de-martigues"} {
		out = append(out, option{c, territory.TerritoryName(c)})
	}
	return out
}

// scope limits a filter to what the person may see.
func scope(p auth.Principal, f *casestore.Filter) {
	if p.Role == auth.RoleTeam || p.Role == auth.RoleSupervisor {
		f.ScopeCompetences, f.ScopeTerritories = p.Competences, p.Territories
	}
}

func (h *Handler) queue(w http.ResponseWriter, r *http.Request) {
	pg, p := h.base(r, "Dossiers", "dossiers")
	q := r.URL.Query()
	f := casestore.Filter{Competence: q.Get("competence"), Territory: q.Get("territory"), Channel: q.Get("channel"),
		Q: strings.TrimSpace(q.Get("q")), Overdue: q.Get("overdue") == "true", Limit: 50}
	if lifecycle.Known(q.Get("state")) {
		f.State = q.Get("state")
	}
	if n, err := strconv.Atoi(q.Get("page")); err == nil && n > 1 && n < 10000 {
		f.Offset = (n - 1) * f.Limit
	}
	scope(p, &f)
	data := queuePage{page: pg, F: f, Competences: h.deps.Catalogue.Competences, Territories: h.territories(),
		States: lifecycle.States, Channels: []string{schemas.ChannelWeb, schemas.ChannelPhone, schemas.ChannelMail, schemas.ChannelEmail}}
	status := http.StatusOK
	page, err := h.deps.Store.Cases(r.Context(), f)
	switch {
	case fault.KindOf(err) == fault.Invalid:
		status, data.Error = http.StatusBadRequest, "Recherche trop longue : 200 caractères au plus."
	case err != nil:
		h.deps.Log.Error("back office queue", "err", err)
		status, data.Error = http.StatusServiceUnavailable, "La liste des dossiers est momentanément indisponible : réessayez dans quelques instants."
	}
	data.Page = page
	if page.ByState == nil {
		data.Page.ByState = map[string]int{}
	}
	pageNo := f.Offset/f.Limit + 1
	link := func(n int) string {
		v := r.URL.Query()
		v.Set("page", strconv.Itoa(n))
		return "/bo/dossiers?" + v.Encode()
	}
	if pageNo > 1 {
		data.Prev = link(pageNo - 1)
	}
	if f.Offset+len(page.Cases) < page.Total {
		data.Next = link(pageNo + 1)
	}
	h.render(w, "queue", status, data)
}

// timelineItem is a contact or an action of the case, in time order.
type timelineItem struct {
	At      time.Time
	Request *schemas.Request
	Event   *schemas.CaseEvent
}

type casePage struct {
	page
	F           casestore.CaseFile
	Timeline    []timelineItem
	Next        []string
	CanReroute  bool
	CanReply    bool
	CanMerge    bool
	CanAssign   bool
	Me          string
	Competences []catalogue.Competence
	Templates   []catalogue.Template
	Reply       replyForm
	Error, Done string
}

// replyForm is the answer being written, kept when it is refused.
type replyForm struct {
	Channel, To, Subject, Message string
}

// loadCase reads a case the person may see; another team's case is not
// found, so that its existence does not leak.
func (h *Handler) loadCase(w http.ResponseWriter, r *http.Request) (casestore.CaseFile, auth.Principal, bool) {
	p, _ := auth.FromContext(r.Context())
	ref := r.PathValue("ref")
	f, err := h.deps.Store.CaseFile(r.Context(), ref)
	if fault.KindOf(err) == fault.NotFound {
		http.NotFound(w, r)
		return f, p, false
	}
	if err != nil {
		h.deps.Log.Error("back office case", "ref", ref, "err", err)
		http.Error(w, "Dossier momentanément indisponible : réessayez dans quelques instants.", http.StatusServiceUnavailable)
		return f, p, false
	}
	terr := ""
	if f.Territory != nil {
		terr = *f.Territory
	}
	if !p.SeesCase(f.Competence, terr) && !(f.Competence == schemas.CompetenceTriage && p.Can(auth.PermTriage)) {
		http.NotFound(w, r)
		return f, p, false
	}
	return f, p, true
}

func (h *Handler) caseFile(w http.ResponseWriter, r *http.Request) {
	f, p, ok := h.loadCase(w, r)
	if !ok {
		return
	}
	h.showCase(w, r, f, p, http.StatusOK, "", r.URL.Query().Get("fait"))
}

func (h *Handler) showCase(w http.ResponseWriter, r *http.Request, f casestore.CaseFile, p auth.Principal, status int, errMsg, done string) {
	pg, _ := h.base(r, "Dossier "+f.Ref, "dossiers")
	data := casePage{page: pg, F: f, Competences: h.deps.Catalogue.Competences, Error: errMsg, Done: doneLabel(done),
		CanReroute: p.Can(auth.PermCaseReroute) && !lifecycle.Final(f.State),
		CanMerge:   p.Can(auth.PermCaseMerge), CanAssign: p.Can(auth.PermCaseTransition) && !lifecycle.Final(f.State), Me: p.Name}
	if p.Can(auth.PermCaseTransition) {
		data.Next = lifecycle.Next(f.State, p.Role)
	}
	if data.CanReply = p.Can(auth.PermReply); data.CanReply {
		data.Templates = h.deps.Catalogue.Templates(f.Competence)
		data.Reply = h.replyDraft(r, f)
	}
	for i := range f.Requests {
		data.Timeline = append(data.Timeline, timelineItem{At: f.Requests[i].ReceivedAt, Request: &f.Requests[i]})
	}
	for i := range f.Events {
		e := &f.Events[i]
		if e.RequestID != "" && (e.Type == schemas.EventCreated || e.Type == schemas.EventRequestLinked) {
			continue // the contact itself stands for it
		}
		data.Timeline = append(data.Timeline, timelineItem{At: e.At, Event: e})
	}
	slices.SortStableFunc(data.Timeline, func(a, b timelineItem) int { return a.At.Compare(b.At) })
	if err := h.deps.Guard.Audit(r.Context(), p, "case.view", f.Ref, nil); err != nil {
		h.deps.Log.Warn("audit log not written", "err", err)
	}
	h.render(w, "case", status, data)
}

// transition changes the state of a case from its page.
func (h *Handler) transition(w http.ResponseWriter, r *http.Request) {
	f, p, ok := h.loadCase(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		h.showCase(w, r, f, p, http.StatusRequestEntityTooLarge, "Formulaire trop volumineux.", "")
		return
	}
	to := r.PostFormValue("vers")
	_, err := h.deps.Store.Transition(r.Context(), casestore.TransitionRequest{Ref: f.Ref, To: to, Role: p.Role,
		Change:    casestore.Change{Actor: p.Name, Reason: strings.TrimSpace(r.PostFormValue("motif"))},
		WaitingOn: r.PostFormValue("attente"), RedirectTo: r.PostFormValue("organisme"),
		Required: h.deps.Catalogue.RequiredBeforeQualification(f.Competence), Now: time.Now()}, h.deps.Clock)
	if err != nil {
		status, msg := http.StatusUnprocessableEntity, "Changement refusé : "+strings.TrimPrefix(strings.TrimPrefix(err.Error(), "casestore: "), "lifecycle: ")
		switch fault.KindOf(err) {
		case fault.Conflict:
			status = http.StatusConflict
		case fault.Forbidden:
			status = http.StatusForbidden
		case fault.Invalid:
		default:
			h.deps.Log.Error("back office transition", "ref", f.Ref, "err", err)
			status, msg = http.StatusServiceUnavailable, "Le changement n'a pas pu être enregistré : réessayez dans quelques instants."
		}
		h.showCase(w, r, f, p, status, msg, "")
		return
	}
	if err := h.deps.Guard.Audit(r.Context(), p, "case.transition", f.Ref, map[string]any{"from": f.State, "to": to}); err != nil {
		h.deps.Log.Warn("audit log not written", "err", err)
	}
	http.Redirect(w, r, "/bo/dossiers/"+url.PathEscape(f.Ref)+"?fait=etat", http.StatusSeeOther)
}

// reroute gives the case to another competence (from triage or the case page).
func (h *Handler) reroute(w http.ResponseWriter, r *http.Request) {
	f, p, ok := h.loadCase(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		h.showCase(w, r, f, p, http.StatusRequestEntityTooLarge, "Formulaire trop volumineux.", "")
		return
	}
	competence := r.PostFormValue("competence")
	if !h.deps.Catalogue.Known(competence) {
		h.showCase(w, r, f, p, http.StatusUnprocessableEntity, "Choisissez une compétence de la liste.", "")
		return
	}
	reason := strings.TrimSpace(r.PostFormValue("motif"))
	if _, err := h.deps.Store.Reroute(r.Context(), f.Ref, competence, "", casestore.Change{Actor: p.Name, Reason: reason}); err != nil {
		status := http.StatusUnprocessableEntity
		if k := fault.KindOf(err); k != fault.Invalid && k != fault.Conflict {
			h.deps.Log.Error("back office reroute", "ref", f.Ref, "err", err)
			status = http.StatusServiceUnavailable
		}
		h.showCase(w, r, f, p, status, "Réorientation refusée : "+strings.TrimPrefix(err.Error(), "casestore: "), "")
		return
	}
	if err := h.deps.Guard.Audit(r.Context(), p, "case.reroute", f.Ref, map[string]any{"to": competence}); err != nil {
		h.deps.Log.Warn("audit log not written", "err", err)
	}
	back := "/bo/dossiers/" + url.PathEscape(f.Ref) + "?fait=orientation"
	if r.PostFormValue("retour") == "/bo/tri" {
		back = "/bo/tri?fait=" + url.QueryEscape(f.Ref)
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// replyDraft prepares the answer form: the citizen's e-mail (else phone,
// else postal address) and, when a template was chosen (?modele=), its text
// filled in.
func (h *Handler) replyDraft(r *http.Request, f casestore.CaseFile) replyForm {
	var d replyForm
	if v := r.PostFormValue("message"); r.Method == http.MethodPost && v != "" {
		return replyForm{Channel: r.PostFormValue("canal"), To: r.PostFormValue("destinataire"), Subject: r.PostFormValue("objet"), Message: v}
	}
	d.Channel, d.Subject = casestore.ReplyEmail, "Votre demande "+f.Ref
	if c := f.Citizen; c != nil {
		switch {
		case c.Email != "":
			d.To = c.Email
		case c.Phone != "":
			d.Channel, d.To = casestore.ReplyCallback, c.Phone
		}
	}
	if d.To == "" {
		for _, req := range f.Requests {
			if req.Citizen != nil && req.Citizen.Address != nil {
				d.Channel = casestore.ReplyLetter
				d.To = strings.Join(append(append([]string{req.Citizen.Name}, req.Citizen.Address.Lines...), req.Citizen.Address.PostalCode+" "+req.Citizen.Address.City), "\n")
				break
			}
		}
	}
	id := r.URL.Query().Get("modele")
	for _, t := range h.deps.Catalogue.Templates(f.Competence) {
		if t.ID == id {
			org := h.deps.Catalogue.Organisation
			d.Subject = t.Title + " — dossier " + f.Ref
			d.Message = strings.NewReplacer("{{ref}}", f.Ref, "{{service}}", h.deps.Catalogue.ServiceFor(f.Competence),
				"{{phone}}", org.Phone, "{{details}}", "…", "{{redirect_to}}", deref(f.RedirectTo)).Replace(t.Body)
		}
	}
	return d
}

func deref(s *string) string {
	if s == nil {
		return "…"
	}
	return *s
}

// note adds an internal note to the case.
func (h *Handler) note(w http.ResponseWriter, r *http.Request) {
	f, p, ok := h.loadCase(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		h.showCase(w, r, f, p, http.StatusRequestEntityTooLarge, "Note trop longue.", "")
		return
	}
	if _, err := h.deps.Store.AddNote(r.Context(), f.Ref, r.PostFormValue("note"), casestore.Change{Actor: p.Name}); err != nil {
		h.refused(w, r, f, p, err, "Note refusée : ")
		return
	}
	http.Redirect(w, r, "/bo/dossiers/"+url.PathEscape(f.Ref)+"?fait=note", http.StatusSeeOther)
}

// reply records an answer to the citizen: by e-mail (sent by the
// notifier), as a letter to print, or as a call-back task.
func (h *Handler) reply(w http.ResponseWriter, r *http.Request) {
	f, p, ok := h.loadCase(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 128<<10)
	if err := r.ParseForm(); err != nil {
		h.showCase(w, r, f, p, http.StatusRequestEntityTooLarge, "Réponse trop longue.", "")
		return
	}
	_, err := h.deps.Store.Reply(r.Context(), f.Ref, casestore.ReplyRequest{Channel: r.PostFormValue("canal"), To: r.PostFormValue("destinataire"),
		Subject: r.PostFormValue("objet"), Message: r.PostFormValue("message")}, casestore.Change{Actor: p.Name})
	if err != nil {
		h.refused(w, r, f, p, err, "Réponse refusée : ")
		return
	}
	if err := h.deps.Guard.Audit(r.Context(), p, "case.reply", f.Ref, map[string]any{"channel": r.PostFormValue("canal")}); err != nil {
		h.deps.Log.Warn("audit log not written", "err", err)
	}
	http.Redirect(w, r, "/bo/dossiers/"+url.PathEscape(f.Ref)+"?fait=reponse", http.StatusSeeOther)
}

// refused shows the case again with why an action was refused.
func (h *Handler) refused(w http.ResponseWriter, r *http.Request, f casestore.CaseFile, p auth.Principal, err error, prefix string) {
	status, msg := http.StatusUnprocessableEntity, prefix+strings.TrimPrefix(err.Error(), "casestore: ")
	if k := fault.KindOf(err); k != fault.Invalid && k != fault.Conflict {
		h.deps.Log.Error("back office action", "ref", f.Ref, "err", err)
		status, msg = http.StatusServiceUnavailable, "L'action n'a pas pu être enregistrée : réessayez dans quelques instants."
	}
	h.showCase(w, r, f, p, status, msg, "")
}

// bar is one bar of a chart.
type bar struct {
	Label    string
	N        int
	Y, W, TX int
	X, H     int
}

type chart struct {
	ID, Title string
	Height    int
	Bars      []bar
}

type dashboardPage struct {
	page
	D         casestore.Dashboard
	Charts    []chart
	DayBars   []bar
	DaysWidth int
	Error     string
}

// hbars draws counts as horizontal bars, the longest 230 units wide.
func hbars(id, title string, counts []casestore.Count, label func(string) string) chart {
	c := chart{ID: id, Title: title, Height: max(24, 22*len(counts))}
	top := 1
	for _, x := range counts {
		top = max(top, x.N)
	}
	for i, x := range counts {
		w := x.N * 230 / top
		c.Bars = append(c.Bars, bar{Label: label(x.Key), N: x.N, Y: 22 * i, W: w, TX: 150 + w + 6})
	}
	return c
}

// dashboard shows supervisors their open cases and the volume received.
func (h *Handler) dashboard(w http.ResponseWriter, r *http.Request) {
	pg, p := h.base(r, "Tableau de bord", "tableau")
	data := dashboardPage{page: pg}
	var comp, terr []string
	if p.Role == auth.RoleSupervisor || p.Role == auth.RoleTeam {
		comp, terr = p.Competences, p.Territories
	}
	d, err := h.deps.Store.Dashboard(r.Context(), comp, terr, 30, time.Now().In(frtime.Paris()))
	if err != nil {
		h.deps.Log.Error("dashboard", "err", err)
		data.Error = "Le tableau de bord est momentanément indisponible."
		h.render(w, "dashboard", http.StatusServiceUnavailable, data)
		return
	}
	data.D = d
	tl := func(k string) string { return territoryLabel(&k) }
	data.Charts = []chart{
		hbars("competences", "Dossiers ouverts par compétence", d.ByCompetence, h.competenceLabel),
		hbars("territoires", "Dossiers ouverts par territoire", d.ByTerritory, tl),
		hbars("canaux", "Dossiers ouverts par canal du premier contact", d.ByChannel, channelLabel),
		hbars("etats", "Dossiers ouverts par état", d.ByState, lifecycle.Label),
	}
	top := 1
	for _, day := range d.Days {
		top = max(top, day.Total)
	}
	for i, day := range d.Days {
		hgt := day.Total * 150 / top
		data.DayBars = append(data.DayBars, bar{Label: day.Day.Format("02/01"), N: day.Total, X: 14 * i, Y: 160 - hgt, H: hgt})
	}
	data.DaysWidth = 14 * max(1, len(d.Days))
	h.render(w, "dashboard", http.StatusOK, data)
}

type auditPage struct {
	page
	F       auth.AuditFilter
	Entries []auth.AuditEntry
	Next    string
	Error   string
}

// audit shows admins the audit log, newest first, 100 a page.
func (h *Handler) audit(w http.ResponseWriter, r *http.Request) {
	pg, _ := h.base(r, "Journal d'audit", "audit")
	q := r.URL.Query()
	data := auditPage{page: pg, F: auth.AuditFilter{Actor: strings.TrimSpace(q.Get("acteur")), Action: strings.TrimSpace(q.Get("action")),
		Target: strings.TrimSpace(q.Get("cible"))}}
	if n, err := strconv.ParseInt(q.Get("avant"), 10, 64); err == nil && n > 0 {
		data.F.BeforeID = n
	}
	entries, err := h.deps.Guard.AuditLog(r.Context(), data.F, 100)
	status := http.StatusOK
	if err != nil {
		status = http.StatusBadRequest
		if fault.KindOf(err) != fault.Invalid {
			h.deps.Log.Error("audit log", "err", err)
			status = http.StatusServiceUnavailable
		}
		data.Error = "Le journal n'a pas pu être lu : " + strings.TrimPrefix(err.Error(), "auth: ")
	}
	data.Entries = entries
	if len(entries) == 100 {
		v := r.URL.Query()
		v.Set("avant", strconv.FormatInt(entries[len(entries)-1].ID, 10))
		data.Next = "/bo/audit?" + v.Encode()
	}
	h.render(w, "audit", status, data)
}

// form reads a small form of a case action.
func (h *Handler) form(w http.ResponseWriter, r *http.Request) (casestore.CaseFile, auth.Principal, bool) {
	f, p, ok := h.loadCase(w, r)
	if !ok {
		return f, p, false
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		h.showCase(w, r, f, p, http.StatusRequestEntityTooLarge, "Formulaire trop volumineux.", "")
		return f, p, false
	}
	return f, p, true
}

func (h *Handler) done(w http.ResponseWriter, r *http.Request, p auth.Principal, action, ref, goTo, what string, details map[string]any) {
	if err := h.deps.Guard.Audit(r.Context(), p, action, ref, details); err != nil {
		h.deps.Log.Warn("audit log not written", "err", err)
	}
	http.Redirect(w, r, "/bo/dossiers/"+url.PathEscape(goTo)+"?fait="+what, http.StatusSeeOther)
}

// assign gives the case to someone of the team (empty: nobody).
func (h *Handler) assign(w http.ResponseWriter, r *http.Request) {
	f, p, ok := h.form(w, r)
	if !ok {
		return
	}
	who := strings.TrimSpace(r.PostFormValue("a"))
	if _, err := h.deps.Store.Assign(r.Context(), f.Ref, who, casestore.Change{Actor: p.Name}); err != nil {
		h.refused(w, r, f, p, err, "Attribution refusée : ")
		return
	}
	h.done(w, r, p, "case.assign", f.Ref, f.Ref, "attribution", map[string]any{"assignee": who})
}

// split takes the requests ticked into a new case (one: undoing a link).
func (h *Handler) split(w http.ResponseWriter, r *http.Request) {
	f, p, ok := h.form(w, r)
	if !ok {
		return
	}
	dest, _, err := h.deps.Store.MoveRequests(r.Context(), f.Ref, r.PostForm["demande"], "", casestore.Change{Actor: p.Name, Reason: strings.TrimSpace(r.PostFormValue("motif"))})
	if err != nil {
		h.refused(w, r, f, p, err, "Séparation refusée : ")
		return
	}
	h.done(w, r, p, "case.split", f.Ref, dest, "separation", map[string]any{"to": dest})
}

// merge puts the case into another one the person may see.
func (h *Handler) merge(w http.ResponseWriter, r *http.Request) {
	f, p, ok := h.form(w, r)
	if !ok {
		return
	}
	into := strings.ToUpper(strings.TrimSpace(r.PostFormValue("dans")))
	target, err := h.deps.Store.CaseFile(r.Context(), into)
	terr := ""
	if err == nil && target.Territory != nil {
		terr = *target.Territory
	}
	if err != nil || !p.SeesCase(target.Competence, terr) {
		h.showCase(w, r, f, p, http.StatusUnprocessableEntity, "Fusion refusée : le dossier « "+into+" » est introuvable.", "")
		return
	}
	if _, err := h.deps.Store.Merge(r.Context(), f.Ref, into, casestore.Change{Actor: p.Name, Reason: strings.TrimSpace(r.PostFormValue("motif"))}); err != nil {
		h.refused(w, r, f, p, err, "Fusion refusée : ")
		return
	}
	h.done(w, r, p, "case.merge", f.Ref, into, "fusion", map[string]any{"into": into})
}

// unmerge gives a merged case its requests back.
func (h *Handler) unmerge(w http.ResponseWriter, r *http.Request) {
	f, p, ok := h.form(w, r)
	if !ok {
		return
	}
	if _, err := h.deps.Store.Unmerge(r.Context(), f.Ref, casestore.Change{Actor: p.Name, Reason: strings.TrimSpace(r.PostFormValue("motif"))}); err != nil {
		h.refused(w, r, f, p, err, "Annulation refusée : ")
		return
	}
	h.done(w, r, p, "case.unmerge", f.Ref, f.Ref, "defusion", nil)
}

// guess is one of the router's hypotheses for a triage case.
type guess struct {
	Code    string
	Percent int
}

type triageItem struct {
	casestore.QueuedCase
	Why     string
	Guesses []guess
}

type triagePage struct {
	page
	Items       []triageItem
	Competences []catalogue.Competence
	Error, Done string
}

var guessPattern = regexp.MustCompile(`([a-z_]+) (\d{1,3}) %`)

// triage lists the cases the router left to people, with its guesses.
func (h *Handler) triage(w http.ResponseWriter, r *http.Request) {
	pg, p := h.base(r, "Tri", "tri")
	data := triagePage{page: pg, Competences: h.deps.Catalogue.Competences}
	if done := r.URL.Query().Get("fait"); done != "" {
		data.Done = "Dossier " + done + " orienté."
	}
	f := casestore.Filter{Competence: schemas.CompetenceTriage, Limit: 30}
	if p.Role == auth.RoleSupervisor {
		f.ScopeTerritories = p.Territories
	}
	list, err := h.deps.Store.Cases(r.Context(), f)
	if err != nil {
		h.deps.Log.Error("triage queue", "err", err)
		data.Error = "La file de tri est momentanément indisponible."
	}
	for _, c := range list.Cases {
		item := triageItem{QueuedCase: c}
		if file, err := h.deps.Store.CaseFile(r.Context(), c.Ref); err == nil {
			for _, d := range file.Decisions {
				for _, reason := range d.Reasons {
					if reason.Code == "triage" {
						item.Why = reason.Detail
						for _, m := range guessPattern.FindAllStringSubmatch(reason.Detail, 3) {
							if h.deps.Catalogue.Known(m[1]) {
								n, _ := strconv.Atoi(m[2])
								item.Guesses = append(item.Guesses, guess{m[1], n})
							}
						}
					}
				}
			}
		}
		data.Items = append(data.Items, item)
	}
	h.render(w, "triage", http.StatusOK, data)
}

// letter renders a reply by post as a PDF for the mailroom to print.
func (h *Handler) letter(w http.ResponseWriter, r *http.Request) {
	f, p, ok := h.loadCase(w, r)
	if !ok {
		return
	}
	id := strings.TrimSuffix(r.PathValue("event"), ".pdf")
	for _, e := range f.Events {
		if e.ID != id || e.Type != schemas.EventReplied || e.Data["channel"] != casestore.ReplyLetter {
			continue
		}
		str := func(k string) string { v, _ := e.Data[k].(string); return v }
		org := h.deps.Catalogue.Organisation
		service := h.deps.Catalogue.ServiceFor(f.Competence)
		pdf, err := letterpdf.Render(letterpdf.Letter{
			From: append([]string{org.Name, service}, strings.Split(org.Address, ", ")...),
			To:   str("to"), Place: "Marseille", Date: e.At, Ref: f.Ref, Subject: str("subject"), Body: str("message"),
			Signoff: service, Contact: fmt.Sprintf("%s — %s, %s — dossier %s", org.ServiceDesk, org.Phone, org.Hours, f.Ref),
		})
		if err != nil {
			h.deps.Log.Error("reply letter", "ref", f.Ref, "err", err)
			http.Error(w, "Le courrier n'a pas pu être mis en page.", http.StatusInternalServerError)
			return
		}
		if err := h.deps.Guard.Audit(r.Context(), p, "case.letter", f.Ref, map[string]any{"event": id}); err != nil {
			h.deps.Log.Warn("audit log not written", "err", err)
		}
		w.Header().Set("Content-Type", "application/pdf")
		w.Header().Set("Content-Disposition", `inline; filename="`+f.Ref+`-courrier.pdf"`)
		_, _ = w.Write(pdf)
		return
	}
	http.NotFound(w, r)
}

// piece shows an attachment or a scanned letter of a case's request.
func (h *Handler) piece(w http.ResponseWriter, r *http.Request) {
	sha := r.PathValue("sha")
	if len(sha) != 64 || strings.Trim(sha, "0123456789abcdef") != "" {
		http.NotFound(w, r)
		return
	}
	data, err := h.deps.Files.Get(r.Context(), "sha256/"+sha)
	if fault.KindOf(err) == fault.NotFound {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		http.Error(w, "Pièce momentanément indisponible.", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", http.DetectContentType(data))
	w.Header().Set("Content-Disposition", "inline")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; sandbox")
	_, _ = w.Write(data)
}

func (h *Handler) competenceLabel(code string) string {
	if code == schemas.CompetenceTriage {
		return "à trier"
	}
	if c, ok := h.deps.Catalogue.Competence(code); ok {
		return c.Label
	}
	return code
}

func territoryLabel(code *string) string {
	if code == nil || *code == "" {
		return "territoire inconnu"
	}
	if n := territory.TerritoryName(*code); n != "" {
		return n
	}
	return *code
}

func channelLabel(c string) string {
	switch c {
	case schemas.ChannelWeb:
		return "formulaire web"
	case schemas.ChannelPhone:
		return "appel"
	case schemas.ChannelMail:
		return "courrier"
	case schemas.ChannelEmail:
		return "courriel"
	}
	return c
}

func eventLabel(t string) string {
	switch t {
	case schemas.EventCreated:
		return "dossier ouvert"
	case schemas.EventRequestLinked:
		return "demande rattachée"
	case schemas.EventUnlinked:
		return "demande(s) détachée(s)"
	case schemas.EventStateChanged:
		return "changement d'état"
	case schemas.EventRerouted:
		return "réorientation"
	case schemas.EventMerged:
		return "fusion"
	case schemas.EventUnmerged:
		return "fusion annulée"
	case schemas.EventBreached:
		return "délai dépassé"
	case schemas.EventReplied:
		return "réponse au demandeur"
	case schemas.EventNoteAdded:
		return "note interne"
	}
	return t
}

func outcomeLabel(o string) string {
	switch o {
	case "new_case":
		return "nouveau dossier"
	case "linked":
		return "rattachée au dossier"
	case "rerouted":
		return "réorientée"
	case "moved":
		return "déplacée"
	}
	return o
}

func actorLabel(kind, id string) string {
	switch kind {
	case "router":
		return "routeur"
	case "system":
		return "Guichet"
	case "citizen":
		return "demandeur"
	}
	return id
}

func roleLabel(r string) string {
	switch r {
	case auth.RoleAgent:
		return "centre d'appels"
	case auth.RoleMailroom:
		return "courrier"
	case auth.RoleTeam:
		return "équipe"
	case auth.RoleSupervisor:
		return "encadrement"
	case auth.RoleAdmin:
		return "administration"
	}
	return r
}

func doneLabel(d string) string {
	switch d {
	case "etat":
		return "État du dossier modifié."
	case "orientation":
		return "Dossier réorienté."
	case "note":
		return "Note ajoutée."
	case "attribution":
		return "Attribution enregistrée."
	case "separation":
		return "Demande(s) séparée(s) dans ce nouveau dossier."
	case "fusion":
		return "Dossier fusionné dans celui-ci."
	case "defusion":
		return "Fusion annulée : le dossier a repris ses demandes."
	case "reponse":
		return "Réponse enregistrée : elle part par le canal choisi et apparaît sur la page de suivi du demandeur."
	}
	return ""
}
