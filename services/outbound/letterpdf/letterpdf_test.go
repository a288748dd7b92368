package letterpdf

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The letter reads back, accents included, through poppler's pdftotext
// (installed for the mail channel).
func TestRenderReadsBack(t *testing.T) {
	pdf, err := Render(Letter{
		From:    []string{"Métropole Aix-Marseille-Provence", "Direction de la collecte et du traitement des déchets", "Le Pharo, 58 boulevard Charles Livon", "13007 Marseille"},
		To:      "Mme Léa Martinez\n12 rue Paradis\n13006 Marseille",
		Place:   "Marseille",
		Date:    time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC),
		Ref:     "AMP-2026-000042",
		Subject: "Votre bac « jaune »",
		Body:    "Madame,\n\nUn bac neuf vous sera livré jeudi. Cœur de ville : 15 €.\n\nVeuillez agréer, Madame, nos salutations distinguées.",
		Signoff: "La Direction de la collecte",
		Contact: "Centre de relation usagers — 04 65 71 00 00",
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatal("not a PDF")
	}
	cmd := exec.Command("pdftotext", "-layout", "-", "-")
	cmd.Stdin = bytes.NewReader(pdf)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	text := string(out)
	for _, want := range []string{"Métropole Aix-Marseille-Provence", "Mme Léa Martinez", "13006 Marseille", "Marseille, le 1er décembre 2026",
		"dossier AMP-2026-000042", "Objet : Votre bac « jaune »", "livré jeudi", "Cœur de ville : 15 €", "La Direction de la collecte", "04 65 71 00 00"} {
		if !strings.Contains(text, want) {
			t.Errorf("letter lacks %q:\n%s", want, text)
		}
	}
}
