package backoffice

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/ampmetropole/guichet/services/cases/caseref"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/platform/textcheck"
	"github.com/ampmetropole/guichet/services/staff/auth"
)

// Incidents reads and works the incidents (casestore.Store): cases that
// different citizens opened about one physical thing, handled once.
type Incidents interface {
	Incident(ctx context.Context, ref string) (casestore.Incident, []string, error)
	IncidentCases(ctx context.Context, ref string) ([]casestore.IncidentCase, error)
	IncidentsOfCases(ctx context.Context, refs []string) (map[string]casestore.IncidentBrief, error)
	IncidentSuggestions(ctx context.Context, caseRef string) ([]casestore.IncidentSuggestion, error)
	ResolveIncident(ctx context.Context, ref, role string, ch casestore.Change, clock casestore.Clock, now time.Time) ([]string, error)
	DetachCase(ctx context.Context, caseRef string, ch casestore.Change) ([]casestore.OutboxMsg, error)
	MoveCase(ctx context.Context, caseRef, incidentRef string, ch casestore.Change) ([]casestore.OutboxMsg, error)
}

// incidentRefPattern is what an incident reference looks like
// (INC-2026-000001); anything else is not looked up.
var incidentRefPattern = regexp.MustCompile(`^INC-[0-9]{4}-[0-9]{6,9}$`)

// normalIncidentRef reads an incident reference as a person may type it.
func normalIncidentRef(s string) (string, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	return s, len(s) <= 20 && incidentRefPattern.MatchString(s)
}

// incidentPage is what the incident page shows.
type incidentPage struct {
	page
	I          casestore.Incident
	Cases      []casestore.IncidentCase
	Open       int // cases still pending
	CanResolve bool
	CanMove    bool
	Territory  *string // the incident's, as territoryLabel reads it
	// Undo is the case just detached, that the page offers to put back.
	Undo                 string
	Error, Done, Message string
}

// incidentRoutes mounts the incident page and its actions.
func (h *Handler) incidentRoutes() {
	if h.deps.Incidents == nil {
		return // no incidents store: the addresses answer the 404 page
	}
	h.mux.Handle("GET /bo/incidents/{ref}", h.deps.Guard.RequirePage(auth.PermCaseRead)(http.HandlerFunc(h.incident)))
	h.mux.Handle("POST /bo/incidents/{ref}/resoudre", h.deps.Guard.RequirePage(auth.PermCaseTransition)(http.HandlerFunc(h.resolveIncident)))
	merge := h.deps.Guard.RequirePage(auth.PermCaseMerge)
	h.mux.Handle("POST /bo/incidents/{ref}/detacher", merge(http.HandlerFunc(h.detachCase)))
	h.mux.Handle("POST /bo/incidents/{ref}/rattacher", merge(http.HandlerFunc(h.attachCase)))
}

// loadIncident reads the incident the person may see; another team's
// incident is not found, so that its existence does not leak.
func (h *Handler) loadIncident(w http.ResponseWriter, r *http.Request, ref string) (casestore.Incident, []casestore.IncidentCase, auth.Principal, bool) {
	p, _ := auth.FromContext(r.Context())
	ref, ok := normalIncidentRef(ref)
	if !ok {
		h.notFound(w, r, "")
		return casestore.Incident{}, nil, p, false
	}
	inc, _, err := h.deps.Incidents.Incident(r.Context(), ref)
	if fault.KindOf(err) == fault.NotFound || (err == nil && !p.SeesCase(inc.Competence, inc.Territory)) {
		h.notFound(w, r, "")
		return inc, nil, p, false
	}
	var cases []casestore.IncidentCase
	if err == nil {
		cases, err = h.deps.Incidents.IncidentCases(r.Context(), ref)
	}
	if err != nil {
		h.deps.Log.Error("back office incident", "ref", ref, "err", err)
		h.unavailable(w, r, "Incident momentanément indisponible : réessayez dans quelques instants.")
		return inc, nil, p, false
	}
	return inc, cases, p, true
}

func (h *Handler) incident(w http.ResponseWriter, r *http.Request) {
	inc, cases, p, ok := h.loadIncident(w, r, r.PathValue("ref"))
	if !ok {
		return
	}
	done := map[string]string{"resolu": "L'incident est résolu : chaque demandeur est prévenu par son canal.",
		"detache": "Le dossier est détaché de l'incident.", "rattache": "Le dossier est rattaché à l'incident."}[r.URL.Query().Get("fait")]
	undo := ""
	if ref, ok := caseref.Normalize(r.URL.Query().Get("dossier")); ok && r.URL.Query().Get("fait") == "detache" {
		undo = ref.String()
	}
	h.showIncident(w, r, inc, cases, p, http.StatusOK, "", done, undo, "")
}

func (h *Handler) showIncident(w http.ResponseWriter, r *http.Request, inc casestore.Incident, cases []casestore.IncidentCase, p auth.Principal, status int, errText, done, undo, message string) {
	pg, _ := h.base(r, "Incident "+inc.Ref, "dossiers")
	if errText != "" {
		pg.Title = "Erreur — " + pg.Title
	}
	d := incidentPage{page: pg, I: inc, Cases: cases, CanResolve: p.Can(auth.PermCaseTransition), CanMove: p.Can(auth.PermCaseMerge),
		Undo: undo, Error: errText, Done: done, Message: message, Territory: &inc.Territory}
	for _, c := range cases {
		if _, pending := pendingForIncident[c.State]; pending {
			d.Open++
		}
	}
	h.render(w, "incident", status, d)
}

// pendingForIncident are the states « Résoudre l'incident » moves on.
var pendingForIncident = map[string]struct{}{"received": {}, "qualified": {}, "in_progress": {}, "waiting": {}}

// incidentForm loads the incident an action is about and reads its form,
// of at most 16 KiB.
func (h *Handler) incidentForm(w http.ResponseWriter, r *http.Request) (casestore.Incident, []casestore.IncidentCase, auth.Principal, bool) {
	inc, cases, p, ok := h.loadIncident(w, r, r.PathValue("ref"))
	if !ok {
		return inc, cases, p, false
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		h.showIncident(w, r, inc, cases, p, http.StatusRequestEntityTooLarge, "Formulaire trop long ou illisible : rien n'a été enregistré.", "", "", "")
		return inc, cases, p, false
	}
	for _, vs := range r.PostForm {
		for _, v := range vs {
			if !textcheck.Valid(v) {
				h.showIncident(w, r, inc, cases, p, http.StatusBadRequest, "Le formulaire contient un caractère non permis : rien n'a été enregistré.", "", "", "")
				return inc, cases, p, false
			}
		}
	}
	return inc, cases, p, true
}

// incidentRefused answers a refused action on the incident page.
func (h *Handler) incidentRefused(w http.ResponseWriter, r *http.Request, inc casestore.Incident, cases []casestore.IncidentCase, p auth.Principal, err error, prefix, message string) {
	status, msg := http.StatusUnprocessableEntity, prefix+strings.TrimPrefix(err.Error(), "casestore: ")
	if k := fault.KindOf(err); k != fault.Invalid && k != fault.Conflict && k != fault.Forbidden {
		h.deps.Log.Error("back office incident action", "ref", inc.Ref, "err", err)
		status, msg = http.StatusServiceUnavailable, "L'action n'a pas pu être enregistrée entièrement : réessayez dans quelques instants (ce qui est fait reste fait)."
	}
	h.showIncident(w, r, inc, cases, p, status, msg, "", "", message)
}

// incidentDone records the action in the audit log and shows the page again.
func (h *Handler) incidentDone(w http.ResponseWriter, r *http.Request, p auth.Principal, action, ref, what string, details map[string]any, extra string) {
	if err := h.deps.Guard.Audit(r.Context(), p, action, ref, details); err != nil {
		h.deps.Log.Warn("audit log not written", "err", err)
	}
	http.Redirect(w, r, "/bo/incidents/"+url.PathEscape(ref)+"?fait="+what+extra, http.StatusSeeOther)
}

// resolveIncident resolves every pending case of the incident, each
// through the lifecycle, with the team's message as the reason.
func (h *Handler) resolveIncident(w http.ResponseWriter, r *http.Request) {
	inc, cases, p, ok := h.incidentForm(w, r)
	if !ok {
		return
	}
	msg := strings.TrimSpace(r.PostFormValue("message"))
	if msg == "" || len(msg) > 2000 {
		h.showIncident(w, r, inc, cases, p, http.StatusUnprocessableEntity, "Résolution refusée : écrivez ce qui a été fait (2 000 caractères au plus).", "", "", msg)
		return
	}
	done, err := h.deps.Incidents.ResolveIncident(r.Context(), inc.Ref, p.Role, casestore.Change{Actor: p.Name, Reason: msg}, h.deps.Clock, time.Now())
	if err != nil {
		cases, _ = h.deps.Incidents.IncidentCases(r.Context(), inc.Ref)
		h.incidentRefused(w, r, inc, cases, p, err, "Résolution interrompue : ", msg)
		return
	}
	h.incidentDone(w, r, p, "incident.resolve", inc.Ref, "resolu", map[string]any{"cases": done}, "")
}

// caseOf reads the field "dossier": a case of this incident.
func caseOf(r *http.Request, cases []casestore.IncidentCase) (string, bool) {
	ref, ok := caseref.Normalize(strings.TrimSpace(r.PostFormValue("dossier")))
	if !ok {
		return "", false
	}
	s := ref.String()
	return s, slices.ContainsFunc(cases, func(c casestore.IncidentCase) bool { return c.Ref == s })
}

// detachCase takes one case out of the incident, or moves it to another
// incident when "vers" is given.
func (h *Handler) detachCase(w http.ResponseWriter, r *http.Request) {
	inc, cases, p, ok := h.incidentForm(w, r)
	if !ok {
		return
	}
	ref, ok := caseOf(r, cases)
	if !ok {
		h.showIncident(w, r, inc, cases, p, http.StatusUnprocessableEntity, "Action refusée : ce dossier ne fait pas partie de l'incident.", "", "", "")
		return
	}
	ch := casestore.Change{Actor: p.Name, Reason: strings.TrimSpace(r.PostFormValue("motif"))}
	if to := strings.TrimSpace(r.PostFormValue("vers")); to != "" {
		target, ok := normalIncidentRef(to)
		if ok {
			t, _, err := h.deps.Incidents.Incident(r.Context(), target)
			ok = err == nil && p.SeesCase(t.Competence, t.Territory)
		}
		if !ok {
			h.showIncident(w, r, inc, cases, p, http.StatusUnprocessableEntity, "Déplacement refusé : l'incident « "+to+" » est introuvable.", "", "", "")
			return
		}
		if _, err := h.deps.Incidents.MoveCase(r.Context(), ref, target, ch); err != nil {
			h.incidentRefused(w, r, inc, cases, p, err, "Déplacement refusé : ", "")
			return
		}
		h.incidentDone(w, r, p, "incident.move", target, "rattache", map[string]any{"case": ref, "from": inc.Ref}, "")
		return
	}
	if _, err := h.deps.Incidents.DetachCase(r.Context(), ref, ch); err != nil {
		h.incidentRefused(w, r, inc, cases, p, err, "Détachement refusé : ", "")
		return
	}
	h.incidentDone(w, r, p, "incident.detach", inc.Ref, "detache", map[string]any{"case": ref}, "&dossier="+url.QueryEscape(ref))
}

// attachCase links a case of the person's scope to this incident: the
// undoing of a detachment, or a suggestion the team accepts from the case
// page.
func (h *Handler) attachCase(w http.ResponseWriter, r *http.Request) {
	inc, cases, p, ok := h.incidentForm(w, r)
	if !ok {
		return
	}
	ref, ok := caseref.Normalize(strings.TrimSpace(r.PostFormValue("dossier")))
	if ok {
		f, err := h.deps.Store.CaseFile(r.Context(), ref.String())
		ok = err == nil && p.SeesCase(f.Competence, territoryOf(f))
	}
	if !ok {
		h.showIncident(w, r, inc, cases, p, http.StatusUnprocessableEntity, "Rattachement refusé : le dossier est introuvable.", "", "", "")
		return
	}
	reason := strings.TrimSpace(r.PostFormValue("motif"))
	if reason == "" {
		reason = "rattaché par l'équipe"
	}
	if _, err := h.deps.Incidents.MoveCase(r.Context(), ref.String(), inc.Ref, casestore.Change{Actor: p.Name, Reason: reason}); err != nil {
		h.incidentRefused(w, r, inc, cases, p, err, "Rattachement refusé : ", "")
		return
	}
	h.incidentDone(w, r, p, "incident.attach", inc.Ref, "rattache", map[string]any{"case": ref.String()}, "")
}

// incidentsOf reads the incidents of the queue's cases; without them the
// queue still shows its cases.
func (h *Handler) incidentsOf(r *http.Request, cases []casestore.QueuedCase) map[string]casestore.IncidentBrief {
	if h.deps.Incidents == nil || len(cases) == 0 {
		return nil
	}
	refs := make([]string, 0, len(cases))
	for _, c := range cases {
		refs = append(refs, c.Ref)
	}
	m, err := h.deps.Incidents.IncidentsOfCases(r.Context(), refs)
	if err != nil {
		h.deps.Log.Warn("back office queue incidents", "err", err)
		return nil
	}
	return m
}

// caseIncidents reads the case's incident and, for a person who may link
// cases, the incidents the router proposed for it; a failure only leaves
// the block out.
func (h *Handler) caseIncidents(r *http.Request, f casestore.CaseFile, p auth.Principal) (casestore.IncidentBrief, []casestore.IncidentSuggestion) {
	if h.deps.Incidents == nil {
		return casestore.IncidentBrief{}, nil
	}
	m, err := h.deps.Incidents.IncidentsOfCases(r.Context(), []string{f.Ref})
	if err != nil {
		h.deps.Log.Warn("back office case incident", "ref", f.Ref, "err", err)
		return casestore.IncidentBrief{}, nil
	}
	var sugg []casestore.IncidentSuggestion
	if p.Can(auth.PermCaseMerge) {
		if sugg, err = h.deps.Incidents.IncidentSuggestions(r.Context(), f.Ref); err != nil {
			h.deps.Log.Warn("back office case suggestions", "ref", f.Ref, "err", err)
		}
	}
	return m[f.Ref], sugg
}
