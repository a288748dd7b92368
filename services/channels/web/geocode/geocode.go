// Package geocode turns a point placed on the web form's map into the address
// of one of the Métropole's communes, by asking a reverse geocoder that speaks
// the format of the Base Adresse Nationale (BAN): api-adresse.data.gouv.fr,
// the Géoplateforme's geocoding service, or an addok of one's own.
//
// The question is GET URL?lon=…&lat=…&limit=1; the answer a GeoJSON
// FeatureCollection whose features carry, in their properties, label,
// housenumber, street, name, postcode, city and citycode (the INSEE code).
// The client waits a bounded time, reads a bounded answer, and accepts only
// a commune of the Métropole.
package geocode

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ampmetropole/guichet/services/cases/territory"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/platform/textcheck"
)

// Defaults of Config.
const (
	DefaultTimeout = 3 * time.Second
	DefaultMaxBody = 64 << 10
	DefaultNear    = 150.0
)

// Why a point has no address.
var (
	// ErrNotFound: the geocoder knows no address there (the sea, a
	// massif far from any road).
	ErrNotFound = errors.New("geocode: no address known there")
	// ErrOutside: the address found is in a commune that is not the
	// Métropole's.
	ErrOutside = errors.New("geocode: the address found is outside the Métropole")
)

// Config says where the reverse geocoder is and how far to trust it.
type Config struct {
	// URL is the reverse endpoint, to which lon, lat and limit are added:
	// https://api-adresse.data.gouv.fr/reverse/ or
	// https://data.geopf.fr/geocodage/reverse. https, or http to a
	// loopback address (an addok beside Guichet, tests).
	URL string
	// Timeout bounds a question, answer read included; DefaultTimeout when
	// zero.
	Timeout time.Duration
	// MaxBody bounds the answer, in bytes (one feature is about 1 KiB);
	// DefaultMaxBody when zero.
	MaxBody int64
	// Near is how close, in metres, the address found must be to the point
	// for its street and number to be given; farther (a park, a hill), only
	// the commune and postal code are. DefaultNear when zero.
	Near float64
}

// Communes are the Métropole's communes, by INSEE code (an arrondissement of
// Marseille giving Marseille): territory.Directory.
type Communes interface {
	ByINSEE(code string) (*territory.Commune, bool)
}

// Client asks a BAN-format reverse geocoder. It is safe for concurrent use.
type Client struct {
	cfg      Config
	endpoint *url.URL
	http     *http.Client
	communes Communes
}

// New checks the configuration and returns a client.
func New(cfg Config, communes Communes) (*Client, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Near <= 0 {
		cfg.Near = DefaultNear
	}
	if communes == nil {
		return nil, errors.New("geocode: no communes to accept")
	}
	u, err := checkURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	// The client's own timeout backs the context's: a server that
	// trickles its answer is cut off too.
	return &Client{cfg: cfg, endpoint: u, http: &http.Client{Timeout: cfg.Timeout}, communes: communes}, nil
}

// checkURL parses the geocoder's URL: an absolute https URL, or http to a
// loopback address (a service beside Guichet, tests), without user name or
// password.
func checkURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("geocode: %q: %w", raw, err)
	}
	if u.Host == "" || u.User != nil || u.Fragment != "" {
		return nil, fmt.Errorf("geocode: %q: an absolute URL without user or fragment is needed", raw)
	}
	switch u.Scheme {
	case "https":
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return nil, fmt.Errorf("geocode: %q: http only to a loopback address; use https", raw)
		}
	default:
		return nil, fmt.Errorf("geocode: %q: https URL expected", raw)
	}
	return u, nil
}

// Address is what the map fills in the form: the place found, in one of the
// Métropole's communes.
type Address struct {
	// Address is the street address ("112 Rue Paradis", a locality's
	// name), or "" when the address found is farther than Config.Near or
	// only the commune is known.
	Address string
	// PostalCode is the address's postal code when it is one of the
	// commune's, else "".
	PostalCode   string
	CommuneINSEE string // the Métropole's commune: Marseille (13055) for an arrondissement
	CommuneName  string // as the Métropole names it
	// Distance from the point to the address, in metres; -1 when the
	// geocoder gave no position.
	Distance float64
}

// Reverse returns the address at a point (WGS 84 degrees). Errors:
// ErrNotFound or ErrOutside (of kind fault.NotFound); fault.Transient when
// the geocoder is away, slow or answers an error; fault.Invalid or
// fault.TooLarge when its answer is malformed or too long.
func (c *Client) Reverse(ctx context.Context, lat, lon float64) (Address, error) {
	if !finite(lat) || !finite(lon) || lat < -90 || lat > 90 || lon < -180 || lon > 180 {
		return Address{}, fault.E(fault.Invalid, fmt.Errorf("geocode: no such point (%v, %v)", lat, lon))
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	u := *c.endpoint
	q := u.Query()
	q.Set("lon", strconv.FormatFloat(lon, 'f', 6, 64))
	q.Set("lat", strconv.FormatFloat(lat, 'f', 6, 64))
	q.Set("limit", "1")
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return Address{}, fmt.Errorf("geocode: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "Guichet (Métropole Aix-Marseille-Provence)")
	resp, err := c.http.Do(req)
	if err != nil {
		return Address{}, fault.E(fault.Transient, fmt.Errorf("geocode: ask %s: %w", c.endpoint.Host, err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, c.cfg.MaxBody))
		return Address{}, fault.E(fault.Transient, fmt.Errorf("geocode: %s answered %s", c.endpoint.Host, resp.Status))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.cfg.MaxBody+1))
	if err != nil {
		return Address{}, fault.E(fault.Transient, fmt.Errorf("geocode: read the answer of %s: %w", c.endpoint.Host, err))
	}
	if int64(len(body)) > c.cfg.MaxBody {
		return Address{}, fault.E(fault.TooLarge, fmt.Errorf("geocode: the answer of %s exceeds %d bytes", c.endpoint.Host, c.cfg.MaxBody))
	}
	p, err := Parse(body)
	if err != nil {
		return Address{}, err
	}
	return c.address(p, lat, lon)
}

// address checks the place found against the Métropole's communes.
func (c *Client) address(p Place, lat, lon float64) (Address, error) {
	commune, ok := c.communes.ByINSEE(p.CityCode)
	if p.CityCode == "" || !ok {
		return Address{}, fault.E(fault.NotFound, fmt.Errorf("%w (%s %s)", ErrOutside, p.CityCode, p.City))
	}
	a := Address{CommuneINSEE: commune.INSEE, CommuneName: commune.Name, Distance: -1}
	if slices.Contains(commune.PostalCodes, p.PostCode) {
		a.PostalCode = p.PostCode
	}
	if p.HasPoint {
		a.Distance = distance(lat, lon, p.Lat, p.Lon)
	}
	if p.Type != "municipality" && a.Distance <= c.cfg.Near {
		a.Address = p.Name
		if a.Address == "" {
			a.Address = strings.TrimSpace(p.HouseNumber + " " + p.Street)
		}
	}
	return a, nil
}

// Place is the first feature of a reverse answer, as the geocoder wrote it.
type Place struct {
	Label       string // "112 Rue Paradis 13006 Marseille"
	Type        string // housenumber, street, locality, municipality
	HouseNumber string
	Street      string
	Name        string // "112 Rue Paradis": the number and street, or the locality
	PostCode    string
	City        string
	CityCode    string // INSEE code
	// The feature's point, when it has one.
	Lat, Lon float64
	HasPoint bool
}

var (
	cityCodePattern = regexp.MustCompile(`^[0-9][0-9AB][0-9]{3}$`)
	postCodePattern = regexp.MustCompile(`^[0-9]{5}$`)
)

// Parse reads a BAN reverse answer and returns its first feature: of kind
// fault.Invalid when it is not a FeatureCollection or a property is not
// text the case store takes (invalid UTF-8, NUL, too long), ErrNotFound
// (fault.NotFound) when it holds no feature. A postal or INSEE code of the
// wrong shape is dropped, not trusted.
func Parse(data []byte) (Place, error) {
	var fc struct {
		Type     string `json:"type"`
		Features []struct {
			Geometry *struct {
				Type        string          `json:"type"`
				Coordinates json.RawMessage `json:"coordinates"` // a Point's only is read
			} `json:"geometry"`
			Properties struct {
				Label       string `json:"label"`
				Type        string `json:"type"`
				HouseNumber string `json:"housenumber"`
				Street      string `json:"street"`
				Name        string `json:"name"`
				PostCode    string `json:"postcode"`
				City        string `json:"city"`
				CityCode    string `json:"citycode"`
			} `json:"properties"`
		} `json:"features"`
	}
	if !utf8.Valid(data) {
		// encoding/json would quietly turn invalid bytes into U+FFFD.
		return Place{}, fault.E(fault.Invalid, errors.New("geocode: the answer is not UTF-8"))
	}
	if err := json.Unmarshal(data, &fc); err != nil {
		return Place{}, fault.E(fault.Invalid, fmt.Errorf("geocode: malformed answer: %w", err))
	}
	if fc.Type != "FeatureCollection" {
		return Place{}, fault.E(fault.Invalid, fmt.Errorf("geocode: a FeatureCollection was expected, not %.40q", fc.Type))
	}
	if len(fc.Features) == 0 {
		return Place{}, fault.E(fault.NotFound, ErrNotFound)
	}
	f := fc.Features[0]
	pr := f.Properties
	p := Place{}
	for _, field := range []struct {
		dst  *string
		src  string
		name string
		max  int
	}{
		{&p.Label, pr.Label, "label", 300}, {&p.Type, pr.Type, "type", 40}, {&p.HouseNumber, pr.HouseNumber, "housenumber", 20},
		{&p.Street, pr.Street, "street", 200}, {&p.Name, pr.Name, "name", 200}, {&p.PostCode, pr.PostCode, "postcode", 10},
		{&p.City, pr.City, "city", 100}, {&p.CityCode, pr.CityCode, "citycode", 10},
	} {
		s := strings.Join(strings.Fields(field.src), " ")
		if !textcheck.Valid(s) || strings.ContainsFunc(s, isControl) {
			return Place{}, fault.E(fault.Invalid, fmt.Errorf("geocode: the %s of the answer is not text", field.name))
		}
		if n := utf8.RuneCountInString(s); n > field.max {
			return Place{}, fault.E(fault.Invalid, fmt.Errorf("geocode: the %s of the answer is too long (%d characters)", field.name, n))
		}
		*field.dst = s
	}
	if !postCodePattern.MatchString(p.PostCode) {
		p.PostCode = ""
	}
	if !cityCodePattern.MatchString(p.CityCode) {
		p.CityCode = ""
	}
	var point []float64
	if g := f.Geometry; g != nil && g.Type == "Point" && json.Unmarshal(g.Coordinates, &point) == nil && len(point) >= 2 {
		lon, lat := point[0], point[1]
		if finite(lat) && finite(lon) && lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180 {
			p.Lat, p.Lon, p.HasPoint = lat, lon, true
		}
	}
	return p, nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// distance is the great-circle distance between two points, in metres.
func distance(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371008.8 // mean Earth radius
	rad := math.Pi / 180
	dLat, dLon := (lat2-lat1)*rad, (lon2-lon1)*rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * r * math.Asin(math.Min(1, math.Sqrt(a)))
}
