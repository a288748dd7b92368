package webform

import (
	"context"
	"strings"
	"testing"

	"github.com/ampmetropole/guichet/services/channels/web/geocode"
)

type fakeGeocoder struct{}

func (fakeGeocoder) Reverse(context.Context, float64, float64) (geocode.Address, error) {
	return geocode.Address{}, nil
}

// The pin's coordinates as the form and the address look-up receive them:
// decimal degrees within the Métropole's box, nothing else.
func TestParsePosition(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, lat, lon string
		want           *position
		outside        bool // readable but out of the box
		fails          bool
	}{
		{name: "nothing: no position", lat: "", lon: ""},
		{name: "spaces only: no position", lat: "  ", lon: " "},
		{name: "the Vieux-Port", lat: "43.295100", lon: "5.374000", want: &position{43.2951, 5.374}},
		{name: "spaces around", lat: " 43.2951 ", lon: "\t5.374", want: &position{43.2951, 5.374}},
		{name: "a French comma", lat: "43,2951", lon: "5,374", want: &position{43.2951, 5.374}},
		{name: "a whole degree", lat: "43.5", lon: "5", want: &position{43.5, 5}},
		{name: "rounded to the micro-degree", lat: "43.29510049", lon: "5.37400051", want: &position{43.2951, 5.374001}},
		{name: "Pertuis, north of the Durance", lat: "43.6942", lon: "5.5016", want: &position{43.6942, 5.5016}},
		{name: "Port-Saint-Louis-du-Rhône", lat: "43.3873", lon: "4.8030", want: &position{43.3873, 4.803}},
		{name: "Saint-Zacharie", lat: "43.3840", lon: "5.7080", want: &position{43.384, 5.708}},
		{name: "the box's corner", lat: "43.05", lon: "4.6", want: &position{43.05, 4.6}},
		{name: "latitude only", lat: "43.2951", lon: "", fails: true},
		{name: "longitude only", lat: "", lon: "5.374", fails: true},
		{name: "Paris", lat: "48.8566", lon: "2.3522", outside: true},
		{name: "Toulon", lat: "43.1242", lon: "5.9800", outside: true},
		{name: "zero, zero", lat: "0", lon: "0", outside: true},
		{name: "swapped", lat: "5.374", lon: "43.2951", outside: true},
		{name: "negative", lat: "-43.2951", lon: "5.374", outside: true},
		{name: "beyond the poles", lat: "143.2", lon: "5.3", outside: true},
		{name: "NaN", lat: "NaN", lon: "5.374", fails: true},
		{name: "infinity", lat: "43.29", lon: "Inf", fails: true},
		{name: "an exponent", lat: "4.32951e1", lon: "5.374", fails: true},
		{name: "hexadecimal", lat: "0x2B", lon: "5.374", fails: true},
		{name: "a plus sign", lat: "+43.2951", lon: "5.374", fails: true},
		{name: "two decimal points", lat: "43.29.51", lon: "5.374", fails: true},
		{name: "degrees and minutes", lat: "43°17'42\"N", lon: "5°22'26\"E", fails: true},
		{name: "text", lat: "Marseille", lon: "Vieux-Port", fails: true},
		{name: "a script", lat: "<script>", lon: "5.374", fails: true},
		{name: "too many decimals", lat: "43." + strings.Repeat("1", 40), lon: "5.374", fails: true},
		{name: "too many digits", lat: "0043.2951", lon: "5.374", fails: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parsePosition(tt.lat, tt.lon)
			switch {
			case tt.fails || tt.outside:
				if err == nil || got != nil {
					t.Fatalf("got %+v, %v; want an error", got, err)
				}
				if err.Outside != tt.outside {
					t.Errorf("outside = %v, want %v (%s)", err.Outside, tt.outside, err.Message)
				}
				if !strings.Contains(err.Message, "repère") {
					t.Errorf("message %q does not speak of the pin", err.Message)
				}
			case tt.want == nil:
				if got != nil || err != nil {
					t.Fatalf("got %+v, %v; want no position", got, err)
				}
			default:
				if err != nil || got == nil || *got != *tt.want {
					t.Fatalf("got %+v, %v; want %+v", got, err, *tt.want)
				}
			}
		})
	}
}

func TestTileOriginAndAttribution(t *testing.T) {
	t.Parallel()
	tests := []struct {
		tiles, attribution string
		origin             string // "" : refused
		credit             string
	}{
		{PlanIGN, "", "https://data.geopf.fr", PlanIGNAttribution},
		{PlanIGN, "IGN", "https://data.geopf.fr", "IGN"},
		{"https://tile.openstreetmap.org/{z}/{x}/{y}.png", "© les contributeurs d'OpenStreetMap", "https://tile.openstreetmap.org", "© les contributeurs d'OpenStreetMap"},
		{"https://tuiles.ampmetropole.fr:8443/plan/{z}/{x}/{y}.png", "Plan de la Métropole", "https://tuiles.ampmetropole.fr:8443", "Plan de la Métropole"},
		{"http://127.0.0.1:9000/{z}/{x}/{y}.png", "Tests", "http://127.0.0.1:9000", "Tests"},
		{"http://localhost/{z}/{x}/{y}.png", "Tests", "http://localhost", "Tests"},
		{"http://[::1]:9000/{z}/{x}/{y}.png", "Tests", "http://[::1]:9000", "Tests"},
		{"https://tile.openstreetmap.org/{z}/{x}/{y}.png", "", "", ""},             // no credit
		{"https://tile.openstreetmap.org/{z}/{x}/{y}.png", "   ", "", ""},          // no credit
		{"https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png", "OSM", "", ""},      // several hosts
		{"http://tile.openstreetmap.org/{z}/{x}/{y}.png", "OSM", "", ""},           // in clear
		{"https://tile.openstreetmap.org/{z}/{x}.png", "OSM", "", ""},              // no {y}
		{"/tuiles/{z}/{x}/{y}.png", "OSM", "", ""},                                 // relative
		{"https://user:pw@tiles.example.org/{z}/{x}/{y}.png", "OSM", "", ""},       // credentials
		{"javascript:alert(1)//{z}{x}{y}", "OSM", "", ""},                          // not a tile server
		{"https://tiles.example.org;script-src *;/{z}/{x}/{y}.png", "OSM", "", ""}, // CSP injection
		{"https://tiles.example.org'/{z}/{x}/{y}.png", "OSM", "", ""},
	}
	for _, tt := range tests {
		m, err := newMapView(MapConfig{Tiles: tt.tiles, Attribution: tt.attribution}, nil)
		if tt.origin == "" {
			if err == nil {
				t.Errorf("%q %q accepted (origin %q)", tt.tiles, tt.attribution, m.tileOrigin)
			} else if !strings.HasPrefix(err.Error(), "webform: ") {
				t.Errorf("%q: error without the package prefix: %v", tt.tiles, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.tiles, err)
			continue
		}
		if m.tileOrigin != tt.origin || m.attribution != tt.credit {
			t.Errorf("%q: origin %q credit %q, want %q %q", tt.tiles, m.tileOrigin, m.attribution, tt.origin, tt.credit)
		}
		csp := contentSecurityPolicy(m.tileOrigin)
		if !strings.Contains(csp, "img-src 'self' data: "+tt.origin+";") || strings.Count(csp, "http") != 1 {
			t.Errorf("%q: CSP %q", tt.tiles, csp)
		}
	}
	// No map: no tiles in the CSP, and a geocoder alone is a mistake.
	if csp := contentSecurityPolicy(""); !strings.Contains(csp, "img-src 'self' data:;") {
		t.Errorf("CSP without a map: %q", csp)
	}
	if m, err := newMapView(MapConfig{}, nil); err != nil || m.page() != (mapPage{}) {
		t.Errorf("no map: %+v %v", m.page(), err)
	}
	if _, err := newMapView(MapConfig{}, fakeGeocoder{}); err == nil {
		t.Error("a geocoder without a map was accepted")
	}
}
