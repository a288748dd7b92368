package extract

import (
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/ampmetropole/guichet/services/cases/citizen"
)

// maxCandidates bounds the e-mail and phone readings tried in one text.
const maxCandidates = 32

// writtenEmail is an address written out; citizen.NormalizeEmail has the
// last word.
var writtenEmail = regexp.MustCompile(`^[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,24}$`)

// email returns the first valid e-mail address of the text, written
// ("jean.dupont@example.fr") or spelled out ("jean point dupont arobase gmail
// point com"), and marks its tokens.
func (d *doc) email(text string) string {
	type hit struct {
		addr       string
		start, end int // tokens
	}
	var hits []hit
	// Written: around each "@", at most 64 bytes before and 255 after.
	for off := 0; off < len(text) && len(hits) < maxCandidates; {
		k := strings.IndexByte(text[off:], '@')
		if k < 0 {
			break
		}
		at := off + k
		off = at + 1
		a, b := at, at+1
		for a > 0 && at-a < 64 && strings.IndexByte(localBytes, text[a-1]) >= 0 {
			a--
		}
		for b < len(text) && b-at < 255 && strings.IndexByte(domainBytes, text[b]) >= 0 {
			b++
		}
		for a < at && text[a] == '.' {
			a++
		}
		for b > at+1 && (text[b-1] == '.' || text[b-1] == '-') {
			b--
		}
		if !writtenEmail.MatchString(text[a:b]) {
			continue
		}
		i, j := d.tokensIn(a, b)
		if addr, err := citizen.NormalizeEmail(text[a:b]); err == nil && addr != "" {
			hits = append(hits, hit{addr, i, j})
		}
		d.mark(i, j) // an address, even invalid, is no phone or name
	}
	tries := 0
	for k := 0; k < len(d.t) && tries < maxCandidates; k++ {
		if !d.free(k) {
			continue
		}
		localEnd, domStart := -1, -1
		switch w := d.t[k].w; {
		case w == "arobase" || w == "arobas" || w == "arrobase" || w == "arrobas" || w == "at":
			localEnd, domStart = k, k+1
		case strings.IndexByte(d.t[k].sep, '@') >= 0:
			localEnd, domStart = k, k
		default:
			continue
		}
		tries++
		local, ls := d.localPart(localEnd)
		domain, de := d.domainPart(domStart)
		if local == "" || domain == "" {
			continue
		}
		if a, err := citizen.NormalizeEmail(local + "@" + domain); err == nil && a != "" {
			hits = append(hits, hit{a, ls, de})
			d.mark(ls, de)
			k = de - 1
		}
	}
	if len(hits) == 0 {
		return ""
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].start < hits[j].start })
	return hits[0].addr
}

const (
	localBytes  = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-"
	domainBytes = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-"
)

// tokensIn returns the tokens overlapping bytes [a, b).
func (d *doc) tokensIn(a, b int) (int, int) {
	i := sort.Search(len(d.t), func(k int) bool { return d.t[k].end > a })
	j := i
	for j < len(d.t) && d.t[j].start < b {
		j++
	}
	return i, j
}

// emailStop ends the spelled local part when read backwards from "arobase".
var emailStop = set("c", "est", "mail", "mails", "email", "mel", "courriel", "adresse", "electronique",
	"mon", "ma", "son", "sa", "votre", "voila", "donc", "alors", "oui", "non", "et", "je", "j", "vous",
	"sur", "par", "le", "la", "les", "de", "des", "du", "a", "bien", "suis", "moi", "ca", "comme", "ecrit",
	"ecrire", "s", "qu", "que", "pour", "envoyer", "envoyez", "messagerie", "minuscule", "minuscules",
	"majuscule", "tout", "attache", "colle", "ok", "merci", "nom", "prenom", "l", "d", "m", "n", "y",
	"arobase", "arobas", "arrobase", "arrobas", "at", "mot", "cest", "ecrivez", "note", "notez")

// emailWord reports whether token j may belong to a spelled local part.
func (d *doc) emailWord(j int) bool {
	if !d.free(j) || d.elided(j) {
		return false
	}
	w := d.t[j].w
	switch w {
	case "point", "tiret", "underscore":
		return true
	case "du":
		return d.w(j-1) == "tiret" && d.w(j+1) == "bas"
	case "bas":
		return d.w(j-1) == "tiret" || (d.w(j-1) == "du" && d.w(j-2) == "tiret")
	}
	if len(w) == 1 && emailStop[w] {
		// A letter spelled among letters: "j e a n", "k a r i m".
		single := func(i int) bool { return i >= 0 && i < len(d.t) && len(d.t[i].w) == 1 && !d.elided(i) }
		return single(j-1) || single(j+1)
	}
	return !emailStop[w]
}

// localPart reads the spelled local part that ends before token end.
func (d *doc) localPart(end int) (string, int) {
	start := end
	for j := end - 1; j >= 0 && end-j <= 20; j-- {
		if isFiller(d.t[j].w) && d.free(j) {
			continue
		}
		if !d.emailWord(j) {
			break
		}
		start = j
		if !sepOnly(d.t[j].sep, " .-_+") || strings.Contains(d.t[j].sep, ". ") {
			break // punctuation before the first word
		}
	}
	for start < end && isFiller(d.t[start].w) {
		start++
	}
	if start >= end {
		return "", end
	}
	return d.spell(start, end), start
}

// spell writes tokens [i, j) as part of an address: "point" is ".", "tiret"
// "-", "tiret du bas" "_", numbers in words become digits, and dots, hyphens
// and underscores written between words are kept.
func (d *doc) spell(i, j int) string {
	var b strings.Builder
	for k := i; k < j; {
		if k > i {
			if s := d.t[k].sep; s == "." || s == "-" || s == "_" || s == "+" {
				b.WriteString(s)
			}
		}
		w := d.t[k].w
		switch {
		case isFiller(w):
			k++
		case w == "point":
			b.WriteByte('.')
			k++
		case w == "tiret" && d.w(k+1) == "bas" && k+1 < j:
			b.WriteByte('_')
			k += 2
		case w == "tiret" && d.w(k+1) == "du" && d.w(k+2) == "bas" && k+2 < j:
			b.WriteByte('_')
			k += 3
		case w == "underscore":
			b.WriteByte('_')
			k++
		case w == "tiret":
			b.WriteByte('-')
			k++
		case isNumberWord(w):
			var tmp [24]alt
			a := d.number(k, tmp[:0])
			if len(a) == 0 || a[0].end > j {
				b.WriteString(w)
				k++
				continue
			}
			b.WriteString(strconv.Itoa(a[0].v))
			k = a[0].end
		default:
			b.WriteString(w)
			k++
		}
	}
	return b.String()
}

// domainPart reads "gmail point com", "example.fr", "la poste point net"
// from token i.
func (d *doc) domainPart(i int) (string, int) {
	var labels []string
	for len(labels) < 6 {
		i = d.skipFillersFree(i)
		label, j := d.domainLabel(i, len(labels) == 0)
		if label == "" {
			break
		}
		labels = append(labels, label)
		i = j
		k := d.skipFillersFree(j)
		if d.free(k) && d.t[k].w == "point" && !hardEmailSep(d.t[k].sep) {
			i = k + 1
			continue
		}
		if d.free(j) && d.t[j].sep == "." {
			continue // written dot
		}
		break
	}
	if len(labels) < 2 {
		return "", i
	}
	return strings.Join(labels, "."), i
}

func hardEmailSep(sep string) bool { return !sepOnly(sep, " ") }

func (d *doc) skipFillersFree(i int) int {
	for d.free(i) && isFiller(d.t[i].w) {
		i++
	}
	return i
}

// domainLabel reads one label: before the first dot up to four words ("la
// poste"), after it one word or letters spelled one by one ("f r").
func (d *doc) domainLabel(i int, first bool) (string, int) {
	var b strings.Builder
	j := i
	for d.free(j) && j-i < 4 {
		w := d.t[j].w
		if j > i {
			sep := d.t[j].sep
			if !sepOnly(sep, " -_") {
				break // a written dot or punctuation ends the label
			}
			if sep == "-" || sep == "_" {
				b.WriteString(sep)
			}
		}
		if w == "point" || isFiller(w) {
			break
		}
		if !first {
			if len(w) == 1 { // "f r"
				if j > i && len(d.t[j-1].w) != 1 {
					break
				}
				b.WriteString(w)
				j++
				continue
			}
			if j > i {
				break
			}
			b.WriteString(w)
			return b.String(), j + 1
		}
		if w == "tiret" {
			b.WriteByte('-')
		} else {
			b.WriteString(w)
		}
		j++
	}
	return b.String(), j
}

// phoneContext words announce a call-back number.
var phoneContext = set("rappeler", "rappelle", "rappel", "rappelez", "recontacter", "numero", "joindre",
	"joignable", "portable", "telephone", "tel", "mobile", "fixe", "contacter", "contact", "appeler", "tél")

// phone returns the call-back number: every number reading as a French phone
// number, written ("06 39 98 14 27", "+33 6 39…", "04.65.71.27.74") or
// spoken ("zéro six trente-neuf quatre-vingt-dix-huit…", digit by digit),
// preferring one said after "rappeler", "mon numéro", "joindre",
// "portable", "téléphone"; marks the tokens of all of them.
func (d *doc) phone() string {
	type cand struct {
		num        string
		start, end int
		score      int
	}
	var cands []cand
	r := phoneReader{d: d, fail: map[int]bool{}}
	for i := 0; i < len(d.t) && len(cands) < maxCandidates; i++ {
		if !d.free(i) {
			continue
		}
		w, sep := d.t[i].w, d.t[i].sep
		plus, from := false, i
		switch {
		case strings.IndexByte(sep, '+') >= 0 && isDigits(w):
			plus = true
		case w == "plus" && d.joined(i+1):
			plus, from = true, i+1
		case w == "zero" || (isDigits(w) && w[0] == '0'):
		default:
			continue
		}
		r.plus = plus
		end, ok := r.read(from)
		if !ok {
			continue
		}
		num := string(r.buf)
		if plus {
			if len(num) == 12 {
				num = num[:2] + num[3:] // "+33 (0)6…"
			}
			num = "+" + num
		}
		p, err := citizen.NormalizePhone(num)
		if err != nil || p == "" {
			continue
		}
		cands = append(cands, cand{p, i, end, d.phoneScore(i)})
	}
	// A caller who starts again ("zéro six… zéro six trente-neuf…") gives
	// overlapping readings: keep the one that goes on further.
	var kept []cand
	for a, c := range cands {
		restarted := false
		for b := a + 1; b < len(cands); b++ {
			if o := cands[b]; o.start > c.start && o.start < c.end && o.end > c.end {
				restarted = true
				break
			}
		}
		if !restarted {
			kept = append(kept, c)
		}
	}
	best := -1
	for k, c := range kept {
		d.mark(c.start, c.end)
		if best < 0 || c.score > kept[best].score {
			best = k
		}
	}
	if best < 0 {
		return ""
	}
	return kept[best].num
}

// phoneScore is 1 when a word announcing a call-back number comes shortly
// before token i.
func (d *doc) phoneScore(i int) int {
	for k := i - 1; k >= 0 && k >= i-10; k-- {
		if phoneContext[d.t[k].w] {
			return 1
		}
	}
	return 0
}

// phoneReader reads a phone number as chunks put end to end, trying the
// readings of each chunk longest first.
type phoneReader struct {
	d    *doc
	plus bool // after "+": the digits are 33 and nine more, or 33 0 and nine
	buf  []byte
	fail map[int]bool // (token, digits so far) known to lead nowhere
}

func (r *phoneReader) read(i int) (int, bool) {
	clear(r.fail)
	r.buf = r.buf[:0]
	return r.dfs(i)
}

func (r *phoneReader) dfs(i int) (int, bool) {
	n := len(r.buf)
	key := i*16 + n
	if r.fail[key] {
		return 0, false
	}
	var tmp [24]group
	for _, g := range r.d.groups(i, tmp[:0]) {
		if n+len(g.digits) > 13 {
			continue
		}
		// Written digits come whole ("0639984518") or in pairs after a first
		// group ("06 39…", "+33 6 39…", "0033 4 65…"): "055 26 00042" is
		// a permit number, not a phone.
		if !g.word && n > 0 && len(g.digits) != 2 && (len(g.digits) != 1 || n > 3) {
			continue
		}
		r.buf = append(r.buf[:n], g.digits...)
		switch done, ok := r.check(); {
		case !ok:
			continue
		case done:
			return g.end, true
		}
		k, ok := r.d.nextGroup(g.end, sepDigits)
		if !ok {
			continue
		}
		if end, ok := r.dfs(k); ok {
			return end, true
		}
	}
	r.buf = r.buf[:n]
	r.fail[key] = true
	return 0, false
}

// check says whether the digits so far can start a phone number and whether
// they make a whole one.
func (r *phoneReader) check() (done, ok bool) {
	b := r.buf
	if r.plus {
		// 33 + 9 digits, or 33 0 + 9 digits.
		if b[0] != '3' || (len(b) > 1 && b[1] != '3') {
			return false, false
		}
		if len(b) > 2 && b[2] == '0' {
			return len(b) == 12, len(b) <= 12
		}
		return len(b) == 11, len(b) <= 11
	}
	if b[0] != '0' {
		return false, false
	}
	if len(b) < 2 {
		return false, true
	}
	if b[1] != '0' {
		return len(b) == 10, len(b) <= 10
	}
	// 0033…
	if (len(b) > 2 && b[2] != '3') || (len(b) > 3 && b[3] != '3') {
		return false, false
	}
	return len(b) == 13, len(b) <= 13
}

// nextGroup returns where the next chunk of a number starts after end:
// fillers skipped, separators limited to allowed, no line break.
func (d *doc) nextGroup(end int, allowed string) (int, bool) {
	for k := end; k < len(d.t) && k < end+4; k++ {
		if !d.free(k) || !sepOnly(d.t[k].sep, allowed) {
			return 0, false
		}
		if !isFiller(d.t[k].w) {
			return k, true
		}
	}
	return 0, false
}
