package webform_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	testbrowser "github.com/ampmetropole/guichet/services/testkit/browser"
)

// waitFor waits, 10 s at most, until the JavaScript condition holds on the
// page.
func waitFor(t *testing.T, ctx context.Context, what, condition string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](condition, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		state, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`"lat=" + document.getElementById("lat").value + " lon=" + document.getElementById("lon").value +
			" statut=" + (document.getElementById("carte-statut") || {}).textContent`))
		t.Fatalf("waiting for %s: %v (%s)", what, err, state)
	}
}

func valueOf(t *testing.T, ctx context.Context, id string) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID(id)))
	if err != nil {
		t.Fatalf("value of #%s: %v", id, err)
	}
	return v
}

// pin reads the pin's coordinates from the hidden fields.
func pin(t *testing.T, ctx context.Context) (lat, lon float64) {
	t.Helper()
	la, err1 := strconv.ParseFloat(valueOf(t, ctx, "lat"), 64)
	lo, err2 := strconv.ParseFloat(valueOf(t, ctx, "lon"), 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("the pin's fields: %v %v", err1, err2)
	}
	return la, lo
}

// openMapForm opens the form and waits for the map and its first tiles.
func openMapForm(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	if err := chromedp.Do(ctx,
		chromedp.Navigate(url+"/demande"),
		chromedp.WaitVisible(chromedp.ID("carte")),
		chromedp.WaitVisible(chromedp.CSS("#carte img.leaflet-tile-loaded")),
	); err != nil {
		t.Fatalf("the form's map: %v", err)
	}
}

// fillTheRest types what the form asks besides the place.
func fillTheRest(t *testing.T, ctx context.Context) {
	t.Helper()
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("objet"), "Banc cassé"),
		chromedp.SendKeys(chromedp.ID("description"), "Le banc face à la mer a perdu deux lattes."),
		chromedp.SendKeys(chromedp.ID("nom"), "Léa Martinez"),
		chromedp.SendKeys(chromedp.ID("email"), "lea.martinez@example.net"),
	); err != nil {
		t.Fatal(err)
	}
}

func sendForm(t *testing.T, ctx context.Context) string {
	t.Helper()
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`form[action="/demande"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("code-suivi")),
	); err != nil {
		t.Fatalf("sending the form: %v", err)
	}
	return text(t, ctx, "code-suivi")
}

// TestBrowserMapPinFillsTheAddress is a citizen on a phone who taps the
// map: the pin is placed, the address, postal code and commune are filled
// from the geocoder and said aloud; they then correct the address and
// move the pin, which leaves what they typed alone; the request sent
// carries the pin in location.lat/lon. axe-core finds nothing on the form
// with its map, before and after.
func TestBrowserMapPinFillsTheAddress(t *testing.T) {
	f := newMapFakes(t)
	b := setup(t, options{mapCfg: f.mapConfig(), geocoder: f.geocoder(t)})
	ctx := browser(t)
	openMapForm(t, ctx, b.srv.URL)
	if f.tileHits.Load() == 0 {
		t.Fatal("no tile asked of the tile server")
	}
	checked(t, ctx, "le formulaire avec sa carte")
	if credit := text(t, ctx, "carte-bloc"); !strings.Contains(credit, "Fond de carte : Tuiles de test") {
		t.Errorf("the tiles' credit is not shown: %q", credit)
	}

	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("carte"))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the address from the pin", `document.getElementById("adresse").value === "1 Quai du Port"`)
	lat, lon := pin(t, ctx)
	if asked, _ := f.lastAsked(); asked != [2]float64{lat, lon} {
		t.Errorf("the geocoder was asked about %v, the pin is at %v, %v", asked, lat, lon)
	}
	if cp, c := valueOf(t, ctx, "code_postal"), valueOf(t, ctx, "commune"); cp != "13002" || c != "13055" {
		t.Errorf("postal code %q, commune %q; want 13002 and Marseille", cp, c)
	}
	if s := text(t, ctx, "carte-statut"); !strings.Contains(s, "Repère placé. Adresse trouvée : 1 Quai du Port, 13002 Marseille.") ||
		!strings.Contains(s, "Champs remplis depuis la carte : l'adresse, le code postal, la commune.") {
		t.Errorf("said: %q", s)
	}
	if live, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("carte-statut").getAttribute("aria-live")`)); live != "polite" {
		t.Errorf("the status is not a live region: %q", live)
	}
	checked(t, ctx, "le formulaire avec un repère placé")

	// The citizen writes the address their way, then moves the pin a
	// little: their text stays; the commune, the map's, follows the pin.
	if err := chromedp.Do(ctx,
		chromedp.Evaluate[chromedp.Void](`document.getElementById("adresse").value = ""`),
		chromedp.SendKeys(chromedp.ID("adresse"), "Devant le 1 quai du Port"),
	); err != nil {
		t.Fatal(err)
	}
	box, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`(e => { e.scrollIntoView({block: "center"}); const r = e.getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })(document.getElementById("carte"))`))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.MouseClickXY(box[0]+box[2]*0.7, box[1]+box[3]*0.35)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "a second answer", `document.getElementById("carte-statut").textContent.indexOf("n'a pas été modifié") >= 0`)
	lat2, lon2 := pin(t, ctx)
	if lon2 <= lon || lat2 <= lat {
		t.Errorf("the pin did not move north-east: %v,%v then %v,%v", lat, lon, lat2, lon2)
	}
	if a := valueOf(t, ctx, "adresse"); a != "Devant le 1 quai du Port" {
		t.Errorf("the address typed was overwritten: %q", a)
	}

	// Moved where the geocoder knows nothing: what the map filled goes,
	// what the citizen typed stays; back, and the map fills it again.
	f.mode.Store("empty")
	if err := chromedp.Do(ctx, chromedp.MouseClickXY(box[0]+box[2]*0.6, box[1]+box[3]*0.4)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the fields emptied", `document.getElementById("carte-statut").textContent.indexOf("ont été vidés") >= 0`)
	if a, cp, c := valueOf(t, ctx, "adresse"), valueOf(t, ctx, "code_postal"), valueOf(t, ctx, "commune"); a != "Devant le 1 quai du Port" || cp != "" || c != "" {
		t.Errorf("after a pin where nothing is known: %q %q %q", a, cp, c)
	}
	f.mode.Store("quai")
	if err := chromedp.Do(ctx, chromedp.MouseClickXY(box[0]+box[2]*0.7, box[1]+box[3]*0.35)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the commune again", `document.getElementById("commune").value === "13055" && document.getElementById("code_postal").value === "13002"`)

	fillTheRest(t, ctx)
	tr := waitCase(t, b, sendForm(t, ctx))
	loc := tr.Request.Location
	if loc == nil || loc.Lat == nil || loc.Lon == nil || *loc.Lat != lat2 || *loc.Lon != lon2 || loc.Address != "Devant le 1 quai du Port" ||
		loc.PostalCode != "13002" || loc.CommuneINSEE != "13055" {
		t.Fatalf("location sent %+v, want the pin at %v, %v", loc, lat2, lon2)
	}
}

// TestBrowserMapUseMyPosition: the button "Utiliser ma position" asks the
// browser (Permissions-Policy: geolocation=(self) lets it), places the pin
// there and fills the address; a position out of the Métropole and a
// refusal are told plainly and change nothing.
func TestBrowserMapUseMyPosition(t *testing.T) {
	f := newMapFakes(t)
	b := setup(t, options{mapCfg: f.mapConfig(), geocoder: f.geocoder(t)})
	ctx := browser(t)
	permit := func(setting cdpbrowser.PermissionSetting) {
		t.Helper()
		if _, err := chromedp.CallBrowser(ctx, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
			Permission: &cdpbrowser.PermissionDescriptor{Name: "geolocation"}, Setting: setting, Origin: b.srv.URL}); err != nil {
			t.Fatalf("permission: %v", err)
		}
	}
	at := func(lat, lon float64) {
		t.Helper()
		accuracy := 10.0
		if _, err := chromedp.Call(ctx, emulation.SetGeolocationOverride, emulation.SetGeolocationOverrideParams{
			Latitude: &lat, Longitude: &lon, Accuracy: &accuracy}); err != nil {
			t.Fatalf("position: %v", err)
		}
	}
	permit(cdpbrowser.PermissionSettingGranted)
	at(43.2951, 5.3740) // the Vieux-Port
	openMapForm(t, ctx, b.srv.URL)
	if tag, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("ma-position").tagName + " " + document.getElementById("ma-position").type`)); tag != "BUTTON button" {
		t.Errorf("« Utiliser ma position » is a %q", tag)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("ma-position"))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the address at my position", `document.getElementById("adresse").value === "1 Quai du Port"`)
	if lat, lon := valueOf(t, ctx, "lat"), valueOf(t, ctx, "lon"); lat != "43.295100" || lon != "5.374000" {
		t.Errorf("pin at %s, %s; want the position given", lat, lon)
	}
	if s := text(t, ctx, "carte-statut"); !strings.HasPrefix(s, "Repère placé à votre position. Adresse trouvée") {
		t.Errorf("said: %q", s)
	}

	at(48.8566, 2.3522) // Paris
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("ma-position"))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "out of the Métropole", `document.getElementById("carte-statut").textContent.indexOf("hors de la Métropole") >= 0`)
	permit(cdpbrowser.PermissionSettingDenied)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("ma-position"))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the refusal", `document.getElementById("carte-statut").textContent.indexOf("pas autorisé") >= 0`)
	if lat, lon := valueOf(t, ctx, "lat"), valueOf(t, ctx, "lon"); lat != "43.295100" || lon != "5.374000" {
		t.Errorf("the pin moved to %s, %s", lat, lon)
	}
	checked(t, ctx, "le formulaire après « Utiliser ma position »")

	fillTheRest(t, ctx)
	tr := waitCase(t, b, sendForm(t, ctx))
	if loc := tr.Request.Location; loc == nil || loc.Lat == nil || *loc.Lat != 43.2951 || *loc.Lon != 5.374 || loc.CommuneINSEE != "13055" {
		t.Fatalf("location sent %+v", loc)
	}
}

// TestBrowserMapKeyboard places the pin with the keyboard alone: Tab
// reaches « Utiliser ma position », the map (focus visible, its centre
// marked), its zoom buttons and « Placer le repère au centre de la
// carte »; on the map, + zooms and the arrows pan; the button puts the pin
// at the new centre; « Retirer le repère » takes it away and empties what
// the map filled.
func TestBrowserMapKeyboard(t *testing.T) {
	f := newMapFakes(t)
	b := setup(t, options{mapCfg: f.mapConfig(), geocoder: f.geocoder(t)})
	ctx := browser(t)
	openMapForm(t, ctx, b.srv.URL)
	focused := func() string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(e => e.id || e.getAttribute("aria-label") || e.tagName.toLowerCase())(document.activeElement)`))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	press := func(keys string) string {
		t.Helper()
		if err := chromedp.Do(ctx, testbrowser.Press(keys)); err != nil {
			t.Fatal(err)
		}
		return focused()
	}
	if err := chromedp.Do(ctx, chromedp.Focus(chromedp.ID("description"))); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"ma-position", "carte"} {
		if f := press(kb.Tab); f != w {
			t.Fatalf("Tab: focus on %q, want %s", f, w)
		}
	}
	look, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(e => getComputedStyle(e).outlineStyle + " " + getComputedStyle(e, "::after").borderTopStyle)(document.activeElement)`))
	if err != nil || look != "solid solid" {
		t.Errorf("the map's focus and centre mark: %q %v", look, err)
	}
	// Zoom in (+, which is Shift and = on a keyboard: Leaflet zooms by 3
	// with Shift), then pan east twice and north once: 80 pixels a press.
	const zoom = `Math.max(...Array.from(document.querySelectorAll("#carte img.leaflet-tile-loaded")).map(i => parseInt(i.src.split("/tuiles/")[1], 10)))`
	before, err := chromedp.Run(ctx, chromedp.Evaluate[int](zoom))
	if err != nil {
		t.Fatal(err)
	}
	press("+")
	waitFor(t, ctx, "the zoom", zoom+` > `+strconv.Itoa(before))
	time.Sleep(500 * time.Millisecond) // the zoom's animation
	// Where the map's pane is: it moves opposite to the view.
	const offset = `(m => [m.e, m.f])(new DOMMatrix(getComputedStyle(document.querySelector("#carte .leaflet-map-pane")).transform))`
	start, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](offset))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{kb.ArrowRight, kb.ArrowRight, kb.ArrowUp} {
		press(k)
		time.Sleep(400 * time.Millisecond) // Leaflet ignores a key while the last pan is animated
	}
	waitFor(t, ctx, "the pan", `(([x, y]) => x < `+strconv.FormatFloat(start[0]-150, 'f', -1, 64)+` && y > `+strconv.FormatFloat(start[1]+70, 'f', -1, 64)+`)(`+offset+`)`)
	if f := focused(); f != "carte" {
		t.Fatalf("the map lost the focus to %q", f)
	}
	for _, w := range []string{"Zoomer", "Dézoomer", "repere-centre"} {
		if f := press(kb.Tab); f != w {
			t.Fatalf("Tab: focus on %q, want %s", f, w)
		}
	}
	press(kb.Enter)
	waitFor(t, ctx, "the pin at the centre", `document.getElementById("adresse").value === "1 Quai du Port"`)
	lat, lon := pin(t, ctx)
	// The map opened centred on the Métropole's box (43.476° N, 5.275° E);
	// the arrows took the centre east and north.
	if lon < 5.3 || lat < 43.485 {
		t.Errorf("pin at %v, %v: the arrows did not pan the map east and north", lat, lon)
	}
	if s := text(t, ctx, "carte-statut"); !strings.HasPrefix(s, "Repère placé au centre de la carte.") {
		t.Errorf("said: %q", s)
	}
	checked(t, ctx, "le formulaire, repère placé au clavier")

	if f := press(kb.Tab); f != "repere-retirer" {
		t.Fatalf("Tab after placing the pin: %q, want « Retirer le repère »", f)
	}
	if f := press(kb.Enter); f != "repere-centre" {
		t.Errorf("after « Retirer le repère » the focus is on %q", f)
	}
	waitFor(t, ctx, "the pin removed", `document.getElementById("lat").value === "" && document.getElementById("adresse").value === "" && !document.querySelector("#carte .leaflet-marker-icon")`)
	if s := text(t, ctx, "carte-statut"); !strings.Contains(s, "Repère retiré") {
		t.Errorf("said: %q", s)
	}
	if cp, c := valueOf(t, ctx, "code_postal"), valueOf(t, ctx, "commune"); cp != "" || c != "" {
		t.Errorf("left filled by the map: %q %q", cp, c)
	}

	// Placed again; the next stops are the pin's removal, then the
	// address it filled.
	press(kb.Enter)
	waitFor(t, ctx, "the pin again", `document.getElementById("adresse").value === "1 Quai du Port"`)
	for _, w := range []string{"repere-retirer", "adresse"} {
		if f := press(kb.Tab); f != w {
			t.Fatalf("Tab: focus on %q, want %s", f, w)
		}
	}
	lat, lon = pin(t, ctx)
	fillTheRest(t, ctx)
	tr := waitCase(t, b, sendForm(t, ctx))
	if loc := tr.Request.Location; loc == nil || loc.Lat == nil || *loc.Lat != lat || *loc.Lon != lon {
		t.Fatalf("location sent %+v, want %v, %v", loc, lat, lon)
	}
}

// TestBrowserMapWithoutJavaScript: with JavaScript off, no map and no
// empty box; the form with its address fields is sent as ever, without
// coordinates. With tiles that do not load, the map says so, and the pin
// and the form still work.
func TestBrowserMapWithoutJavaScript(t *testing.T) {
	f := newMapFakes(t)
	b := setup(t, options{mapCfg: f.mapConfig(), geocoder: f.geocoder(t)})
	ctx := browser(t)
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(b.srv.URL+"/demande"),
		chromedp.WaitVisible(chromedp.ID("objet")),
		chromedp.WaitNotVisible(chromedp.ID("carte-bloc")),
	); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"ma-position", "carte", "repere-centre"} {
		visible, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("`+id+`").getClientRects().length > 0`))
		if err != nil || visible {
			t.Errorf("#%s shown without JavaScript (%v)", id, err)
		}
	}
	if f.tileHits.Load() != 0 {
		t.Error("tiles asked without JavaScript")
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("adresse"), "1 quai du Port"),
		chromedp.SendKeys(chromedp.ID("code_postal"), "13002"),
		chromedp.SetValue(chromedp.ID("commune"), "13055"),
	); err != nil {
		t.Fatal(err)
	}
	fillTheRest(t, ctx)
	// By now a script would have run: none did, and the map stayed hidden.
	if ran, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof window.L !== "undefined" || !document.getElementById("carte-bloc").hidden`)); err != nil || ran {
		t.Fatalf("the page's scripts ran (%v)", err)
	}
	tr := waitCase(t, b, sendForm(t, ctx))
	if loc := tr.Request.Location; loc == nil || loc.Lat != nil || loc.Lon != nil || loc.Address != "1 quai du Port" || loc.CommuneINSEE != "13055" {
		t.Fatalf("location sent without JavaScript %+v", loc)
	}
	if _, n := f.lastAsked(); n != 0 {
		t.Error("the geocoder was asked without JavaScript")
	}

	// JavaScript again, but the tile server fails.
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: false}); err != nil {
		t.Fatal(err)
	}
	f.mode.Store("no tiles")
	if err := chromedp.Do(ctx,
		chromedp.Navigate(b.srv.URL+"/demande"),
		chromedp.WaitVisible(chromedp.ID("carte")),
		chromedp.WaitVisible(chromedp.ID("carte-sans-fond")),
		chromedp.Click(chromedp.ID("repere-centre")),
	); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the pin without tiles", `document.getElementById("lat").value !== "" && document.getElementById("carte-statut").textContent.indexOf("Repère placé au centre") === 0`)
	checked(t, ctx, "le formulaire, fond de carte absent")
	lat, lon := pin(t, ctx)
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("adresse"), "Jardin du Pharo")); err != nil {
		t.Fatal(err)
	}
	fillTheRest(t, ctx)
	tr = waitCase(t, b, sendForm(t, ctx))
	if loc := tr.Request.Location; loc == nil || loc.Lat == nil || *loc.Lat != lat || *loc.Lon != lon {
		t.Fatalf("location sent without tiles %+v", loc)
	}
}
