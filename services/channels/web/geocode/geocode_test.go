package geocode_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/services/cases/territory"
	"github.com/ampmetropole/guichet/services/channels/web/geocode"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

// paradis is what api-adresse.data.gouv.fr answers for a point in front of
// 112 rue Paradis (Marseille 6e), as it writes it: the arrondissement's
// INSEE code, the district, a score, a distance.
const paradis = `{"type":"FeatureCollection","version":"draft","features":[{"type":"Feature",
"geometry":{"type":"Point","coordinates":[5.378386,43.28748]},
"properties":{"label":"112 Rue Paradis 13006 Marseille","score":0.9999,"housenumber":"112","id":"13206_6840_00112",
"name":"112 Rue Paradis","postcode":"13006","citycode":"13206","x":893447.3,"y":6245897.11,"city":"Marseille",
"district":"Marseille 6e Arrondissement","context":"13, Bouches-du-Rhône, Provence-Alpes-Côte d'Azur","type":"housenumber",
"importance":0.7,"street":"Rue Paradis","distance":7}}],
"attribution":"BAN","licence":"ETALAB-2.0","filters":{"type":"housenumber"},"limit":1}`

func feature(lon, lat float64, props string) string {
	return fmt.Sprintf(`{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[%v,%v]},"properties":{%s}}]}`, lon, lat, props)
}

func places(t *testing.T) *territory.Directory {
	t.Helper()
	d, err := territory.Load()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// geocoder serves answer for every question and records the last query.
func geocoder(t *testing.T, answer func(w http.ResponseWriter, r *http.Request)) (*httptest.Server, *atomic.Value) {
	t.Helper()
	var last atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		last.Store(r.URL.Path + "?" + r.URL.RawQuery)
		answer(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &last
}

func jsonAnswer(body string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		fmt.Fprint(w, body)
	}
}

func TestReverse(t *testing.T) {
	t.Parallel()
	dir := places(t)
	tests := []struct {
		name   string
		answer func(http.ResponseWriter, *http.Request)
		lat    float64
		lon    float64
		want   geocode.Address
		err    error      // errors.Is
		kind   fault.Kind // when err is nil and the call fails
	}{
		{name: "a house number in a Marseille arrondissement", answer: jsonAnswer(paradis), lat: 43.28750, lon: 5.37840,
			want: geocode.Address{Address: "112 Rue Paradis", PostalCode: "13006", CommuneINSEE: "13055", CommuneName: "Marseille"}},
		{name: "Pertuis, the Métropole's commune in Vaucluse", lat: 43.6942, lon: 5.5016,
			answer: jsonAnswer(feature(5.5016, 43.6943, `"label":"Place Jean Jaurès 84120 Pertuis","type":"street","name":"Place Jean Jaurès","street":"Place Jean Jaurès","postcode":"84120","city":"Pertuis","citycode":"84089"`)),
			want:   geocode.Address{Address: "Place Jean Jaurès", PostalCode: "84120", CommuneINSEE: "84089", CommuneName: "Pertuis"}},
		{name: "the address is far from the point: the commune only", lat: 43.3000, lon: 5.4000,
			answer: jsonAnswer(feature(5.4100, 43.3000, `"label":"1 Chemin du Vallon 13013 Marseille","type":"housenumber","name":"1 Chemin du Vallon","postcode":"13013","city":"Marseille","citycode":"13213"`)),
			want:   geocode.Address{PostalCode: "13013", CommuneINSEE: "13055", CommuneName: "Marseille"}},
		{name: "a municipality is no street address", lat: 43.5297, lon: 5.4474,
			answer: jsonAnswer(feature(5.4474, 43.5297, `"label":"Aix-en-Provence","type":"municipality","name":"Aix-en-Provence","postcode":"13100","city":"Aix-en-Provence","citycode":"13001"`)),
			want:   geocode.Address{PostalCode: "13100", CommuneINSEE: "13001", CommuneName: "Aix-en-Provence"}},
		{name: "a postal code not of the commune is dropped", lat: 43.2149, lon: 5.5372,
			answer: jsonAnswer(feature(5.5372, 43.2149, `"label":"Quai Saint-Pierre 13260 Cassis","type":"street","name":"Quai Saint-Pierre","postcode":"13006","city":"Cassis","citycode":"13022"`)),
			want:   geocode.Address{Address: "Quai Saint-Pierre", CommuneINSEE: "13022", CommuneName: "Cassis"}},
		{name: "no geometry: the address is taken", lat: 43.2149, lon: 5.5372,
			answer: jsonAnswer(`{"type":"FeatureCollection","features":[{"properties":{"type":"housenumber","housenumber":"3","street":"Quai Barthélemy","postcode":"13260","city":"Cassis","citycode":"13022"}}]}`),
			want:   geocode.Address{Address: "3 Quai Barthélemy", PostalCode: "13260", CommuneINSEE: "13022", CommuneName: "Cassis"}},
		{name: "nothing there", answer: jsonAnswer(`{"type":"FeatureCollection","features":[]}`), lat: 43.1, lon: 5.2, err: geocode.ErrNotFound},
		{name: "a commune outside the Métropole", lat: 43.1242, lon: 5.9280,
			answer: jsonAnswer(feature(5.9280, 43.1242, `"label":"Place de la Liberté 83000 Toulon","type":"street","name":"Place de la Liberté","postcode":"83000","city":"Toulon","citycode":"83137"`)),
			err:    geocode.ErrOutside},
		{name: "no INSEE code", lat: 43.3, lon: 5.4, answer: jsonAnswer(feature(5.4, 43.3, `"label":"Quelque part","name":"Quelque part"`)), err: geocode.ErrOutside},
		{name: "malformed JSON", answer: jsonAnswer(`{"type":"FeatureCollection","features":[{`), lat: 43.3, lon: 5.4, kind: fault.Invalid},
		{name: "HTML instead of JSON", answer: jsonAnswer(`<html>Service en maintenance</html>`), lat: 43.3, lon: 5.4, kind: fault.Invalid},
		{name: "not a FeatureCollection", answer: jsonAnswer(`{"type":"Feature"}`), lat: 43.3, lon: 5.4, kind: fault.Invalid},
		{name: "a property that is not text", lat: 43.3, lon: 5.4, answer: jsonAnswer(feature(5.4, 43.3, `"name":"A\u0000B","citycode":"13055"`)), kind: fault.Invalid},
		{name: "an oversized answer", lat: 43.3, lon: 5.4, kind: fault.TooLarge,
			answer: jsonAnswer(`{"type":"FeatureCollection","features":[],"padding":"` + strings.Repeat("x", geocode.DefaultMaxBody) + `"}`)},
		{name: "the geocoder fails", lat: 43.3, lon: 5.4, kind: fault.Transient,
			answer: func(w http.ResponseWriter, r *http.Request) { http.Error(w, "oups", http.StatusBadGateway) }},
		{name: "the geocoder limits us", lat: 43.3, lon: 5.4, kind: fault.Transient,
			answer: func(w http.ResponseWriter, r *http.Request) { http.Error(w, "too many", http.StatusTooManyRequests) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, last := geocoder(t, tt.answer)
			c, err := geocode.New(geocode.Config{URL: srv.URL + "/reverse/"}, dir)
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Reverse(context.Background(), tt.lat, tt.lon)
			if q, _ := last.Load().(string); !strings.HasPrefix(q, "/reverse/?") || !strings.Contains(q, "limit=1") ||
				!strings.Contains(q, fmt.Sprintf("lat=%.6f", tt.lat)) || !strings.Contains(q, fmt.Sprintf("lon=%.6f", tt.lon)) {
				t.Errorf("question asked: %q", q)
			}
			switch {
			case tt.err != nil:
				if !errors.Is(err, tt.err) || fault.KindOf(err) != fault.NotFound {
					t.Fatalf("err = %v (%v), want %v", err, fault.KindOf(err), tt.err)
				}
			case tt.kind != fault.Other:
				if err == nil || fault.KindOf(err) != tt.kind || !strings.HasPrefix(err.Error(), "geocode: ") {
					t.Fatalf("err = %v (%v), want a %v error", err, fault.KindOf(err), tt.kind)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				got.Distance = 0
				if got != tt.want {
					t.Fatalf("got %+v\nwant %+v", got, tt.want)
				}
			}
		})
	}
}

// A geocoder that does not answer in time is given up, within the timeout,
// as a transient failure; so is one that trickles a slow answer.
func TestReverseTimeout(t *testing.T) {
	t.Parallel()
	dir := places(t)
	for name, answer := range map[string]func(http.ResponseWriter, *http.Request){
		"silent": func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		},
		"trickling": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"type":"FeatureCollection",`))
			w.(http.Flusher).Flush()
			for range 100 {
				select {
				case <-r.Context().Done():
					return
				case <-time.After(100 * time.Millisecond):
					w.Write([]byte(" "))
					w.(http.Flusher).Flush()
				}
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv, _ := geocoder(t, answer)
			c, err := geocode.New(geocode.Config{URL: srv.URL + "/reverse/", Timeout: 300 * time.Millisecond}, dir)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err = c.Reverse(context.Background(), 43.3, 5.4)
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("gave up after %v, want about 300 ms", took)
			}
			if fault.KindOf(err) != fault.Transient {
				t.Fatalf("err = %v (%v), want a transient error", err, fault.KindOf(err))
			}
		})
	}
}

func TestReverseRefusesNoPoint(t *testing.T) {
	t.Parallel()
	srv, last := geocoder(t, jsonAnswer(paradis))
	c, err := geocode.New(geocode.Config{URL: srv.URL}, places(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range [][2]float64{{91, 5}, {43, 181}, {-90.5, 0}, {math.NaN(), 5}, {43, math.Inf(1)}} {
		if _, err := c.Reverse(context.Background(), p[0], p[1]); fault.KindOf(err) != fault.Invalid {
			t.Errorf("%v: err = %v", p, err)
		}
	}
	if q := last.Load(); q != nil {
		t.Errorf("the geocoder was asked about no point: %v", q)
	}
}

func TestNewChecksTheURL(t *testing.T) {
	t.Parallel()
	dir := places(t)
	for url, ok := range map[string]bool{
		"https://api-adresse.data.gouv.fr/reverse/": true,
		"https://data.geopf.fr/geocodage/reverse":   true,
		"http://127.0.0.1:7878/reverse/":            true,
		"http://localhost:7878/reverse/":            true,
		"http://[::1]:7878/reverse/":                true,
		"http://api-adresse.data.gouv.fr/reverse/":  false, // in clear over the Internet
		"ftp://example.org/reverse":                 false,
		"/reverse/":                                 false,
		"https://user:pass@example.org/reverse/":    false,
		"":                                          false,
		"https://exa mple.org/":                     false,
	} {
		_, err := geocode.New(geocode.Config{URL: url}, dir)
		if (err == nil) != ok {
			t.Errorf("%q: err = %v", url, err)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "geocode: ") {
			t.Errorf("%q: error without the package prefix: %v", url, err)
		}
	}
	if _, err := geocode.New(geocode.Config{URL: "https://example.org/"}, nil); err == nil {
		t.Error("a client without communes to accept")
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	p, err := geocode.Parse([]byte(paradis))
	if err != nil {
		t.Fatal(err)
	}
	want := geocode.Place{Label: "112 Rue Paradis 13006 Marseille", Type: "housenumber", HouseNumber: "112", Street: "Rue Paradis",
		Name: "112 Rue Paradis", PostCode: "13006", City: "Marseille", CityCode: "13206", Lat: 43.28748, Lon: 5.378386, HasPoint: true}
	if p != want {
		t.Fatalf("got %+v\nwant %+v", p, want)
	}
	for _, tt := range []struct {
		name, body string
		check      func(geocode.Place) bool
	}{
		{"spaces and line breaks collapsed", feature(5, 43, `"name":"  112\n Rue\tParadis ","citycode":"13206"`), func(p geocode.Place) bool { return p.Name == "112 Rue Paradis" }},
		{"a malformed postcode dropped", feature(5, 43, `"postcode":"1300A","citycode":"13206"`), func(p geocode.Place) bool { return p.PostCode == "" && p.CityCode == "13206" }},
		{"a malformed citycode dropped", feature(5, 43, `"citycode":"1320Z"`), func(p geocode.Place) bool { return p.CityCode == "" }},
		{"Corsica's citycode kept", feature(9, 42, `"citycode":"2A004"`), func(p geocode.Place) bool { return p.CityCode == "2A004" }},
		{"a point out of range ignored", feature(500, 43, `"citycode":"13206"`), func(p geocode.Place) bool { return !p.HasPoint }},
		{"a geometry that is not a point ignored", `{"type":"FeatureCollection","features":[{"geometry":{"type":"LineString","coordinates":[[5,43],[5.1,43.1]]},"properties":{}}]}`,
			func(p geocode.Place) bool { return !p.HasPoint }},
	} {
		p, err := geocode.Parse([]byte(tt.body))
		if err != nil || !tt.check(p) {
			t.Errorf("%s: %+v %v", tt.name, p, err)
		}
	}
	for name, body := range map[string]string{
		"empty":              ``,
		"null":               `null`,
		"an array":           `[]`,
		"wrong type":         `{"type":"Feature","features":[]}`,
		"properties not obj": `{"type":"FeatureCollection","features":[{"properties":"x"}]}`,
		"number as label":    `{"type":"FeatureCollection","features":[{"properties":{"label":12}}]}`,
		"label too long":     feature(5, 43, `"label":"`+strings.Repeat("é", 301)+`"`),
		"a control char":     feature(5, 43, `"city":"Mar\u0007seille"`),
		"invalid UTF-8":      "{\"type\":\"FeatureCollection\",\"features\":[{\"properties\":{\"city\":\"Mar\xffseille\"}}]}",
	} {
		if _, err := geocode.Parse([]byte(body)); fault.KindOf(err) != fault.Invalid {
			t.Errorf("%s: err = %v (%v), want invalid", name, err, fault.KindOf(err))
		}
	}
}
