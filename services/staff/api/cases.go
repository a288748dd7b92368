package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ampmetropole/guichet/services/cases/caseref"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/lifecycle"
	"github.com/ampmetropole/guichet/services/staff/auth"
)

// Guard protects the routes of people's work (auth.Service).
type Guard interface {
	RequireAPI(perm auth.Permission) func(http.Handler) http.Handler
	Audit(ctx context.Context, p auth.Principal, action, target string, details map[string]any) error
	AuditLog(ctx context.Context, f auth.AuditFilter, limit int) ([]auth.AuditEntry, error)
}

// Workflow moves cases through the lifecycle and lists them.
type Workflow interface {
	Cases(ctx context.Context, f casestore.Filter) (casestore.CasePage, error)
	Transition(ctx context.Context, tr casestore.TransitionRequest, clock casestore.Clock) ([]casestore.OutboxMsg, error)
}

// Settings are the catalogue's settings a transition needs.
type Settings interface {
	RequiredBeforeQualification(competence string) []string
}

// guarded registers a route that needs perm; without a guard the route is
// not served at all (people's work always needs authentication).
func (h *Handler) guarded(pattern string, perm auth.Permission, fn http.HandlerFunc) {
	if h.deps.Guard == nil {
		return
	}
	if strings.Contains(pattern, "{ref}") {
		fn = canonicalRef(fn)
	}
	h.mux.Handle(pattern, h.deps.Guard.RequireAPI(perm)(h.instrument(pattern, fn)))
}

// canonicalRef puts the {ref} of the path in canonical form, so that a
// route answers for "amp-2026-004213" what it answers for
// "AMP-2026-004213"; what is no reference is left for scoped to refuse.
func canonicalRef(fn http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if ref, ok := caseref.Normalize(r.PathValue("ref")); ok {
			r.SetPathValue("ref", ref.String())
		}
		fn(w, r)
	}
}

// scoped loads a case the caller may see; another team's case is "not
// found", never "forbidden", so that its existence does not leak.
func (h *Handler) scoped(w http.ResponseWriter, r *http.Request, ref string) (casestore.Case, auth.Principal, bool) {
	p, _ := auth.FromContext(r.Context())
	if _, err := caseref.Parse(ref); err != nil {
		writeJSONError(w, http.StatusBadRequest, "référence de dossier invalide ("+caseref.Shape+" attendu) : "+truncate(ref, 64), nil)
		return casestore.Case{}, p, false
	}
	c, err := h.deps.Store.Case(r.Context(), ref)
	if err != nil {
		h.writeError(w, r, err)
		return c, p, false
	}
	territory := ""
	if c.Territory != nil {
		territory = *c.Territory
	}
	if !p.SeesCase(c.Competence, territory) {
		writeJSONError(w, http.StatusNotFound, "introuvable", nil)
		return c, p, false
	}
	return c, p, true
}

// audit writes who looked at or changed personal data; failing to write it
// is logged, the answer is not refused (the change itself is in the case
// history).
func (h *Handler) audit(r *http.Request, p auth.Principal, action, target string, details map[string]any) {
	if err := h.deps.Guard.Audit(r.Context(), p, action, target, details); err != nil {
		h.deps.Log.Warn("audit log not written", "action", action, "target", target, "err", err)
	}
}

// showCaseGuarded answers GET /api/v1/cases/{ref} for people allowed to see
// the case.
func (h *Handler) showCaseGuarded(w http.ResponseWriter, r *http.Request) {
	c, p, ok := h.scoped(w, r, r.PathValue("ref"))
	if !ok {
		return
	}
	h.audit(r, p, "case.view", c.Ref, nil)
	writeJSON(w, http.StatusOK, c)
}

// listCases answers GET /api/v1/cases: the caller's queue, filtered.
func (h *Handler) listCases(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	q := r.URL.Query()
	f := casestore.Filter{Competence: q.Get("competence"), Territory: q.Get("territory"), State: q.Get("state"),
		Channel: q.Get("channel"), Q: q.Get("q")}
	if f.State != "" && !lifecycle.Known(f.State) && f.State != casestore.StatePending {
		writeJSONError(w, http.StatusBadRequest, "state : état inconnu « "+truncate(f.State, 40)+" »", nil)
		return
	}
	switch q.Get("overdue") {
	case "", "false", "0":
	case "true", "1":
		f.Overdue = true
	default:
		writeJSONError(w, http.StatusBadRequest, "overdue : true ou false", nil)
		return
	}
	for name, dst := range map[string]*int{"limit": &f.Limit, "offset": &f.Offset} {
		if v := q.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || (name == "limit" && (n < 1 || n > 200)) {
				writeJSONError(w, http.StatusBadRequest, name+" : nombre entier invalide (limit de 1 à 200)", nil)
				return
			}
			*dst = n
		}
	}
	f.Scope = p.Scope()
	page, err := h.deps.Workflow.Cases(r.Context(), f)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

// transition is the body of POST /api/v1/cases/{ref}/transitions.
type transition struct {
	To         string `json:"to"`
	Reason     string `json:"reason"`
	WaitingOn  string `json:"waiting_on"`
	RedirectTo string `json:"redirect_to"`
}

// transitionCase answers POST /api/v1/cases/{ref}/transitions: 409 for a
// transition the lifecycle refuses, 403 for one the role may not make.
func (h *Handler) transitionCase(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	var t transition
	if err := dec.Decode(&t); err != nil {
		h.writeError(w, r, badBody(err))
		return
	}
	c, p, ok := h.scoped(w, r, r.PathValue("ref"))
	if !ok {
		return
	}
	_, err := h.deps.Workflow.Transition(r.Context(), casestore.TransitionRequest{
		Ref: c.Ref, To: strings.TrimSpace(t.To), Role: p.Role,
		Change:    casestore.Change{Actor: p.Name, Reason: t.Reason},
		WaitingOn: t.WaitingOn, RedirectTo: t.RedirectTo,
		Required: h.deps.Settings.RequiredBeforeQualification(c.Competence), Now: time.Now(),
	}, h.deps.Clock)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.audit(r, p, "case.transition", c.Ref, map[string]any{"from": c.State, "to": t.To})
	h.answerCase(w, r, c.Ref, http.StatusOK)
}

// Correspondence writes notes and replies on cases.
type Correspondence interface {
	AddNote(ctx context.Context, ref, text string, ch casestore.Change) ([]casestore.OutboxMsg, error)
	Reply(ctx context.Context, ref string, r casestore.ReplyRequest, ch casestore.Change) ([]casestore.OutboxMsg, error)
	Assign(ctx context.Context, ref, assignee string, ch casestore.Change) ([]casestore.OutboxMsg, error)
}

// noteBody is POST /api/v1/cases/{ref}/notes.
type noteBody struct {
	Text string `json:"text"`
}

// replyBody is POST /api/v1/cases/{ref}/replies.
type replyBody struct {
	Channel string `json:"channel"` // email | letter | callback
	To      string `json:"to"`
	Subject string `json:"subject"`
	Message string `json:"message"`
}

func decodeStrict(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badBody(err)
	}
	return nil
}

// addNote answers POST /api/v1/cases/{ref}/notes: an internal note.
func (h *Handler) addNote(w http.ResponseWriter, r *http.Request) {
	var b noteBody
	if err := decodeStrict(w, r, 64<<10, &b); err != nil {
		h.writeError(w, r, err)
		return
	}
	c, p, ok := h.scoped(w, r, r.PathValue("ref"))
	if !ok {
		return
	}
	if _, err := h.deps.Correspondence.AddNote(r.Context(), c.Ref, b.Text, casestore.Change{Actor: p.Name}); err != nil {
		h.writeError(w, r, err)
		return
	}
	h.answerCase(w, r, c.Ref, http.StatusCreated)
}

// addReply answers POST /api/v1/cases/{ref}/replies: an answer to the
// citizen, sent by e-mail, printed as a letter or made as a call back.
func (h *Handler) addReply(w http.ResponseWriter, r *http.Request) {
	var b replyBody
	if err := decodeStrict(w, r, 128<<10, &b); err != nil {
		h.writeError(w, r, err)
		return
	}
	c, p, ok := h.scoped(w, r, r.PathValue("ref"))
	if !ok {
		return
	}
	if _, err := h.deps.Correspondence.Reply(r.Context(), c.Ref, casestore.ReplyRequest{Channel: b.Channel, To: b.To, Subject: b.Subject, Message: b.Message},
		casestore.Change{Actor: p.Name}); err != nil {
		h.writeError(w, r, err)
		return
	}
	h.audit(r, p, "case.reply", c.Ref, map[string]any{"channel": b.Channel})
	h.answerCase(w, r, c.Ref, http.StatusCreated)
}

// auditLog answers GET /api/v1/audit?actor=&action=&target=&before=&limit=:
// the audit log, newest first, for admins.
func (h *Handler) auditLog(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := auth.AuditFilter{Actor: q.Get("actor"), Action: q.Get("action"), Target: q.Get("target")}
	limit := 100
	if v := q.Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			writeJSONError(w, http.StatusBadRequest, "before : identifiant d'entrée invalide", nil)
			return
		}
		f.BeforeID = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeJSONError(w, http.StatusBadRequest, "limit : nombre entre 1 et 1000", nil)
			return
		}
		limit = n
	}
	entries, err := h.deps.Guard.AuditLog(r.Context(), f, limit)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if entries == nil {
		entries = []auth.AuditEntry{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": entries})
}

// assignCase answers POST /api/v1/cases/{ref}/assignment {"assignee"}:
// who in the team holds the case ("" for nobody).
func (h *Handler) assignCase(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Assignee string `json:"assignee"`
	}
	if err := decodeStrict(w, r, 4<<10, &b); err != nil {
		h.writeError(w, r, err)
		return
	}
	c, p, ok := h.scoped(w, r, r.PathValue("ref"))
	if !ok {
		return
	}
	if _, err := h.deps.Correspondence.Assign(r.Context(), c.Ref, b.Assignee, casestore.Change{Actor: p.Name}); err != nil {
		h.writeError(w, r, err)
		return
	}
	h.audit(r, p, "case.assign", c.Ref, map[string]any{"assignee": b.Assignee})
	h.answerCase(w, r, c.Ref, http.StatusOK)
}
