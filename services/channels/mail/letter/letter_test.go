package letter

import (
	"strings"
	"testing"
	"time"
)

const plain = `Simone Aubert
14 chemin des Oliviers
13300 Salon-de-Provence
Tél. 04 65 71 33 12

                                   Métropole Aix-Marseille-Provence
                                   Direction de la collecte des déchets

Salon-de-Provence, le 3 novembre 2026

Objet : Demande de composteur individuel

Madame, Monsieur,

Je souhaiterais obtenir un composteur pour mon jardin.
Veuillez agréer mes salutations distinguées.

Simone Aubert`

const noisy = `M. Jean-Pierre Castel1i.,
Résidence Les Pins, Bât. B
8 avenue du 24 Avril
13O13 Marseille
jp.castelli@example.org

Marseille, le 1er décembre 2O26

Monsieur le Président,
0bjet : lampadaire éteint, dossier AMP-2O26-0O4213

Le lampadaire devant mon immeuble est toujours éteint.`

func TestRead(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Layout
		bodyHas string
	}{
		{"plain letter", plain, Layout{SenderName: "Simone Aubert", SenderAddress: []string{"14 chemin des Oliviers", "13300 Salon-de-Provence"},
			PostalCode: "13300", City: "Salon-de-Provence", Date: time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC),
			Subject: "Demande de composteur individuel"}, "composteur pour mon jardin"},
		{"OCR noise", noisy, Layout{SenderName: "M. Jean-Pierre Castel1i", SenderAddress: []string{"Résidence Les Pins, Bât. B", "8 avenue du 24 Avril", "13O13 Marseille"},
			PostalCode: "13013", City: "Marseille", Date: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
			Subject: "lampadaire éteint, dossier AMP-2O26-0O4213"}, "toujours éteint"},
		{"no structure", "bonjour il y a un trou rue de Rome", Layout{}, "trou rue de Rome"},
		{"impossible date", "Le 31 février 2026\nObjet : test\ncorps", Layout{Subject: "test"}, "corps"},
		{"empty", "", Layout{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Read(tt.in)
			if got.SenderName != tt.want.SenderName || strings.Join(got.SenderAddress, "|") != strings.Join(tt.want.SenderAddress, "|") ||
				got.PostalCode != tt.want.PostalCode || got.City != tt.want.City || !got.Date.Equal(tt.want.Date) || got.Subject != tt.want.Subject {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			if !strings.Contains(got.Body, tt.bodyHas) {
				t.Errorf("body %q lacks %q", got.Body, tt.bodyHas)
			}
		})
	}
}

func FuzzRead(f *testing.F) {
	f.Add(plain)
	f.Add(noisy)
	f.Fuzz(func(t *testing.T, s string) {
		l := Read(s)
		if l.PostalCode != "" && len(l.PostalCode) != 5 {
			t.Fatalf("postal code %q", l.PostalCode)
		}
	})
}
