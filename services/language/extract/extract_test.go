package extract

import (
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/services/cases/citizen"
	"github.com/ampmetropole/guichet/services/cases/territory"
)

// The sentences below were written for these tests. Phone numbers come from
// the ranges reserved for fiction (04 65 71, 06 39 98), e-mail domains are
// example.* or common webmail.

var (
	extractorOnce sync.Once
	testExtractor *Extractor
	testPlaces    *territory.Directory
)

func setup(t testing.TB) (*Extractor, *territory.Directory) {
	t.Helper()
	extractorOnce.Do(func() {
		dir, err := territory.Load()
		if err != nil {
			panic(err)
		}
		testPlaces, testExtractor = dir, New(dir)
	})
	return testExtractor, testPlaces
}

func TestExtract(t *testing.T) {
	e, _ := setup(t)
	tests := []struct {
		name string
		in   string
		want Facts
	}{
		// A whole call, spoken.
		{"spoken call", "oui bonjour euh je m'appelle marcel giraud j'habite douze avenue de la fontaine à marseille treize mille treize et euh mon dossier c'est a m p deux mille vingt-six zéro zéro quatre deux un trois vous pouvez me rappeler au zéro six trente-neuf quatre-vingt-dix-huit quatorze vingt-sept",
			Facts{CaseRefs: []string{"AMP-2026-004213"}, PostalCode: "13013", CommuneINSEE: "13055", CommuneName: "Marseille",
				Address: "12 avenue de la Fontaine", Name: "Marcel Giraud", Phone: "+33639981427"}},

		// Case references, written.
		{"ref written", "Je vous écris au sujet du dossier AMP-2026-004213.",
			Facts{CaseRefs: []string{"AMP-2026-004213"}}},
		{"ref lower case spaced", "suite à mon signalement amp 2026 004213 rien n'a bougé",
			Facts{CaseRefs: []string{"AMP-2026-004213"}}},
		{"ref short sequence padded", "Référence : AMP 2026-4213",
			Facts{CaseRefs: []string{"AMP-2026-004213"}}},
		{"ref OCR O and l", "0bjet : réclamation, v/réf. AMP-2O26-0051O2",
			Facts{CaseRefs: []string{"AMP-2026-005102"}}},
		{"ref OCR glued", "Dossier AMP2026-0O7I25 en cours",
			Facts{CaseRefs: []string{"AMP-2026-007125"}}},
		{"ref dotted prefix", "votre courrier A.M.P. 2026 318 du mois dernier",
			Facts{CaseRefs: []string{"AMP-2026-000318"}}},
		{"ref several in order without duplicates", "le dossier AMP 2026-4213 puis amp 2026 004213 et enfin AMP-2026-005102",
			Facts{CaseRefs: []string{"AMP-2026-004213", "AMP-2026-005102"}}},

		// Case references, spoken.
		{"ref spoken digit by digit", "alors le numéro c'est A M P deux mille vingt-six zéro zéro quatre deux un trois voilà",
			Facts{CaseRefs: []string{"AMP-2026-004213"}}},
		{"ref spoken as a number", "j'ai un dossier amp deux mille vingt-six trois mille trois cent dix-huit",
			Facts{CaseRefs: []string{"AMP-2026-003318"}}},
		{"ref spoken short year", "c'est le dossier a m p vingt-six quatre mille deux cent treize",
			Facts{CaseRefs: []string{"AMP-2026-004213"}}},
		{"ref spoken number after zeros", "amp deux mille vingt-six zéro zéro cinq cent deux",
			Facts{CaseRefs: []string{"AMP-2026-000502"}}},
		{"ref spoken in pairs", "euh amp deux mille vingt six zéro zéro quarante-deux treize",
			Facts{CaseRefs: []string{"AMP-2026-004213"}}},
		{"ref spoken with tiret and hesitation", "la référence a m p euh deux mille vingt-six tiret zéro zéro cinquante et un zéro deux",
			Facts{CaseRefs: []string{"AMP-2026-005102"}}},

		// Numbers that are not case references.
		{"invoice not a ref", "ma facture numéro 2026 004213 est fausse",
			Facts{}},
		{"permit not a ref", "le permis de construire PC 013 055 26 00042 a été accordé",
			Facts{}},
		{"company ref not a ref", "la société nous cite sa référence OP-2026-0042",
			Facts{}},
		{"fine notice not a ref", "avis de contravention numéro deux mille vingt-six zéro zéro quatre deux un trois",
			Facts{}},
		{"year out of range", "ancien dossier AMP-1998-004213",
			Facts{}},
		{"ref and postal code, no phone", "dossier AMP-2026-004213, j'habite au 13013",
			Facts{CaseRefs: []string{"AMP-2026-004213"}, PostalCode: "13013", CommuneINSEE: "13055", CommuneName: "Marseille"}},

		// Postal codes and communes.
		{"postal written with commune", "12 avenue de la Fontaine 13013 Marseille",
			Facts{PostalCode: "13013", CommuneINSEE: "13055", CommuneName: "Marseille", Address: "12 avenue de la Fontaine"}},
		{"postal after le", "j'habite le 13013 depuis dix ans",
			Facts{PostalCode: "13013", CommuneINSEE: "13055", CommuneName: "Marseille"}},
		{"postal spoken thousand", "c'est au treize mille treize",
			Facts{PostalCode: "13013", CommuneINSEE: "13055", CommuneName: "Marseille"}},
		{"postal spoken digits", "le code postal c'est treize zéro zéro un",
			Facts{PostalCode: "13001", CommuneINSEE: "13055", CommuneName: "Marseille"}},
		{"postal spoken hundreds", "euh le treize cent un",
			Facts{PostalCode: "13001", CommuneINSEE: "13055", CommuneName: "Marseille"}},
		{"postal reading chosen by commune", "treize cent dix à marseille",
			Facts{PostalCode: "13010", CommuneINSEE: "13055", CommuneName: "Marseille"}},
		{"quantity not a postal code", "les travaux ont coûté treize mille cent vingt euros",
			Facts{}},
		{"marseille ordinal", "j'habite Marseille treizième",
			Facts{PostalCode: "13013", CommuneINSEE: "13055", CommuneName: "Marseille"}},
		{"marseille digit ordinal", "Marseille 13e, près du métro",
			Facts{PostalCode: "13013", CommuneINSEE: "13055", CommuneName: "Marseille"}},
		{"arrondissement alone", "c'est dans le treizième euh vers la gare",
			Facts{PostalCode: "13013", CommuneINSEE: "13055", CommuneName: "Marseille"}},
		{"arrondissement ignored with another commune", "j'habite à allauch mais je travaille dans le treizième",
			Facts{CommuneINSEE: "13002", CommuneName: "Allauch"}},
		{"ordinal that is no arrondissement", "c'est le troisième appel pour le même problème",
			Facts{}},
		{"commune without accents and hyphens", "je suis a aix en provence",
			Facts{CommuneINSEE: "13001", CommuneName: "Aix-en-Provence"}},
		{"commune salon de provence", "on est sur salon de provence",
			Facts{CommuneINSEE: "13103", CommuneName: "Salon-de-Provence"}},
		{"commune les pennes mirabeau", "à les pennes mirabeau euh près de l'école",
			Facts{CommuneINSEE: "13071", CommuneName: "Les Pennes-Mirabeau"}},
		{"commune chateauneuf les martigues", "j'habite chateauneuf les martigues",
			Facts{CommuneINSEE: "13026", CommuneName: "Châteauneuf-les-Martigues"}},
		{"commune article merged", "chemin des vignes au Tholonet, 13100",
			Facts{PostalCode: "13100", CommuneINSEE: "13109", CommuneName: "Le Tholonet"}},
		{"postal written in two groups", "c'est au 13 013 à Marseille",
			Facts{PostalCode: "13013", CommuneINSEE: "13055", CommuneName: "Marseille"}},
		{"arrondissement with digit ordinal", "dans le 1er arrondissement",
			Facts{PostalCode: "13001", CommuneINSEE: "13055", CommuneName: "Marseille"}},
		{"commune word that is also a verb", "nous aurons besoin d'aide, j'habite à Aurons",
			Facts{CommuneINSEE: "13008", CommuneName: "Aurons"}},
		{"shared code agrees with commune", "c'est à la ciotat 13600",
			Facts{PostalCode: "13600", CommuneINSEE: "13028", CommuneName: "La Ciotat"}},
		{"shared code alone", "code postal 13600",
			Facts{PostalCode: "13600"}},
		{"outside the department", "Saint-Zacharie 83640, et mon frère à Pertuis",
			Facts{PostalCode: "83640", CommuneINSEE: "83120", CommuneName: "Saint-Zacharie"}},
		{"code chooses among communes", "13100 Saint-Marc-Jaumegarde",
			Facts{PostalCode: "13100", CommuneINSEE: "13095", CommuneName: "Saint-Marc-Jaumegarde"}},
		{"code and commune disagree", "j'habite le 13013 mais le problème est à Aubagne",
			Facts{PostalCode: "13013", CommuneINSEE: "13005", CommuneName: "Aubagne"}},
		{"commune in a street name", "c'est rue d'aubagne à marseille",
			Facts{CommuneINSEE: "13055", CommuneName: "Marseille", Address: "rue d'Aubagne"}},
		{"cassis as a road word", "il y a un cassis sur la route à gémenos",
			Facts{CommuneINSEE: "13042", CommuneName: "Gémenos"}},
		{"metropole name is no commune", "Métropole Aix-Marseille-Provence, service voirie",
			Facts{}},
		{"destination only is weak", "les places sont prises par ceux qui prennent le car pour Marseille",
			Facts{CommuneINSEE: "13055", CommuneName: "Marseille", PlaceWeak: true}},
		{"destination gives way to the place", "la navette vers Aix ne passe plus à Venelles",
			Facts{CommuneINSEE: "13113", CommuneName: "Venelles"}},
		{"going to a commune", "je vais à Aubagne tous les jours et le bus est en retard",
			Facts{CommuneINSEE: "13005", CommuneName: "Aubagne", PlaceWeak: true}},
		{"bus at a commune is the place", "le bus à Aubagne est en retard",
			Facts{CommuneINSEE: "13005", CommuneName: "Aubagne"}},
		{"living near is no destination", "j'habite vers Aubagne",
			Facts{CommuneINSEE: "13005", CommuneName: "Aubagne"}},
		{"first arrondissement ending a turn", "j'habite rue de la république dans le premier\nle site dit non",
			Facts{PostalCode: "13001", CommuneINSEE: "13055", CommuneName: "Marseille", Address: "rue de la République"}},
		{"le premier as a rank", "c'est dans le premier virage après l'école",
			Facts{}},

		// Street addresses.
		{"address bis", "au 3 bis rue Paradis il y a une fuite",
			Facts{Address: "3 bis rue Paradis"}},
		{"address abbreviated", "12 av. de la Libération, 13400 Aubagne",
			Facts{PostalCode: "13400", CommuneINSEE: "13005", CommuneName: "Aubagne", Address: "12 avenue de la Libération"}},
		{"address number in words", "cent vingt-trois bd national",
			Facts{Address: "123 boulevard National"}},
		{"address repeated number", "alors c'est au douze douze avenue de la fontaine euh",
			Facts{Address: "12 avenue de la Fontaine"}},
		{"address without number", "le boulevard du quatorze juillet est bloqué depuis ce matin",
			Facts{Address: "boulevard du 14 Juillet"}},
		{"address stops at commune", "j'habite au 3 rue paradis marseille",
			Facts{Address: "3 rue Paradis", CommuneINSEE: "13055", CommuneName: "Marseille"}},
		{"address weak type needs a number", "sur place il y a un trou au 14 cours mirabeau",
			Facts{Address: "14 cours Mirabeau"}},
		{"address elision and hyphen", "4 impasse de l'Étoile-du-Berger 13380 Plan-de-Cuques",
			Facts{PostalCode: "13380", CommuneINSEE: "13075", CommuneName: "Plan-de-Cuques", Address: "4 impasse de l'Étoile-du-Berger"}},

		// E-mail addresses.
		{"email written", "mon adresse : Jean.Dupont@Example.FR, merci",
			Facts{Email: "jean.dupont@example.fr"}},
		{"email spelled", "mon mail c'est jean point dupont arobase gmail point com",
			Facts{Email: "jean.dupont@gmail.com"}},
		{"email letters and tiret", "c'est k a r i m tiret b e n a l i arobase example point org",
			Facts{Email: "karim-benali@example.org"}},
		{"email underscore and digits", "mon adresse c'est marie tiret du bas durand deux mille arobase hotmail point f r",
			Facts{Email: "marie_durand2000@hotmail.fr"}},
		{"email spelled letter by letter", "c'est j e a n point d u p o n t arobase orange point fr",
			Facts{Email: "jean.dupont@orange.fr"}},
		{"email spelled without dots", "mon mail c'est marcel giraud un deux arobase example point com",
			Facts{Email: "marcelgiraud12@example.com"}},
		{"email invalid dropped", "mon mail c'est jean arobase gmail",
			Facts{}},

		// Names.
		{"name with title kept", "bonjour je suis madame dupont de la métropole euh non pardon",
			Facts{Name: "Madame Dupont"}},
		{"name c'est title", "oui c'est monsieur euh martin",
			Facts{Name: "Monsieur Martin"}},
		{"name moi c'est", "moi c'est karim benali j'habite à vitrolles",
			Facts{Name: "Karim Benali", CommuneINSEE: "13117", CommuneName: "Vitrolles"}},
		{"name mon nom est", "mon nom est Giraud, Marcel Giraud",
			Facts{Name: "Giraud"}},
		{"name de la part de", "j'appelle de la part de madame sophie lefèvre",
			Facts{Name: "Sophie Lefèvre"}},
		{"name abbreviated title", "Je suis M. Dupont, locataire au 5 rue Paradis.",
			Facts{Name: "Monsieur Dupont", Address: "5 rue Paradis"}},
		{"name written", "Je m'appelle Léa Martinez. J'habite 12 rue du 4 septembre.",
			Facts{Name: "Léa Martinez", Address: "12 rue du 4 Septembre"}},
		{"name hyphenated", "ici monsieur jean-pierre durand",
			Facts{Name: "Jean-Pierre Durand"}},
		{"name repeated and hesitant", "je m appelle euh marcel marcel euh giraud et j'appelle pour",
			Facts{Name: "Marcel Giraud"}},
		{"no name: misheard j'appelle", "je m'appelle pour signaler un lampadaire en panne",
			Facts{}},
		{"no name: je suis adjective", "je suis inquiète pour mon fils",
			Facts{}},

		// Call-back numbers.
		{"phone written pairs", "Tél. 06 39 98 14 27",
			Facts{Phone: "+33639981427"}},
		{"phone written whole", "rappelez-moi au 0639984518 svp",
			Facts{Phone: "+33639984518"}},
		{"phone international", "mon portable +33 6 39 98 14 27",
			Facts{Phone: "+33639981427"}},
		{"phone dotted", "tel: 04.65.71.27.74",
			Facts{Phone: "+33465712774"}},
		{"phone spoken with commas", "mon numéro zéro six, trente neuf, quatre vingt dix huit, quarante-cinq, dix-huit",
			Facts{Phone: "+33639984518"}},
		{"phone digit by digit", "vous pouvez me joindre au zéro six trois neuf neuf huit un quatre deux sept",
			Facts{Phone: "+33639981427"}},
		{"phone restarted", "mon numéro c'est le zéro six euh zéro six trente-neuf quatre-vingt-dix-huit quatorze vingt-sept",
			Facts{Phone: "+33639981427"}},
		{"phone mixed digits and words, septante", "au 04 soixante-cinq septante et un vingt-sept septante-quatre",
			Facts{Phone: "+33465712774"}},
		{"phone beside a case reference", "AMP-2026-004213 06 39 98 14 27",
			Facts{CaseRefs: []string{"AMP-2026-004213"}, Phone: "+33639981427"}},
		{"phone then postal code spoken", "mon numéro c'est le zéro six trente neuf quatre vingt dix huit quatorze vingt sept et le code postal treize mille treize",
			Facts{Phone: "+33639981427", PostalCode: "13013", CommuneINSEE: "13055", CommuneName: "Marseille"}},
		{"phone after call-back words preferred", "mon fils a le 06 39 98 11 11 mais rappelez-moi au 04 65 71 27 74",
			Facts{Phone: "+33465712774"}},

		// A letter as OCR reads it.
		{"ocr letter", "Madame Sophie Martin\n8 impasse des Lilas\n13380 Plan-de-Cuques\nTél : 04 65 71 27 74\nsophie.martin@example.net\n\nObjet : v/réf. AMP-2O26-0051O2\n\nMadarne, Monsieur,\nJe vous re1ance au sujet de ma demande.",
			Facts{CaseRefs: []string{"AMP-2026-005102"}, PostalCode: "13380", CommuneINSEE: "13075", CommuneName: "Plan-de-Cuques",
				Address: "8 impasse des Lilas", Email: "sophie.martin@example.net", Phone: "+33465712774"}},

		// Noisy transcript: no punctuation, no accents, repeated words.
		{"noisy transcript", "euh oui bonjour bonjour je je m appelle euh sylvie roux r o u x voila j habite le le treize zero zero cinq au sept rue de la republique et euh et le dossier c est amp vingt six zero zero cinquante et un zero deux et mon portable c est le zero six trente neuf quatre vingt dix huit zero zero zero un",
			Facts{CaseRefs: []string{"AMP-2026-005102"}, PostalCode: "13005", CommuneINSEE: "13055", CommuneName: "Marseille",
				Address: "7 rue de la Republique", Name: "Sylvie Roux", Phone: "+33639980001"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := e.Extract(tt.in)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Extract(%q)\n got %+v\nwant %+v", tt.in, got, tt.want)
			}
		})
	}
	if len(tests) < 40 {
		t.Errorf("%d cases, want at least 40", len(tests))
	}
}

func TestWordsToNumber(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"zéro", 0}, {"un", 1}, {"sept", 7}, {"dix", 10}, {"onze", 11}, {"seize", 16},
		{"dix-sept", 17}, {"dix neuf", 19}, {"vingt", 20}, {"vingt et un", 21}, {"vingt-et-une", 21},
		{"vingt-deux", 22}, {"trente", 30}, {"quarante-cinq", 45}, {"soixante", 60},
		{"soixante-dix", 70}, {"soixante et onze", 71}, {"soixante-douze", 72}, {"soixante dix sept", 77},
		{"quatre-vingts", 80}, {"quatre-vingt", 80}, {"quatre vingt un", 81}, {"quatre-vingt-dix", 90},
		{"quatre-vingt-onze", 91}, {"quatre-vingt-dix-neuf", 99}, {"cent", 100}, {"cent un", 101},
		{"deux cents", 200}, {"deux cent un", 201}, {"cent quatre-vingts", 180},
		{"neuf cent quatre-vingt-dix-neuf", 999}, {"mille", 1000}, {"mille un", 1001},
		{"deux mille", 2000}, {"deux mille vingt-six", 2026}, {"deux mil vingt six", 2026},
		{"2 mille vingt-six", 2026}, {"3 cents", 300}, {"trois mille trois cent dix-huit", 3318},
		{"quatre mille deux cent treize", 4213}, {"treize cent un", 1301}, {"treize mille treize", 13013},
		{"Quatre-Vingt-Dix-Huit", 98}, {"septante", 70}, {"septante-cinq", 75}, {"huitante", 80},
		{"nonante", 90}, {"nonante et un", 91}, {"nonante-neuf", 99},
		{"neuf cent quatre-vingt-dix-neuf mille neuf cent quatre-vingt-dix-neuf", 999999},
		{"2026", 2026},
	}
	for _, tt := range tests {
		if got, ok := wordsToNumber(tt.in); !ok || got != tt.want {
			t.Errorf("wordsToNumber(%q) = %d, %v; want %d", tt.in, got, ok, tt.want)
		}
	}
	for _, in := range []string{"", "bonjour", "vingt vingt", "et un", "deux trois", "cent cent", "un mille", "soixante zéro", "une"} {
		if got, ok := wordsToNumber(in); ok {
			t.Errorf("wordsToNumber(%q) = %d, want no number", in, got)
		}
	}
}

var (
	refPattern   = regexp.MustCompile(`^AMP-20[0-9]{2}-[0-9]{6}$`)
	e164Pattern  = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	fuzzExamples = []string{
		"oui bonjour je m'appelle marcel giraud douze avenue de la fontaine treize mille treize",
		"a m p deux mille vingt-six zéro zéro quatre deux un trois",
		"AMP-2O26-0051O2 AMP2026004213 amp 2026 9999999",
		"zéro six trente-neuf quatre-vingt-dix-huit quatorze vingt-sept +33 (0)6 39 98 14 27",
		"jean point dupont arobase gmail point com k a r i m tiret b e n a l i at example point org",
		"Marseille treizième, dans le 13e arrondissement, treize cent un, 83640",
		"quatre vingt quatre cent vingt pertuis 13 013 1 3 0 1 3",
		"plus plus trente-trois zéro zéro trente-trois",
		"rue rue rue de de de la la",
		"\xff\xfe amp \u0301\u0301 2026 \u200b 4213",
	}
)

func FuzzExtract(f *testing.F) {
	e, dir := setup(f)
	for _, s := range fuzzExamples {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// Work is bounded: a hang is a failure the fuzzer keeps.
		done := make(chan Facts, 1)
		go func() { done <- e.Extract(s) }()
		var got Facts
		select {
		case got = <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("Extract(%q) did not return", s)
		}
		seen := map[string]bool{}
		for _, r := range got.CaseRefs {
			if !refPattern.MatchString(r) || seen[r] {
				t.Fatalf("case reference %q (all %q)", r, got.CaseRefs)
			}
			seen[r] = true
		}
		if got.PostalCode != "" && (len(got.PostalCode) != 5 || len(dir.ByPostalCode(got.PostalCode)) == 0) {
			t.Fatalf("postal code %q is not the Métropole's", got.PostalCode)
		}
		if got.CommuneINSEE != "" {
			c, ok := dir.ByINSEE(got.CommuneINSEE)
			if !ok || c.Name != got.CommuneName {
				t.Fatalf("commune %q %q", got.CommuneINSEE, got.CommuneName)
			}
		}
		if got.Phone != "" {
			if p, err := citizen.NormalizePhone(got.Phone); !e164Pattern.MatchString(got.Phone) || err != nil || p != got.Phone {
				t.Fatalf("phone %q is not E.164", got.Phone)
			}
		}
		if got.Email != "" {
			if a, err := citizen.NormalizeEmail(got.Email); err != nil || a != got.Email {
				t.Fatalf("e-mail %q is not normalized", got.Email)
			}
		}
	})
}

// benchText repeats a call and a letter to MaxInput bytes.
func benchText(unit string) string {
	var b strings.Builder
	for b.Len() < MaxInput {
		b.WriteString(unit)
	}
	return b.String()[:MaxInput]
}

func BenchmarkExtract(b *testing.B) {
	e, _ := setup(b)
	inputs := map[string]string{
		"transcript": benchText("oui bonjour euh je m'appelle marcel giraud j'habite douze avenue de la fontaine à marseille treize mille treize et euh mon dossier c'est a m p deux mille vingt-six zéro zéro quatre deux un trois rappelez-moi au zéro six trente-neuf quatre-vingt-dix-huit quatorze vingt-sept, mon mail jean point dupont arobase gmail point com. "),
		"letter":     benchText("Madame Sophie Martin\n8 impasse des Lilas\n13380 Plan-de-Cuques\nTél : 04 65 71 27 74\nObjet : v/réf. AMP-2O26-0051O2\nMadame, Monsieur, je vous écris au sujet de ma demande.\n"),
		"numbers":    benchText("zéro quatre vingt treize cent un et quatre-vingt-dix-sept mille treize zéro six "),
		"arobases":   benchText("a b c d e f g h i j k l m n o p q r s t arobase gmail point "),
		"streets":    benchText("rue de la de la de la avenue du du cours place "),
		"digits":     benchText("0 13 13 0 0 6 "),
	}
	for name, in := range inputs {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				e.Extract(in)
			}
		})
	}
}
