package webform_test

import (
	"context"
	"testing"

	"github.com/ampmetropole/guichet/services/platform/pageweight"
)

// Budgets of what a first visit to a citizen page may transfer (HTML,
// style sheets and scripts, uncompressed; the map's tiles and the photos
// aside): pages for every phone and every connection, sobriety being one
// of the AI charter's principles. The form carries the map's library,
// most of its weight (210 KB on 2026-12-07); the others 15–17 KB.
const (
	formBudget = 240 << 10
	pageBudget = 32 << 10
)

// TestCitizenPagesStayUnderBudget weighs the citizen's pages as
// `guichet footprint` does.
func TestCitizenPagesStayUnderBudget(t *testing.T) {
	// With the map, as the Métropole serves the form: its library is
	// loaded too.
	f := newMapFakes(t)
	b := setup(t, options{noRouter: true, mapCfg: f.mapConfig(), geocoder: f.geocoder(t)})
	code := submit(t, b, validFields(), nil)
	pages := []string{"/demande", "/suivi", "/suivi/" + code}
	got, err := pageweight.Measure(context.Background(), b.srv.URL, pages)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pages {
		t.Logf("%s: %d octets", p, got[p])
		budget := pageBudget
		if p == "/demande" {
			budget = formBudget
		}
		if got[p] == 0 || got[p] > budget {
			t.Errorf("%s weighs %d bytes, over the budget of %d", p, got[p], budget)
		}
	}
}
