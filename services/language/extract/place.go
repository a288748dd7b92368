package extract

import (
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ampmetropole/guichet/services/cases/territory"
)

// placeName is one way of naming a commune, as folded words.
type placeName struct {
	words []string
	c     *territory.Commune
	// needPrep marks names that are also common words or surnames
	// ("cassis", "aurons", "Rousset"): they count only after "à", "de",
	// "sur"… or next to a postal code.
	needPrep bool
}

// aliases are short names people use for communes and well-known villages
// of a commune (INSEE codes).
var aliases = []struct {
	name, insee string
	needPrep    bool
}{
	{"aix", "13001", false}, {"les milles", "13001", false}, {"puyricard", "13001", false},
	{"luynes", "13001", false}, {"salon", "13103", true}, {"les pennes", "13071", false},
	{"port saint louis", "13078", false}, {"berre", "13014", false}, {"fos", "13039", false},
	{"saint mitre", "13098", false}, {"carry", "13021", true}, {"sausset", "13104", false},
	{"cuges", "13030", false}, {"gignac", "13043", false}, {"ensues", "13033", false},
	{"la fare", "13037", false}, {"peyrolles", "13074", false}, {"la penne", "13070", false},
	{"septemes", "13106", false}, {"simiane", "13107", false}, {"carnoux", "13119", false},
	{"la bedoule", "13085", false}, {"cornillon", "13029", false}, {"lancon", "13051", false},
	{"entressen", "13047", false}, {"lavera", "13056", false}, {"puy sainte reparade", "13080", false},
	{"la roque", "13084", false}, {"saint paul lez durance", "13099", false},
}

// needPrep lists communes whose full name is also a common word or surname.
var needPrepINSEE = set("13022", "13008", "13087", "13007") // Cassis, Aurons, Rousset, Auriol

// notPlaces are names that contain a commune's name but are not the place:
// the Métropole itself and its territories.
var notPlaces = [][]string{
	{"aix", "marseille"}, {"marseille", "provence"}, {"pays", "d", "aix"}, {"pays", "d", "aubagne"},
	{"pays", "de", "martigues"}, {"istres", "ouest"}, {"ouest", "provence"}, {"olympique", "de", "marseille"},
	{"porte", "d", "aix"}, // Marseille's triumphal arch, in the gazetteer
}

// prepositions that introduce a place.
var placePreps = set("a", "de", "d", "sur", "vers", "pour", "depuis", "pres", "entre", "commune", "ville", "mairie", "habite")

// ordinals name Marseille's arrondissements.
var ordinals = map[string]int{
	"premier": 1, "premiere": 1, "deuxieme": 2, "second": 2, "seconde": 2, "troisieme": 3,
	"quatrieme": 4, "cinquieme": 5, "sixieme": 6, "septieme": 7, "huitieme": 8, "neuvieme": 9,
	"dixieme": 10, "onzieme": 11, "douzieme": 12, "treizieme": 13, "quatorzieme": 14,
	"quinzieme": 15, "seizieme": 16,
}

// afterOrdinal are words that may follow "le treizième" when it names an
// arrondissement (rather than "le troisième appel").
var afterOrdinal = set("a", "et", "pres", "vers", "au", "aux", "sur", "je", "j", "c", "il", "ils", "on",
	"mais", "donc", "voila", "quartier", "secteur", "du", "de", "dans", "pas", "non", "oui", "merci",
	"enfin", "ou", "la", "le", "les", "arrondissement", "marseille", "alors", "depuis", "pour", "avec")

// buildPlaces fills the extractor's tables from the directory.
func (e *Extractor) buildPlaces() {
	e.names = map[string][]placeName{}
	e.codes = map[string]bool{}
	e.prefixes = map[string]bool{}
	if e.places == nil {
		return
	}
	add := func(name string, c *territory.Commune, needPrep bool) {
		var ws []string
		for _, t := range tokenize(name) {
			ws = append(ws, canonWord(t.w))
		}
		if len(ws) == 0 {
			return
		}
		e.names[ws[0]] = append(e.names[ws[0]], placeName{ws, c, needPrep})
	}
	for _, c := range e.places.Communes() {
		add(c.Name, c, needPrepINSEE[c.INSEE])
		// "au Tholonet", "du Rove", "aux Pennes-Mirabeau", "des Pennes…":
		// the article merged with à or de.
		if rest, ok := strings.CutPrefix(c.Name, "Le "); ok {
			add("au "+rest, c, false)
			add("du "+rest, c, false)
		}
		if rest, ok := strings.CutPrefix(c.Name, "Les "); ok {
			add("aux "+rest, c, false)
			add("des "+rest, c, false)
		}
		for _, pc := range c.PostalCodes {
			e.codes[pc] = true
			for n := 1; n <= len(pc); n++ {
				e.prefixes[pc[:n]] = true
			}
		}
	}
	for _, a := range aliases {
		if c, ok := e.places.ByINSEE(a.insee); ok {
			add(a.name, c, a.needPrep)
		}
	}
	for k, ns := range e.names {
		slices.SortStableFunc(ns, func(a, b placeName) int { return len(b.words) - len(a.words) })
		e.names[k] = ns
	}
}

// canonWord reads "st" and "ste" as "saint" and "sainte".
func canonWord(w string) string {
	switch w {
	case "st":
		return "saint"
	case "ste":
		return "sainte"
	}
	return w
}

// communeAt matches a commune's name at token i, longest name first, whole
// words only, accents, case and hyphens ignored.
func (e *Extractor) communeAt(d *doc, i int) (placeName, int) {
	if !d.free(i) {
		return placeName{}, 0
	}
	for _, p := range e.names[canonWord(d.t[i].w)] {
		if d.matchWords(i, p.words) {
			return p, len(p.words)
		}
	}
	return placeName{}, 0
}

// matchWords reports whether tokens from i are ws, within one phrase.
func (d *doc) matchWords(i int, ws []string) bool {
	for k, w := range ws {
		j := i + k
		if !d.free(j) || canonWord(d.t[j].w) != w || (k > 0 && !sepOnly(d.t[j].sep, sepWord)) {
			return false
		}
	}
	return true
}

// arrHit is a Marseille arrondissement named in the text.
type arrHit struct {
	code   string // postal code, 13001–13016
	strong bool   // said with "Marseille"
}

// communes lists the communes the text names, in order, and the Marseille
// arrondissements. A commune right after a street type and particles
// ("avenue de Marseille", "route de la Ciotat") is part of a street name and
// does not count, nor do names already taken by an address or a person. A
// commune named as where someone travels to ("le car pour Marseille") goes
// to dest instead.
func (e *Extractor) communes(d *doc, dest *[]*territory.Commune) ([]*territory.Commune, []arrHit) {
	var cs []*territory.Commune
	var arr []arrHit
	for i := 0; i < len(d.t); i++ {
		if !d.free(i) {
			continue
		}
		if n := d.notPlace(i); n > 0 {
			i += n - 1
			continue
		}
		p, n := e.communeAt(d, i)
		if n == 0 {
			if code, ok := d.weakArrondissement(i); ok {
				arr = append(arr, arrHit{code, false})
			}
			continue
		}
		switch {
		case d.inStreetName(i):
		case p.needPrep && !d.introducedPlace(i, n) && !d.properName(i):
		case d.destination(i):
			if !slices.Contains(*dest, p.c) {
				*dest = append(*dest, p.c)
			}
		default:
			if !slices.Contains(cs, p.c) {
				cs = append(cs, p.c)
			}
			if p.c.INSEE == "13055" {
				if code, end, ok := d.arrondissementAfter(i + n); ok {
					arr = append(arr, arrHit{code, true})
					d.mark(i+n, end)
				}
			}
		}
		i += n - 1
	}
	return cs, arr
}

// destPreps introduce where a journey goes; travelWords say a journey is
// meant ("le car pour Marseille", "la navette vers Aix", "je vais à Aix").
var (
	destPreps   = set("pour", "vers", "direction", "jusqu", "destination")
	travelWords = set("car", "cars", "bus", "autocar", "autocars", "train", "trains", "ter", "navette", "navettes",
		"ligne", "lignes", "tram", "tramway", "metro", "trajet", "trajets", "aller", "vais", "va", "allons",
		"vont", "partir", "pars", "part", "partent", "descendre", "monter", "prendre", "prennent", "prend",
		"covoiturage", "correspondance", "liaison", "depart", "departs", "retour")
)

// destination reports whether the commune at i is where a journey goes: a
// preposition of direction (or "à" after a verb of going) and, a few words
// before, a means of transport or a verb of going.
func (d *doc) destination(i int) bool {
	p := d.prevWord(i)
	if p < 0 {
		return false
	}
	w := d.t[p].w
	if w == "a" || w == "de" || w == "destination" {
		// "jusqu'à Aix", "à destination de Marseille"
		if pp := d.prevWord(p); pp >= 0 && (d.t[pp].w == "jusqu" || d.t[pp].w == "destination") {
			return true
		}
	}
	if !destPreps[w] && w != "a" {
		return false
	}
	for k, seen := p-1, 0; k >= 0 && seen < 4; k-- {
		if strings.ContainsAny(d.t[k+1].sep, ".!?\n") {
			return false
		}
		if isFiller(d.t[k].w) {
			continue
		}
		if travelWords[d.t[k].w] && (w != "a" || verbOfGoing[d.t[k].w]) {
			return true
		}
		seen++
	}
	return false
}

// verbOfGoing are the verbs that make "à Aix" a destination ("je vais à
// Aix", but not "le bus à Aix est en retard").
var verbOfGoing = set("aller", "vais", "va", "allons", "vont", "partir", "pars", "part", "partent", "descendre", "monter")

// properName says whether the word at i is written as a proper name in
// running text — a capital initial, not at the start of a sentence or line
// ("Parking résidents Cassis") — which tells the commune from the word
// ("du cassis", "Rousset" as a surname is the exception we accept).
func (d *doc) properName(i int) bool {
	r, _ := utf8.DecodeRuneInString(d.t[i].surf)
	if !unicode.IsUpper(r) || i == 0 {
		return false
	}
	sep := d.t[i].sep
	if strings.ContainsAny(sep, ".!?\n") {
		return false
	}
	// All capitals is a title or a shout, not a proper name.
	if strings.ToUpper(d.t[i].surf) == d.t[i].surf {
		return false
	}
	// "Jean Rousset", "Madame Auriol": a person, not the commune.
	prev := d.t[i-1]
	p, _ := utf8.DecodeRuneInString(prev.surf)
	switch prev.w {
	case "madame", "monsieur", "mme", "mr", "m", "mlle", "docteur", "dr", "famille", "chez":
		return false
	}
	return !unicode.IsUpper(p)
}

func (d *doc) notPlace(i int) int {
	switch d.t[i].w {
	case "aix", "marseille", "pays", "istres", "ouest", "olympique", "porte":
	default:
		return 0
	}
	for _, ws := range notPlaces {
		if d.matchWords(i, ws) {
			return len(ws)
		}
	}
	return 0
}

// inStreetName reports whether token i follows a street type and particles.
func (d *doc) inStreetName(i int) bool {
	j := i - 1
	for j >= 0 && i-j <= 3 && particles[d.t[j].w] {
		j--
	}
	if j < 0 || j == i-1 {
		return false
	}
	_, ok := streetTypes[d.t[j].w]
	return ok
}

// introducedPlace reports whether the name at [i, i+n) comes after a
// preposition or next to a postal code.
func (d *doc) introducedPlace(i, n int) bool {
	if p := d.prevWord(i); p >= 0 && placePreps[d.t[p].w] {
		return true
	}
	isCode := func(k int) bool { return k >= 0 && k < len(d.t) && len(d.t[k].w) == 5 && isDigits(d.t[k].w) }
	return isCode(i-1) || isCode(i+n)
}

// ordinalAt reads an ordinal 1–16 at token i: "treizième", "13e", "1er".
func (d *doc) ordinalAt(i int) (int, bool) {
	if !d.free(i) {
		return 0, false
	}
	w := d.t[i].w
	if n, ok := ordinals[w]; ok {
		return n, true
	}
	k := 0
	for k < len(w) && k < 3 && w[k] >= '0' && w[k] <= '9' {
		k++
	}
	if k == 0 || k > 2 {
		return 0, false
	}
	switch w[k:] {
	case "e", "er", "ere", "eme", "ieme", "em", "nd", "nde", "emes":
	default:
		return 0, false
	}
	n, _ := strconv.Atoi(w[:k])
	return n, n >= 1 && n <= 16
}

func arrCode(n int) string {
	if n < 10 {
		return "1300" + strconv.Itoa(n)
	}
	return "130" + strconv.Itoa(n)
}

// arrondissementAfter reads what follows "Marseille": "treizième", "13e",
// "13ème arrondissement", or a plain 1–16 ("Marseille 13", "Marseille
// treize") that no other number follows.
func (d *doc) arrondissementAfter(i int) (string, int, bool) {
	i = d.skipFillers(i)
	if !d.free(i) || !sepOnly(d.t[i].sep, sepWord+",") {
		return "", 0, false
	}
	if n, ok := d.ordinalAt(i); ok {
		end := i + 1
		if d.free(end) && d.t[end].w == "arrondissement" {
			end++
		}
		return arrCode(n), end, true
	}
	n, end := 0, 0
	if w := d.t[i].w; isDigits(w) {
		if len(w) > 2 {
			return "", 0, false
		}
		n, _ = strconv.Atoi(w)
		end = i + 1
	} else {
		var tmp [24]alt
		a := d.number(i, tmp[:0])
		if len(a) == 0 {
			return "", 0, false
		}
		n, end = a[0].v, a[0].end
	}
	if n < 1 || n > 16 || (d.free(end) && sepOnly(d.t[end].sep, sepDigits) && isNumeric(d.t[end].w)) {
		return "", 0, false
	}
	if d.free(end) && d.t[end].w == "arrondissement" {
		end++
	}
	return arrCode(n), end, true
}

// weakArrondissement reads an arrondissement said without "Marseille": "le
// treizième", "dans le 13e", "du quinzième", "13e arrondissement". It
// counts only when the text names Marseille or no other commune.
func (d *doc) weakArrondissement(i int) (string, bool) {
	n, ok := d.ordinalAt(i)
	if !ok {
		return "", false
	}
	next := d.skipFillers(i + 1)
	if d.free(next) && d.t[next].w == "arrondissement" {
		d.mark(i, next+1)
		return arrCode(n), true
	}
	p := d.prevWord(i)
	if n == 1 {
		// "le premier", "du 1er" are dates and ranks; "j'habite dans le
		// premier" ending a sentence or a turn is the 1st arrondissement.
		if p < 0 || d.t[p].w != "le" || !d.endsClause(i+1) {
			return "", false
		}
		if pp := d.prevWord(p); pp < 0 || (d.t[pp].w != "dans" && d.t[pp].w != "habite") {
			return "", false
		}
		d.mark(i, i+1)
		return arrCode(n), true
	}
	switch {
	case p < 0:
		return "", false
	case d.t[p].w == "du":
	case d.t[p].w == "le":
		if pp := d.prevWord(p); pp < 0 || !beforeLeOrdinal[d.t[pp].w] {
			return "", false
		}
	default:
		return "", false
	}
	if next >= len(d.t) || !sepOnly(d.t[next].sep, sepWord) || afterOrdinal[d.t[next].w] || next > i+1 {
		d.mark(i, i+1)
		return arrCode(n), true
	}
	return "", false
}

// endsClause reports whether token i starts a new sentence, line or
// clause, or the text ends before it.
func (d *doc) endsClause(i int) bool {
	return i >= len(d.t) || strings.ContainsAny(d.t[i].sep, ".!?;,\n")
}

// beforeLeOrdinal introduce "le treizième" as a place: "dans le", "j'habite
// le", "sur le".
var beforeLeOrdinal = set("dans", "habite", "sur", "vers", "pour")

// postalBlocked are words after a number that make it a quantity, not a
// postal code.
var postalBlocked = set("euros", "euro", "eur", "metres", "metre", "m", "km", "kilometres", "litres",
	"ans", "jours", "habitants", "personnes", "fois", "heures", "h", "minutes", "min", "cm", "kg",
	"tonnes", "pourcent", "m2", "m3", "dollars", "francs", "logements", "places", "k", "e")

// postalCodes lists the Métropole postal codes the text states, in order:
// written ("13013", "13 013") or said ("treize mille treize", "treize zéro
// zéro un", "treize cent un"). A said number may read several ways; every
// reading that is a Métropole code is kept, the likeliest first, so that
// the commune can decide.
func (e *Extractor) postalCodes(d *doc) []string {
	var codes []string
	for i := 0; i < len(d.t) && len(codes) < maxCandidates; i++ {
		if !d.free(i) || !e.prefixes[firstDigit(d.t[i].w)] || d.midNumber(i) {
			continue
		}
		r := postalReader{e: e, d: d}
		r.dfs(i, true)
		best := 0
		for _, s := range r.sols {
			if !slices.Contains(codes, s.code) {
				codes = append(codes, s.code)
			}
			best = max(best, s.end)
		}
		if best > 0 {
			d.mark(i, best)
			i = best - 1
		}
	}
	return codes
}

// firstDigit is the first digit a token can start a number with ("treize"
// gives "1", "quatre" "4" or "8" for quatre-vingt…): enough to skip most
// tokens at once.
func firstDigit(w string) string {
	switch {
	case isDigits(w):
		return w[:1]
	case w == "quatre":
		return "8"
	case w == "huit" || w == "huitante" || w == "octante":
		return "8"
	case w == "treize" || w == "un":
		return "1"
	}
	return ""
}

// midNumber reports whether token i continues a number begun before it
// ("deux cent treize mille…").
func (d *doc) midNumber(i int) bool {
	for p := i - 1; p >= 0 && p >= i-4; p-- {
		if !d.free(p+1) || !sepOnly(d.t[p+1].sep, sepJoin) {
			return false
		}
		// Digits go on only as a multiplicand: "2 mille".
		if w := d.t[p].w; !isNumberWord(w) && !(isDigits(w) && (isMille(d.t[p+1].w) || isCent(d.t[p+1].w))) {
			return false
		}
		var tmp [24]alt
		for _, a := range d.number(p, tmp[:0]) {
			if a.end > i {
				return true
			}
		}
	}
	return false
}

type postalSol struct {
	code string
	end  int
}

// postalReader tries every way to read five digits of a Métropole postal
// code from chunks put end to end, pruning as soon as the digits cannot
// start one.
type postalReader struct {
	e    *Extractor
	d    *doc
	buf  []byte
	sols []postalSol
	pad  []postalSol
}

func (r *postalReader) dfs(i int, first bool) {
	n := len(r.buf)
	var tmp [24]group
	gs := r.d.groups(i, tmp[:0])
	for _, g := range gs {
		// A reading may not end inside a number in words: "treize mille
		// cent | vingt euros" is no 13100.
		cut := g.word && gs[0].end > g.end
		if first && g.word && !cut && g.v >= 1300 && g.v <= 1399 {
			// "treize cent douze": 1 312 said for 13 012.
			if c := "130" + strconv.Itoa(g.v)[2:]; r.e.codes[c] && !r.d.postalBlockedAt(g.end) {
				r.pad = append(r.pad, postalSol{c, g.end})
			}
		}
		r.buf = append(r.buf[:n], g.digits...)
		s := string(r.buf)
		if len(s) > 5 || !r.e.prefixes[s] {
			continue
		}
		if len(s) == 5 {
			if r.e.codes[s] && !cut && !r.d.postalBlockedAt(g.end) && len(r.sols) < 8 {
				r.sols = append(r.sols, postalSol{s, g.end})
			}
			continue
		}
		if k, ok := r.d.nextGroup(g.end, " ,-"); ok {
			r.dfs(k, false)
		}
	}
	r.buf = r.buf[:n]
	if first {
		slices.SortStableFunc(r.sols, func(a, b postalSol) int { return b.end - a.end })
		r.sols = append(r.sols, r.pad...)
	}
}

// postalBlockedAt reports whether the word at end makes the number before
// it a quantity ("13 120 euros") or continues it.
func (d *doc) postalBlockedAt(end int) bool {
	k := d.skipFillers(end)
	if k >= len(d.t) {
		return false
	}
	if postalBlocked[d.t[k].w] {
		return true
	}
	return d.joined(end) && (isMille(d.t[end].w) || isCent(d.t[end].w))
}

// place chooses the postal code and commune: a pair that agrees first (the
// commune's postal codes contain the code); else the first code, with its
// commune when it covers only one; else the first commune. When a code and
// a commune are both stated but never agree, both are kept as stated.
//
// A quartier, hamlet, street or landmark of the gazetteer (localities.csv)
// counts only when no postal code is stated: it gives its commune when the
// text names none, its postal code when the text names its commune ("cours
// Mirabeau à Aix" is 13100), and chooses among the communes a shared code
// covers. Marseille's are reported like its arrondissements: 13055 with
// the arrondissement's postal code.
func (e *Extractor) place(d *doc, f *Facts) {
	if e.places == nil {
		return
	}
	var dest []*territory.Commune
	cs, arr := e.communes(d, &dest)
	codes := e.postalCodes(d)
	locs := e.localitiesNamed(d, cs)
	marseille := len(cs) == 0 && (len(locs) == 0 || locs[0].c.INSEE == "13055")
	for _, c := range cs {
		marseille = marseille || c.INSEE == "13055"
	}
	for _, a := range arr {
		if (a.strong || marseille) && !slices.Contains(codes, a.code) {
			codes = append(codes, a.code)
		}
	}
	cs, codes = localityPlace(locs, cs, codes)
	if len(cs) == 0 && len(codes) == 0 && len(dest) > 0 {
		// Only a destination: the place for want of another, but weak.
		cs, f.PlaceWeak = dest[:1], true
	}
	for _, pc := range codes {
		for _, c := range cs {
			if slices.Contains(c.PostalCodes, pc) {
				f.PostalCode, f.CommuneINSEE, f.CommuneName = pc, c.INSEE, c.Name
				return
			}
		}
	}
	var c *territory.Commune
	if len(codes) > 0 {
		f.PostalCode = codes[0]
		if in := e.places.ByPostalCode(codes[0]); len(in) == 1 {
			c = in[0]
		}
	}
	if len(cs) > 0 {
		c = cs[0]
	}
	if c != nil {
		f.CommuneINSEE, f.CommuneName = c.INSEE, c.Name
	}
}

// localityPlace adds what the first fitting place of the gazetteer says to
// the communes and codes the text states, which win over it.
func localityPlace(locs []locHit, cs []*territory.Commune, codes []string) ([]*territory.Commune, []string) {
	for _, h := range locs {
		pc := h.postalCode()
		switch {
		case len(codes) == 0 && len(cs) == 0:
			cs = []*territory.Commune{h.c}
		case len(codes) == 0 && slices.Contains(cs, h.c):
		case len(codes) > 0 && len(cs) == 0 && slices.ContainsFunc(codes, func(c string) bool { return slices.Contains(h.c.PostalCodes, c) }):
			// a shared code ("13600"): the place chooses the commune
			return []*territory.Commune{h.c}, codes
		default:
			continue
		}
		if pc != "" {
			codes = []string{pc}
		}
		return cs, codes
	}
	return cs, codes
}
