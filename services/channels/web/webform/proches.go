package webform

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/platform/frtime"
)

// Incidents reads the open incidents (casestore.Store): what is already
// reported near a place, shown before a citizen files the same thing.
type Incidents interface {
	OpenIncidentsNear(ctx context.Context, competence, commune string, lat, lon *float64, since time.Time, limit int) ([]casestore.Incident, error)
	Incident(ctx context.Context, ref string) (casestore.Incident, []string, error)
}

// Nearby open incidents: reported within nearbyWindow, at most nearbyLimit
// of them, and with coordinates only, within nearbyRadius metres.
const (
	nearbyWindow = 30 * 24 * time.Hour
	nearbyLimit  = 5
	nearbyRadius = 500.0
	// nearbyTimeout bounds the look-up: the form never waits on it long.
	nearbyTimeout = 2 * time.Second
	// nearbyPath answers the list in JSON for static/proches.js.
	nearbyPath = "/incidents-proches"
)

var incidentRefPattern = regexp.MustCompile(`^INC-[0-9]{4}-[0-9]{6,9}$`)

// nearbyIncident is what a citizen sees of an incident: what and where,
// since when and how many reports — nothing of the people who made them.
type nearbyIncident struct {
	Ref     string `json:"ref"`
	Label   string `json:"label"`
	Place   string `json:"place"`
	Since   string `json:"since"` // the first report, in French
	Reports int    `json:"reports"`
}

// nearbyQuery is a place and a competence as the form gives them.
type nearbyQuery struct {
	Competence, Commune, PostalCode, Lat, Lon string
}

// nearby lists the open incidents of the competence near the place; none
// when the competence or the place is not known, or on any failure (the
// form works without it).
func (h *Handler) nearby(ctx context.Context, q nearbyQuery) []nearbyIncident {
	if h.deps.Incidents == nil || q.Competence == "" {
		return nil
	}
	if _, ok := h.deps.Catalogue.Competence(q.Competence); !ok {
		return nil
	}
	commune := ""
	if c, ok := h.deps.Places.ByINSEE(q.Commune); ok {
		commune = c.INSEE
	} else if postalCodePattern.MatchString(q.PostalCode) {
		if cs := h.deps.Places.ByPostalCode(q.PostalCode); len(cs) == 1 {
			commune = cs[0].INSEE
		}
	}
	if strings.HasPrefix(commune, "132") {
		commune = "13055" // an arrondissement: incidents are kept by commune (Marseille)
	}
	var lat, lon *float64
	if p, err := parsePosition(q.Lat, q.Lon); err == nil && p != nil {
		lat, lon = &p.Lat, &p.Lon
	}
	if commune == "" && lat == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, nearbyTimeout)
	defer cancel()
	list, err := h.deps.Incidents.OpenIncidentsNear(ctx, q.Competence, commune, lat, lon, time.Now().Add(-nearbyWindow), 20)
	if err != nil {
		h.deps.Log.Warn("nearby incidents", "err", err)
		return nil
	}
	var out []nearbyIncident
	for _, in := range list {
		// Without a commune, only what is within the radius is "near".
		if commune == "" && (in.Lat == nil || in.Lon == nil || metres(*lat, *lon, *in.Lat, *in.Lon) > nearbyRadius) {
			continue
		}
		out = append(out, nearbyIncident{Ref: in.Ref, Label: in.Label, Place: in.Place,
			Since: frtime.DateTime(in.FirstReportedAt), Reports: in.Reporters})
		if len(out) == nearbyLimit {
			break
		}
	}
	return out
}

// metres is the distance between two points (equirectangular: enough at
// the scale of a street).
func metres(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371000
	x := (lon2 - lon1) * math.Pi / 180 * math.Cos((lat1+lat2)/2*math.Pi/180)
	y := (lat2 - lat1) * math.Pi / 180
	return r * math.Hypot(x, y)
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
		list = []nearbyIncident{}
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
	ctx, cancel := context.WithTimeout(ctx, nearbyTimeout)
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
