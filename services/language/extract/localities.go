package extract

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"fmt"
	"slices"
	"sync"

	"github.com/ampmetropole/guichet/services/cases/territory"
)

// localitiesCSV is the gazetteer of places people name instead of their
// commune: Marseille's quartiers, hamlets, streets and landmarks (see the
// file's header for its columns).
//
//go:embed localities.csv
var localitiesCSV []byte

// locality is one place of the gazetteer.
type locality struct {
	name  string
	words []string // locWord forms, particles after the first word dropped
	// article is the name's leading article ("la" Rose, "les" Olives, "l'"
	// Estaque), said or not; "" for none.
	article string
	insee   string // commune, or Marseille arrondissement (13201–13216)
	pc      string // postal code, "" when not certain
	kind    string // quartier, hameau, lieu, voie
	prep    int    // needs_prep: 0 alone, 1 introduced, 2 after "quartier" or with its commune
}

// Needs-prep levels.
const (
	locAlone      = 0
	locIntroduced = 1
	locStrict     = 2
)

// localityTable maps the first word of each name, in every form locWord
// reads as one ("bd", "boulevard"), to the places it starts, longest names
// first.
type localityTable map[string][]*locality

// localities is the embedded gazetteer, parsed once.
var localities = sync.OnceValue(func() localityTable {
	t, err := parseLocalities(localitiesCSV)
	if err != nil {
		return localityTable{} // the tests hold the file valid
	}
	return t
})

// parseLocalities reads the gazetteer: name,insee,postal_code,kind,needs_prep,
// "#" lines are comments.
func parseLocalities(data []byte) (localityTable, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.Comment = '#'
	r.FieldsPerRecord = 5
	rows, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("localities: %w", err)
	}
	t := localityTable{}
	for i, row := range rows {
		if i == 0 {
			continue // header
		}
		l := &locality{name: row[0], insee: row[1], pc: row[2], kind: row[3]}
		switch row[4] {
		case "0", "":
			l.prep = locAlone
		case "1":
			l.prep = locIntroduced
		case "2":
			l.prep = locStrict
		default:
			return nil, fmt.Errorf("localities: %s: needs_prep %q", l.name, row[4])
		}
		switch l.kind {
		case "quartier", "hameau", "lieu", "voie":
		default:
			return nil, fmt.Errorf("localities: %s: kind %q", l.name, l.kind)
		}
		l.article, l.words = locWords(l.name)
		if len(l.words) == 0 {
			return nil, fmt.Errorf("localities: %q has no words", l.name)
		}
		t[l.words[0]] = append(t[l.words[0]], l)
		// "ND de la Garde" for "Notre-Dame de la Garde".
		if len(l.words) > 2 && l.words[0] == "notre" && l.words[1] == "dame" {
			nd := *l
			nd.words = append([]string{"nd"}, l.words[2:]...)
			t["nd"] = append(t["nd"], &nd)
		}
	}
	for k, ls := range t {
		slices.SortStableFunc(ls, func(a, b *locality) int { return len(b.words) - len(a.words) })
		t[k] = ls
	}
	// The other forms of a first word ("bd", "st", "ste", "3") share its
	// places: one lookup per word of the text.
	for w, canon := range locAbbr {
		if ls, ok := t[canon]; ok {
			t[w] = ls
		}
	}
	for _, w := range []string{"st", "ste", "sainte"} {
		t[w] = t["saint"]
	}
	return t, nil
}

// locWords splits a name into its leading article and its words as
// locWord reads them, particles after the first word left out: "La Belle
// de Mai" is "la" + [belle mai], "Bd de la Valbarelle" [boulevard
// valbarelle].
func locWords(name string) (string, []string) {
	toks := tokenize(name)
	article := ""
	if len(toks) > 1 && articles[toks[0].w] {
		article, toks = toks[0].w, toks[1:]
	}
	var ws []string
	for k, t := range toks {
		if k > 0 && particles[t.w] {
			continue
		}
		ws = append(ws, locWord(t.w))
	}
	return article, ws
}

// articles may lead a place's name.
var articles = set("la", "le", "les", "l")

// locAbbr are the written-out forms of street types ("bd" → "boulevard"),
// folded, and the digits said in names ("les 3 Lucs").
var locAbbr = func() map[string]string {
	m := map[string]string{"pl": "place", "2": "deux", "3": "trois", "4": "quatre", "5": "cinq"}
	for w, st := range streetTypes {
		if ts := tokenize(st.canon); len(ts) == 1 && ts[0].w != w {
			m[w] = ts[0].w
		}
	}
	return m
}()

// locWord is the form a word is compared in: saint, sainte, st and ste
// are one word; street types written out; digits in words.
func locWord(w string) string {
	switch w {
	case "st", "ste", "sainte":
		return "saint"
	}
	if a, ok := locAbbr[w]; ok {
		return a
	}
	return w
}

// locAvail reports whether token i may be part of a place's name: free, or
// taken by a street address (a street named after its quartier, "bd de la
// Valbarelle", still says where).
func (d *doc) locAvail(i int) bool {
	if d.free(i) {
		return true
	}
	if i < 0 || i >= len(d.t) {
		return false
	}
	for j := i; j >= 0 && i-j <= maxStreetWords+8; j-- {
		if !d.used[j] {
			return false
		}
		if _, ok := streetTypes[d.t[j].w]; ok {
			return true
		}
	}
	return false
}

// localityMatch reports whether the words of l start at token i, and
// where they end. Particles between words are skipped in the text as in
// the name ("bd Valbarelle", "belle-de-mai"); a phrase may not cross
// punctuation.
func (d *doc) localityMatch(i int, ws []string) (int, bool) {
	j := i
	for k, w := range ws {
		if k > 0 {
			j++
			for skipped := 0; skipped < 3 && d.locAvail(j) && particles[d.t[j].w] && sepOnly(d.t[j].sep, sepWord); skipped++ {
				j++
			}
		}
		if !d.locAvail(j) || locWord(d.t[j].w) != w || (k > 0 && !sepOnly(d.t[j].sep, sepWord)) {
			return 0, false
		}
	}
	return j + 1, true
}

// textArticle returns the article said right before token i ("la",
// "aux"…) and its index, or "" and -1.
func (d *doc) textArticle(i int) (string, int) {
	p := i - 1
	if p < 0 || !sepOnly(d.t[i].sep, sepWord) {
		return "", -1
	}
	switch w := d.t[p].w; w {
	case "la", "le", "les", "l", "au", "aux", "du", "des":
		return w, p
	}
	return "", -1
}

// articleFits reports whether the article said fits the name's: "aux"
// Olives, "du" Canet, "l'" for any.
func articleFits(said, name string) bool {
	switch name {
	case "":
		return said == ""
	case "le":
		return said == "le" || said == "l" || said == "au" || said == "du"
	case "la":
		return said == "la" || said == "l"
	case "les":
		return said == "les" || said == "aux" || said == "des"
	case "l":
		return said == "l" || said == "le" || said == "la"
	}
	return false
}

// locIntro are words that introduce a place named by a common word: the
// commune's prepositions and "au", "aux", "dans", "quartier"…
var locIntro = func() map[string]bool {
	m := set("au", "aux", "dans", "quartier", "quartiers", "cite", "secteur", "hameau", "village", "residence", "lotissement")
	for w := range placePreps {
		m[w] = true
	}
	return m
}()

// locStrictIntro are the words that introduce a generic name ("quartier
// de la Plage").
var locStrictIntro = set("quartier", "quartiers", "cite", "secteur", "hameau", "village")

// localityAt matches a place of the gazetteer at token i, longest name
// first; among names of the same words, the one whose article was said
// ("la Castellane", not "Castellane"). It returns the place, the index
// after it and the article's index (i when none was said).
func (d *doc) localityAt(t localityTable, i int) (*locality, int, int) {
	if !d.locAvail(i) {
		return nil, 0, 0
	}
	ls := t[d.t[i].w]
	if len(ls) == 0 {
		return nil, 0, 0
	}
	said, ap := d.textArticle(i)
	var best *locality
	bestEnd, bestScore := 0, -1
	for _, l := range ls {
		if best != nil && len(l.words) < len(best.words) {
			break
		}
		end, ok := d.localityMatch(i, l.words)
		if !ok {
			continue
		}
		score := 0
		if articleFits(said, l.article) {
			score = 1
		}
		if score > bestScore {
			best, bestEnd, bestScore = l, end, score
		}
	}
	if best == nil {
		return nil, 0, 0
	}
	start := i
	if said != "" && ap >= 0 && d.locAvail(ap) {
		start = ap
	}
	return best, bestEnd, start
}

// localityIntroduced reports whether a place needing an introduction is
// introduced: i is the name's first word, start its article's (or i).
// named says the text names the place's commune.
func (d *doc) localityIntroduced(l *locality, i, start int, named bool) bool {
	if l.prep == locAlone {
		return true
	}
	if l.kind == "voie" && named {
		return true // "cours Mirabeau à Aix"
	}
	said := ""
	if start < i {
		said = d.t[start].w
	}
	if l.article != "" && !articleFits(said, l.article) {
		return false // "une rose", "d'olives"
	}
	// "au", "aux": à and the article. "du" and "des" may be partitive ("du
	// merlan", "des olives"): the word before them decides.
	intro := said == "au" || said == "aux"
	if p := d.prevWord(start); p >= 0 {
		w := d.t[p].w
		_, street := streetTypes[w]
		intro = intro || locIntro[w] || street
		if l.prep == locStrict {
			// "quartier de la Plage", "quartier du Panier", "cité des Crottes"
			if particles[w] {
				w = d.w(d.prevWord(p))
			}
			if locStrictIntro[w] {
				return true
			}
		}
	}
	if l.prep == locStrict {
		return intro && named && l.kind != "voie"
	}
	return intro
}

// locHit is a place of the gazetteer named in the text.
type locHit struct {
	l *locality
	c *territory.Commune
}

// maxLocHits bounds the places kept: the first ones decide.
const maxLocHits = 8

// localitiesNamed lists the gazetteer's places the text names, in order.
// cs are the communes it names: a place needing an introduction also
// counts with its commune named, as "cours Mirabeau à Aix".
func (e *Extractor) localitiesNamed(d *doc, cs []*territory.Commune) []locHit {
	t := localities()
	var hits []locHit
	for i := 0; i < len(d.t) && len(hits) < maxLocHits; i++ {
		l, end, start := d.localityAt(t, i)
		if l == nil {
			continue
		}
		c, ok := e.places.ByINSEE(l.insee)
		if ok && d.localityIntroduced(l, i, start, slices.Contains(cs, c)) {
			hits = append(hits, locHit{l, c})
			i = end - 1
		}
	}
	return hits
}

// postalCode is the place's postal code when it is one of its commune's.
func (h locHit) postalCode() string {
	if h.l.pc != "" && slices.Contains(h.c.PostalCodes, h.l.pc) {
		return h.l.pc
	}
	return ""
}
