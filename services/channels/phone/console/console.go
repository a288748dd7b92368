// Package console is the call-centre agent's console: opened by the
// telephony as a screen-pop with the caller's number, it shows at once who is
// calling and their cases (what was asked, where, the photos, the last
// answer, the timeline), finds people by phone, e-mail, name, case
// reference, street or commune, and logs a call onto the caller's open case
// — preselected — or as a new request, then shows the case reference and
// the tracking code to read back. Pages are server-rendered in French and
// work without JavaScript; console.js adds keyboard shortcuts and follows a
// case still being created.
package console

import (
	"cmp"
	"context"
	"embed"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/caseref"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/catalogue"
	"github.com/ampmetropole/guichet/services/cases/citizen"
	"github.com/ampmetropole/guichet/services/cases/nearby"
	"github.com/ampmetropole/guichet/services/cases/territory"
	"github.com/ampmetropole/guichet/services/channels/phone/telephony"
	"github.com/ampmetropole/guichet/services/channels/phone/transcript"
	"github.com/ampmetropole/guichet/services/intake"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/platform/frtime"
	"github.com/ampmetropole/guichet/services/platform/htmlpage"
	"github.com/ampmetropole/guichet/services/platform/sms"
	"github.com/ampmetropole/guichet/services/platform/staffshell"
)

//go:embed templates/*.html
var templateFiles embed.FS

// Store finds callers and their cases, and the calls logged.
type Store interface {
	FindCitizens(ctx context.Context, q casestore.CitizenQuery, limit, casesPerCitizen int) ([]casestore.CitizenCard, error)
	// RequestStatus says whether the router has given a request its case.
	RequestStatus(ctx context.Context, id string) (casestore.RequestStatus, error)
	// Tracking reads a request by its tracking code, with its case.
	Tracking(ctx context.Context, code string) (casestore.Tracking, error)
}

// Calls logs calls.
type Calls interface {
	Accept(ctx context.Context, c telephony.Call, from telephony.From) (telephony.Accepted, error)
}

// Tasks are the call-backs teams asked the call centre to make.
type Tasks interface {
	ReplyTasks(ctx context.Context, channel string, limit int) ([]casestore.ReplyTask, error)
	ReplyTaskDone(ctx context.Context, eventID string, ch casestore.Change) ([]casestore.OutboxMsg, error)
}

// Deps are the console's collaborators.
type Deps struct {
	Store     Store
	Calls     Calls
	Catalogue *catalogue.Catalogue
	// CSRF gives a form's anti-forgery field for the signed-in agent
	// (auth.Service.CSRFField); nil: none.
	CSRF func(r *http.Request) template.HTML
	// Agent is the login of the signed-in agent, who logs the calls; nil
	// or "": the "agent" parameter the telephony's screen-pop gives
	// (tests without sign-in only: the console is behind it).
	Agent func(r *http.Request) string
	// Tasks: the call-backs to make; nil: not shown.
	Tasks Tasks
	// SMS says that receipts go by SMS to callers' mobiles (an SMS sender
	// is configured): the console then tells the agent so.
	SMS bool
	// Audit writes to the audit log in the name of the signed-in agent
	// (auth.Service.AuditCaller): every look-up of a person is recorded.
	Audit func(ctx context.Context, action, target string, details map[string]any)
	// Knowledge is the knowledge base of first-contact answers
	// (knowledge.Store), shown beside the call; nil: no panel.
	Knowledge Knowledge
	// Suggest names the competences what the caller said points to, best
	// first (the router's classifier, given by the composition root); nil:
	// the words alone find the answers.
	Suggest func(ctx context.Context, text string) []string
	// Viewer is the signed-in person as the staff frame shows them
	// (auth.Service.Viewer); nil: a frame without menu.
	Viewer func(r *http.Request) staffshell.Viewer
	// Incidents are the open incidents shown « déjà signalé près d'ici »
	// (casestore.Store); nil: not shown.
	Incidents Incidents
	// CaseWait is how long logging a call waits for the router to give it
	// its case, so that the page after it shows the reference; 0: 3 s.
	CaseWait time.Duration
	Log      *slog.Logger
}

// Handler serves the console under /agent.
type Handler struct {
	deps   Deps
	shell  *staffshell.Shell
	page   *template.Template
	places *territory.Directory
	mux    *http.ServeMux
	// protected is mux behind the staff pages' security headers.
	protected http.Handler
}

// New builds the console.
func New(deps Deps) (*Handler, error) {
	if deps.CaseWait <= 0 {
		deps.CaseWait = 3 * time.Second
	}
	h := &Handler{deps: deps, mux: http.NewServeMux()}
	var err error
	if h.places, err = territory.Load(); err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	if h.shell, err = staffshell.New(deps.Log); err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	h.page, err = h.shell.Parse("console.html", template.FuncMap{
		"date":       frtime.DateTime,
		"competence": h.competenceLabel,
		"event":      eventLabel,
		"channel":    channelLabel,
		"state":      catalogue.StateLabel,
		"territory":  territory.TerritoryName,
		"phone":      displayPhone,
		"place":      h.placeText,
		"piece":      pieceURL,
	}, templateFiles, "templates/console.html", "templates/fiches.html")
	if err != nil {
		return nil, fmt.Errorf("console: template: %w", err)
	}
	h.mux.HandleFunc("GET /agent", h.show)
	h.mux.HandleFunc("POST /agent/appels", h.logCall)
	h.mux.HandleFunc("GET /agent/appels/{code}", h.callCase)
	if deps.Tasks != nil {
		h.mux.HandleFunc("POST /agent/rappels/{id}/fait", h.calledBack)
	}
	h.knowledgeRoutes()
	if deps.Incidents != nil {
		h.mux.HandleFunc("GET /agent/incidents-proches", h.showNearby)
	}
	h.mux.HandleFunc("/agent/", func(w http.ResponseWriter, r *http.Request) { h.shell.Error(w, h.viewer(r), http.StatusNotFound, "") })
	h.protected = h.shell.Recover(htmlpage.Protect(h.mux, htmlpage.StaffCSP), h.viewer)
	return h, nil
}

// ServeHTTP serves the console with strict security headers; cross-site
// posts are refused.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.protected.ServeHTTP(w, r) }

func (h *Handler) competenceLabel(code string) string {
	if k, ok := h.deps.Catalogue.Competence(code); ok {
		return k.Label
	}
	if code == "triage" {
		return "À orienter (tri)"
	}
	return code
}

func eventLabel(t string) string {
	return map[string]string{"created": "Ouverture", "request_linked": "Nouveau contact", "state_changed": "Changement d'état",
		"assigned": "Affectation", "rerouted": "Réorientation", "replied": "Réponse", "note_added": "Note interne", "merged": "Regroupement"}[t]
}

func channelLabel(c string) string {
	return map[string]string{"web": "formulaire", "phone": "téléphone", "mail": "courrier", "email": "courriel", "open311": "application", "counter": "accueil en mairie"}[c]
}

// page is the console's data.
type page struct {
	staffshell.Page
	Query  string
	Caller string // E.164 of the screen-pop, or of the call just logged
	// AgentName is who logs the calls, as the page says it; Agent the
	// screen-pop's agent id, carried by the form when nobody is signed in.
	AgentName string
	Agent     string
	SignedIn  bool
	CallID    string
	Searched  bool
	Cards     []casestore.CitizenCard
	// Targets are the open cases of the people found, most recently
	// updated first: what a call may be logged onto.
	Targets []target
	// Preselected: the page chose the case in Form.Target (one person
	// found); Choose: several people have open cases, the agent chooses.
	Preselected bool
	Choose      bool
	Logged      *loggedCall
	// Errors are what stops a call from being logged, each tied to its
	// field; Error is a problem of the page itself (the search is down).
	Errors      []fieldError
	Error       string
	Focus       string // the id of the field the page opens on
	Form        logForm
	Competences []catalogue.Competence
	Formats     []string
	CSRF        template.HTML
	CallBacks   []casestore.ReplyTask
	Fiches      knowledgePanel
	CalledBack  bool
	// Nearby are the open incidents of the domain near the place the
	// agent typed (proches.go); NearbyAsked: the agent asked to see them;
	// NearbyOn: the console can show them.
	Nearby      []nearby.Item
	NearbyAsked bool
	NearbyOn    bool
}

// target is an open case a call may be logged onto.
type target struct {
	Ref        string
	Competence string
	Who        string // whose case, when several people were found
	UpdatedAt  time.Time
}

// loggedCall is the call just logged, to read back to the caller.
type loggedCall struct {
	Code string
	// CaseRef is its case; while the router has not given it one, Target
	// is the case the agent chose ("" for a new request).
	CaseRef string
	Target  string
	SMS     bool // the code also goes to the caller's mobile by SMS
	// Caller is who called, as the call says (for a new caller whom no
	// search finds before the router has recorded them).
	Caller *schemas.Citizen
}

// Pending says that the call has no case yet.
func (l *loggedCall) Pending() bool { return l.CaseRef == "" }

// logForm keeps what the agent typed when logging fails.
type logForm struct {
	Target     string
	Competence string
	Place      string // where the problem is, for « déjà signalé près d'ici »
	Incident   string // the open incident the caller's report joins
	Summary    string
	Transcript string
	Format     string
	Direction  string
	CallerText string // the number as typed
}

// fieldError is a reason a call was not logged: Key names the field
// (resume, cible, competence, caller, direction, transcription; "" for
// none), Anchor the element the error summary links to.
type fieldError struct {
	Key, Anchor, Message string
}

// Err returns the error of the field key, "" when none.
func (p page) Err(key string) string {
	for _, e := range p.Errors {
		if e.Key == key {
			return e.Message
		}
	}
	return ""
}

// query reads what the agent typed (or the screen-pop number) into a
// search: a case reference, an e-mail address, a phone number, else a name
// or a place (street, commune, postal code).
func query(s string) casestore.CitizenQuery {
	s = strings.TrimSpace(s)
	if ref, ok := caseref.Normalize(s); ok {
		return casestore.CitizenQuery{CaseRef: ref.String()}
	}
	if strings.Contains(s, "@") {
		if e, err := citizen.NormalizeEmail(s); err == nil {
			return casestore.CitizenQuery{Email: e}
		}
	}
	digits := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			digits++
		}
	}
	if digits >= 6 {
		if p, err := citizen.NormalizePhone(s); err == nil {
			return casestore.CitizenQuery{Phone: p}
		}
	}
	return casestore.CitizenQuery{Name: s, Place: s}
}

// maxQuery bounds what a search sends to the store (runes).
const maxQuery = 200

func (h *Handler) show(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p := page{Query: clip(q.Get("q"), maxQuery)}
	if id := q.Get("appel"); len(id) <= 128 {
		p.CallID = id
	}
	h.who(r, &p, q.Get("agent"))
	if caller := q.Get("caller"); caller != "" {
		if e164, err := citizen.NormalizePhone(caller); err == nil && e164 != "" {
			p.Caller, p.Query = e164, e164
		} else {
			p.Error = "Le numéro transmis par la téléphonie (« " + truncate(caller, 40) + " ») n'est pas un numéro valide : recherchez l'appelant."
		}
	}
	if code := q.Get("journalise"); code != "" && len(code) <= 40 {
		if c, ok := intake.NormalizeTrackingCode(code); ok {
			p.Logged = h.logged(r.Context(), c)
		}
	}
	h.search(r.Context(), &p)
	p.preselect()
	p.NearbyOn = h.deps.Incidents != nil
	h.render(w, r, http.StatusOK, p)
}

// logged reads the call logged under code; nil when there is none (a code
// typed into the address that is no call's).
func (h *Handler) logged(ctx context.Context, code string) *loggedCall {
	tr, err := h.deps.Store.Tracking(ctx, code)
	if err != nil {
		if fault.KindOf(err) != fault.NotFound {
			h.deps.Log.Error("console: call logged", "err", err)
		}
		return nil
	}
	if tr.Request.Channel != schemas.ChannelPhone {
		return nil
	}
	l := &loggedCall{Code: tr.Code, Caller: tr.Request.Citizen}
	if tr.Case != nil {
		l.CaseRef = tr.Case.Ref
	} else if tr.Request.Link != nil {
		l.Target = tr.Request.Link.CaseRef
	}
	if c := tr.Request.Citizen; h.deps.SMS && c != nil && c.Phone != "" && sms.CheckRecipient(c.Phone) == nil {
		l.SMS = true
	}
	return l
}

func (h *Handler) search(ctx context.Context, p *page) {
	if strings.TrimSpace(p.Query) == "" {
		return
	}
	p.Searched = true
	cards, err := h.deps.Store.FindCitizens(ctx, query(p.Query), 20, 10)
	if err != nil {
		h.deps.Log.Error("console search", "err", err)
		p.Error = "La recherche est momentanément indisponible. Réessayez dans quelques instants."
		return
	}
	p.Cards = cards
	if h.deps.Audit != nil {
		var shown []string
		for _, c := range cards {
			for _, cs := range c.Cases {
				shown = append(shown, cs.Ref)
			}
		}
		h.deps.Audit(ctx, "personal_data.search", truncate(p.Query, 200), map[string]any{"people": len(cards), "cases": shown, "page": "agent"})
	}
}

// targets lists the open cases of the people found, most recently updated
// first, and how many people hold them.
func targets(cards []casestore.CitizenCard) ([]target, int) {
	var out []target
	seen := map[string]bool{}
	people := 0
	for _, c := range cards {
		held := false
		for _, cs := range c.Cases {
			if !cs.Open() || seen[cs.Ref] {
				continue
			}
			seen[cs.Ref], held = true, true
			out = append(out, target{Ref: cs.Ref, Competence: cs.Competence, Who: cmp.Or(c.Name, c.Phone, c.Email, "demandeur inconnu"), UpdatedAt: cs.UpdatedAt})
		}
		if held {
			people++
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].UpdatedAt.After(out[j].UpdatedAt) })
	return out, people
}

// preselect chooses, on a fresh page, what the call goes to: the open case
// of the one person found (the most recently updated of theirs), a new
// request when nobody found has one; when several people found have open
// cases, nothing, so that the agent chooses — a missed click must neither
// open a duplicate case nor log the call in a stranger's.
func (p *page) preselect() {
	p.Targets, _ = targets(p.Cards)
	switch {
	case len(p.Targets) == 0:
		p.Form.Target = "nouvelle"
	case len(p.Cards) == 1:
		p.Form.Target, p.Preselected = p.Targets[0].Ref, true
	default:
		p.Choose = true
	}
}

// calledBack records that a call-back asked by a team was made.
func (h *Handler) calledBack(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	who := h.agent(r, "")
	if who == "" {
		who = "centre d'appels"
	}
	_, err := h.deps.Tasks.ReplyTaskDone(r.Context(), id, casestore.Change{Actor: who})
	if fault.KindOf(err) == fault.NotFound || fault.KindOf(err) == fault.Invalid {
		h.shell.Error(w, h.viewer(r), http.StatusNotFound, "Ce rappel n'existe pas ou a déjà été fait.")
		return
	}
	if err != nil {
		h.deps.Log.Error("call-back done", "err", err)
		h.shell.Error(w, h.viewer(r), http.StatusServiceUnavailable, "Le rappel n'a pas pu être enregistré : réessayez dans quelques instants.")
		return
	}
	http.Redirect(w, r, "/agent?rappel=1", http.StatusSeeOther)
}

// agent is who logs calls: the signed-in agent, else what the page says.
func (h *Handler) agent(r *http.Request, given string) string {
	if a := h.signedIn(r); a != "" {
		return a
	}
	return strings.TrimSpace(given)
}

// signedIn is the login of the agent signed in, "" when nobody is.
func (h *Handler) signedIn(r *http.Request) string {
	if h.deps.Agent == nil {
		return ""
	}
	return h.deps.Agent(r)
}

// who fills in who logs the calls: the signed-in agent, whose name the
// page shows; else (no sign-in in front of the console) the screen-pop's.
func (h *Handler) who(r *http.Request, p *page, given string) {
	if login := h.signedIn(r); login != "" {
		p.SignedIn, p.Agent = true, ""
		p.AgentName = cmp.Or(h.viewer(r).Name, login)
		return
	}
	p.Agent = clip(strings.TrimSpace(given), 128)
	p.AgentName = p.Agent
}

// viewer is the signed-in person for the frame.
func (h *Handler) viewer(r *http.Request) staffshell.Viewer {
	if h.deps.Viewer == nil {
		return staffshell.Viewer{}
	}
	return h.deps.Viewer(r)
}

func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, p page) {
	p.Page = staffshell.Page{Title: "Console d'appels", Shell: h.viewer(r), Sheet: "console.css"}
	if len(p.Errors) > 0 {
		p.Title = "Erreur : appel non journalisé – Console d'appels"
	} else if len(p.Cards) > 0 {
		c := p.Cards[0]
		p.Title = cmp.Or(c.Name, displayPhone(c.Phone), c.Email, "Appelant") + " – Console d'appels"
	}
	if h.deps.CSRF != nil {
		p.CSRF = h.deps.CSRF(r)
	}
	if h.deps.Tasks != nil {
		tasks, err := h.deps.Tasks.ReplyTasks(r.Context(), casestore.ReplyCallback, 50)
		if err != nil {
			h.deps.Log.Error("call-backs to make", "err", err)
		}
		p.CallBacks = tasks
		p.CalledBack = r.URL.Query().Get("rappel") != ""
	}
	p.Competences = h.deps.Catalogue.Competences
	h.knowledge(r, &p)
	p.Formats = []string{transcript.FormatVTT, transcript.FormatSRT, transcript.FormatWhisper, transcript.FormatTranscribe, transcript.FormatGoogle, transcript.FormatText}
	if p.Form.Direction == "" {
		p.Form.Direction = "inbound"
	}
	if p.Form.CallerText == "" {
		p.Form.CallerText = displayPhone(p.Caller)
	}
	if p.CallID == "" {
		p.CallID = "console-" + uuid.NewString()
	}
	p.Focus = "resume"
	if len(p.Errors) > 0 {
		p.Focus = cmp.Or(p.Errors[0].Anchor, "resume")
	}
	htmlpage.Render(w, h.page, status, p, h.deps.Log)
}

// again is the console's address for the same caller or search.
func again(caller, q string, extra url.Values) string {
	v := url.Values{}
	for k, vs := range extra {
		v[k] = vs
	}
	if caller != "" {
		v.Set("caller", caller)
	} else if strings.TrimSpace(q) != "" {
		v.Set("q", q)
	}
	if len(v) == 0 {
		return "/agent"
	}
	return "/agent?" + v.Encode()
}

// clip cuts s to n runes.
func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
