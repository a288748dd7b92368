package territory

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestLoad(t *testing.T) {
	d, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(d.Communes()); n != 92 {
		t.Fatalf("%d communes, want 92", n)
	}
	count := map[string]int{}
	for _, c := range d.Communes() {
		count[c.Territory]++
	}
	want := map[string]int{"pays-d-aix": 36, "marseille-provence": 18, "pays-salonais": 17,
		"pays-d-aubagne-etoile": 12, "istres-ouest-provence": 6, "pays-de-martigues": 3}
	for k, v := range want {
		if count[k] != v {
			t.Errorf("%s: %d communes, want %d", k, count[k], v)
		}
	}
}

func TestResolve(t *testing.T) {
	d, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, insee, pc, want string
		ok                    bool
	}{
		{"Marseille by INSEE", "13055", "", "marseille-provence", true},
		{"Marseille arrondissement", "13206", "", "marseille-provence", true},
		{"Marseille postal code", "", "13006", "marseille-provence", true},
		{"Pertuis, outside dept 13", "", "84120", "pays-d-aix", true},
		{"Saint-Zacharie", "", "83640", "pays-d-aubagne-etoile", true},
		{"La Ciotat + Ceyreste share 13600", "", "13600", "marseille-provence", true},
		{"INSEE wins over postal code", "13041", "13006", "pays-d-aix", true},
		{"outside the Métropole", "", "75001", "", false},
		{"nothing", "", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, ok := d.Resolve(tt.insee, tt.pc)
			if ok != tt.ok || r.Territory != tt.want {
				t.Errorf("Resolve(%q, %q) = %q, %v; want %q, %v", tt.insee, tt.pc, r.Territory, ok, tt.want, tt.ok)
			}
			if ok && r.Reason == "" {
				t.Error("no reason given")
			}
			// Cases keep Marseille for its arrondissements (grouping
			// compares communes by this code).
			if tt.insee == "13206" && (r.Commune == nil || r.Commune.INSEE != "13055") {
				t.Errorf("arrondissement 13206 resolved to commune %+v, want Marseille 13055", r.Commune)
			}
		})
	}
}

func TestCodes(t *testing.T) {
	codes := Codes()
	want := []string{"marseille-provence", "pays-d-aix", "pays-salonais", "pays-d-aubagne-etoile", "istres-ouest-provence", "pays-de-martigues"}
	if !slices.Equal(codes, want) {
		t.Fatalf("Codes() = %v, want %v", codes, want)
	}
	codes[0] = "lune"
	if Codes()[0] != "marseille-provence" {
		t.Error("Codes() hands out its own list")
	}
	for _, tt := range []struct{ code, name string }{
		{"marseille-provence", "Marseille-Provence"},
		{"pays-d-aubagne-etoile", "Pays d'Aubagne et de l'Étoile"},
		{"pays-de-martigues", "Pays de Martigues"},
		{"lune", ""},
		{"", ""},
	} {
		if got := TerritoryName(tt.code); got != tt.name {
			t.Errorf("TerritoryName(%q) = %q, want %q", tt.code, got, tt.name)
		}
	}
}

// TestSchemasListTheCodes holds every territory list of the JSON Schemas
// to Codes.
func TestSchemasListTheCodes(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "..", "schemas", "*.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc any
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var walk func(any)
		walk = func(v any) {
			switch v := v.(type) {
			case map[string]any:
				for k, sub := range v {
					if m, ok := sub.(map[string]any); ok && k == "territory" && m["enum"] != nil {
						found++
						var enum []string
						for _, e := range m["enum"].([]any) {
							enum = append(enum, e.(string))
						}
						if !slices.Equal(enum, Codes()) {
							t.Errorf("%s: territory enum %v, want Codes() %v", filepath.Base(f), enum, Codes())
						}
					}
					walk(sub)
				}
			case []any:
				for _, sub := range v {
					walk(sub)
				}
			}
		}
		walk(doc)
	}
	if found < 2 {
		t.Errorf("found %d territory lists, want those of catalogue.v1 and case-event.v1", found)
	}
}
