// Package extract finds facts in French text, transcribed speech or written:
// case references, postal code and commune, street address, e-mail, name and
// call-back number. Input beyond MaxInput bytes is ignored.
package extract

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"github.com/ampmetropole/guichet/services/citizen"
	"github.com/ampmetropole/guichet/services/territory"
)

// MaxInput bounds the text read.
const MaxInput = 200000

// Facts are what a text says about a request.
type Facts struct {
	CaseRefs     []string
	PostalCode   string
	CommuneINSEE string
	CommuneName  string
	Address      string
	Email        string
	Name         string
	Phone        string
}

// Extractor finds facts in French text.
type Extractor struct {
	places   *territory.Directory
	communes []communeName // longest first
}

type communeName struct {
	folded []string
	c      *territory.Commune
}

// New builds an extractor over the Métropole's communes.
func New(places *territory.Directory) *Extractor {
	e := &Extractor{places: places}
	for _, c := range places.Communes() {
		e.communes = append(e.communes, communeName{folded: tokens(c.Name), c: c})
	}
	for i := 1; i < len(e.communes); i++ { // insertion sort, longest first
		for j := i; j > 0 && len(e.communes[j].folded) > len(e.communes[j-1].folded); j-- {
			e.communes[j], e.communes[j-1] = e.communes[j-1], e.communes[j]
		}
	}
	return e
}

// fold lower-cases and removes accents.
func fold(s string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	out, _, err := transform.String(t, strings.ToLower(s))
	if err != nil {
		return strings.ToLower(s)
	}
	return out
}

// tokens splits folded text into words and numbers; apostrophes and hyphens
// separate words.
func tokens(s string) []string {
	return strings.FieldsFunc(fold(s), func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '@' || r == '.' || r == '_' || r == '+')
	})
}

// word tokens without dots (sentence ends) for speech matching.
func words(s string) []string {
	var out []string
	for _, t := range tokens(s) {
		t = strings.Trim(t, ".")
		if t != "" {
			out = append(out, t)
		}
	}
	return out
}

// Extract finds the facts of text.
func (e *Extractor) Extract(text string) Facts {
	if len(text) > MaxInput {
		text = text[:MaxInput]
	}
	w := words(text)
	var f Facts
	f.CaseRefs = caseRefs(text, w)
	e.place(text, w, &f)
	f.Address = address(w)
	f.Email = email(text, w)
	f.Name = name(text)
	f.Phone = phone(text, w)
	return f
}

// numberRun turns number words and digit tokens from w[i:] into digit
// groups, stopping at the first other word. It returns the groups and the
// index after the run.
func numberRun(w []string, i int) ([]string, int) {
	var groups []string
	cur, open, lastMult := 0, false, false
	flush := func() {
		if open {
			groups = append(groups, strconv.Itoa(cur))
		}
		cur, open, lastMult = 0, false, false
	}
	for ; i < len(w); i++ {
		t := w[i]
		if isDigits(t) {
			flush()
			groups = append(groups, t)
			continue
		}
		if t == "et" && open && i+1 < len(w) && (w[i+1] == "un" || w[i+1] == "onze") {
			continue
		}
		if t == "cent" || t == "cents" {
			switch {
			case !open:
				cur, open = 100, true
			case cur%100 == 0:
				flush()
				cur, open = 100, true
			default:
				cur = cur - cur%100 + (cur%100)*100
			}
			lastMult = true
			continue
		}
		if t == "mille" {
			switch {
			case !open:
				cur, open = 1000, true
			case cur >= 1000:
				flush()
				cur, open = 1000, true
			default:
				cur *= 1000
			}
			lastMult = true
			continue
		}
		if t == "zero" {
			flush()
			groups = append(groups, "0")
			continue
		}
		v, ok := units[t]
		if !ok {
			break
		}
		switch {
		case !open:
			cur, open = v, true
		case (t == "vingt" || t == "vingts") && cur%100 == 4:
			cur += 76
		case lastMult && v < 100:
			cur += v
		case cur%100 >= 20 && cur%10 == 0 && v < 10 && v > 0:
			cur += v
		case (cur%100 == 60 || cur%100 == 80) && v >= 10 && v < 20:
			cur += v
		case (cur%100 == 10 || cur%100 == 70 || cur%100 == 90) && v >= 7 && v <= 9:
			cur += v
		default:
			flush()
			cur, open = v, true
		}
		lastMult = false
	}
	flush()
	return groups, i
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

var writtenRef = regexp.MustCompile(`(?i)\bA\.?\s?M\.?\s?P\b[\s.:°n-]*([0-9OIl]{4})[\s./-]*([0-9OIl]{1,6})\b`)

var ocrDigits = strings.NewReplacer("O", "0", "o", "0", "I", "1", "l", "1")

// caseRefs finds AMP references written or spoken.
func caseRefs(text string, w []string) []string {
	var refs []string
	add := func(year, seq string) {
		y, err := strconv.Atoi(year)
		if err != nil || y < 2000 || y > 2099 || seq == "" || len(seq) > 6 {
			return
		}
		ref := "AMP-" + year + "-" + strings.Repeat("0", 6-len(seq)) + seq
		for _, r := range refs {
			if r == ref {
				return
			}
		}
		refs = append(refs, ref)
	}
	for _, m := range writtenRef.FindAllStringSubmatch(text, -1) {
		add(ocrDigits.Replace(m[1]), ocrDigits.Replace(m[2]))
	}
	for i := 0; i < len(w); i++ {
		start := -1
		switch {
		case w[i] == "amp":
			start = i + 1
		case w[i] == "a" && i+2 < len(w) && w[i+1] == "m" && w[i+2] == "p":
			start = i + 3
		}
		if start < 0 || start >= len(w) {
			continue
		}
		groups, _ := numberRun(w, start)
		if len(groups) == 0 {
			continue
		}
		year := groups[0]
		rest := strings.Join(groups[1:], "")
		if len(year) == 2 { // "vingt-six" → 2026
			year = "20" + year
		}
		if len(year) > 4 && strings.HasPrefix(year, "20") && rest == "" {
			year, rest = year[:4], year[4:]
		}
		add(year, rest)
	}
	return refs
}

var postalDigits = regexp.MustCompile(`\b(1[0-9]{4}|8[34][0-9]{3})\b`)

var ordinals = map[string]int{"premier": 1, "1er": 1, "deuxieme": 2, "troisieme": 3, "quatrieme": 4, "cinquieme": 5, "sixieme": 6,
	"septieme": 7, "huitieme": 8, "neuvieme": 9, "dixieme": 10, "onzieme": 11, "douzieme": 12, "treizieme": 13, "quatorzieme": 14,
	"quinzieme": 15, "seizieme": 16}

// place finds the postal code and commune, keeping a pair that agrees.
func (e *Extractor) place(text string, w []string, f *Facts) {
	var codes []string
	for _, m := range postalDigits.FindAllString(text, -1) {
		if len(e.places.ByPostalCode(m)) > 0 {
			codes = append(codes, m)
		}
	}
	for i := 0; i < len(w); i++ {
		if w[i] != "treize" {
			continue
		}
		groups, _ := numberRun(w, i)
		joined := strings.Join(groups, "")
		for _, cand := range postalCandidates(groups, joined) {
			if len(e.places.ByPostalCode(cand)) > 0 {
				codes = append(codes, cand)
				break
			}
		}
	}
	marseille := false
	var commune *territory.Commune
	for i := 0; i < len(w) && commune == nil; i++ {
		for _, cn := range e.communes {
			if i+len(cn.folded) <= len(w) && equal(w[i:i+len(cn.folded)], cn.folded) {
				commune = cn.c
				break
			}
		}
	}
	if commune != nil && commune.INSEE == "13055" {
		marseille = true
	}
	if marseille || commune == nil {
		for i, t := range w {
			n, ok := ordinals[t]
			if !ok && strings.HasSuffix(t, "e") && isDigits(strings.TrimSuffix(t, "e")) {
				n, _ = strconv.Atoi(strings.TrimSuffix(t, "e"))
				ok = n >= 1 && n <= 16
			}
			if ok && n >= 1 && n <= 16 && (marseille || (i > 0 && (w[i-1] == "le" || w[i-1] == "dans"))) {
				codes = append(codes, "130"+twoDigits(n))
				break
			}
		}
	}
	for _, c := range codes {
		cs := e.places.ByPostalCode(c)
		if commune == nil {
			f.PostalCode = c
			if len(cs) == 1 {
				commune = cs[0]
			}
			break
		}
		for _, x := range cs {
			if x == commune {
				f.PostalCode = c
			}
		}
		if f.PostalCode != "" {
			break
		}
	}
	if commune != nil {
		f.CommuneINSEE, f.CommuneName = commune.INSEE, commune.Name
		if f.PostalCode == "" && len(commune.PostalCodes) == 1 {
			f.PostalCode = commune.PostalCodes[0]
		}
	}
}

func postalCandidates(groups []string, joined string) []string {
	var out []string
	if len(joined) == 5 {
		out = append(out, joined)
	}
	if len(groups) >= 1 {
		// "treize cent un": 1301 → 13001; "treize zero zero un".
		if n, err := strconv.Atoi(joined); err == nil && len(joined) == 4 && strings.HasPrefix(joined, "13") {
			out = append(out, "13"+"0"+joined[2:])
			_ = n
		}
	}
	return out
}

func twoDigits(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

func equal(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

var streetTypes = map[string]bool{"rue": true, "avenue": true, "av": true, "boulevard": true, "bd": true, "chemin": true, "allee": true,
	"impasse": true, "place": true, "cours": true, "route": true, "traverse": true, "quai": true, "montee": true, "square": true,
	"lotissement": true, "residence": true, "cite": true, "parc": true}

var addressStops = map[string]bool{"a": true, "au": true, "euh": true, "heu": true, "et": true, "il": true, "elle": true, "ya": true,
	"y": true, "je": true, "on": true, "depuis": true, "pres": true, "devant": true, "qui": true, "mais": true, "donc": true, "c": true,
	"vous": true, "ca": true, "dans": true, "sur": true, "en": true, "pour": true, "merci": true}

// address finds "[number] [type] [name]".
func address(w []string) string {
	for i, t := range w {
		if !streetTypes[t] || i == 0 {
			continue
		}
		// the number before, in digits or words
		j := i - 1
		if w[j] == "bis" || w[j] == "ter" {
			j--
		}
		if j < 0 {
			continue
		}
		num := ""
		if isDigits(w[j]) {
			num = w[j]
		} else {
			k := j
			for k > 0 && isNumberWord(w[k-1]) {
				k--
			}
			if isNumberWord(w[j]) {
				if g, _ := numberRun(w, k); len(g) == 1 {
					num = g[0]
				}
			}
		}
		if num == "" {
			continue
		}
		parts := []string{num}
		if w[i-1] == "bis" || w[i-1] == "ter" {
			parts = append(parts, w[i-1])
		}
		parts = append(parts, t)
		for k := i + 1; k < len(w) && k < i+7; k++ {
			x := w[k]
			if addressStops[x] || isDigits(x) {
				break
			}
			if x == "de" || x == "la" || x == "du" || x == "des" || x == "l" || x == "d" || x == "le" || x == "les" {
				parts = append(parts, x)
				continue
			}
			parts = append(parts, strings.ToUpper(x[:1])+x[1:])
		}
		for len(parts) > 2 {
			last := parts[len(parts)-1]
			if last == "de" || last == "la" || last == "du" || last == "des" || last == "l" || last == "d" || last == "le" || last == "les" {
				parts = parts[:len(parts)-1]
				continue
			}
			break
		}
		return strings.Join(parts, " ")
	}
	return ""
}

var writtenEmail = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`)

// email finds an address, written or spelled out.
func email(text string, w []string) string {
	if m := writtenEmail.FindString(text); m != "" {
		if e, err := citizen.NormalizeEmail(m); err == nil {
			return e
		}
	}
	for i, t := range w {
		if t != "arobase" && t != "arrobase" && t != "at" {
			continue
		}
		// local part: back to a stop word
		var local []string
		for k := i - 1; k >= 0 && k >= i-8; k-- {
			x := w[k]
			if x == "c" || x == "est" || x == "mail" || x == "email" || x == "adresse" || x == "e" || x == "euh" || x == "mon" || x == "cest" {
				break
			}
			local = append([]string{x}, local...)
		}
		var domain []string
		for k := i + 1; k < len(w) && k <= i+6; k++ {
			domain = append(domain, w[k])
			if k > i+1 && w[k-1] == "point" {
				break
			}
		}
		addr := spell(local) + "@" + spell(domain)
		if e, err := citizen.NormalizeEmail(addr); err == nil {
			return e
		}
	}
	return ""
}

func spell(ws []string) string {
	var b strings.Builder
	for i := 0; i < len(ws); i++ {
		switch x := ws[i]; {
		case x == "point":
			b.WriteByte('.')
		case x == "tiret" && i+2 < len(ws) && ws[i+1] == "du" && ws[i+2] == "bas":
			b.WriteByte('_')
			i += 2
		case x == "tiret" && i+1 < len(ws) && ws[i+1] == "bas":
			b.WriteByte('_')
			i++
		case x == "underscore":
			b.WriteByte('_')
		case x == "tiret":
			b.WriteByte('-')
		default:
			if v, ok := units[x]; ok && v < 10 {
				b.WriteString(strconv.Itoa(v))
			} else {
				b.WriteString(x)
			}
		}
	}
	return b.String()
}

var nameIntro = regexp.MustCompile(`(?i)\b(je m'appelle|je m appelle|mon nom (?:est|c'est)|moi c'est|c'est|je suis|de la part de|ici)\s+((?:madame|monsieur|mme|m\.|mademoiselle)\s+)?([\p{L}'-]+(?:\s+[\p{L}'-]+){0,2})`)

var notName = map[string]bool{"pour": true, "euh": true, "heu": true, "au": true, "a": true, "le": true, "la": true, "les": true, "un": true,
	"une": true, "de": true, "du": true, "des": true, "et": true, "je": true, "j": true, "que": true, "qui": true, "pas": true, "bien": true,
	"ca": true, "ce": true, "cette": true, "en": true, "sur": true, "dans": true, "tres": true, "toujours": true, "encore": true,
	"vraiment": true, "desole": true, "desolee": true, "locataire": true, "proprietaire": true, "habitante": true, "habitant": true,
	"appelle": true, "appel": true, "voisin": true, "voisine": true, "metropole": true, "oui": true, "non": true, "d": true, "l": true,
	"vous": true, "point": true, "arobase": true, "il": true, "elle": true, "y": true, "mon": true, "ma": true, "mes": true, "votre": true, "chez": true, "donc": true}

// name finds how the caller introduced themselves.
func name(text string) string {
	for _, m := range nameIntro.FindAllStringSubmatch(text, -1) {
		intro, title := strings.ToLower(m[1]), strings.TrimSpace(m[2])
		// "c'est", "je suis", "ici" introduce a name only with a title.
		if title == "" && (intro == "c'est" || intro == "je suis" || intro == "ici") {
			continue
		}
		var parts []string
		for _, x := range strings.Fields(m[3]) {
			if notName[fold(x)] || strings.ContainsRune(x, '\'') {
				break
			}
			parts = append(parts, strings.ToUpper(x[:1])+strings.ToLower(x[1:]))
		}
		if len(parts) == 0 {
			continue
		}
		if title != "" {
			t := map[string]string{"madame": "Madame", "monsieur": "Monsieur", "mme": "Madame", "m.": "Monsieur", "mademoiselle": "Mademoiselle"}[strings.ToLower(title)]
			if len(parts) == 1 {
				return t + " " + parts[0]
			}
		}
		return strings.Join(parts, " ")
	}
	return ""
}

var writtenPhone = regexp.MustCompile(`(?:\+33\s?(?:\(0\)\s?)?|0033\s?|\b0)[1-9](?:[\s.-]?[0-9]{2}){4}\b`)

// phone finds a call-back number, written or spoken.
func phone(text string, w []string) string {
	if m := writtenPhone.FindString(text); m != "" {
		if p, err := citizen.NormalizePhone(m); err == nil {
			return p
		}
	}
	for i, t := range w {
		if t != "zero" {
			continue
		}
		groups, _ := numberRun(w, i)
		digits := strings.Join(groups, "")
		if len(digits) >= 10 && digits[0] == '0' && digits[1] != '0' {
			if p, err := citizen.NormalizePhone(digits[:10]); err == nil {
				return p
			}
		}
	}
	return ""
}
