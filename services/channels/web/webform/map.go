package webform

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ampmetropole/guichet/services/channels/web/geocode"
	"github.com/ampmetropole/guichet/services/platform/ratelimit"
)

// PlanIGN is the IGN's Plan IGN from the Géoplateforme, its WMTS asked in
// XYZ form (Web Mercator tiles): the map's default background.
const PlanIGN = "https://data.geopf.fr/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=GEOGRAPHICALGRIDSYSTEMS.PLANIGNV2" +
	"&STYLE=normal&TILEMATRIXSET=PM&FORMAT=image/png&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}"

// PlanIGNAttribution credits PlanIGN (licence ouverte Etalab 2.0: the
// source is to be named).
const PlanIGNAttribution = "Plan IGN © IGN – Géoplateforme"

// MapConfig puts a map on the request form, where the citizen may place a
// pin or use their position.
type MapConfig struct {
	// Tiles is the tile server's URL template, with {z}, {x} and {y} (Web
	// Mercator): PlanIGN, an OpenStreetMap server… https, or http to a
	// loopback address; no {s} subdomains, so that the
	// Content-Security-Policy names one origin. "": no map, the form as
	// without JavaScript.
	Tiles string
	// Attribution credits the tiles under the map, as text: PlanIGNAttribution
	// when empty with PlanIGN, required with any other tiles.
	Attribution string
	// ReversePerMinute bounds the address look-ups (GET /adresse/inverse)
	// of one client address; default 30.
	ReversePerMinute int
}

// Geocoder finds the address of the Métropole at a point: a
// geocode.Client, which asks a reverse geocoder of the BAN format.
type Geocoder interface {
	Reverse(ctx context.Context, lat, lon float64) (geocode.Address, error)
}

// The points accepted: a box around the Métropole Aix-Marseille-Provence,
// whose 92 communes lie between 43.15° and 43.78° N and between 4.73° and
// 5.82° E (from the islands off Marseille and La Ciotat to the Durance at
// Pertuis and Saint-Paul-lès-Durance, from the Rhône at
// Port-Saint-Louis-du-Rhône to Saint-Zacharie), with a margin of about
// ten kilometres. A box, not the communes' outlines: a pin a few metres
// over a boundary is not refused on that account, while one in Paris, at
// 0°, 0° or on the other side of the world — a mistake or a forgery — is.
// The commune itself is told by the citizen, or by the geocoder, which
// answers only for the Métropole's communes. The map keeps to the same box.
const (
	boundSouth = 43.05
	boundNorth = 43.90
	boundWest  = 4.60
	boundEast  = 5.95
)

// position is the pin placed on the map, in WGS 84 degrees.
type position struct {
	Lat, Lon float64
}

// positionError says, in French, what is wrong with a position.
type positionError struct {
	Message string
	Outside bool // readable, but out of the Métropole's box
}

func (e *positionError) Error() string { return e.Message }

// coordinatePattern is a coordinate as the map writes it: decimal degrees,
// a point (or a French comma) before the decimals; no exponent, no NaN.
var coordinatePattern = regexp.MustCompile(`^-?[0-9]{1,3}([.,][0-9]{1,15})?$`)

// parsePosition reads the pin's coordinates as the form's hidden fields or
// the address look-up send them. Both empty: no position, no error.
func parsePosition(lat, lon string) (*position, *positionError) {
	lat, lon = strings.TrimSpace(lat), strings.TrimSpace(lon)
	if lat == "" && lon == "" {
		return nil, nil
	}
	if lat == "" || lon == "" {
		return nil, &positionError{Message: "La position du repère est incomplète : placez le repère à nouveau sur la carte, ou retirez-le."}
	}
	var xy [2]float64
	for i, s := range []string{lat, lon} {
		if !coordinatePattern.MatchString(s) {
			return nil, &positionError{Message: "La position du repère n'a pas pu être lue : placez le repère à nouveau sur la carte, ou retirez-le."}
		}
		f, err := strconv.ParseFloat(strings.Replace(s, ",", ".", 1), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, &positionError{Message: "La position du repère n'a pas pu être lue : placez le repère à nouveau sur la carte, ou retirez-le."}
		}
		// A micro-degree is about 10 cm: more decimals say nothing more.
		xy[i] = math.Round(f*1e6) / 1e6
	}
	p := &position{Lat: xy[0], Lon: xy[1]}
	if p.Lat < boundSouth || p.Lat > boundNorth || p.Lon < boundWest || p.Lon > boundEast {
		return nil, &positionError{Outside: true,
			Message: "Le repère est placé hors de la Métropole Aix-Marseille-Provence : placez-le sur le lieu concerné, ou retirez-le et indiquez l'adresse. Pour un lieu hors de la Métropole, adressez-vous à la commune concernée."}
	}
	return p, nil
}

// mapView is the map of the form, as New checked it.
type mapView struct {
	tiles       string
	attribution string
	tileOrigin  string // the tiles' scheme://host[:port], allowed by the CSP's img-src
	geocoder    Geocoder
	perClient   *ratelimit.Keyed // address look-ups per client address
	overall     *ratelimit.Keyed // address look-ups of everyone, 20 a second: the public BAN allows 50 a second per address
}

// newMapView checks the map's configuration.
func newMapView(cfg MapConfig, geo Geocoder) (mapView, error) {
	if cfg.ReversePerMinute <= 0 {
		cfg.ReversePerMinute = 30
	}
	m := mapView{geocoder: geo, perClient: ratelimit.New(cfg.ReversePerMinute, time.Minute), overall: ratelimit.New(20, time.Second)}
	if cfg.Tiles == "" {
		if geo != nil {
			return mapView{}, fmt.Errorf("webform: a geocoder without a map: set the map's tiles too")
		}
		return m, nil
	}
	origin, err := tileOrigin(cfg.Tiles)
	if err != nil {
		return mapView{}, err
	}
	m.tiles, m.tileOrigin, m.attribution = cfg.Tiles, origin, strings.TrimSpace(cfg.Attribution)
	if m.attribution == "" {
		if cfg.Tiles != PlanIGN {
			return mapView{}, fmt.Errorf("webform: the map's tiles %s need an attribution (the credit their licence asks for)", origin)
		}
		m.attribution = PlanIGNAttribution
	}
	return m, nil
}

// originPattern is an origin the CSP may name as it is.
var originPattern = regexp.MustCompile(`^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$|^http://\[::1\](:[0-9]{1,5})?$`)

// tileOrigin checks a tile URL template and returns its origin.
func tileOrigin(tiles string) (string, error) {
	for _, p := range []string{"{z}", "{x}", "{y}"} {
		if !strings.Contains(tiles, p) {
			return "", fmt.Errorf("webform: the map's tile URL %q lacks %s", tiles, p)
		}
	}
	u, err := url.Parse(tiles)
	if err != nil || u.Host == "" || u.User != nil {
		return "", fmt.Errorf("webform: the map's tile URL %q is not an absolute URL without a user name", tiles)
	}
	host := u.Hostname()
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && (host == "localhost" || isLoopback(host)):
	default:
		return "", fmt.Errorf("webform: the map's tile URL %q: https expected (http only to a loopback address)", tiles)
	}
	origin := u.Scheme + "://" + u.Host
	if !originPattern.MatchString(origin) {
		return "", fmt.Errorf("webform: the map's tiles must come from one host, without {s} (%q)", origin)
	}
	return origin, nil
}

func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// mapPage is what the form's template needs of the map.
type mapPage struct {
	Tiles       string // "" : no map
	Attribution string
	Reverse     string // the address look-up's path; "" without a geocoder
	Bounds      string // south,west,north,east
}

func (m mapView) page() mapPage {
	if m.tiles == "" {
		return mapPage{}
	}
	p := mapPage{Tiles: m.tiles, Attribution: m.attribution,
		Bounds: fmt.Sprintf("%g,%g,%g,%g", boundSouth, boundWest, boundNorth, boundEast)}
	if m.geocoder != nil {
		p.Reverse = reversePath
	}
	return p
}
