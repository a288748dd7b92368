package console

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/nearby"
)

// Incidents reads the open incidents (casestore.Store): « déjà signalé
// près d'ici » while a call is logged, so that the agent joins the
// caller's report to an incident the team already handles.
type Incidents interface {
	nearby.Store
	Incident(ctx context.Context, ref string) (casestore.Incident, []string, error)
}

// The console's words about incidents.
const (
	msgIncidentGone = "Ce signalement n'est plus ouvert : choisissez-en un autre dans la liste, ou « Non, c'est un autre problème »."
	msgIncidentCase = "Un signalement déjà fait s'ajoute à une nouvelle demande : choisissez « Nouvelle demande », ou « Non, c'est un autre problème »."
	maxPlace        = 100
)

var incidentRef = regexp.MustCompile(`^INC-[0-9]{4}-[0-9]{6,9}$`)

// nearby lists the open incidents of the competence near the place the
// agent typed; none when either is missing or unknown, or on any failure
// (the call is logged all the same).
func (h *Handler) nearby(ctx context.Context, competence, place string) []nearby.Item {
	if h.deps.Incidents == nil || competence == "" || !h.deps.Catalogue.Known(competence) {
		return nil
	}
	commune := nearby.Commune(h.places, place)
	if commune == "" {
		return nil
	}
	list, err := nearby.List(ctx, h.deps.Incidents, nearby.Query{Competence: competence, Commune: commune}, time.Now())
	if err != nil {
		h.deps.Log.Warn("console: nearby incidents", "err", err)
		return nil
	}
	return list
}

// showNearby answers GET /agent/incidents-proches?competence=…&lieu=… in
// JSON, for console.js, which shows the list as the agent types.
func (h *Handler) showNearby(w http.ResponseWriter, r *http.Request) {
	if len(r.URL.RawQuery) > 400 {
		http.Error(w, "requête trop longue", http.StatusRequestURITooLong)
		return
	}
	q := r.URL.Query()
	list := h.nearby(r.Context(), q.Get("competence"), clip(q.Get("lieu"), maxPlace))
	if list == nil {
		list = []nearby.Item{}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{"incidents": list})
}

// joinIncident checks the incident the agent chose for a new request: it
// must be open. It returns its competence, which the request takes, or
// the error to show next to the list.
func (h *Handler) joinIncident(ctx context.Context, f logForm) (string, *fieldError) {
	if f.Target != "nouvelle" {
		return "", &fieldError{Key: "incident", Anchor: "incident", Message: msgIncidentCase}
	}
	gone := &fieldError{Key: "incident", Anchor: "incident", Message: msgIncidentGone}
	if h.deps.Incidents == nil || !incidentRef.MatchString(f.Incident) {
		return "", gone
	}
	ctx, cancel := context.WithTimeout(ctx, nearby.Timeout)
	defer cancel()
	in, _, err := h.deps.Incidents.Incident(ctx, f.Incident)
	if err != nil || in.State != "open" {
		return "", gone
	}
	return in.Competence, nil
}

// withNearby fills the page's list from the form.
func (h *Handler) withNearby(ctx context.Context, p *page) {
	p.NearbyOn = h.deps.Incidents != nil
	if strings.TrimSpace(p.Form.Place) != "" || p.Form.Incident != "" {
		p.Nearby = h.nearby(ctx, p.Form.Competence, p.Form.Place)
	}
}
