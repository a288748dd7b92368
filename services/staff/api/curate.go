package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/caseref"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/territory"
	"github.com/ampmetropole/guichet/services/staff/auth"
)

// Curator lets people correct the router: re-route a case, move requests
// between cases, merge and unmerge. Each change is an event of the case
// history naming who and why.
type Curator interface {
	Reroute(ctx context.Context, ref, competence, territory string, ch casestore.Change) ([]casestore.OutboxMsg, error)
	MoveRequests(ctx context.Context, fromRef string, ids []string, toRef string, ch casestore.Change) (string, []casestore.OutboxMsg, error)
	Merge(ctx context.Context, fromRef, intoRef string, ch casestore.Change) ([]casestore.OutboxMsg, error)
	Unmerge(ctx context.Context, ref string, ch casestore.Change) ([]casestore.OutboxMsg, error)
}

// Competences says which competence codes exist.
type Competences interface {
	Known(code string) bool
}

// curation is the body of the curation endpoints; who makes the change is
// the authenticated caller.
type curation struct {
	Competence string   `json:"competence,omitempty"`
	Territory  string   `json:"territory,omitempty"`
	RequestIDs []string `json:"request_ids,omitempty"`
	Into       string   `json:"into,omitempty"`
	Reason     string   `json:"reason"`
	actor      auth.Principal
}

// readCuration reads the body and checks the caller may see the case (and
// the one named by "into", put in canonical form like the path's).
func (h *Handler) readCuration(w http.ResponseWriter, r *http.Request) (curation, bool) {
	var c curation
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		h.writeError(w, r, badBody(err))
		return c, false
	}
	_, p, ok := h.scoped(w, r, r.PathValue("ref"))
	if !ok {
		return c, false
	}
	if ref, ok := caseref.Normalize(c.Into); ok {
		c.Into = ref.String()
	}
	if _, err := caseref.Parse(c.Into); err == nil && c.Into != r.PathValue("ref") {
		if _, _, ok := h.scoped(w, r, c.Into); !ok {
			return c, false
		}
	}
	c.actor = p
	return c, true
}

func (c curation) change() casestore.Change {
	return casestore.Change{Actor: c.actor.Name, Reason: strings.TrimSpace(c.Reason)}
}

// rerouteCase answers POST /api/v1/cases/{ref}/route: a person chooses the
// competence (from triage, or passing a case on).
func (h *Handler) rerouteCase(w http.ResponseWriter, r *http.Request) {
	c, ok := h.readCuration(w, r)
	if !ok {
		return
	}
	if c.Competence == schemas.CompetenceTriage || !h.deps.Competences.Known(c.Competence) {
		writeJSONError(w, http.StatusBadRequest, "competence : code de compétence inconnu « "+truncate(c.Competence, 40)+" »", nil)
		return
	}
	if c.Territory != "" && territory.TerritoryName(c.Territory) == "" {
		writeJSONError(w, http.StatusBadRequest, "territory : code de territoire inconnu « "+truncate(c.Territory, 40)+" »", nil)
		return
	}
	if _, err := h.deps.Curate.Reroute(r.Context(), r.PathValue("ref"), c.Competence, c.Territory, c.change()); err != nil {
		h.writeError(w, r, err)
		return
	}
	h.audit(r, c.actor, "case.reroute", r.PathValue("ref"), map[string]any{"to": c.Competence})
	h.answerCase(w, r, r.PathValue("ref"), http.StatusOK)
}

// splitCase answers POST /api/v1/cases/{ref}/split: the requests named go
// to a new case (one request: undoing a link).
func (h *Handler) splitCase(w http.ResponseWriter, r *http.Request) {
	c, ok := h.readCuration(w, r)
	if !ok {
		return
	}
	h.move(w, r, c, c.Into)
}

func (h *Handler) move(w http.ResponseWriter, r *http.Request, c curation, to string) {
	if len(c.RequestIDs) == 0 || len(c.RequestIDs) > 200 {
		writeJSONError(w, http.StatusBadRequest, "request_ids : de 1 à 200 identifiants de demande", nil)
		return
	}
	for _, id := range c.RequestIDs {
		if !uuidPattern.MatchString(id) {
			writeJSONError(w, http.StatusBadRequest, "request_ids : identifiant invalide « "+truncate(id, 64)+" »", nil)
			return
		}
	}
	if _, err := caseref.Parse(to); to != "" && err != nil {
		writeJSONError(w, http.StatusBadRequest, "into : référence de dossier invalide", nil)
		return
	}
	dest, _, err := h.deps.Curate.MoveRequests(r.Context(), r.PathValue("ref"), c.RequestIDs, to, c.change())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.audit(r, c.actor, "case.split", r.PathValue("ref"), map[string]any{"to": dest, "requests": c.RequestIDs})
	status := http.StatusOK
	if to == "" {
		status = http.StatusCreated
		w.Header().Set("Location", "/api/v1/cases/"+dest)
	}
	h.answerCase(w, r, dest, status)
}

// mergeCase answers POST /api/v1/cases/{ref}/merge {"into": …}.
func (h *Handler) mergeCase(w http.ResponseWriter, r *http.Request) {
	c, ok := h.readCuration(w, r)
	if !ok {
		return
	}
	if _, err := caseref.Parse(c.Into); err != nil {
		writeJSONError(w, http.StatusBadRequest, "into : référence du dossier qui reçoit ("+caseref.Shape+") obligatoire", nil)
		return
	}
	if _, err := h.deps.Curate.Merge(r.Context(), r.PathValue("ref"), c.Into, c.change()); err != nil {
		h.writeError(w, r, err)
		return
	}
	h.audit(r, c.actor, "case.merge", r.PathValue("ref"), map[string]any{"into": c.Into})
	h.answerCase(w, r, c.Into, http.StatusOK)
}

// unmergeCase answers POST /api/v1/cases/{ref}/unmerge.
func (h *Handler) unmergeCase(w http.ResponseWriter, r *http.Request) {
	c, ok := h.readCuration(w, r)
	if !ok {
		return
	}
	if _, err := h.deps.Curate.Unmerge(r.Context(), r.PathValue("ref"), c.change()); err != nil {
		h.writeError(w, r, err)
		return
	}
	h.audit(r, c.actor, "case.unmerge", r.PathValue("ref"), nil)
	h.answerCase(w, r, r.PathValue("ref"), http.StatusOK)
}

// answerCase answers with the case as it now is.
func (h *Handler) answerCase(w http.ResponseWriter, r *http.Request, ref string, status int) {
	c, err := h.deps.Store.Case(r.Context(), ref)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, status, c)
}
