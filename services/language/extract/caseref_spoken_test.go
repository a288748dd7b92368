package extract

import (
	"slices"
	"strings"
	"testing"
)

// The sentences below were written for these tests: case references said
// the way callers say them to a speech-to-text engine, with restarts,
// repeats in a later turn, reference words instead of "AMP", and numbers
// that are not case references.

func TestCaseRefsSpoken(t *testing.T) {
	e, _ := setup(t)
	tests := []struct {
		name string
		in   string
		want []string
	}{
		// Restarts.
		{"year restarted after a filler",
			"c'est a m p vingt-six euh deux mille vingt-six zéro zéro quatre-vingt-quinze quarante et un",
			[]string{"AMP-2026-009541"}},
		{"year restarted without a filler",
			"le dossier amp vingt-six deux mille vingt-six zéro zéro neuf cinq quatre un",
			[]string{"AMP-2026-009541"}},
		{"year corrected",
			"amp deux mille vingt-cinq euh non pardon deux mille vingt-six zéro zéro neuf cinq quatre un",
			[]string{"AMP-2026-009541"}},
		{"sequence restarted from its start",
			"amp deux mille vingt-six zéro zéro euh zéro zéro neuf cinq quatre un",
			[]string{"AMP-2026-009541"}},
		{"sequence restarted after one zero",
			"amp deux mille vingt-six zéro euh zéro zéro neuf cinq quatre un c'est ça",
			[]string{"AMP-2026-009541"}},
		{"group said again",
			"amp deux mille vingt-six zéro zéro quatre-vingt euh quatre-vingt-quinze quarante et un",
			[]string{"AMP-2026-009541"}},
		{"sequence restarted in other groups",
			"a m p deux mille vingt-six zéro zéro quatre-vingt-quinze euh zéro zéro neuf cinq quatre un",
			[]string{"AMP-2026-009541"}},
		{"restart after attendez",
			"a m p deux mille vingt-six attendez zéro zéro neuf cinq quatre un",
			[]string{"AMP-2026-009541"}},
		{"year said digit by digit",
			"amp deux zéro deux six zéro zéro neuf cinq quatre un",
			[]string{"AMP-2026-009541"}},
		{"year said vingt vingt-six",
			"amp vingt vingt-six zéro zéro neuf cinq quatre un",
			[]string{"AMP-2026-009541"}},
		{"year alone is no reference",
			"mon dossier c'est amp deux mille vingt-six euh je l'ai plus sous les yeux",
			nil},

		// Repeated in a later turn, without "AMP".
		{"agent repeats digit by digit",
			"Appelant : oui c'est le dossier amp deux mille vingt-six euh attendez\nAgent : zéro zéro neuf cinq quatre un d'accord je la retrouve",
			[]string{"AMP-2026-009541"}},
		{"caller completes in the next turn",
			"c'est a m p deux mille vingt-six euh\nzéro zéro neuf cinq quatre un",
			[]string{"AMP-2026-009541"}},
		{"partial reading completed by the repeat",
			"amp deux mille vingt-six zéro zéro neuf\nzéro zéro neuf cinq quatre un voilà",
			[]string{"AMP-2026-009541"}},
		{"repeat in pairs",
			"amp deux mille vingt-six euh je cherche\noui zéro zéro quatre-vingt-quinze quarante et un",
			[]string{"AMP-2026-009541"}},
		{"repeat after a question mark",
			"amp deux mille vingt-six euh\nc'est ça ? zéro zéro neuf cinq quatre un",
			[]string{"AMP-2026-009541"}},
		{"repeat that agrees",
			"amp deux mille vingt-six zéro zéro neuf cinq quatre un\nzéro zéro neuf cinq quatre un c'est bien ça",
			[]string{"AMP-2026-009541"}},
		{"ma référence then year and digits",
			"oui alors ma référence euh je l'ai sous les yeux c'est deux mille vingt-six zéro zéro neuf cinq quatre un",
			[]string{"AMP-2026-009541"}},
		{"numéro de dossier in the previous turn",
			"je vous donne le numéro de dossier attendez\nalors deux mille vingt-six zéro un neuf un zéro quatre",
			[]string{"AMP-2026-019104"}},
		{"digits alone need a year",
			"ma référence euh attendez\nzéro zéro neuf cinq quatre un",
			nil},
		{"repeat too far away does not count",
			"amp deux mille vingt-six euh je sais plus" + strings.Repeat(" et puis il y a eu encore un souci", 20) + " zéro zéro neuf cinq quatre un",
			nil},

		// Readings that disagree.
		{"ambiguous grouping resolved by the digit-by-digit repeat",
			"amp euh deux mille vingt-six zéro dix-neuf cent zéro quatre\nAgent : pardon je répète deux mille vingt-six zéro un neuf un zéro quatre",
			[]string{"AMP-2026-019104"}},
		{"ambiguous grouping and repeat on the same line",
			"amp euh deux mille vingt-six zéro dix-neuf cent zéro quatre deux mille vingt-six zéro un neuf un zéro quatre",
			[]string{"AMP-2026-019104"}},
		{"ambiguous grouping alone invents nothing",
			"amp euh deux mille vingt-six zéro dix-neuf cent zéro quatre",
			nil},
		{"digit by digit preferred over a number said whole",
			"amp deux mille vingt-six neuf mille cinq cent quarante\nzéro zéro neuf cinq quatre un",
			[]string{"AMP-2026-009541"}},
		{"the reading said twice preferred",
			"amp deux mille vingt-six zéro zéro neuf cinq quatre un\nzéro zéro neuf cinq un quatre\nnon zéro zéro neuf cinq quatre un",
			[]string{"AMP-2026-009541"}},
		{"equal readings both kept in order",
			"amp deux mille vingt-six zéro zéro neuf cinq quatre un\nzéro zéro neuf cinq un quatre",
			[]string{"AMP-2026-009541", "AMP-2026-009514"}},
		{"two references said one after the other",
			"j'ai deux dossiers amp deux mille vingt-six zéro zéro quatre deux un trois et amp deux mille vingt-six zéro zéro neuf cinq quatre un",
			[]string{"AMP-2026-004213", "AMP-2026-009541"}},

		// Prefixes and reference words.
		{"à m p", "à m p deux mille vingt-six zéro zéro neuf cinq quatre un", []string{"AMP-2026-009541"}},
		{"a.m.p", "le a.m.p deux mille vingt-six zéro zéro neuf cinq quatre un", []string{"AMP-2026-009541"}},
		{"am p", "am p deux mille vingt-six zéro zéro neuf cinq quatre un", []string{"AMP-2026-009541"}},
		{"la référence without amp",
			"la référence deux mille vingt-six zéro zéro neuf cinq quatre un", []string{"AMP-2026-009541"}},
		{"la référence c'est le",
			"euh la référence c'est le deux mille vingt-six neuf mille cinq cent quarante et un", []string{"AMP-2026-009541"}},
		{"numéro de dossier",
			"mon numéro de dossier c'est deux mille vingt-six zéro un neuf un zéro quatre", []string{"AMP-2026-019104"}},
		{"dossier numéro written",
			"Dossier numéro 2026 019104, toujours rien.", []string{"AMP-2026-019104"}},
		{"référence written",
			"Votre référence : 2026-009541", []string{"AMP-2026-009541"}},
		{"référence then year said later",
			"la référence deux mille vingt-six euh attendez\nzéro zéro neuf cinq quatre un", []string{"AMP-2026-009541"}},
		{"written across a hyphenated line break",
			"Objet : dossier AMP-2026-\n009541", []string{"AMP-2026-009541"}},
		{"written with the prefix alone on its line",
			"Objet : relance dossier AMP\n2026-009541", []string{"AMP-2026-009541"}},

		// Numbers that are not case references.
		{"invoice number", "facture numéro 2026 004 512", nil},
		{"invoice spoken", "ma facture numéro deux mille vingt-six zéro zéro quatre cinq un deux", nil},
		{"invoice after a reference",
			"mon dossier amp deux mille vingt-six zéro zéro neuf cinq quatre un et la facture numéro 2026 004512",
			[]string{"AMP-2026-009541"}},
		{"invoice spoken after a reference",
			"amp deux mille vingt-six zéro zéro neuf cinq quatre un\nmais la facture c'est deux mille vingt-six zéro zéro quatre cinq un deux",
			[]string{"AMP-2026-009541"}},
		{"référence of an invoice",
			"la référence de la facture c'est deux mille vingt-six zéro zéro quatre cinq un deux", nil},
		{"building permit", "permis de construire PC 013 055 26 00123", nil},
		{"building permit after a reference",
			"amp 2026 009541, permis de construire PC 013 055 26 00123", []string{"AMP-2026-009541"}},
		{"fine notice", "avis de contravention numéro deux mille vingt-six zéro zéro quatre deux un trois", nil},
		{"fine notice after dossier",
			"au sujet de mon dossier j'ai reçu un avis de contravention numéro deux mille vingt-six zéro zéro quatre deux un trois", nil},
		{"contract number", "mon contrat numéro 2026 004512 chez le fournisseur", nil},
		{"contract after a reference word",
			"ma référence attendez\nnon c'est mon contrat deux mille vingt-six zéro zéro quatre cinq un deux", nil},
		{"another prefix", "la société nous cite sa référence OP-2026-0042", nil},
		{"another prefix after a reference",
			"dossier AMP-2026-009541, leur référence OP-2026-004200", []string{"AMP-2026-009541"}},
		{"a year and an amount after dossier",
			"mon dossier est en cours\nen deux mille vingt-six j'ai payé trois cents euros", nil},
		{"postal code after a reference attempt",
			"amp deux mille vingt-six euh je sais plus\nj'habite treize zéro zéro un", nil},
		{"year of a date after dossier",
			"le dossier du douze mars deux mille vingt-six zéro six trente-neuf", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := e.Extract(tt.in).CaseRefs
			if !slices.Equal(got, tt.want) {
				t.Errorf("Extract(%q).CaseRefs\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

// Numbers near a reference keep their own meaning: the call-back number and
// the postal code are still found.
func TestCaseRefsSpokenOtherFacts(t *testing.T) {
	e, _ := setup(t)
	tests := []struct {
		name string
		in   string
		want Facts
	}{
		{"phone after a failed reference",
			"amp deux mille vingt-six euh je sais plus rappelez-moi au zéro six trente-neuf quatre-vingt-dix-huit quatorze vingt-sept",
			Facts{Phone: "+33639981427"}},
		{"phone said digit by digit after a reference",
			"amp deux mille vingt-six zéro zéro neuf cinq quatre un\nmon portable zéro six trois neuf neuf huit un quatre deux sept",
			Facts{CaseRefs: []string{"AMP-2026-009541"}, Phone: "+33639981427"}},
		{"phone right after the digits",
			"amp deux mille vingt-six zéro zéro neuf cinq quatre un zéro six trente-neuf quatre-vingt-dix-huit quatorze vingt-sept",
			Facts{CaseRefs: []string{"AMP-2026-009541"}, Phone: "+33639981427"}},
		{"postal code after a repeat",
			"amp deux mille vingt-six euh\nzéro zéro neuf cinq quatre un et j'habite treize mille treize",
			Facts{CaseRefs: []string{"AMP-2026-009541"}, PostalCode: "13013", CommuneINSEE: "13055", CommuneName: "Marseille"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := e.Extract(tt.in)
			got.Name, got.Address = "", ""
			if !factsEqual(got, tt.want) {
				t.Errorf("Extract(%q)\n got %+v\nwant %+v", tt.in, got, tt.want)
			}
		})
	}
}

func factsEqual(a, b Facts) bool {
	return slices.Equal(a.CaseRefs, b.CaseRefs) && a.PostalCode == b.PostalCode && a.CommuneINSEE == b.CommuneINSEE &&
		a.CommuneName == b.CommuneName && a.Email == b.Email && a.Phone == b.Phone
}

// Work stays bounded however the references are said: many restarts,
// fillers and repeats in one long text.
func TestCaseRefsSpokenBounded(t *testing.T) {
	e, _ := setup(t)
	unit := "amp euh deux mille vingt-six euh zéro euh zéro euh dix-neuf cent euh zéro euh quatre euh deux mille vingt-six zéro un neuf un zéro quatre non pardon zéro zéro neuf cinq quatre un "
	var b strings.Builder
	for b.Len() < MaxInput {
		b.WriteString(unit)
	}
	got := e.Extract(b.String()[:MaxInput])
	if len(got.CaseRefs) > maxRefs {
		t.Fatalf("%d references, want at most %d", len(got.CaseRefs), maxRefs)
	}
}
