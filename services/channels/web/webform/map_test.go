package webform_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/services/cases/catalogue"
	"github.com/ampmetropole/guichet/services/cases/territory"
	"github.com/ampmetropole/guichet/services/channels/web/geocode"
	"github.com/ampmetropole/guichet/services/channels/web/webform"
	"github.com/ampmetropole/guichet/services/platform/bus"
	"github.com/ampmetropole/guichet/services/testkit"
	"github.com/ampmetropole/guichet/services/testkit/stack"
)

// mapFakes are the map's outside servers, started by the test: a tile
// server that serves one small PNG for any tile, and a reverse geocoder
// that answers in the BAN's format (api-adresse.data.gouv.fr /reverse/).
type mapFakes struct {
	tiles    *httptest.Server
	tileHits atomic.Int64
	ban      *httptest.Server
	mode     atomic.Value // string: how the servers answer (see newMapFakes)
	mu       sync.Mutex
	asked    [][2]float64 // the points the geocoder was asked about, lat and lon
}

// The geocoder's answer: the Quai du Port (Marseille 2e) at the very point
// asked, so that it is near whatever point the test places.
const quaiDuPort = `"label":"1 Quai du Port 13002 Marseille","score":0.99,"housenumber":"1","name":"1 Quai du Port","postcode":"13002",` +
	`"citycode":"13202","city":"Marseille","district":"Marseille 2e Arrondissement","type":"housenumber","street":"Quai du Port","distance":3`

func newMapFakes(t *testing.T) *mapFakes {
	t.Helper()
	f := &mapFakes{}
	f.mode.Store("quai")
	var tile bytes.Buffer
	img := image.NewRGBA(image.Rect(0, 0, 256, 256))
	for x := range 256 {
		for y := range 256 {
			img.Set(x, y, color.RGBA{0xe8, 0xee, 0xf5, 0xff})
		}
	}
	if err := png.Encode(&tile, img); err != nil {
		t.Fatal(err)
	}
	f.tiles = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.tileHits.Add(1)
		if f.mode.Load() == "no tiles" {
			http.Error(w, "no tiles", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "image/png")
		w.Write(tile.Bytes())
	}))
	t.Cleanup(f.tiles.Close)
	f.ban = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lat, _ := strconv.ParseFloat(r.URL.Query().Get("lat"), 64)
		lon, _ := strconv.ParseFloat(r.URL.Query().Get("lon"), 64)
		if r.URL.Path != "/reverse/" || r.URL.Query().Get("limit") != "1" {
			http.Error(w, "not a reverse question", http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.asked = append(f.asked, [2]float64{lat, lon})
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		collection := func(props string) string {
			return fmt.Sprintf(`{"type":"FeatureCollection","version":"draft","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[%v,%v]},"properties":{%s}}],"attribution":"BAN","licence":"ETALAB-2.0","limit":1}`, lon, lat, props)
		}
		switch f.mode.Load() {
		case "toulon":
			fmt.Fprint(w, collection(`"label":"Place de la Liberté 83000 Toulon","name":"Place de la Liberté","postcode":"83000","citycode":"83137","city":"Toulon","type":"street"`))
		case "empty":
			fmt.Fprint(w, `{"type":"FeatureCollection","features":[]}`)
		case "malformed":
			fmt.Fprint(w, `{"type":"FeatureCollection","features":[{"properties":`)
		case "oversized":
			fmt.Fprint(w, `{"type":"FeatureCollection","features":[],"x":"`+strings.Repeat("x", geocode.DefaultMaxBody)+`"}`)
		case "error":
			http.Error(w, "maintenance", http.StatusBadGateway)
		case "slow":
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		default:
			fmt.Fprint(w, collection(quaiDuPort))
		}
	}))
	t.Cleanup(f.ban.Close)
	return f
}

// lastAsked is the last point the geocoder was asked about.
func (f *mapFakes) lastAsked() ([2]float64, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.asked) == 0 {
		return [2]float64{}, 0
	}
	return f.asked[len(f.asked)-1], len(f.asked)
}

func (f *mapFakes) mapConfig() webform.MapConfig {
	return webform.MapConfig{Tiles: f.tiles.URL + "/tuiles/{z}/{x}/{y}.png", Attribution: "Tuiles de test"}
}

func (f *mapFakes) geocoder(t *testing.T) *geocode.Client {
	t.Helper()
	places, err := territory.Load()
	if err != nil {
		t.Fatal(err)
	}
	c, err := geocode.New(geocode.Config{URL: f.ban.URL + "/reverse/", Timeout: 500 * time.Millisecond}, places)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// pages serves the citizen pages without the bus and the database, for
// what needs neither: the form as shown, static files, the address
// look-up.
func pages(t *testing.T, cfg webform.Config, geo webform.Geocoder) *httptest.Server {
	t.Helper()
	cat, err := catalogue.Default()
	if err != nil {
		t.Fatal(err)
	}
	places, err := territory.Load()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Secret = string(stack.Secret)
	deps := webform.Deps{Catalogue: cat, Places: places, Log: testkit.Logger(t)}
	if geo != nil {
		deps.Geocoder = geo
	}
	h, err := webform.New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// The vendored Leaflet is served, unchanged from the npm tarball
// (static/leaflet/README.md), from our own origin.
func TestVendoredLeaflet(t *testing.T) {
	srv := pages(t, webform.Config{}, nil)
	for path, want := range map[string]struct{ sha, ctype string }{
		"leaflet.js":                {"db49d009c841f5ca34a888c96511ae936fd9f5533e90d8b2c4d57596f4e5641a", "text/javascript"},
		"leaflet.css":               {"a7837102824184820dfa198d1ebcd109ff6d0ff9a2672a074b9a1b4d147d04c6", "text/css"},
		"images/marker-icon.png":    {"574c3a5cca85f4114085b6841596d62f00d7c892c7b03f28cbfa301deb1dc437", "image/png"},
		"images/marker-icon-2x.png": {"00179c4c1ee830d3a108412ae0d294f55776cfeb085c60129a39aa6fc4ae2528", "image/png"},
		"images/marker-shadow.png":  {"264f5c640339f042dd729062cfc04c17f8ea0f29882b538e3848ed8f10edb4da", "image/png"},
		"LICENSE":                   {"53e8dc25862014e4324741ca18fbe3611e11d42ef69f59f86ea8c5389647d4cb", "text/plain"},
	} {
		resp, err := http.Get(srv.URL + "/static/leaflet/" + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		sum := sha256.Sum256(body)
		if resp.StatusCode != 200 || hex.EncodeToString(sum[:]) != want.sha || !strings.HasPrefix(resp.Header.Get("Content-Type"), want.ctype) {
			t.Errorf("%s: %d %s sha256 %x, want %s", path, resp.StatusCode, resp.Header.Get("Content-Type"), sum, want.sha)
		}
	}
	resp, body := get(t, srv.URL+"/static/leaflet/leaflet.js")
	if resp.StatusCode != 200 || !strings.Contains(body, "Leaflet 1.9.4, a JS library") || !strings.Contains(body, "(c) 2010-2023 Vladimir Agafonkin") {
		t.Errorf("leaflet.js: %d, not Leaflet 1.9.4 with its notice", resp.StatusCode)
	}
	if resp, body := get(t, srv.URL+"/static/carte.js"); resp.StatusCode != 200 || !strings.Contains(body, "Utiliser") && !strings.Contains(body, "geolocation") {
		t.Errorf("carte.js: %d", resp.StatusCode)
	}
}

// The form with a map: the map's block hidden until the script shows it
// (without JavaScript, nothing of it), its buttons real buttons, the
// coordinates in hidden fields; the tiles' origin, and it alone, added to
// the CSP's img-src; geolocation allowed to the site itself. Without a
// map, none of it.
func TestFormWithMap(t *testing.T) {
	f := newMapFakes(t)
	srv := pages(t, webform.Config{Map: f.mapConfig()}, f.geocoder(t))
	resp, body := get(t, srv.URL+"/demande")
	if resp.StatusCode != 200 {
		t.Fatalf("GET /demande: %d", resp.StatusCode)
	}
	for _, want := range []string{
		`<link rel="stylesheet" href="/static/leaflet/leaflet.css">`,
		`<script src="/static/leaflet/leaflet.js" defer></script>`,
		`<script src="/static/carte.js" defer></script>`,
		`id="carte-bloc" hidden`,
		`data-tuiles="` + f.tiles.URL + `/tuiles/{z}/{x}/{y}.png"`,
		`data-limites="43.05,4.6,43.9,5.95"`,
		`data-adresse="/adresse/inverse"`,
		`<button type="button" class="bouton secondaire" id="ma-position">Utiliser ma position</button>`,
		`<button type="button" class="bouton secondaire" id="repere-centre">Placer le repère au centre de la carte</button>`,
		`id="carte-statut" role="status" aria-live="polite"`,
		`Fond de carte : Tuiles de test.`,
		`<input type="hidden" id="lat" name="lat" value="">`,
		`<input type="hidden" id="lon" name="lon" value="">`,
		`Votre position n'est transmise à la Métropole que si vous placez le repère : pour trouver l'adresse, puis avec votre demande.`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the form lacks %s", want)
		}
	}
	if strings.Index(body, `id="carte-bloc"`) > strings.Index(body, `id="adresse"`) {
		t.Error("the map comes after the address it fills")
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "img-src 'self' data: "+f.tiles.URL+";") || !strings.Contains(csp, "script-src 'self';") || strings.Contains(csp, "unsafe") {
		t.Errorf("CSP %q", csp)
	}
	if pp := resp.Header.Get("Permissions-Policy"); !strings.Contains(pp, "geolocation=(self)") || !strings.Contains(pp, "camera=()") {
		t.Errorf("Permissions-Policy %q", pp)
	}

	// Without a geocoder: the map and its pin, no look-up.
	srv = pages(t, webform.Config{Map: f.mapConfig()}, nil)
	if _, body := get(t, srv.URL+"/demande"); !strings.Contains(body, `id="carte-bloc"`) || strings.Contains(body, "data-adresse") {
		t.Error("the map without a geocoder")
	}
	if resp, _ := get(t, srv.URL+"/adresse/inverse?lat=43.3&lon=5.4"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("the look-up without a geocoder: %d", resp.StatusCode)
	}

	// Without a map: the form as before.
	srv = pages(t, webform.Config{}, nil)
	resp, body = get(t, srv.URL+"/demande")
	if strings.Contains(body, "carte-bloc") || strings.Contains(body, "leaflet") || strings.Contains(body, "carte.js") {
		t.Error("a map on a form configured without one")
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self' data:;") {
		t.Errorf("CSP without a map: %q", csp)
	}
}

// The pin's coordinates go in the request's location.lat and lon, with or
// without an address; a wrong pin comes back with a clear error, every
// other field kept, and the pin not sent again as it was.
func TestSubmitWithPin(t *testing.T) {
	f := newMapFakes(t)
	b := setup(t, options{rate: 1000, mapCfg: f.mapConfig()})

	fields := validFields()
	fields.Set("lat", "43.295100")
	fields.Set("lon", "5.374000")
	tr := waitCase(t, b, submit(t, b, fields, nil))
	loc := tr.Request.Location
	if loc == nil || loc.Lat == nil || loc.Lon == nil || *loc.Lat != 43.2951 || *loc.Lon != 5.374 || loc.Address != "112 rue Paradis" || loc.CommuneINSEE != "13055" {
		t.Fatalf("location %+v", loc)
	}

	// The pin alone, no address typed.
	fields = validFields()
	for _, k := range []string{"adresse", "code_postal", "commune"} {
		fields.Del(k)
	}
	fields.Set("lat", "43,5297") // a French comma
	fields.Set("lon", "5,4474")
	tr = waitCase(t, b, submit(t, b, fields, nil))
	if loc := tr.Request.Location; loc == nil || loc.Lat == nil || *loc.Lat != 43.5297 || *loc.Lon != 5.4474 || loc.Address != "" || loc.CommuneINSEE != "" {
		t.Fatalf("location of a pin alone %+v", tr.Request.Location)
	}

	for _, tt := range []struct {
		name, lat, lon, says string
	}{
		{"Paris", "48.8566", "2.3522", "hors de la Métropole"},
		{"latitude only", "43.2951", "", "incomplète"},
		{"not a number", "NaN", "5.374", "n'a pas pu être lue"},
		{"an exponent", "4.3e1", "5.374", "n'a pas pu être lue"},
		{"a script", `"><script>alert(1)</script>`, "5.374", "n'a pas pu être lue"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fields := validFields()
			fields.Set("lat", tt.lat)
			fields.Set("lon", tt.lon)
			resp, body := post(t, b.srv.URL+"/demande", fields, nil, nil)
			if resp.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422", resp.StatusCode)
			}
			if !strings.Contains(body, `<a href="#carte">`) || !strings.Contains(body, `id="carte-erreur"`) || !strings.Contains(body, strings.ReplaceAll(tt.says, "'", "&#39;")) {
				t.Errorf("no error %q about the pin:\n%s", tt.says, body)
			}
			if !strings.Contains(body, `<input type="hidden" id="lat" name="lat" value="">`) || !strings.Contains(body, `<input type="hidden" id="lon" name="lon" value="">`) {
				t.Error("the wrong pin is sent back to be sent again")
			}
			for _, kept := range []string{`value="Nid-de-poule rue Paradis"`, `Deux scooters sont tombés.</textarea>`, `value="112 rue Paradis"`, `value="13006"`,
				`<option value="13055" data-cp="13001`, `value="Léa Martinez"`, `value="lea.martinez@example.net"`, `value="06 39 98 14 27"`} {
				if !strings.Contains(body, kept) {
					t.Errorf("lost from the form: %s", kept)
				}
			}
			if strings.Contains(body, "<script>alert") {
				t.Error("the coordinates typed are written as HTML")
			}
		})
	}

	// A good pin on a form with another error stays where it was.
	fields = validFields()
	fields.Del("description")
	fields.Set("lat", "43.295100")
	fields.Set("lon", "5.374000")
	if resp, body := post(t, b.srv.URL+"/demande", fields, nil, nil); resp.StatusCode != 422 ||
		!strings.Contains(body, `<input type="hidden" id="lat" name="lat" value="43.295100">`) || strings.Contains(body, `id="carte-erreur"`) {
		t.Errorf("the pin of a form with another error: %d", resp.StatusCode)
	}
	if n := testkit.StreamMsgs(t, b.conn, bus.StreamRequests); n != 2 {
		t.Errorf("%d requests published, want the 2 valid ones", n)
	}
}

// The address look-up under abuse: every wrong question gets a clear
// French answer in JSON with the right status, never a panic or a hang;
// the geocoder's failures (down, slow, malformed, oversized, a commune of
// elsewhere) are told apart from "no address here"; a client asking too
// often is refused while others are not.
func TestReverseAddressAbuse(t *testing.T) {
	f := newMapFakes(t)
	geo := f.geocoder(t)
	srv := pages(t, webform.Config{Map: webform.MapConfig{Tiles: f.mapConfig().Tiles, Attribution: "Tuiles de test", ReversePerMinute: 1000},
		ClientIP: func(r *http.Request) string { return r.Header.Get("X-Test-Client") }}, geo)

	type answer struct {
		Adresse    string `json:"adresse"`
		CodePostal string `json:"code_postal"`
		Commune    string `json:"commune"`
		NomCommune string `json:"nom_commune"`
		Libelle    string `json:"libelle"`
		Erreur     string `json:"erreur"`
	}
	ask := func(t *testing.T, query string, client string) (int, answer) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+"/adresse/inverse"+query, nil)
		req.Header.Set("X-Test-Client", client)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var a answer
		if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("%s: content type %q", query, ct)
		}
		if err := json.Unmarshal(raw, &a); err != nil {
			t.Fatalf("%s: %d %v\n%s", query, resp.StatusCode, err, raw)
		}
		if resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q", query, resp.Header.Get("Cache-Control"))
		}
		return resp.StatusCode, a
	}

	status, a := ask(t, "?lat=43.2951&lon=5.374", "a")
	if status != 200 || a != (answer{Adresse: "1 Quai du Port", CodePostal: "13002", Commune: "13055", NomCommune: "Marseille", Libelle: "1 Quai du Port, 13002 Marseille"}) {
		t.Fatalf("the Vieux-Port: %d %+v", status, a)
	}
	if p, _ := f.lastAsked(); p != [2]float64{43.2951, 5.374} {
		t.Errorf("the geocoder was asked about %v", p)
	}

	long := url.Values{"lat": {"43." + strings.Repeat("1", 300)}, "lon": {"5.3"}}.Encode()
	for _, tt := range []struct {
		name, query string
		status      int
		says        string
	}{
		{"no parameter", "", 400, "lat et lon"},
		{"no longitude", "?lat=43.2951", 400, "lat et lon"},
		{"empty values", "?lat=&lon=", 400, "lat et lon"},
		{"two latitudes", "?lat=43.2951&lat=43.3&lon=5.374", 400, "une seule"},
		{"not numbers", "?lat=abc&lon=def", 400, "lat et lon"},
		{"NaN", "?lat=NaN&lon=5.374", 400, "lat et lon"},
		{"infinity", "?lat=43.2951&lon=Infinity", 400, "lat et lon"},
		{"an exponent", "?lat=4.32951e1&lon=5.374", 400, "lat et lon"},
		{"hexadecimal", "?lat=0x2B&lon=5.374", 400, "lat et lon"},
		{"broken escapes", "?lat=%zz&lon=%4", 400, "lat et lon"},
		{"a NUL", "?lat=43.29%00&lon=5.374", 400, "lat et lon"},
		{"an oversized query", "?" + long, 400, "lat et lon"},
		{"Paris", "?lat=48.8566&lon=2.3522", 422, "hors de la Métropole"},
		{"beyond the pole", "?lat=-91&lon=5.374", 422, "hors de la Métropole"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, before := f.lastAsked()
			status, a := ask(t, tt.query, "a")
			if status != tt.status || !strings.Contains(a.Erreur, tt.says) || a.Adresse != "" {
				t.Errorf("%d %+v, want %d saying %q", status, a, tt.status, tt.says)
			}
			if _, after := f.lastAsked(); after != before {
				t.Error("the geocoder was asked about a point refused")
			}
		})
	}

	for _, tt := range []struct {
		mode   string
		status int
		says   string
	}{
		{"toulon", 422, "pas dans une commune de la Métropole"},
		{"empty", 404, "Aucune adresse n'est connue à cet endroit"},
		{"malformed", 503, "ne répond pas"},
		{"oversized", 503, "ne répond pas"},
		{"error", 503, "ne répond pas"},
		{"slow", 503, "ne répond pas"},
	} {
		t.Run("geocoder "+tt.mode, func(t *testing.T) {
			f.mode.Store(tt.mode)
			defer f.mode.Store("quai")
			start := time.Now()
			status, a := ask(t, "?lat=43.2951&lon=5.374", "a")
			if status != tt.status || !strings.Contains(a.Erreur, tt.says) || a.Adresse != "" || a.Commune != "" {
				t.Errorf("%d %+v, want %d saying %q", status, a, tt.status, tt.says)
			}
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("answered after %v", took)
			}
		})
	}

	// The geocoder away altogether.
	away := httptest.NewServer(http.NotFoundHandler())
	away.Close()
	places, _ := territory.Load()
	down, err := geocode.New(geocode.Config{URL: away.URL + "/reverse/", Timeout: 500 * time.Millisecond}, places)
	if err != nil {
		t.Fatal(err)
	}
	srvDown := pages(t, webform.Config{Map: f.mapConfig()}, down)
	resp, body := get(t, srvDown.URL+"/adresse/inverse?lat=43.2951&lon=5.374")
	if resp.StatusCode != 503 || !strings.Contains(body, "ne répond pas") {
		t.Errorf("geocoder down: %d %s", resp.StatusCode, body)
	}

	// Too many look-ups from one client (3 a minute here): refused with
	// Retry-After, while another client still gets answers.
	limited := pages(t, webform.Config{Map: webform.MapConfig{Tiles: f.mapConfig().Tiles, Attribution: "Tuiles de test", ReversePerMinute: 3},
		ClientIP: func(r *http.Request) string { return r.Header.Get("X-Test-Client") }}, geo)
	lookUp := func(client, query string) *http.Response {
		req, _ := http.NewRequest("GET", limited.URL+"/adresse/inverse"+query, nil)
		req.Header.Set("X-Test-Client", client)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	// Malformed questions count too: hammering with junk is no way round.
	for i, q := range []string{"?lat=43.2951&lon=5.374", "?lat=junk", "?lat=43.2951&lon=5.374"} {
		if resp := lookUp("c", q); resp.StatusCode == http.StatusTooManyRequests {
			t.Fatalf("question %d refused", i+1)
		}
	}
	if resp := lookUp("c", "?lat=43.2951&lon=5.374"); resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("the fourth look-up in a minute: %d", resp.StatusCode)
	}
	if resp := lookUp("d", "?lat=43.2951&lon=5.374"); resp.StatusCode != 200 {
		t.Errorf("another client: %d", resp.StatusCode)
	}

	// Other methods are not the look-up; the server still answers after all this.
	for _, m := range []string{"POST", "PUT", "DELETE"} {
		req, _ := http.NewRequest(m, srv.URL+"/adresse/inverse?lat=43.2951&lon=5.374", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == 200 || resp.StatusCode >= 500 {
			t.Errorf("%s: %d", m, resp.StatusCode)
		}
	}
	if status, _ := ask(t, "?lat=43.2951&lon=5.374", "e"); status != 200 {
		t.Errorf("after the abuse: %d", status)
	}
}
