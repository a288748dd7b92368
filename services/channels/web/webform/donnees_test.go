package webform_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ampmetropole/guichet/services/testkit"
	testbrowser "github.com/ampmetropole/guichet/services/testkit/browser"
)

// TestDonnees: the public /donnees page and its downloads, from requests
// sent through the form and routed, dated last month: the page says what
// is published with a chart and its table, the CSV and its schema are
// served, nothing personal is in them; unknown files are 404. In Chromium:
// axe-core finds nothing, and the page reflows at 200 % zoom.
func TestDonnees(t *testing.T) {
	b := setup(t, options{rate: 100, openData: true})
	for i := range 6 {
		f := validFields()
		f.Set("nom", fmt.Sprintf("Habitante %d", i))
		f.Set("email", fmt.Sprintf("habitante.%d@example.net", i))
		f.Set("telephone", "")
		waitCase(t, b, submit(t, b, f, nil))
	}
	// A month ago: only whole months are published.
	testkit.Exec(t, b.dbURL, `UPDATE requests SET received_at = received_at - interval '1 month'`)
	testkit.Exec(t, b.dbURL, `UPDATE cases SET opened_at = opened_at - interval '1 month'`)

	resp, page := get(t, b.srv.URL+"/donnees")
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Licence Ouverte") || !strings.Contains(page, `href="/donnees/demandes.csv"`) ||
		!strings.Contains(page, "<svg") || !strings.Contains(page, "<td>6</td>") {
		t.Fatalf("/donnees: %d\n%s", resp.StatusCode, page)
	}
	resp, csvBody := get(t, b.srv.URL+"/donnees/demandes.csv")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") ||
		!strings.HasPrefix(csvBody, "mois,competence,") || !strings.Contains(csvBody, ",13055,Marseille,web,6,") {
		t.Fatalf("CSV: %d %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), csvBody)
	}
	resp, schema := get(t, b.srv.URL+"/donnees/demandes.schema.json")
	if resp.StatusCode != http.StatusOK || !strings.Contains(schema, `"minimum": 5`) || !strings.Contains(schema, "Licence Ouverte") {
		t.Fatalf("schema: %d\n%s", resp.StatusCode, schema)
	}
	for _, secret := range []string{"Habitante", "example.net", "Paradis", "scooters"} {
		if strings.Contains(page+csvBody+schema, secret) {
			t.Errorf("the open data shows %q", secret)
		}
	}
	for _, path := range []string{"/donnees/autre.csv", "/donnees/..%2Fsecret", "/donnees/" + strings.Repeat("a", 3000)} {
		if resp, _ := get(t, b.srv.URL+path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d", path, resp.StatusCode)
		}
	}

	ctx := testbrowser.Start(t, 1280, 900)
	if err := chromedp.Do(ctx, chromedp.Navigate(b.srv.URL+"/donnees"), chromedp.WaitVisible(chromedp.CSS("figure.graphique svg"))); err != nil {
		t.Fatal(err)
	}
	testbrowser.AssertAccessible(t, ctx, "/donnees")
	testbrowser.AssertReflows(t, ctx, "/donnees", 640)
}
