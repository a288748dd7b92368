package main

import (
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ampmetropole/guichet/services/channels/web/webform"
)

// banServer is a reverse geocoder in the BAN's format (api-adresse's
// /reverse/) that puts the Quai du Port at any point; it returns its URL.
func banServer(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[%s,%s]},`+
			`"properties":{"label":"1 Quai du Port 13002 Marseille","type":"housenumber","name":"1 Quai du Port","postcode":"13002","citycode":"13202","city":"Marseille"}}]}`,
			q.Get("lon"), q.Get("lat"))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// checkFormMap checks, on a running Guichet whose GUICHET_GEOCODER_URL is
// a banServer and whose tiles are the default, that the settings reached
// the form: its map with Plan IGN, allowed by the CSP, geolocation allowed
// to the site, and the address look-up answering.
func checkFormMap(t *testing.T, base string) {
	t.Helper()
	resp, err := http.Get(base + "/demande")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), `data-tuiles="`+html.EscapeString(webform.PlanIGN)+`"`) ||
		!strings.Contains(string(page), `data-adresse="/adresse/inverse"`) || !strings.Contains(string(page), webform.PlanIGNAttribution) {
		t.Fatalf("GET /demande: %d, without its map", resp.StatusCode)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self' data: https://data.geopf.fr;") {
		t.Errorf("CSP %q", csp)
	}
	if pp := resp.Header.Get("Permissions-Policy"); !strings.Contains(pp, "geolocation=(self)") {
		t.Errorf("Permissions-Policy %q", pp)
	}
	resp, err = http.Get(base + "/adresse/inverse?lat=43.2951&lon=5.374")
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(answer), `"commune":"13055"`) || !strings.Contains(string(answer), `"adresse":"1 Quai du Port"`) {
		t.Errorf("GET /adresse/inverse: %d %s", resp.StatusCode, answer)
	}
}

// The map's settings: Plan IGN unless told, none on demand, the
// geocoder's URL as given.
func TestMapSettings(t *testing.T) {
	t.Setenv("GUICHET_MAP_TILES", "")
	t.Setenv("GUICHET_MAP_ATTRIBUTION", "")
	t.Setenv("GUICHET_GEOCODER_URL", "")
	cfg, _, err := parseConfig("serve", nil, io.Discard, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Map.Tiles != webform.PlanIGN || cfg.Map.Attribution != "" || cfg.Map.GeocoderURL != "" {
		t.Errorf("defaults %+v", cfg.Map)
	}
	t.Setenv("GUICHET_MAP_TILES", "none")
	t.Setenv("GUICHET_GEOCODER_URL", "https://api-adresse.data.gouv.fr/reverse/")
	cfg, _, err = parseConfig("dev", []string{}, io.Discard, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Map.Tiles != "" || cfg.Map.GeocoderURL != "https://api-adresse.data.gouv.fr/reverse/" {
		t.Errorf("set %+v", cfg.Map)
	}
}
