package incident

// Reading a report's words: the streets and house numbers, landmarks,
// objects, spelled numbers, and what a caller and an agent said of a known
// incident — what the decision (incident.go) compares.

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

type feats struct {
	streets    map[string]bool
	numbers    map[string]int // street → house number
	marks      []string
	objects    []string
	notThis    bool   // the caller said it is not the known incident
	refused    *feats // the place of the incident the caller said it is not
	known      bool   // the agent spoke of an incident under way there
	notReport  bool   // a request for a service, not the report of an incident
	recurrence bool   // "de nouveau", "réparé … mais"
	oldEvent   bool   // dated event more than two months ago
}

// Normalize lowercases, strips accents and punctuation and expands the
// usual abbreviations of street types.
func Normalize(s string) string {
	s = norm.NFD.String(strings.ToLower(s))
	var b strings.Builder
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Mn, r):
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		default:
			b.WriteByte(' ')
		}
	}
	words := strings.Fields(b.String())
	for i, w := range words {
		if x, ok := abbrev[w]; ok {
			words[i] = x
		}
	}
	return " " + strings.Join(words, " ") + " "
}

var abbrev = map[string]string{
	"bd": "boulevard", "bld": "boulevard", "boul": "boulevard", "av": "avenue", "ave": "avenue",
	"ch": "chemin", "che": "chemin", "rte": "route", "pl": "place", "imp": "impasse", "trav": "traverse",
	"st": "saint", "ste": "sainte", "qd": "quand", "tt": "tout", "tjs": "toujours", "n": "numero", "no": "numero",
	"hs": "panne",
}

var streetTypes = `rue|boulevard|avenue|chemin|route|place|allee|impasse|traverse|cours|quai|montee|square|parc|campagne|lotissement|residence|quartier|ligne|arret|ecole|college|lycee|creche|gymnase|stade|carrefour|hotel d entreprises|zone industrielle|batiment`
var nameStop = map[string]bool{"de": true, "du": true, "des": true, "la": true, "le": true, "l": true, "d": true, "les": true, "au": true, "aux": true, "en": true, "a": true}
var titles = map[string]bool{"saint": true, "sainte": true, "jean": true, "general": true, "marechal": true, "docteur": true, "president": true, "frederic": true, "pierre": true, "leon": true, "antide": true, "helene": true, "sadi": true, "felix": true, "tapis": true, "pie": true, "logis": true, "bastide": true, "croix": true}

// streetTypeList is streetTypes in its order.
var streetTypeList = strings.Split(streetTypes, "|")

// nextStreet finds in t, from at, what the expression
// ` (?:(\d{1,4}) (?:bis |ter )?)?(`+streetTypes+`) ` finds in t[at:]
// (FindStringSubmatchIndex, with indexes into t; streets_test.go holds
// them to one another): a place type, with the house
// number before it. Written out because the expression, run over every
// report's text and its candidates', was a third of reading it.
func nextStreet(t string, at int) []int {
	for p := at; p < len(t); p++ {
		if t[p] != ' ' {
			continue
		}
		// A number first, as the expression tries its optional group
		// first: one to four digits, a space, perhaps "bis " or "ter ".
		j, d := p+1, 0
		for j+d < len(t) && d < 5 && t[j+d] >= '0' && t[j+d] <= '9' {
			d++
		}
		if d >= 1 && d <= 4 && j+d < len(t) && t[j+d] == ' ' {
			k := j + d + 1
			if strings.HasPrefix(t[k:], "bis ") || strings.HasPrefix(t[k:], "ter ") {
				if n := streetTypeAt(t, k+4); n > 0 {
					return []int{p, k + 4 + n + 1, j, j + d, k + 4, k + 4 + n}
				}
			}
			if n := streetTypeAt(t, k); n > 0 {
				return []int{p, k + n + 1, j, j + d, k, k + n}
			}
		}
		if n := streetTypeAt(t, p+1); n > 0 {
			return []int{p, p + 1 + n + 1, -1, -1, p + 1, p + 1 + n}
		}
	}
	return nil
}

// streetTypeAt is the length of the place type at t[i:], followed by a
// space, or 0.
func streetTypeAt(t string, i int) int {
	for _, typ := range streetTypeList {
		if len(t) > i+len(typ) && t[i+len(typ)] == ' ' && t[i:i+len(typ)] == typ {
			return len(typ)
		}
	}
	return 0
}

var numberRe = regexp.MustCompile(` (?:devant le|au|numero|du|le) (\d{1,4}) `)

// streetKeys reads the streets and places named in t (normalized) and the
// house number given with each. Each place type starts its own reading, so
// "l'école des Tilleuls côté chemin de la Rose" names both.
func streetKeys(t string) (map[string]bool, map[string]int) {
	streets, numbers, _ := streetPhrases(t)
	return streets, numbers
}

// streetPhrases is streetKeys with, for each key, the words that name it
// ("avenue des chartreux").
func streetPhrases(t string) (map[string]bool, map[string]int, map[string]string) {
	streets, numbers, phrases := map[string]bool{}, map[string]int{}, map[string]string{}
	for at := 0; at < len(t); {
		m := nextStreet(t, at)
		if m == nil {
			break
		}
		at = m[5] // the next reading starts after this type
		typ := t[m[4]:m[5]]
		var name []string
		phrase := []string{typ}
		for _, w := range strings.Fields(t[m[5]:min(len(t), m[5]+60)]) {
			if (nameStop[w] || skipAdj[w] || areaTypes[w]) && len(name) == 0 {
				phrase = append(phrase, w)
				continue
			}
			if nameStop[w] || (len(name) == 1 && (!titles[name[0]] || genericName[w])) || len(name) == 2 {
				break // "rue Sainte est éteinte": the title alone names it
			}
			name = append(name, w)
			phrase = append(phrase, w)
		}
		if len(name) == 0 || genericName[name[len(name)-1]] || (len(name[len(name)-1]) < 2 && !isDigits(name[len(name)-1])) {
			continue
		}
		// The last word names the street: "avenue Frédéric Mistral" and
		// "l'av Mistral" are one; the type may differ ("route" or
		// "chemin de Pié d'Autry").
		key := name[len(name)-1]
		switch first := strings.Fields(typ)[0]; {
		case first == "ligne" && isDigits(key):
			key = "ligne " + key // a bus line is a place of its own
		case first == "ligne":
			continue
		case areaTypes[first]:
			key = "~" + key // an area: too large to place a report alone
		}
		streets[key] = true
		if _, ok := phrases[key]; !ok {
			phrases[key] = strings.Join(phrase, " ")
		}
		if m[2] >= 0 {
			n, _ := strconv.Atoi(t[m[2]:m[3]])
			numbers[key] = n
		} else if nm := numberRe.FindStringSubmatch(t[max(0, m[0]-25) : m[0]+1]); nm != nil {
			n, _ := strconv.Atoi(nm[1])
			numbers[key] = n
		}
	}
	return streets, numbers, phrases
}

func isDigits(w string) bool {
	for _, r := range w {
		if r < '0' || r > '9' {
			return false
		}
	}
	return w != ""
}

// areaTypes name places too large to tell two reports are at one spot.
var areaTypes = wordSet(`parc campagne quartier lotissement zone batiment`)

// genericName are words after a street type that do not name one.
var genericName = wordSet(`il elle on je tu nous vous ils elles y qui que quoi ca c ce cet cette ces est sont a ont etait
	et ou mais donc alors pas plus tout toute tous toutes sur dans par pour avec sans juste la ici bien oui non euh vers entre apres
	avant depuis devant derriere pres cote en face principale grande grand petit petite centre ville bus coin haut bas bout fond
	elementaire maternelle primaire public publique municipal municipale meme entier entiere nord sud est ouest
	merci bonjour bonsoir madame monsieur svp stp j l d qu s n m`)

func wordSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

// skipAdj may stand between a place's type and its name ("l'école
// élémentaire des Tilleuls").
var skipAdj = wordSet(`elementaire maternelle primaire municipal municipale public publique`)

// Landmarks: places people name instead of an address.
var markWords = []string{"tabac", "pharmacie", "boulangerie", "poste", "mairie", "eglise", "gare", "metro", "fontaine", "chateau",
	"lavoir", "stade", "gymnase", "station service", "auto ecole", "banque", "cave cooperative", "college", "ecole", "creche",
	"passerelle", "rond point", "parking", "lycee", "piscine", "cimetiere", "abribus", "carrefour", "croisement", "angle",
	"bassin", "sentier", "pont", "gare routiere",
	"huveaune", "touloubre", "jarret", "cadiere", "durance", "aygalades", "merlancon", "torse", "caravelle",
	"etang de berre", "etang de bolmon", "canal de marseille", "canal de provence", "canal edf"}

// waterMarks are the Métropole's rivers, streams, ponds and canals, named
// by whoever walks along them ("la Touloubre sous le petit pont"): a name,
// which places a report like a street does (within one commune — what
// spills into a river in it is one incident along it).
var waterMarks = map[string]bool{"huveaune": true, "touloubre": true, "jarret": true, "cadiere": true, "durance": true,
	"aygalades": true, "merlancon": true, "torse": true, "caravelle": true, "etang de berre": true, "etang de bolmon": true,
	"canal de marseille": true, "canal de provence": true, "canal edf": true}

// weakMarks are landmarks too common to place a report alone.
var weakMarks = map[string]bool{"ecole": true, "college": true, "lycee": true, "parking": true, "carrefour": true, "croisement": true,
	"angle": true, "rond point": true, "abribus": true, "gare": true, "poste": true, "mairie": true, "eglise": true,
	"sentier": true, "pont": true}

// Objects: what the report is about. Two reports share an object when
// they share a group.
var objectGroups = map[string][]string{
	"eclairage":  {"lampadaire", "eclairage", "eteint", "noir", "lumiere", "candelabre", "ampoule", "allume"},
	"trou":       {"nid de poule", "trou", "chaussee defoncee", "ornier"},
	"potelet":    {"potelet", "plot", "borne", "poteau"},
	"feux":       {"feux", "feu rouge", "feu tricolore", "feu "},
	"conteneur":  {"conteneur", "bacs", "bac ", "poubelle", "ordure", "collecte", "ramasse", "sacs"},
	"fuite":      {"fuite", "geyser", "canalisation", "inonde", "eau qui sort", "plus d eau", "goutte", "jaillit", "eau marron", "eau sort"},
	"odeur":      {"odeur", "pue", "sent", "egout"},
	"arbre":      {"arbre", "pin ", "branche", "platane", "chene"},
	"jeux":       {"jeux", "balancoire", "toboggan", "aire de jeux"},
	"tags":       {"tag", "graffiti", "insulte"},
	"gravats":    {"gravats", "depot", "deverse", "encombrant", "canape", "frigo", "matelas"},
	"epave":      {"epave", "voiture abandonnee", "sans plaques", "clio"},
	"abribus":    {"abribus", "abri de bus", "vitre"},
	"bus":        {"ligne", "passe plus", "passe pas", "pas passe", "n est passe", "rien qui passe", "s arrete plus", "s arrete pas", "horaire", "interrompu", "circule"},
	"horodateur": {"horodateur"},
	"facade":     {"facade", "balcon", "enduit", "morceaux"},
	"chantier":   {"permis", "terrassement", "pelleteuse", "construire", "construction", "defriche"},
	"pollution":  {"pollution", "hydrocarbure", "fioul", "nappe", "irise", "arc en ciel"},
	"portail":    {"portail"},
}

func objectsOf(t string) []string {
	var out []string
	for g, ws := range objectGroups {
		for _, w := range ws {
			if strings.Contains(t, " "+w) {
				out = append(out, g)
				break
			}
		}
	}
	slices.Sort(out)
	return out
}

func sharesObject(a, b []string) bool {
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	return len(common(a, b)) > 0
}

var (
	// recurrence: the incident came back ("de nouveau", "réparé le").
	recurrence = spaced("de nouveau", "a nouveau", "encore en panne", "encore tout eteint", "avait ete repare", "ont ete repare",
		"etait deja en panne", "repare le", "reparee le")
	// notReport: a request for a service, not the report of an incident.
	notReport = spaced("rendez vous", "prendre rdv", "creneaux", "louer un", "demande de location", "disponibilites",
		"reamenagement", "projet d amenagement", "je voudrais faire enlever")
	months = map[string]time.Month{"janvier": 1, "fevrier": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6, "juillet": 7, "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11, "decembre": 12}
	dateRe = regexp.MustCompile(` (\d{1,2}) (janvier|fevrier|mars|avril|mai|juin|juillet|aout|septembre|octobre|novembre|decembre) `)
	noRe   = regexp.MustCompile(`^ (non|pas du tout|ah non)`)
)

// phrases are what a normalized text may hold, each between spaces:
// looked for one by one, which costs less than an expression of their
// alternatives tried at every space of the text.
type phrases []string

// spaced is the phrases ps, each between spaces.
func spaced(ps ...string) phrases {
	out := make(phrases, len(ps))
	for i, p := range ps {
		out[i] = " " + p + " "
	}
	return out
}

// in says whether t holds one of the phrases.
func (p phrases) in(t string) bool {
	for _, x := range p {
		if strings.Contains(t, x) {
			return true
		}
	}
	return false
}

// Words is what grouping reads in a report's words (Read).
type Words struct{ f feats }

// Read reads what grouping needs in r's words: streets and numbers,
// landmarks, objects, and what the caller and agent said of a known
// incident. It depends on Text, Agent, Home and At only.
func Read(r Report) *Words {
	r.Words = nil
	return &Words{f: features(r)}
}

func features(r Report) feats {
	if r.Words != nil {
		return r.Words.f
	}
	t := digits(Normalize(r.Text))
	var f feats
	for _, a := range r.Agent {
		q := digits(Normalize(a.Question))
		if knownRe.MatchString(q) && !noRe.MatchString(Normalize(a.Answer)) {
			f.known = true
		}
		if (strings.Contains(q, " deja ") || strings.Contains(q, " signale") || strings.Contains(q, " meme ")) && noRe.MatchString(Normalize(a.Answer)) {
			// "We already have a report at no. 12, is that you?" "No…":
			// the place the agent named is the one this report is not
			// about, and no longer one of its own.
			f.notThis = true
			ref := features(Report{Text: a.Question, At: r.At})
			f.refused = &ref
			t = strings.ReplaceAll(t, strings.TrimSpace(q), " ")
		}
	}
	if r.Home != "" && home.in(t) {
		t += digits(Normalize(r.Home))
	}
	f.streets, f.numbers = streetKeys(t)
	for _, w := range markWords {
		if strings.Contains(t, " "+w+" ") || strings.Contains(t, " "+w+"s ") {
			if f.refused == nil || !slices.Contains(f.refused.marks, w) {
				f.marks = append(f.marks, w)
			}
		}
	}
	f.objects = objectsOf(t)
	f.recurrence = recurrence.in(t)
	f.notReport = notReport.in(t)
	for _, m := range dateRe.FindAllStringSubmatchIndex(t, -1) {
		if streetOfDate.MatchString(t[max(0, m[0]-30) : m[0]+1]) {
			continue // "rue du 4 Septembre" is a street, not a date
		}
		day, _ := strconv.Atoi(t[m[2]:m[3]])
		at := r.At
		if at.IsZero() {
			break
		}
		d := time.Date(at.Year(), months[t[m[4]:m[5]]], day, 12, 0, 0, 0, at.Location())
		if d.After(at.Add(48 * time.Hour)) {
			d = d.AddDate(-1, 0, 0)
		}
		if at.Sub(d) > 60*24*time.Hour {
			f.oldEvent = true
		}
	}
	return f
}

var (
	// knownRe: the agent speaks of an incident the service already knows
	// and is handling there ("il y a eu une rupture de canalisation cette
	// nuit dans le secteur, les équipes sont sur place").
	knownRe = regexp.MustCompile(` (il y a eu une|effectivement|les equipes sont (sur place|en train|deja)|une equipe est (sur place|deja)|nous sommes au courant|on est au courant|deja ete signale|deja signale|nous avons deja (un|des|plusieurs) signalement)`)
	// home: the report is about the citizen's own street or building.
	home = spaced("chez moi", "chez nous", "notre rue", "notre avenue", "notre boulevard", "notre chemin", "notre impasse",
		"notre traverse", "notre residence", "notre immeuble", "notre allee", "notre lotissement", "ma rue", "mon immeuble",
		"ma residence", "devant chez", "en bas de chez")
	// streetOfDate: a date-like street name ends the text before it.
	streetOfDate = regexp.MustCompile(` (rue|avenue|boulevard|place|cours|allee|quai|square) (du|des) $`)
)

// refuses says whether old is at the place the caller said their report
// is not about: a landmark of it, or its street with a house number
// nearby (or none to tell them apart).
func (f feats) refuses(old feats) bool {
	if f.refused == nil {
		return false
	}
	if len(f.refused.marks) == 0 && len(f.refused.streets) == 0 {
		return true // the agent named no place: nothing known can be it
	}
	if len(common(f.refused.marks, old.marks)) > 0 {
		return true
	}
	for s := range f.refused.streets {
		if !old.streets[s] {
			continue
		}
		n, ok1 := f.refused.numbers[s]
		m, ok2 := old.numbers[s]
		if !ok1 || !ok2 || abs(n-m) <= 8 {
			return true
		}
	}
	return false
}

// bare are the keys without the mark of an area.
func bare(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, strings.TrimPrefix(k, "~"))
	}
	slices.Sort(out)
	return out
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func common(a, b []string) []string {
	var out []string
	for _, x := range a {
		if slices.Contains(b, x) && !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// MayMatch is a cheap first look before Compare: whether old's words
// share an object and a street, a landmark or coordinates with r's. The
// router locates (an expensive step) only the reports that pass.
func MayMatch(r, old Report) bool {
	fr, fo := features(r), features(old)
	if !sharesObject(fr.objects, fo.objects) {
		return false
	}
	located := r.Lat != nil && r.Lon != nil && old.Lat != nil && old.Lon != nil
	return located || len(common(keys(fr.streets), keys(fo.streets))) > 0 || len(common(fr.marks, fo.marks)) > 0
}

// Placed says whether a report names an object and a place grouping can
// compare (a street, a landmark or coordinates): without them no report
// can match, and the router does not look for candidates.
func Placed(r Report) bool {
	f := features(r)
	return len(f.objects) > 0 && (len(f.streets) > 0 || len(f.marks) > 0 || (r.Lat != nil && r.Lon != nil))
}

// Number words as speech-to-text writes them ("trente et un avenue des
// Chartreux", "la ligne trois", "vers le quatre-vingt").
var numberWords = map[string]int{"deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "sept": 7, "huit": 8, "neuf": 9,
	"dix": 10, "onze": 11, "douze": 12, "treize": 13, "quatorze": 14, "quinze": 15, "seize": 16, "vingt": 20, "vingts": 20,
	"trente": 30, "quarante": 40, "cinquante": 50, "soixante": 60, "cent": 100, "cents": 100}

// digits writes the numbers a normalized text spells in words with
// digits, below a thousand; "un" alone stays a word ("un trou").
func digits(t string) string {
	words := strings.Fields(t)
	var out []string
	for i := 0; i < len(words); {
		n, j := spelled(words, i)
		if j == i {
			out = append(out, words[i])
			i++
			continue
		}
		out = append(out, strconv.Itoa(n))
		i = j
	}
	return " " + strings.Join(out, " ") + " "
}

// spelled reads the number spelled from words[i]; it returns the value
// and the index after it (i when there is none).
func spelled(words []string, i int) (int, int) {
	total, cur, j, last := 0, 0, i, 0
	for j < len(words) {
		w := words[j]
		v, ok := numberWords[w]
		switch {
		case ok && (w == "cent" || w == "cents"):
			total += max(cur, 1) * 100
			cur = 0
		case ok && (w == "vingt" || w == "vingts") && cur == 4:
			cur = 80 // quatre-vingt
		case ok && v >= 20 && cur == 0:
			cur = v
		case ok && v < 20 && (cur == 0 || cur%10 == 0 && (last >= 20 || last == 10 && v < 10 && cur >= 70)):
			cur += v
		case (w == "et" || w == "un" || w == "une") && last >= 20 && last < 100:
			if w == "et" {
				if j+1 < len(words) && (words[j+1] == "un" || words[j+1] == "onze") {
					j++
					cur += map[string]int{"un": 1, "onze": 11}[words[j]]
					last = 1
					j++
					continue
				}
				return total + cur, j
			}
			cur++
		default:
			if j == i {
				return 0, i
			}
			return total + cur, j
		}
		last = v
		j++
	}
	return total + cur, j
}

// objectNames are the objects' names in French, for people.
var objectNames = map[string]string{
	"eclairage": "éclairage éteint", "trou": "nid-de-poule", "potelet": "potelet ou borne", "feux": "feux tricolores",
	"conteneur": "conteneurs, collecte", "fuite": "fuite d'eau", "odeur": "mauvaise odeur", "arbre": "arbre",
	"jeux": "aire de jeux", "tags": "tags", "gravats": "dépôt sauvage", "epave": "véhicule abandonné", "abribus": "abribus",
	"bus": "ligne de bus", "horodateur": "horodateur", "facade": "façade", "chantier": "chantier", "pollution": "pollution",
	"portail": "portail",
}

// Describe says, for people, what an incident is about and where, from a
// report of it and the reasons of its grouping: the objects in French and
// the street or landmark as the report names them (never who reported).
func Describe(r Report, reasons []Reason) (label, place string) {
	f := features(r)
	var objects []string
	for _, o := range f.objects {
		objects = append(objects, objectNames[o])
	}
	label = strings.Join(objects, ", ")
	_, _, phrases := streetPhrases(digits(Normalize(r.Text)))
	var where []string
	for _, rs := range reasons {
		switch rs.Code {
		case "rue", "quartier":
			for _, k := range strings.Split(rs.Detail[strings.LastIndex(rs.Detail, ": ")+2:], ", ") {
				if p, ok := phrases[k]; ok {
					where = append(where, p)
				} else if p, ok := phrases["~"+k]; ok {
					where = append(where, p)
				}
			}
		case "repere":
			for _, m := range strings.Split(rs.Detail[strings.LastIndex(rs.Detail, ": ")+2:], ", ") {
				where = append(where, m)
			}
		}
	}
	return label, strings.Join(where, ", ")
}

// Keys are the places a report names as the case history indexes them,
// to find the reports a new one may be grouped with: its streets and
// areas by their bare name (a quartier and a street of one name meet), its
// bus lines, and its landmarks ("@pharmacie"). Two reports that share
// none (and are not located near each other) are never grouped.
func Keys(w *Words) []string {
	if w == nil {
		return nil
	}
	var out []string
	for _, k := range bare(w.f.streets) {
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	for _, m := range w.f.marks {
		out = append(out, "@"+m)
	}
	return out
}
