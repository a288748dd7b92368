package nearby_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/nearby"
	"github.com/ampmetropole/guichet/services/cases/territory"
	"github.com/ampmetropole/guichet/services/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

func TestCommune(t *testing.T) {
	places, err := territory.Load()
	if err != nil {
		t.Fatal(err)
	}
	for typed, want := range map[string]string{
		"13006":                  "13055", // an arrondissement: Marseille, as incidents keep it
		"13 400":                 "13005", // Aubagne
		"aubagne":                "13005",
		"  La Ciotat ":           "13028",
		"les pennes mirabeau":    "13071",
		"13600":                  "",      // La Ciotat and Ceyreste
		"13005":                  "13055", // Marseille 5e, not Aubagne's INSEE code
		"13001":                  "13055", // Marseille 1er, not Aix-en-Provence's INSEE code
		"13071":                  "13071", // an INSEE code that is no postal code
		"Paris":                  "",
		"":                       "",
		strings.Repeat("a", 200): "",
	} {
		if got := nearby.Commune(places, typed); got != want {
			t.Errorf("Commune(%q) = %q, want %q", typed, got, want)
		}
	}
}

func ptr(f float64) *float64 { return &f }

// TestList: through PostgreSQL, the open incidents of a competence near a
// place, with nothing of the people who reported them.
func TestList(t *testing.T) {
	ctx := context.Background()
	v, err := schemas.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	s, err := casestore.Open(ctx, casestore.Config{URL: testkit.Database(t), CheckEvents: true}, v, testkit.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	now := time.Now()
	open := func(comp, commune, label, place string, lat, lon float64, at time.Time) string {
		var ref string
		if _, err := s.Route(ctx, func(ctx context.Context, tx *casestore.RouteTx) error {
			var err error
			ref, err = tx.OpenIncident(ctx, casestore.NewIncident{Competence: comp, Commune: commune, Label: label, Place: place, Lat: &lat, Lon: &lon, At: at})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return ref
	}
	near := open("voirie", "13055", "nid-de-poule", "rue paradis", 43.2881, 5.3791, now.Add(-time.Hour))
	far := open("voirie", "13055", "nid-de-poule", "boulevard national", 43.3090, 5.3800, now.Add(-2*time.Hour))
	open("eclairage", "13055", "éclairage éteint", "rue paradis", 43.2881, 5.3791, now.Add(-time.Hour))
	open("voirie", "13055", "nid-de-poule", "rue sainte", 43.2900, 5.3700, now.Add(-40*24*time.Hour)) // too old

	refs := func(items []nearby.Item) []string {
		var out []string
		for _, it := range items {
			out = append(out, it.Ref)
		}
		return out
	}
	// Coordinates only: what is within the radius.
	got, err := nearby.List(ctx, s, nearby.Query{Competence: "voirie", Lat: ptr(43.2883), Lon: ptr(5.3793)}, now)
	if err != nil || len(got) != 1 || got[0].Ref != near || got[0].Label != "nid-de-poule" || got[0].Place != "rue paradis" {
		t.Fatalf("near the point: %+v %v", got, err)
	}
	// The commune: its open incidents of the competence, nearest first.
	got, err = nearby.List(ctx, s, nearby.Query{Competence: "voirie", Commune: "13055", Lat: ptr(43.2883), Lon: ptr(5.3793)}, now)
	if err != nil || strings.Join(refs(got), " ") != near+" "+far {
		t.Fatalf("in the commune: %v %v", refs(got), err)
	}
	// No competence or no place: nothing asked of the database.
	for _, q := range []nearby.Query{{Commune: "13055"}, {Competence: "voirie"}, {Competence: "voirie", Lat: ptr(43.2)}} {
		if got, err := nearby.List(ctx, s, q, now); err != nil || len(got) != 0 {
			t.Errorf("%+v: %+v %v", q, got, err)
		}
	}
	// What a person sees: these fields, no one's name or contact.
	js, _ := json.Marshal(got)
	var raw []map[string]any
	_ = json.Unmarshal(js, &raw)
	for k := range raw[0] {
		if !strings.Contains(" ref label place since reports ", " "+k+" ") {
			t.Errorf("field %q shown", k)
		}
	}
}
