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

// A batch prints each letter from a new page, with its own address, code
// and foot, in one PDF; an empty batch is refused.
func TestRenderBatch(t *testing.T) {
	from := []string{"Métropole Aix-Marseille-Provence", "Centre de relation usagers"}
	pdf, err := RenderBatch("Accusés du 7 décembre", []Letter{
		{From: from, To: "Simone Aubert\n14 chemin des Oliviers\n13300 SALON-DE-PROVENCE", Place: "Marseille", Date: time.Now(),
			Code: "7KQ4-M2XD-9HPA", Subject: "Accusé de réception de votre courrier", Body: strings.Repeat("Une ligne de texte assez longue pour remplir la page. ", 120), Signoff: "Le service", Contact: "pied Simone"},
		{From: from, To: "Paul Roux\n8 avenue de la Gare\n13400 AUBAGNE", Place: "Marseille", Date: time.Now(),
			Ref: "AMP-2026-000042", Code: "JVD0-PGQN-831Q", Subject: "Votre demande est résolue", Body: "Bonjour,", Signoff: "Le service", Contact: "pied Paul"},
	})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("pdftotext", "-layout", "-", "-")
	cmd.Stdin = bytes.NewReader(pdf)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	pages := strings.Split(strings.TrimRight(string(out), "\f"), "\f")
	if len(pages) < 3 {
		t.Fatalf("%d pages, want the long letter on two and the short one on its own", len(pages))
	}
	last := pages[len(pages)-1]
	for _, want := range []string{"Paul Roux", "13400 AUBAGNE", "dossier AMP-2026-000042 — code de suivi JVD0-PGQN-831Q", "pied Paul"} {
		if !strings.Contains(last, want) {
			t.Errorf("Paul's page lacks %q:\n%s", want, last)
		}
	}
	if strings.Contains(last, "Simone") || !strings.Contains(pages[0], "code de suivi 7KQ4-M2XD-9HPA") || !strings.Contains(pages[0], "pied Simone") ||
		!strings.Contains(pages[1], "pied Simone") {
		t.Errorf("letters mixed across pages:\n%s", out)
	}
	if _, err := RenderBatch("vide", nil); err == nil {
		t.Error("an empty batch printed")
	}
}
