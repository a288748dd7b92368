package classify

import (
	"slices"
	"strings"
	"testing"
)

func stems(toks []Token) string {
	var s []string
	for _, t := range toks {
		s = append(s, t.Stem)
	}
	return strings.Join(s, " ")
}

func TestAnalyze(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Le lampadaire est éteint", "lampadair eteint"},
		{"les lampadaires sont ETEINTS", "lampadair eteint"},
		{"L'éclairage d'une rue qu'on m'a signalé", "eclairag ru signal"},
		{"l’eau coule jusqu’à la route", "eau coul rout"},
		{"nid-de-poule au 12 rue de la Paix, 13006 Marseille", "nid poul ru paix marseil"},
		{"slt ya 1 trou svp", "trou"},
		{"écrivez à jean.dupont@example.org ou https://exemple.fr/x", "ecriv"},
		{"Bonjour Madame, cordialement", ""},
		{"Œuvre cœur", "oeuvr coeur"},
		{"Voir WWW.Exemple.FR/trottoir ou HTTPS://Exemple.fr, LEA@EXEMPLE.FR : trottoir", "voir trottoir"},
	} {
		if got := stems(Analyze(tc.in)); got != tc.want {
			t.Errorf("Analyze(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	// The Analyzer, which keeps the words it stemmed, reads the same,
	// first and again.
	a := &Analyzer{}
	for pass := range 2 {
		for _, in := range []string{"Le lampadaire est éteint", "les lampadaires sont ETEINTS", "Voir WWW.Exemple.FR/trottoir", "slt ya 1 trou svp"} {
			if got, want := a.Analyze(in), Analyze(in); !slices.Equal(got, want) {
				t.Errorf("pass %d: Analyzer.Analyze(%q) = %+v, Analyze %+v", pass, in, got, want)
			}
		}
	}
	toks := Analyze("Les poubelles ramassées")
	if len(toks) != 2 || toks[0].Word != "poubelles" || toks[1].Word != "ramassées" || toks[1].Stem != "ramass" {
		t.Errorf("words %+v", toks)
	}
}

func TestAnalyzeIsBounded(t *testing.T) {
	long := strings.Repeat("lampadaire ", MaxText)
	if n := len(Analyze(long)); n > MaxText/10 {
		t.Errorf("%d tokens from an over-long text", n)
	}
}

func FuzzAnalyze(f *testing.F) {
	for _, s := range []string{"Le lampadaire est éteint", "l'eau", "a'''b", "é\u0301", "\xff\xfe", "13006", "x@y.fr"} {
		f.Add(s)
	}
	a := &Analyzer{}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := a.Analyze(s), Analyze(s); !slices.Equal(got, want) {
			t.Fatalf("Analyzer.Analyze(%q) = %+v, Analyze %+v", s, got, want)
		}
		for _, tok := range Analyze(s) {
			if tok.Stem == "" || tok.Word == "" || strings.ContainsAny(tok.Stem, " '") {
				t.Fatalf("bad token %+v from %q", tok, s)
			}
		}
	})
}

func TestRules(t *testing.T) {
	r, err := CompileRules([]Rule{
		{Competence: "voirie", Phrase: "nid-de-poule", Weight: 2},
		{Competence: "eclairage", Phrase: "lampadaire éteint", Weight: 2.5},
		{Competence: "environnement", Phrase: "fête des voisins", Weight: -1},
	})
	if err != nil {
		t.Fatal(err)
	}
	hits := r.Match(Analyze("Deux nids de poules et des lampadaires eteints depuis la fete des voisins"))
	var got []string
	for _, h := range hits {
		got = append(got, h.Competence+":"+h.Words)
	}
	if want := "voirie:nids poules eclairage:lampadaires eteints environnement:fete voisins"; strings.Join(got, " ") != want {
		t.Errorf("hits %q, want %q", strings.Join(got, " "), want)
	}
	if hits := r.Match(Analyze("un lampadaire neuf, éteint")); len(hits) != 0 {
		t.Errorf("phrase matched across words: %+v", hits)
	}
	if _, err := CompileRules([]Rule{{Competence: "voirie", Phrase: "de la", Weight: 1}}); err == nil {
		t.Error("a phrase of stop words was accepted")
	}
}

// An acronym matches as a whole word: its stem would match inside other
// words (PLUi in "pluies", CAF in "café", TER in "terres").
func TestRulesAcronymsAreWholeWords(t *testing.T) {
	r, err := CompileRules([]Rule{
		{Competence: "urbanisme", Phrase: "PLUi", Weight: 2},
		{Competence: "action_sociale", Phrase: "CAF", Weight: 2},
		{Competence: "mobilite", Phrase: "TER", Weight: 2},
		{Competence: "mobilite", Phrase: "PayByPhone", Weight: 2},
		{Competence: "voirie", Phrase: "trottoir", Weight: 1}, // an ordinary word keeps its inflections
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ text, want string }{
		{"Les pluies ont inondé la cave, au café des terres rouges", ""},
		{"Le PLUi de la Métropole et la plui intercommunale", "urbanisme:plui"},
		{"Ma caf ne répond pas", "action_sociale:caf"},
		{"le TER de 8 h est supprimé, paiement paybyphone refusé, trottoirs défoncés", "mobilite:ter mobilite:paybyphone voirie:trottoirs"},
	} {
		var got []string
		for _, h := range r.Match(Analyze(tt.text)) {
			got = append(got, h.Competence+":"+h.Words)
		}
		if strings.Join(got, " ") != tt.want {
			t.Errorf("%q: %q, want %q", tt.text, strings.Join(got, " "), tt.want)
		}
	}
}
