package webform_test

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/testkit"
)

// twoReporters are the people behind the seeded incident: nothing of them
// may show on another citizen's form.
var twoReporters = []url.Values{
	{"competence": {"voirie"}, "objet": {"Trou"}, "description": {"Un trou profond devant le 112 rue Paradis."}, "adresse": {"112 rue Paradis"},
		"code_postal": {"13006"}, "nom": {"Léa Martinez"}, "email": {"lea.martinez@example.net"}, "telephone": {"06 12 34 56 78"}, "reponse": {"email"}},
	{"competence": {"voirie"}, "objet": {"Chaussée abîmée"}, "description": {"Ma voiture a crevé dans le trou, rue Paradis."}, "adresse": {"110 rue Paradis"},
		"code_postal": {"13006"}, "nom": {"Paul Girard"}, "email": {"paul.girard@example.org"}, "telephone": {"04 91 00 00 00"}, "reponse": {"telephone"}},
}

// reportersData is what of them must not show ("Paul" alone would: Saint-Paul-lès-Durance is a commune).
var reportersData = []string{"Léa", "Martinez", "lea.martinez", "06 12 34 56 78", "Paul Girard", "Girard", "paul.girard", "04 91 00 00 00", "112 rue", "110 rue"}

// seedIncident records the two reporters' requests, routes each to its own
// case by hand and groups both cases in one open incident, as the router
// does; it returns the incident's reference.
func seedIncident(t *testing.T, b testBundle) string {
	t.Helper()
	ctx := context.Background()
	var requests []casestoreRequest
	for _, form := range twoReporters {
		code := submitNearby(t, b, form)
		tr, err := b.store.Tracking(ctx, code)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := b.validator.EncodeRequest(tr.Request)
		if err != nil {
			t.Fatal(err)
		}
		requests = append(requests, casestoreRequest{tr.Request.ID, raw, tr})
	}
	lat, lon := 43.2872, 5.3806 // rue Paradis, Marseille 6e
	due := time.Now().Add(72 * time.Hour)
	var ref string
	if _, err := b.store.Route(ctx, func(ctx context.Context, tx *casestore.RouteTx) error {
		var err error
		ref, err = tx.OpenIncident(ctx, casestore.NewIncident{Competence: "voirie", Territory: "marseille-provence", Commune: "13055",
			Place: "rue Paradis, Marseille 6e", Label: "trou dans la chaussée", Lat: &lat, Lon: &lon, At: time.Now().Add(-24 * time.Hour)})
		if err != nil {
			return err
		}
		for _, r := range requests {
			if err := tx.ClaimRequest(ctx, r.tracking.Request, r.raw); err != nil {
				return err
			}
			c, err := tx.CreateCase(ctx, casestore.NewCase{Competence: "voirie", Territory: "marseille-provence", Deadline: &due})
			if err != nil {
				return err
			}
			if err := tx.FinishRequest(ctx, r.id, c.ID, 0); err != nil {
				return err
			}
			if err := tx.LinkIncident(ctx, c.ID, ref, time.Now()); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return ref
}

type casestoreRequest struct {
	id       string
	raw      []byte
	tracking casestore.Tracking
}

// choose picks a value in a select as a citizen does: the value changes
// and the select fires change (chromedp.SetValue fires nothing).
func choose(id, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](`(function () { var s = document.getElementById(` + strconv.Quote(id) + `);
		s.value = ` + strconv.Quote(value) + `; s.dispatchEvent(new Event("change", { bubbles: true })); })()`)
}

// pageText is what the page shows (and reads aloud), fields' values aside.
func pageText(t *testing.T, ctx context.Context) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestBrowserNearbyIncidentsAsTyped is a citizen on a phone who gives the
// domain and the postal code: without pressing any button, the open
// incident of that domain near the place shows (what, where, how many
// reports, nothing of who), is said in a polite live region, passes axe
// and reflows; another domain shows nothing; the map's pin alone finds it
// too; joining it sends hints.incident.
func TestBrowserNearbyIncidentsAsTyped(t *testing.T) {
	b := setup(t, options{noRouter: true})
	ref := seedIncident(t, b)
	ctx := browser(t)
	radio := "incident-" + ref

	if err := chromedp.Do(ctx,
		chromedp.Navigate(b.srv.URL+"/demande"),
		chromedp.WaitVisible(chromedp.ID("objet")),
		choose("competence", "voirie"),
		chromedp.SendKeys(chromedp.ID("code_postal"), "13006"),
	); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the nearby list as typed", `document.getElementById(`+strconv.Quote(radio)+`) !== null`)
	list := text(t, ctx, "incident")
	for _, want := range []string{"Déjà signalé près d'ici", "trou dans la chaussée", "rue Paradis, Marseille 6e", "2 signalement(s)", "Non, c'est un autre problème"} {
		if !strings.Contains(list, want) {
			t.Errorf("the list lacks %q: %q", want, list)
		}
	}
	if none, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("incident-aucun").checked`)); !none {
		t.Error("« Non, c'est un autre problème » is not the default")
	}
	said := text(t, ctx, "proches-statut")
	if said != "1 problème déjà signalé près d'ici dans ce domaine." {
		t.Errorf("said: %q", said)
	}
	if live, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("proches-statut").getAttribute("aria-live")`)); live != "polite" {
		t.Errorf("the status is not a polite live region: %q", live)
	}
	if u, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname + location.search`)); u != "/demande" {
		t.Errorf("the page was sent: %s", u)
	}
	page := pageText(t, ctx)
	for _, p := range reportersData {
		if strings.Contains(page, p) {
			t.Errorf("a reporter's %q on the form", p)
		}
	}
	checked(t, ctx, "formulaire, déjà signalé près d'ici (script)")

	// Another domain: the list goes, quietly.
	if err := chromedp.Do(ctx, choose("competence", "eclairage")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "no list for another domain", `document.getElementById("incident") === null`)
	if s := text(t, ctx, "proches-statut"); s != "" {
		t.Errorf("said for another domain: %q", s)
	}

	// The map's pin alone (no postal code, no commune), as carte.js sets
	// it: the incident is within the radius.
	if err := chromedp.Do(ctx,
		choose("competence", "voirie"),
		chromedp.Evaluate[chromedp.Void](`(function () {
			var cp = document.getElementById("code_postal"), c = document.getElementById("commune");
			cp.value = ""; cp.dispatchEvent(new Event("input", { bubbles: true }));
			c.value = ""; c.dispatchEvent(new Event("change", { bubbles: true }));
			document.getElementById("lat").value = "43.287500"; document.getElementById("lon").value = "5.380900";
			document.getElementById("lat").dispatchEvent(new Event("change", { bubbles: true }));
		})()`),
	); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the list from the pin", `document.getElementById(`+strconv.Quote(radio)+`) !== null`)
	if s := text(t, ctx, "proches-statut"); s != "1 problème déjà signalé près d'ici dans ce domaine." {
		t.Errorf("said from the pin: %q", s)
	}

	// Joining: the choice survives another look-up, and is sent.
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.ID(radio)),
		chromedp.SendKeys(chromedp.ID("code_postal"), "13006"),
	); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // the debounced look-up answers the same list
	if still, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById(`+strconv.Quote(radio)+`).checked`)); !still {
		t.Error("the citizen's choice was lost on a new look-up")
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("objet"), "Trou dans la chaussée"),
		chromedp.SendKeys(chromedp.ID("description"), "Le trou rue Paradis est toujours là."),
		chromedp.SendKeys(chromedp.ID("nom"), "Marc Durand"),
		chromedp.SendKeys(chromedp.ID("email"), "marc@example.net"),
	); err != nil {
		t.Fatal(err)
	}
	code := sendForm(t, ctx)
	var hint string
	testkit.QueryRow(t, b.dbURL, `SELECT COALESCE(payload->'hints'->>'incident', '') FROM requests WHERE tracking_code = $1`, []any{code}, &hint)
	if hint != ref {
		t.Errorf("hints.incident of %s = %q, want %s", code, hint, ref)
	}
}

// With the map: the pin the citizen places (static/carte.js fills the
// postal code and commune from it) is enough for the list to show.
func TestBrowserNearbyIncidentsFromTheMap(t *testing.T) {
	f := newMapFakes(t)
	b := setup(t, options{noRouter: true, mapCfg: f.mapConfig(), geocoder: f.geocoder(t)})
	ref := seedIncident(t, b)
	ctx := browser(t)
	openMapForm(t, ctx, b.srv.URL)
	if err := chromedp.Do(ctx, choose("competence", "voirie"), chromedp.Click(chromedp.ID("carte"))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the nearby list from the pin", `document.getElementById(`+strconv.Quote("incident-"+ref)+`) !== null`)
	if s := text(t, ctx, "proches-statut"); s != "1 problème déjà signalé près d'ici dans ce domaine." {
		t.Errorf("said: %q", s)
	}
	checked(t, ctx, "formulaire avec carte, déjà signalé près d'ici")
}
