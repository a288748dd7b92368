package geocode_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ampmetropole/guichet/services/channels/web/geocode"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/platform/textcheck"
)

// FuzzParse feeds the parser of the geocoder's answers (outside input:
// whatever the configured server, or someone in its place, sends back):
// it never panics, fails only with a kinded error, and what it accepts is
// text the case store takes, within its bounds, with codes of the right
// shape and a point on the Earth.
//
//	go test ./services/channels/web/geocode -run '^$' -fuzz FuzzParse -fuzztime 1m
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		paradis,
		`{"type":"FeatureCollection","features":[]}`,
		feature(5.5016, 43.6943, `"label":"Place Jean Jaurès 84120 Pertuis","type":"street","name":"Place Jean Jaurès","postcode":"84120","city":"Pertuis","citycode":"84089"`),
		feature(9, 42, `"citycode":"2A004","postcode":"20000"`),
		`{"type":"FeatureCollection","features":[{"geometry":{"type":"LineString","coordinates":[[5,43],[5.1,43.1]]},"properties":{}}]}`,
		`{"type":"FeatureCollection","features":[{"geometry":{"type":"Point","coordinates":[1e400,-1e400]},"properties":{"name":"\u0000"}}]}`,
		`{"type":"FeatureCollection","features":[{`,
		`null`,
		"",
	} {
		f.Add([]byte(seed))
	}
	codes := regexp.MustCompile(`^([0-9][0-9AB][0-9]{3})?$`)
	postal := regexp.MustCompile(`^([0-9]{5})?$`)
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := geocode.Parse(data)
		if err != nil {
			if k := fault.KindOf(err); k != fault.Invalid && !(k == fault.NotFound && errors.Is(err, geocode.ErrNotFound)) {
				t.Fatalf("error of kind %v: %v", k, err)
			}
			if !strings.HasPrefix(err.Error(), "geocode: ") {
				t.Fatalf("error without the package prefix: %v", err)
			}
			return
		}
		for _, s := range []string{p.Label, p.Type, p.HouseNumber, p.Street, p.Name, p.PostCode, p.City, p.CityCode} {
			if !textcheck.Valid(s) || utf8.RuneCountInString(s) > 300 || s != strings.TrimSpace(s) || strings.ContainsAny(s, "\n\r\t") {
				t.Fatalf("accepted %q", s)
			}
		}
		if !codes.MatchString(p.CityCode) || !postal.MatchString(p.PostCode) {
			t.Fatalf("codes %q %q", p.CityCode, p.PostCode)
		}
		if p.HasPoint && (p.Lat < -90 || p.Lat > 90 || p.Lon < -180 || p.Lon > 180 || p.Lat != p.Lat || p.Lon != p.Lon) {
			t.Fatalf("point %v %v", p.Lat, p.Lon)
		}
	})
}
