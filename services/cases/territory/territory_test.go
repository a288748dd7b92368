package territory

import "testing"

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
		})
	}
}
