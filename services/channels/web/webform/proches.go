package webform

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

// Incidents reads the open incidents (casestore.Store): what is already
// reported near a place, shown before a citizen files the same thing.
type Incidents interface {
	nearby.Store
	Incident(ctx context.Context, ref string) (casestore.Incident, []string, error)
}

// nearbyPath answers the list in JSON for static/proches.js.
const nearbyPath = "/incidents-proches"

var incidentRefPattern = regexp.MustCompile(`^INC-[0-9]{4}-[0-9]{6,9}$`)

// nearbyQuery is a place and a competence as the form gives them.
type nearbyQuery struct {
	Competence, Commune, PostalCode, Lat, Lon string
}

// nearby lists the open incidents of the competence near the place; none
// when the competence or the place is not known, or on any failure (the
// form works without it).
func (h *Handler) nearby(ctx context.Context, q nearbyQuery) []nearby.Item {
	if h.deps.Incidents == nil || q.Competence == "" {
		return nil
	}
	if _, ok := h.deps.Catalogue.Competence(q.Competence); !ok {
		return nil
	}
	nq := nearby.Query{Competence: q.Competence}
	if postalCodePattern.MatchString(q.PostalCode) {
		nq.Commune = nearby.FromCodes(h.deps.Places, q.Commune, q.PostalCode)
	} else {
		nq.Commune = nearby.FromCodes(h.deps.Places, q.Commune, "")
	}
	if p, err := parsePosition(q.Lat, q.Lon); err == nil && p != nil {
		nq.Lat, nq.Lon = &p.Lat, &p.Lon
	}
	list, err := nearby.List(ctx, h.deps.Incidents, nq, time.Now())
	if err != nil {
		h.deps.Log.Warn("nearby incidents", "err", err)
		return nil
	}
	return list
}

// showNearby answers GET /incidents-proches?competence=…&commune=…
// &code_postal=…&lat=…&lon=… in JSON, for static/proches.js.
func (h *Handler) showNearby(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	if len(r.URL.RawQuery) > 500 {
		http.Error(w, "requête trop longue", http.StatusRequestURITooLong)
		return
	}
	list := h.nearby(r.Context(), nearbyQuery{Competence: v.Get("competence"), Commune: v.Get("commune"),
		PostalCode: strings.ReplaceAll(v.Get("code_postal"), " ", ""), Lat: v.Get("lat"), Lon: v.Get("lon")})
	if list == nil {
		list = []nearby.Item{}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{"incidents": list})
}

// joinIncident checks the incident a citizen chose to join: open, and of
// the request's competence when one is chosen. It returns its competence,
// or an error message for the form.
func (h *Handler) joinIncident(ctx context.Context, ref, competence string) (string, string) {
	const gone = "Ce signalement n'est plus ouvert : choisissez-en un autre dans la liste, ou « Non, c'est un autre problème »."
	if h.deps.Incidents == nil || !incidentRefPattern.MatchString(ref) {
		return "", gone
	}
	ctx, cancel := context.WithTimeout(ctx, nearby.Timeout)
	defer cancel()
	in, _, err := h.deps.Incidents.Incident(ctx, ref)
	if err != nil || in.State != "open" || (competence != "" && in.Competence != competence) {
		return "", gone
	}
	return in.Competence, ""
}

// withNearby adds to the form the open incidents near its place.
func (h *Handler) withNearby(r *http.Request, p formPage) formPage {
	p.Nearby = h.nearby(r.Context(), nearbyQuery{Competence: p.V.Competence, Commune: p.V.Commune, PostalCode: p.V.PostalCode, Lat: p.V.Lat, Lon: p.V.Lon})
	return p
}
