package incident

import (
	"regexp"
	"slices"
	"testing"
)

// streetMatches lists every match streetPhrases reads in t, by the
// expression (the reference) or by nextStreet.
func streetMatches(t string, byRegexp bool) [][]int {
	var out [][]int
	for at := 0; at < len(t); {
		var m []int
		if byRegexp {
			if m = streetRe.FindStringSubmatchIndex(t[at:]); m != nil {
				for i := range m {
					if m[i] >= 0 {
						m[i] += at
					}
				}
			}
		} else {
			m = nextStreet(t, at)
		}
		if m == nil {
			break
		}
		out = append(out, m)
		at = m[5]
	}
	return out
}

// nextStreet finds exactly what the expression finds: numbers of one to
// five digits, "bis" and "ter", several spaces (a text and an address
// joined), multi-word types, types as prefixes of words, the text's ends.
func TestNextStreetIsTheExpression(t *testing.T) {
	for _, in := range []string{
		" 12 rue de la paix ", " 12345 rue x ", " 1234 rue x ", " 12 bis rue x ", " 12 ter avenue y ", " 12 bis bis rue x ",
		" 12  rue x ", " x  rue y ", " rue avenue boulevard ", " rues ruelle rue ", " hotel d entreprises z ", " hotel d x ",
		" zone industrielle nord ", " zone x ", " 3 zone industrielle ", " ligne 3 ", " 12 ", " rue", "rue ", " 7 bis ",
		" au 23 rue du tapis vert chemin de la rose ", "", " ", "  ", " 0 parc ", " 99999 99 rue ", " a 1 b 22 ter route c ",
		" ecole elementaire des tilleuls cote chemin de la rose ", " 1 2 3 4 rue ", " rue 12 avenue x ",
	} {
		if got, want := streetMatches(in, false), streetMatches(in, true); !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("%q: nextStreet %v, the expression %v", in, got, want)
		}
	}
}

func FuzzNextStreet(f *testing.F) {
	for _, s := range []string{" 12 bis rue de la paix ", " zone industrielle ", " 1234 avenue x ", " x  12 rue "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := streetMatches(s, false), streetMatches(s, true); !slices.EqualFunc(got, want, slices.Equal) {
			t.Fatalf("%q: nextStreet %v, the expression %v", s, got, want)
		}
		n := digits(Normalize(s))
		if got, want := streetMatches(n, false), streetMatches(n, true); !slices.EqualFunc(got, want, slices.Equal) {
			t.Fatalf("%q: nextStreet %v, the expression %v", n, got, want)
		}
	})
}

// BenchmarkRead reads a call's words as grouping does for each report and
// candidate: go test -bench Read ./services/routing/incident
func BenchmarkRead(b *testing.B) {
	r := Report{Competence: "eau_assainissement",
		Text: "Bonjour, je vous appelle parce qu'il y a un geyser qui sort du trottoir devant le 31 avenue des Chartreux, " +
			"en face de la pharmacie, ça coule depuis ce matin sur toute la rue et l'eau commence à rentrer dans le hall " +
			"de la résidence Les Amarres. Les voisins du 33 bis ont appelé aussi je crois. Merci de faire vite.",
		Agent: []AgentTurn{{Question: "Nous avons déjà un signalement au 12 rue Sainte, c'est bien là ?", Answer: "Non, avenue des Chartreux."}}}
	b.ReportAllocs()
	for b.Loop() {
		if w := Read(r); len(w.f.streets) == 0 {
			b.Fatal("no street read")
		}
	}
}

// The expressions the scan and the phrase lists replaced, as the
// reference they are held to.
var (
	streetRe     = regexp.MustCompile(` (?:(\d{1,4}) (?:bis |ter )?)?(` + streetTypes + `) `)
	recurrenceRe = regexp.MustCompile(` (de nouveau|a nouveau|encore en panne|encore tout eteint|avait ete repare|ont ete repare|etait deja en panne|reparee? le) `)
	notReportRe  = regexp.MustCompile(` (rendez vous|prendre rdv|creneaux|louer un|demande de location|disponibilites|reamenagement|projet d amenagement|je voudrais faire enlever) `)
	homeRe       = regexp.MustCompile(` (chez moi|chez nous|notre (rue|avenue|boulevard|chemin|impasse|traverse|residence|immeuble|allee|lotissement)|ma rue|mon immeuble|ma residence|devant chez|en bas de chez) `)
)

// samePhrases says where a phrase list and its expression disagree on t.
func samePhrases(t string) string {
	for name, c := range map[string]struct {
		p  phrases
		re *regexp.Regexp
	}{"recurrence": {recurrence, recurrenceRe}, "notReport": {notReport, notReportRe}, "home": {home, homeRe}} {
		if c.p.in(t) != c.re.MatchString(t) {
			return name
		}
	}
	return ""
}

func TestPhrasesAreTheExpressions(t *testing.T) {
	for _, in := range []string{
		" il est de nouveau en panne ", " a nouveau ", " de nouveaux ", " repare le ", " reparee le ", " reparees le ",
		" prendre rdv ", " prendre rdvs ", " notre rue ", " notre ruelle ", " notre immeuble est ", " en bas de chez moi ",
		" devant chez ", "devant chez ", " chez moi", " ma rue ", " ma  rue ", "", " ",
	} {
		if name := samePhrases(in); name != "" {
			t.Errorf("%q: %s and its expression disagree", in, name)
		}
	}
}

func FuzzPhrases(f *testing.F) {
	for _, s := range []string{"Il est de nouveau en panne, réparé le 3 mars.", "Je voudrais faire enlever un canapé", "En bas de chez moi"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, in := range []string{s, digits(Normalize(s))} {
			if name := samePhrases(in); name != "" {
				t.Fatalf("%q: %s and its expression disagree", in, name)
			}
		}
	})
}
