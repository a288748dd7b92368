package casestore_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/testkit"
)

// TestGroupCandidatesByPlace: the router is offered only the cases that
// share a place with the new report, or lie within about a kilometre of
// it; a linked request's places join its case's, bounded.
func TestGroupCandidatesByPlace(t *testing.T) {
	s, b := setup(t)
	ctx := context.Background()
	at := func(f float64) *float64 { return &f }
	ids := map[string]int64{}
	create := func(name string, nc casestore.NewCase) {
		t.Helper()
		nc.Competence = "voirie"
		if _, err := s.Route(ctx, func(ctx context.Context, tx *casestore.RouteTx) error {
			c, err := tx.CreateCase(ctx, nc)
			ids[name] = c.ID
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	create("paradis", casestore.NewCase{Places: []string{"paradis", "@boulangerie"}})
	create("breteuil", casestore.NewCase{Places: []string{"breteuil"}})
	create("located", casestore.NewCase{Places: []string{"x"}, Lat: at(43.2881), Lon: at(5.3791)})
	create("far", casestore.NewCase{Places: []string{"y"}, Lat: at(43.3500), Lon: at(5.4500)})
	create("other territory", casestore.NewCase{Territory: "pays-d-aix", Places: []string{"paradis"}})
	create("gardanne", casestore.NewCase{Commune: "13041", Places: []string{"@parking"}})
	create("cassis", casestore.NewCase{Commune: "13022", Places: []string{"@parking"}})
	create("somewhere", casestore.NewCase{Places: []string{"@parking"}})
	// The cases need a recent request to be candidates.
	for name, id := range ids {
		req, raw := newRequest(t)
		if _, err := s.Route(ctx, func(ctx context.Context, tx *casestore.RouteTx) error {
			if err := tx.ClaimRequest(ctx, req, raw); err != nil {
				return err
			}
			return tx.FinishRequest(ctx, req.ID, id, 0)
		}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	names := func(q casestore.CandidateQuery) string {
		t.Helper()
		q.Competences, q.Since, q.Limit = []string{"voirie"}, time.Now().Add(-time.Hour), 50
		var got []casestore.GroupCandidate
		if _, err := s.Route(ctx, func(ctx context.Context, tx *casestore.RouteTx) error {
			var err error
			got, err = tx.GroupCandidates(ctx, q)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, g := range got {
			for name, id := range ids {
				if id == g.Case.ID {
					out = append(out, name)
				}
			}
		}
		slices.Sort(out)
		return strings.Join(out, ",")
	}
	for _, tt := range []struct {
		name string
		q    casestore.CandidateQuery
		want string
	}{
		{"a street in common", casestore.CandidateQuery{Places: []string{"paradis"}, Territory: "marseille-provence"}, "paradis"},
		{"any territory", casestore.CandidateQuery{Places: []string{"paradis"}}, "other territory,paradis"},
		{"a landmark", casestore.CandidateQuery{Places: []string{"@boulangerie"}}, "paradis"},
		{"near by coordinates", casestore.CandidateQuery{Places: []string{"nowhere"}, Lat: at(43.2890), Lon: at(5.3800)}, "located"},
		{"nothing in common", casestore.CandidateQuery{Places: []string{"nowhere"}}, ""},
		// A landmark without a name is everywhere: the cases of another
		// commune are left out, those of no known commune kept.
		{"a landmark in a commune", casestore.CandidateQuery{Places: []string{"@parking"}, Commune: "13041"}, "gardanne,somewhere"},
		{"a landmark, no commune", casestore.CandidateQuery{Places: []string{"@parking"}}, "cassis,gardanne,somewhere"},
	} {
		if got := names(tt.q); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
	// A linked request adds its places, and coordinates the case had not.
	many := []string{"breteuil"}
	for i := 0; i < 100; i++ {
		many = append(many, "rue"+strings.Repeat("x", i%70))
	}
	if _, err := s.Route(ctx, func(ctx context.Context, tx *casestore.RouteTx) error {
		return tx.AddPlaces(ctx, ids["breteuil"], append([]string{"sainte"}, many...), at(43.30), at(5.40))
	}); err != nil {
		t.Fatal(err)
	}
	if got := names(casestore.CandidateQuery{Places: []string{"sainte"}}); got != "breteuil" {
		t.Errorf("after AddPlaces: %q", got)
	}
	if got := names(casestore.CandidateQuery{Lat: at(43.3001), Lon: at(5.4001)}); got != "breteuil" {
		t.Errorf("coordinates after AddPlaces: %q", got)
	}
	var n int
	testkit.QueryRow(t, b.url, `SELECT cardinality(place_keys) FROM cases WHERE id = $1`, []any{ids["breteuil"]}, &n)
	if n > 40 {
		t.Errorf("a case keeps %d places", n)
	}
	// However many pending cases share a place, the look-up reads the
	// latest few times the limit, and returns the latest.
	var gare []int64
	for range 12 {
		create("gare", casestore.NewCase{Places: []string{"@gare"}})
		gare = append(gare, ids["gare"])
		req, raw := newRequest(t)
		if _, err := s.Route(ctx, func(ctx context.Context, tx *casestore.RouteTx) error {
			if err := tx.ClaimRequest(ctx, req, raw); err != nil {
				return err
			}
			return tx.FinishRequest(ctx, req.ID, ids["gare"], 0)
		}); err != nil {
			t.Fatal(err)
		}
	}
	var got []casestore.GroupCandidate
	if _, err := s.Route(ctx, func(ctx context.Context, tx *casestore.RouteTx) error {
		var err error
		got, err = tx.GroupCandidates(ctx, casestore.CandidateQuery{Competences: []string{"voirie"}, Since: time.Now().Add(-time.Hour), Limit: 2, Places: []string{"@gare"}})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Case.ID != gare[11] || got[1].Case.ID != gare[10] {
		t.Errorf("the latest two of twelve sharing a landmark: %+v", got)
	}
}
