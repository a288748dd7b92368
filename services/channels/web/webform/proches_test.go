package webform_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ampmetropole/guichet/services/testkit"
	testbrowser "github.com/ampmetropole/guichet/services/testkit/browser"
)

// reportedIncident has Léa report a pothole from the form and records it
// as an open incident (as the router does when it groups), so that the
// form has something "déjà signalé près d'ici".
func reportedIncident(t *testing.T, b testBundle) string {
	t.Helper()
	code := submitNearby(t, b, url.Values{"competence": {"voirie"}, "objet": {"Nid-de-poule"}, "description": {"Un trou profond devant le 112 rue Paradis."},
		"adresse": {"112 rue Paradis"}, "code_postal": {"13006"}, "nom": {"Léa Martinez"}, "email": {"lea.martinez@example.net"}, "reponse": {"email"}})
	var caseID int64
	testkit.Eventually(t, 10*time.Second, "Léa's case", func() bool {
		var n int64
		testkit.QueryRow(t, b.dbURL, `SELECT COALESCE((SELECT case_id FROM requests WHERE tracking_code = $1), 0)`, []any{code}, &n)
		caseID = n
		return n != 0
	})
	const ref = "INC-2026-800001"
	testkit.Exec(t, b.dbURL, `INSERT INTO incidents (ref, competence, territory, commune, place, label, first_reported_at, last_reported_at)
		VALUES ($1, 'voirie', 'marseille-provence', '13055', 'rue Paradis, Marseille 6e', 'nid-de-poule', now() - interval '1 day', now())`, ref)
	testkit.Exec(t, b.dbURL, `UPDATE cases SET incident_id = (SELECT id FROM incidents WHERE ref = $1) WHERE id = $2`, ref, caseID)
	return ref
}

// submitNearby posts the form and returns the tracking code of the receipt.
func submitNearby(t *testing.T, b testBundle, form url.Values) string {
	t.Helper()
	resp, err := noRedirect.PostForm(b.srv.URL+"/demande", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/demande/accuse/") {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("form sent: %d %s\n%s", resp.StatusCode, loc, body)
	}
	return strings.TrimPrefix(loc, "/demande/accuse/")
}

// personal is what must never show of another reporter.
var personal = []string{"Léa", "Martinez", "lea.martinez", "112 rue Paradis"}

// The form lists the open incidents of the chosen domain near the place,
// with nothing of their reporters; choosing one sends hints.incident, and
// the router links the new case to it while the citizen keeps their own
// code. A forged or closed choice is refused next to its field.
func TestNearbyIncidents(t *testing.T) {
	b := setup(t, options{})
	ref := reportedIncident(t, b)

	get := func(q string) (int, string) {
		t.Helper()
		resp, err := http.Get(b.srv.URL + "/incidents-proches?" + q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	for _, tc := range []struct {
		name, query string
		want        int // incidents listed
	}{
		{"postal code", "competence=voirie&code_postal=13006", 1},
		{"commune", "competence=voirie&commune=13055", 1},
		{"coordinates without the incident's", "competence=voirie&lat=43.2880&lon=5.3790", 0},
		{"another domain", "competence=dechets&code_postal=13006", 0},
		{"another commune", "competence=voirie&commune=13001", 0},
		{"no place", "competence=voirie", 0},
		{"no domain", "code_postal=13006", 0},
		{"malformed", "competence=%ff&code_postal=abc&lat=x&lon=999", 0},
		{"unknown domain", "competence=inconnu&code_postal=13006", 0},
		{"malformed coordinates", "competence=voirie&lat=NaN&lon=Infinity", 0},
		{"coordinates out of range", "competence=voirie&lat=1e400&lon=-5.38", 0},
		{"repeated parameters", "competence=voirie&competence=dechets&code_postal=13006&code_postal=x", 1},
	} {
		code, body := get(tc.query)
		var got struct {
			Incidents []map[string]any `json:"incidents"`
		}
		if err := json.Unmarshal([]byte(body), &got); code != 200 || err != nil || len(got.Incidents) != tc.want {
			t.Errorf("%s: %d %s", tc.name, code, body)
		}
		for _, p := range personal {
			if strings.Contains(body, p) {
				t.Errorf("%s: personal data %q in %s", tc.name, p, body)
			}
		}
	}
	if code, _ := get("competence=" + strings.Repeat("x", 600)); code != http.StatusRequestURITooLong {
		t.Errorf("oversized query: %d", code)
	}

	// Without JavaScript: the second button shows the list, sends nothing.
	form := url.Values{"competence": {"voirie"}, "objet": {"Trou"}, "description": {"Encore ce trou rue Paradis."}, "code_postal": {"13006"},
		"nom": {"Marc Durand"}, "email": {"marc@example.net"}, "reponse": {"email"}, "etape": {"proches"}}
	resp, err := http.PostForm(b.srv.URL+"/demande", form)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), `value="`+ref+`"`) || !strings.Contains(string(page), "Déjà signalé près d'ici") ||
		!strings.Contains(string(page), "1 signalement(s)") || !strings.Contains(string(page), `value="Marc Durand"`) {
		t.Fatalf("nearby step: %d\n%s", resp.StatusCode, page)
	}
	for _, p := range personal {
		if strings.Contains(string(page), p) {
			t.Errorf("personal data %q on the form", p)
		}
	}
	var n int
	testkit.QueryRow(t, b.dbURL, `SELECT count(*) FROM requests`, nil, &n)
	if n != 1 {
		t.Errorf("the nearby step sent a request: %d requests", n)
	}

	// A forged incident is refused next to its field, the form kept.
	form.Del("etape")
	form.Set("incident", "INC-2026-999999")
	resp, err = http.PostForm(b.srv.URL+"/demande", form)
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 422 || !strings.Contains(string(page), `href="#incident"`) || !strings.Contains(string(page), "plus ouvert") {
		t.Errorf("forged incident: %d\n%s", resp.StatusCode, page)
	}

	// Joining: hints.incident, the router links the case, own code.
	form.Set("incident", ref)
	code := submitNearby(t, b, form)
	var hint string
	testkit.QueryRow(t, b.dbURL, `SELECT COALESCE(payload->'hints'->>'incident', '') FROM requests WHERE tracking_code = $1`, []any{code}, &hint)
	if hint != ref {
		t.Fatalf("hints.incident = %q", hint)
	}
	testkit.Eventually(t, 10*time.Second, "the case linked to the incident", func() bool {
		var linked int
		testkit.QueryRow(t, b.dbURL, `SELECT count(*) FROM requests r JOIN cases c ON c.id = r.case_id JOIN incidents i ON i.id = c.incident_id
			WHERE r.tracking_code = $1 AND i.ref = $2`, []any{code, ref}, &linked)
		return linked == 1
	})
	var cases int
	testkit.QueryRow(t, b.dbURL, `SELECT count(DISTINCT case_id) FROM requests`, nil, &cases)
	if cases != 2 {
		t.Errorf("each reporter keeps their own case: %d cases", cases)
	}
}

// In Chromium: the form shows the nearby incident without anything of its
// reporter, passes axe, and joining it works.
func TestBrowserNearbyIncident(t *testing.T) {
	b := setup(t, options{})
	ref := reportedIncident(t, b)
	ctx := testbrowser.Start(t, 412, 915)
	err := chromedp.Do(ctx,
		chromedp.Navigate(b.srv.URL+"/demande"),
		chromedp.WaitVisible(chromedp.ID("objet")),
		chromedp.SetValue(chromedp.ID("competence"), "voirie"),
		chromedp.SendKeys(chromedp.ID("objet"), "Trou dans la chaussée"),
		chromedp.SendKeys(chromedp.ID("description"), "Le trou rue Paradis est toujours là."),
		chromedp.SendKeys(chromedp.ID("code_postal"), "13006"),
		chromedp.SendKeys(chromedp.ID("nom"), "Marc Durand"),
		chromedp.SendKeys(chromedp.ID("email"), "marc@example.net"),
		chromedp.Click(chromedp.ID("voir-proches")),
		chromedp.WaitVisible(chromedp.ID("incident-"+ref)),
	)
	if err != nil {
		t.Fatal(err)
	}
	list, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("incident")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(list, "nid-de-poule") || !strings.Contains(list, "rue Paradis, Marseille 6e") {
		t.Errorf("the nearby list: %q", list)
	}
	for _, p := range personal {
		if strings.Contains(list, p) {
			t.Errorf("personal data %q in the list: %q", p, list)
		}
	}
	testbrowser.AssertAccessible(t, ctx, "formulaire, déjà signalé près d'ici")
	testbrowser.AssertReflows(t, ctx, "formulaire, déjà signalé près d'ici", 320)
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("incident-"+ref)),
		chromedp.Click(chromedp.CSS(`form[action="/demande"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("code-suivi")),
	)
	if err != nil {
		t.Fatal(err)
	}
	code := text(t, ctx, "code-suivi")
	var hint string
	testkit.QueryRow(t, b.dbURL, `SELECT COALESCE(payload->'hints'->>'incident', '') FROM requests WHERE tracking_code = $1`, []any{code}, &hint)
	if hint != ref {
		t.Errorf("hints.incident of %s = %q", code, hint)
	}
}
