// Package nearby lists the open incidents near a place as a citizen (the
// web form) or an agent (the console) sees them before filing a report
// of their own: what, where, since when and how many reports — nothing of
// the people who made them.
package nearby

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"

	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/territory"
	"github.com/ampmetropole/guichet/services/platform/frtime"
)

// Store reads the open incidents (casestore.Store).
type Store interface {
	OpenIncidentsNear(ctx context.Context, competence, commune string, lat, lon *float64, since time.Time, limit int) ([]casestore.Incident, error)
}

// Bounds of a look-up: incidents reported within Window, at most Limit of
// them; with coordinates and no commune, within Radius metres; the look-up
// never takes more than Timeout.
const (
	Window  = 30 * 24 * time.Hour
	Limit   = 5
	Radius  = 500.0
	Timeout = 2 * time.Second
)

// Item is what a person sees of an incident.
type Item struct {
	Ref     string `json:"ref"`
	Label   string `json:"label"`
	Place   string `json:"place"`
	Since   string `json:"since"` // the first report, in French
	Reports int    `json:"reports"`
}

// Query is a competence and a place: a commune's INSEE code (Marseille's
// arrondissements as 13055, as incidents keep them) and/or coordinates.
type Query struct {
	Competence string
	Commune    string
	Lat, Lon   *float64
}

// List returns the open incidents of q's competence near q's place, the
// nearest (or latest) first; none without a competence or a place.
func List(ctx context.Context, s Store, q Query, now time.Time) ([]Item, error) {
	if q.Competence == "" || (q.Commune == "" && (q.Lat == nil || q.Lon == nil)) {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	list, err := s.OpenIncidentsNear(ctx, q.Competence, q.Commune, q.Lat, q.Lon, now.Add(-Window), 20)
	if err != nil {
		return nil, fmt.Errorf("nearby: %w", err)
	}
	var out []Item
	for _, in := range list {
		// Without a commune, only what is within the radius is "near".
		if q.Commune == "" && (in.Lat == nil || in.Lon == nil || metres(*q.Lat, *q.Lon, *in.Lat, *in.Lon) > Radius) {
			continue
		}
		out = append(out, Item{Ref: in.Ref, Label: in.Label, Place: in.Place, Since: frtime.DateTime(in.FirstReportedAt), Reports: in.Reporters})
		if len(out) == Limit {
			break
		}
	}
	return out, nil
}

// Commune finds the commune a person typed — a postal code covering one
// commune, a name ("Aubagne", "la ciotat", "13006") or an INSEE code —
// as incidents keep it; "" when it is none or several.
func Commune(places *territory.Directory, typed string) string {
	typed = strings.TrimSpace(typed)
	if len(typed) > 100 || typed == "" {
		return ""
	}
	// People type postal codes: 13001 is Marseille's first arrondissement
	// before it is Aix-en-Provence's INSEE code.
	code := strings.ReplaceAll(typed, " ", "")
	if cs := places.ByPostalCode(code); len(cs) > 0 {
		if len(cs) == 1 {
			return keep(cs[0].INSEE)
		}
		return ""
	}
	want := fold(typed)
	for _, c := range places.Communes() {
		if fold(c.Name) == want {
			return keep(c.INSEE)
		}
	}
	if c, ok := places.ByINSEE(code); ok {
		return keep(c.INSEE)
	}
	return ""
}

// FromCodes finds the commune a form gives by its fields: an INSEE code
// (a list of communes), else a postal code covering one commune; "" when
// neither says.
func FromCodes(places *territory.Directory, insee, postalCode string) string {
	if c, ok := places.ByINSEE(insee); ok && insee != "" {
		return keep(c.INSEE)
	}
	if cs := places.ByPostalCode(strings.ReplaceAll(postalCode, " ", "")); len(cs) == 1 {
		return keep(cs[0].INSEE)
	}
	return ""
}

// keep gives Marseille's INSEE code for an arrondissement's.
func keep(insee string) string {
	if strings.HasPrefix(insee, "132") {
		return "13055"
	}
	return insee
}

// fold lowercases and strips accents, hyphens and apostrophes.
func fold(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(strings.ToLower(s)) {
		switch {
		case r >= 0x300 && r <= 0x36f:
		case r == '-' || r == '\'' || r == '’':
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// metres is the distance between two points (equirectangular: enough at
// the scale of a street).
func metres(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371000
	x := (lon2 - lon1) * math.Pi / 180 * math.Cos((lat1+lat2)/2*math.Pi/180)
	y := (lat2 - lat1) * math.Pi / 180
	return r * math.Hypot(x, y)
}
