// Package console is the call-centre agent's console: opened by the
// telephony as a screen-pop with the caller's number, it shows at once who is
// calling and their cases with their timelines, finds people by phone,
// e-mail, name or case reference, and logs a call onto a case or as a new
// request. Pages are server-rendered in French.
package console

import (
	"cmp"
	"context"
	"embed"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ampmetropole/guichet/services/platform/htmlpage"
	"github.com/ampmetropole/guichet/services/platform/staffshell"

	"github.com/google/uuid"

	"github.com/ampmetropole/guichet/services/cases/caseref"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/catalogue"
	"github.com/ampmetropole/guichet/services/cases/citizen"
	"github.com/ampmetropole/guichet/services/cases/territory"
	"github.com/ampmetropole/guichet/services/channels/phone/telephony"
	"github.com/ampmetropole/guichet/services/channels/phone/transcript"
	"github.com/ampmetropole/guichet/services/intake"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/platform/frtime"
	"github.com/ampmetropole/guichet/services/platform/sms"
)

//go:embed templates/*.html
var templateFiles embed.FS

// Store finds callers and their cases.
type Store interface {
	FindCitizens(ctx context.Context, q casestore.CitizenQuery, limit, casesPerCitizen int) ([]casestore.CitizenCard, error)
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
	// Agent names the signed-in agent, who logs the calls; nil or "": the
	// "agent" parameter the telephony's screen-pop gives.
	Agent func(r *http.Request) string
	// Tasks: the call-backs to make; nil: not shown.
	Tasks Tasks
	// SMS says that receipts go by SMS to callers' mobiles (an SMS sender
	// is configured): the console then tells the agent so.
	SMS bool
	// Audit writes to the audit log in the name of the signed-in agent
	// (auth.Service.AuditCaller): every look-up of a person is recorded.
	Audit func(ctx context.Context, action, target string, details map[string]any)
	// Viewer is the signed-in person as the staff frame shows them
	// (auth.Service.Viewer); nil: a frame without menu.
	Viewer func(r *http.Request) staffshell.Viewer
	Log    *slog.Logger
}

// Handler serves the console under /agent.
type Handler struct {
	deps  Deps
	shell *staffshell.Shell
	page  *template.Template
	mux   *http.ServeMux
	// protected is mux behind the staff pages' security headers.
	protected http.Handler
}

// New builds the console.
func New(deps Deps) (*Handler, error) {
	h := &Handler{deps: deps, mux: http.NewServeMux()}
	var err error
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
	}, templateFiles, "templates/console.html", "templates/fiches.html")
	if err != nil {
		return nil, fmt.Errorf("console: template: %w", err)
	}
	h.mux.HandleFunc("GET /agent", h.show)
	h.mux.HandleFunc("POST /agent/appels", h.logCall)
	if deps.Tasks != nil {
		h.mux.HandleFunc("POST /agent/rappels/{id}/fait", h.calledBack)
	}
	h.knowledgeRoutes()
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
	return map[string]string{"web": "formulaire", "phone": "téléphone", "mail": "courrier", "email": "courriel", "open311": "application"}[c]
}

// page is the console's data.
type page struct {
	staffshell.Page
	Query       string
	Caller      string // E.164 of the screen-pop
	Agent       string
	CallID      string
	Searched    bool
	Cards       []casestore.CitizenCard
	Logged      string // request id just logged
	Code        string // its tracking code, for the agent to read out
	SMSReceipt  bool   // the code also goes to the caller's mobile by SMS
	Error       string
	Form        logForm
	Competences []catalogue.Competence
	Formats     []string
	CSRF        template.HTML
	CallBacks   []casestore.ReplyTask
	Fiches      knowledgePanel
	CalledBack  bool
}

// logForm keeps what the agent typed when logging fails.
type logForm struct {
	Target     string
	Competence string
	Summary    string
	Transcript string
	Format     string
	Direction  string
}

// query reads what the agent typed (or the screen-pop number) into a search.
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
	return casestore.CitizenQuery{Name: s}
}

func (h *Handler) show(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p := page{Agent: h.agent(r, q.Get("agent")), CallID: q.Get("appel"), Logged: q.Get("journalise"), SMSReceipt: q.Get("sms") == "1"}
	if code, ok := intake.NormalizeTrackingCode(q.Get("code")); ok {
		p.Code = code
	}
	p.Query = q.Get("q")
	if caller := q.Get("caller"); caller != "" {
		if e164, err := citizen.NormalizePhone(caller); err == nil {
			p.Caller, p.Query = e164, e164
		} else {
			p.Error = "Le numéro transmis par la téléphonie (« " + truncate(caller, 40) + " ») n'est pas un numéro valide : recherchez l'appelant."
		}
	}
	h.search(r.Context(), &p)
	h.render(w, r, http.StatusOK, p)
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
		h.render(w, r, http.StatusServiceUnavailable, page{Error: "Le rappel n'a pas pu être enregistré : réessayez dans quelques instants."})
		return
	}
	http.Redirect(w, r, "/agent?rappel=1", http.StatusSeeOther)
}

// agent is who logs calls: the signed-in agent, else what the page says.
func (h *Handler) agent(r *http.Request, given string) string {
	if h.deps.Agent != nil {
		if a := h.deps.Agent(r); a != "" {
			return a
		}
	}
	return given
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
	if len(p.Cards) > 0 {
		c := p.Cards[0]
		p.Title = cmp.Or(c.Name, c.Phone, c.Email, "Appelant") + " – Console d'appels"
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
	if p.CallID == "" {
		p.CallID = "console-" + uuid.NewString()
	}
	htmlpage.Render(w, h.page, status, p, h.deps.Log)
}

// logCall records a call from the console: onto a case the agent chose, or
// as a new request with a category hint.
func (h *Handler) logCall(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, transcript.MaxSize+1<<20)
	if err := r.ParseMultipartForm(1 << 20); err != nil && err != http.ErrNotMultipart {
		h.render(w, r, http.StatusRequestEntityTooLarge, page{Error: "Envoi trop volumineux ou illisible : la transcription est limitée à 5 Mio."})
		return
	}
	if r.MultipartForm != nil {
		defer r.MultipartForm.RemoveAll()
	}
	f := r.PostFormValue
	p := page{Query: f("q"), Caller: f("caller"), Agent: h.agent(r, strings.TrimSpace(f("agent"))), CallID: f("call_id"),
		Form: logForm{Target: f("cible"), Competence: f("competence"), Summary: f("resume"), Transcript: f("transcription"),
			Format: f("format"), Direction: f("direction")}}
	now := time.Now().UTC()
	call := telephony.Call{CallID: p.CallID, CallerNumber: p.Caller, AgentID: p.Agent, Direction: p.Form.Direction,
		StartedAt: now, EndedAt: now, Summary: p.Form.Summary}
	if p.Form.Target != "" && p.Form.Target != "nouvelle" {
		call.CaseRef = p.Form.Target
	} else {
		call.Competence = p.Form.Competence
	}
	content := []byte(p.Form.Transcript)
	if file, _, err := r.FormFile("fichier"); err == nil {
		content, err = io.ReadAll(io.LimitReader(file, transcript.MaxSize+1))
		file.Close()
		if err != nil {
			p.Error = "Le fichier de transcription n'a pas pu être lu."
			h.search(r.Context(), &p)
			h.render(w, r, http.StatusBadRequest, p)
			return
		}
	}
	if strings.TrimSpace(string(content)) != "" {
		call.Transcript = telephony.FileTranscript(p.Form.Format, content)
	}
	accepted, err := h.deps.Calls.Accept(r.Context(), call, telephony.From{Adapter: "agent-console"})
	if err != nil {
		status := http.StatusUnprocessableEntity
		switch fault.KindOf(err) {
		case fault.Invalid:
			p.Error = "L'appel n'a pas été journalisé : " + err.Error()
		case fault.TooLarge:
			status, p.Error = http.StatusRequestEntityTooLarge, "L'appel n'a pas été journalisé : transcription trop volumineuse (5 Mio au plus)."
		default:
			h.deps.Log.Error("console log call", "err", err)
			status, p.Error = http.StatusServiceUnavailable, "L'appel n'a pas pu être journalisé (incident technique). Votre saisie est conservée : réessayez dans quelques instants."
		}
		h.search(r.Context(), &p)
		h.render(w, r, status, p)
		return
	}
	v := url.Values{"journalise": {accepted.RequestID}, "agent": {p.Agent}, "code": {accepted.TrackingCode}}
	if h.deps.SMS && accepted.Phone != "" && sms.CheckRecipient(accepted.Phone) == nil {
		v.Set("sms", "1")
	}
	if p.Caller != "" {
		v.Set("caller", p.Caller)
	} else {
		v.Set("q", p.Query)
	}
	http.Redirect(w, r, "/agent?"+v.Encode(), http.StatusSeeOther)
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
