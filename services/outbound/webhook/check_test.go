package webhook_test

import (
	"net"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/ampmetropole/guichet/services/cases/catalogue"
	"github.com/ampmetropole/guichet/services/cases/territory"
	"github.com/ampmetropole/guichet/services/outbound/webhook"
)

func rules(t testing.TB, allowHTTP bool) webhook.Rules {
	t.Helper()
	cat, err := catalogue.Default()
	if err != nil {
		t.Fatal(err)
	}
	places, err := territory.Load()
	if err != nil {
		t.Fatal(err)
	}
	return webhook.Rules{AllowHTTP: allowHTTP, Catalogue: cat, Places: places}
}

// TestCheck: what an admin may subscribe, field by field, and how the
// filters are normalized (commune names to INSEE codes, Marseille's
// arrondissements to Marseille, repeats dropped).
func TestCheck(t *testing.T) {
	ok := webhook.Draft{Name: " Partenaire ", URL: " https://partenaire.example.fr/hooks?x=1 "}
	for _, tc := range []struct {
		name      string
		allowHTTP bool
		edit      func(d *webhook.Draft)
		field     string // "" when valid
		says      string
	}{
		{"https", false, func(*webhook.Draft) {}, "", ""},
		{"HTTPS", false, func(d *webhook.Draft) { d.URL = "HTTPS://A.example/X" }, "", ""},
		{"no name", false, func(d *webhook.Draft) { d.Name = "   " }, webhook.FieldName, "Donnez un nom"},
		{"long name", false, func(d *webhook.Draft) { d.Name = strings.Repeat("é", webhook.MaxName+1) }, webhook.FieldName, "trop long"},
		{"control in name", false, func(d *webhook.Draft) { d.Name = "a\x00b" }, webhook.FieldName, "non permis"},
		{"no URL", false, func(d *webhook.Draft) { d.URL = "" }, webhook.FieldURL, "Indiquez l'adresse"},
		{"long URL", false, func(d *webhook.Draft) { d.URL = "https://a.example/" + strings.Repeat("a", webhook.MaxURL) }, webhook.FieldURL, "trop longue"},
		{"not a URL", false, func(d *webhook.Draft) { d.URL = "partenaire.example.fr" }, webhook.FieldURL, "pas une URL"},
		{"ftp", false, func(d *webhook.Draft) { d.URL = "ftp://partenaire.example.fr/" }, webhook.FieldURL, "pas une URL"},
		{"spaces", false, func(d *webhook.Draft) { d.URL = "https://a.example/ b" }, webhook.FieldURL, "espaces"},
		{"credentials", false, func(d *webhook.Draft) { d.URL = "https://moi:secret@a.example/" }, webhook.FieldURL, "mot de passe"},
		{"fragment", false, func(d *webhook.Draft) { d.URL = "https://a.example/#x" }, webhook.FieldURL, "fragment"},
		{"public http", true, func(d *webhook.Draft) { d.URL = "http://partenaire.example.fr/" }, webhook.FieldURL, "https://"},
		{"loopback http, not allowed", false, func(d *webhook.Draft) { d.URL = "http://127.0.0.1:8080/" }, webhook.FieldURL, "https://"},
		{"loopback http, allowed", true, func(d *webhook.Draft) { d.URL = "http://127.0.0.1:8080/" }, "", ""},
		{"localhost http, allowed", true, func(d *webhook.Draft) { d.URL = "http://localhost:8080/x" }, "", ""},
		{"unknown competence", false, func(d *webhook.Draft) { d.Competences = []string{"voirie", "astronomie"} }, webhook.FieldCompetences, "astronomie"},
		{"unknown territory", false, func(d *webhook.Draft) { d.Territories = []string{"corse"} }, webhook.FieldTerritories, "corse"},
		{"unknown commune", false, func(d *webhook.Draft) { d.Communes = []string{"Aubagne", "Paris", "75056"} }, webhook.FieldCommunes, "« Paris », « 75056 »"},
		{"unknown event type", false, func(d *webhook.Draft) { d.EventTypes = []string{"deleted"} }, webhook.FieldEventTypes, "deleted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := ok
			tc.edit(&d)
			_, bad := rules(t, tc.allowHTTP).Check(d)
			if tc.field == "" {
				if bad != nil {
					t.Fatalf("refused: %v", bad)
				}
				return
			}
			if len(bad) != 1 || bad[0].Field != tc.field || !strings.Contains(bad[0].Message, tc.says) {
				t.Fatalf("got %+v, want one error on %s saying %q", bad, tc.field, tc.says)
			}
		})
	}
	d, bad := rules(t, false).Check(webhook.Draft{Name: " Aix ", URL: "Https://A.example/B",
		Communes:    []string{"aix en provence", "13001", "13201", " Les Pennes-Mirabeau ", "", "aubagne"},
		Competences: []string{"voirie", "eclairage", "voirie"}, EventTypes: []string{"state_changed", "created"}})
	if bad != nil {
		t.Fatal(bad)
	}
	if d.Name != "Aix" || d.URL != "https://A.example/B" || !slices.Equal(d.Communes, []string{"13001", "13005", "13055", "13071"}) ||
		!slices.Equal(d.Competences, []string{"eclairage", "voirie"}) || !slices.Equal(d.EventTypes, []string{"created", "state_changed"}) {
		t.Fatalf("normalized: %+v", d)
	}
	if s := webhook.NewSecret(); !strings.HasPrefix(s, "whsec_") || len(s) != len("whsec_")+44 || s == webhook.NewSecret() {
		t.Fatalf("secret %q", s)
	}
}

// FuzzCheck: whatever an admin types, Check does not panic, and what it
// accepts is within bounds and goes nowhere but https (or http to the
// loopback when allowed).
func FuzzCheck(f *testing.F) {
	for _, s := range []string{"https://a.example/x", "http://127.0.0.1:1/", "http://[::1]/", "javascript:alert(1)", "https://u:p@h/", "//h/x", "https://h/#f", "Aix-en-Provence"} {
		f.Add("Nom", s, "Aubagne, 13201")
	}
	r := rules(f, true)
	f.Fuzz(func(t *testing.T, name, u, communes string) {
		d, bad := r.Check(webhook.Draft{Name: name, URL: u, Communes: strings.Split(communes, ",")})
		if bad != nil {
			return
		}
		if d.Name == "" || len([]rune(d.Name)) > webhook.MaxName || len(d.URL) > webhook.MaxURL {
			t.Fatalf("accepted %+v", d)
		}
		if !strings.HasPrefix(d.URL, "https://") && !strings.HasPrefix(d.URL, "http://") {
			t.Fatalf("accepted %q", d.URL)
		}
		if strings.HasPrefix(d.URL, "http://") {
			if p, err := url.Parse(d.URL); err != nil || (p.Hostname() != "localhost" && !net.ParseIP(p.Hostname()).IsLoopback()) {
				t.Fatalf("accepted plain http to %q", d.URL)
			}
		}
	})
}
