package extract

import (
	"slices"
	"strconv"
	"strings"

	"github.com/ampmetropole/guichet/services/cases/caseref"
)

// Bounds of the case-reference reader.
const (
	maxRefs     = 20 // case references kept from one text
	maxMentions = 64 // readings weighed in one text
	maxRun      = 24 // tokens a sequence number may span, fillers included
	maxRestarts = 8  // places in one sequence where a restart is tried
	// refWindow is how many tokens after a reference, or after "AMP",
	// "référence", "dossier", a repeat without them still counts: about two
	// turns of a call.
	refWindow = 80
)

// caseRefs finds the Métropole's case references, "AMP-2026-004213", and
// marks their tokens. They are read
//
//   - written: "AMP-2026-004213", "amp 2026 4213", OCR'd "AMP-2O26-0051O2",
//     across a hyphenated line break;
//   - spoken after "AMP" ("a m p", "a.m.p", "à m p"): "a m p deux mille
//     vingt-six zéro zéro quarante-deux treize", "amp vingt-six quatre mille
//     deux cent treize", with fillers, "tiret", and restarts ("vingt-six euh
//     deux mille vingt-six…", "zéro zéro euh zéro zéro neuf…", "non pardon");
//   - after a reference word without "AMP": "la référence deux mille
//     vingt-six…", "numéro de dossier", "dossier numéro";
//   - repeated without "AMP" within refWindow tokens of one of those (the
//     next turn): the year and six digits, or the six digits alone when the
//     year was said, in digits or pairs, never after an invoice, a permit, a
//     contract or another organization's prefix.
//
// The readings of one reference (the first attempt and its repeats) are
// weighed together: digits said one by one or written beat pairs, which beat
// numbers said whole; a reading said twice beats one said once; a reading
// that leaves number words unexplained is kept only if nothing better is
// said; a tie keeps both, in order. Numbers with no "AMP" and no reference
// word before them are never case references.
func (d *doc) caseRefs() []string {
	var groups []*refGroup
	var cur *refGroup
	mentions := 0
	open := func(i int) bool { return cur != nil && i < cur.until }
	for i := 0; i < len(d.t) && mentions < maxMentions; i++ {
		if !d.free(i) {
			continue
		}
		if j, ok := d.ampPrefix(i); ok {
			r := d.readRef(j, true)
			g := &refGroup{year: r.year}
			if g.year == 0 && open(i) {
				g.year = cur.year
			}
			end := max(j, r.end)
			d.mark(i, end)
			if r.ok {
				g.add(r)
				mentions++
			}
			g.until = end + refWindow
			groups, cur = append(groups, g), g
			i = end - 1
			continue
		}
		if refWords[d.t[i].w] {
			if k, ok := d.refBridge(i + 1); ok {
				if r := d.readRef(k, false); r.ok || r.year != 0 {
					g := &refGroup{year: r.year, until: r.end + refWindow}
					if r.ok {
						g.add(r)
						mentions++
					}
					d.mark(i, r.end)
					groups, cur = append(groups, g), g
					i = r.end - 1
					continue
				}
			}
			// "ma référence… euh attendez": what follows may complete it.
			if open(i) {
				cur.until = max(cur.until, i+refWindow)
			} else {
				cur = &refGroup{until: i + refWindow}
				groups = append(groups, cur)
			}
			continue
		}
		if open(i) && d.runStart(i) && !d.foreignBefore(i) {
			if r, ok := d.repeatAt(i, cur.year); ok {
				cur.add(r)
				mentions++
				d.mark(i, r.end)
				cur.until = r.end + refWindow
				i = r.end - 1
			}
		}
	}
	var refs []string
	for _, g := range groups {
		refs = g.resolve(refs)
	}
	if len(refs) > maxRefs {
		refs = refs[:maxRefs]
	}
	return refs
}

// refGroup is a reference and its repeats.
type refGroup struct {
	year  int // the year said, 0 if none yet
	until int // a repeat must start before this token
	cands []refCand
}

// refCand is one distinct reading of a group.
type refCand struct {
	ref      string
	strength int // best strength it was read with
	support  int // times it was read
}

func (g *refGroup) add(r refRead) {
	if g.year == 0 {
		g.year = r.year
	}
	for k := range g.cands {
		if c := &g.cands[k]; c.ref == r.ref {
			c.strength = max(c.strength, r.strength)
			c.support++
			return
		}
	}
	g.cands = append(g.cands, refCand{r.ref, r.strength, 1})
}

// resolve appends the group's best readings to refs: the strongest, then
// the most repeated; all of them on a tie. Doubtful readings alone are
// dropped.
func (g *refGroup) resolve(refs []string) []string {
	best := refCand{strength: 1}
	for _, c := range g.cands {
		if c.strength > best.strength || c.strength == best.strength && c.support > best.support {
			best = c
		}
	}
	for _, c := range g.cands {
		if c.strength == best.strength && c.support == best.support && !slices.Contains(refs, c.ref) {
			refs = append(refs, c.ref)
		}
	}
	return refs
}

// refWords introduce a case reference without "AMP": "la référence",
// "v/réf.", "numéro de dossier", "dossier numéro".
var refWords = set("reference", "references", "ref", "dossier", "dossiers")

// refBridgeWords may stand between a reference word and the year: "la
// référence c'est le…", "le numéro de dossier : …", "dossier n° …".
var refBridgeWords = set("c", "cest", "est", "ce", "le", "la", "l", "du", "de", "d", "dossier", "numero", "n", "no",
	"num", "mon", "ma", "votre", "notre", "alors", "donc", "bien", "oui", "voila", "tiret")

// refBridge skips the words between a reference word and the year.
func (d *doc) refBridge(j int) (int, bool) {
	for k := j; k < len(d.t) && k < j+8; k++ {
		if !d.free(k) || !d.refSep(k) {
			return 0, false
		}
		if w := d.t[k].w; !refBridgeWords[w] && !isFiller(w) {
			return k, true
		}
	}
	return 0, false
}

// corrections stop a sequence number and start it again: "zéro zéro quatre
// non pardon zéro zéro neuf…".
var corrections = set("non", "pardon", "enfin", "plutot", "attendez", "attends", "reprends", "recommence")

func isPause(w string) bool { return isFiller(w) || corrections[w] }

// foreignWords name numbers that are not the Métropole's case references.
var foreignWords = set("facture", "factures", "permis", "pc", "dp", "contravention", "amende", "avis", "pv", "proces",
	"contrat", "commande", "client", "siret", "siren", "immatriculation", "plaque", "compte", "iban", "op", "colis",
	"ticket", "bon", "lot", "parcelle", "cadastre", "cadastrale", "adherent", "abonne", "abonnement", "compteur",
	"sinistre", "police", "bordereau", "mandat", "titre", "recu", "quittance", "telephone", "portable", "tel", "fixe",
	"mobile", "fax", "securite", "allocataire", "fiscal", "fiscale", "impots", "rib", "carte", "badge", "devis")

// foreignBefore reports whether a number starting at i belongs to something
// else: a foreign word shortly before it on the same line, or a code glued
// to it ("OP-2026-…").
func (d *doc) foreignBefore(i int) bool {
	if i > 0 && !isNumeric(d.t[i-1].w) && strings.ContainsAny(d.t[i].sep, "-/_") && !isFiller(d.t[i-1].w) {
		return true
	}
	for k := i - 1; k >= 0 && k >= i-6; k-- {
		if foreignWords[d.t[k].w] {
			return true
		}
		if strings.IndexByte(d.t[k].sep, '\n') >= 0 {
			break
		}
	}
	return false
}

// runStart reports whether a number starts at i: it is not the middle of
// one already being said.
func (d *doc) runStart(i int) bool {
	if !isNumeric(d.t[i].w) {
		return false
	}
	for k := i; k > 0; k-- {
		if !d.refSep(k) || !d.free(k-1) {
			return true
		}
		w := d.t[k-1].w
		if isFiller(w) {
			continue
		}
		return !isNumeric(w) && w != "et" && w != "tiret"
	}
	return true
}

// ampPrefix matches "amp", "AMP", "a m p", "A.M.P.", "à m p", "am p" at i
// and returns the index after it.
func (d *doc) ampPrefix(i int) (int, bool) {
	if !d.free(i) {
		return 0, false
	}
	sep := func(k int) bool { return d.free(k) && sepOnly(d.t[k].sep, " .-") }
	switch d.t[i].w {
	case "amp":
		return i + 1, true
	case "a":
		if sep(i+1) && sep(i+2) && d.t[i+1].w == "m" && d.t[i+2].w == "p" {
			return i + 3, true
		}
		if sep(i+1) && d.t[i+1].w == "mp" {
			return i + 2, true
		}
	case "am":
		if sep(i+1) && d.t[i+1].w == "p" {
			return i + 2, true
		}
	}
	return 0, false
}

// refSep reports whether token k may follow the previous one inside a
// reference: punctuation of a reference, or a line break after a hyphen or
// before digits written whole ("AMP-2026-\n004213", "AMP\n2026-004213").
func (d *doc) refSep(k int) bool {
	sep := d.t[k].sep
	if sepOnly(sep, sepRef) {
		return true
	}
	nl := strings.IndexByte(sep, '\n')
	if nl < 0 || !sepOnly(strings.ReplaceAll(sep, "\n", " "), sepRef) || !isDigits(d.t[k].w) {
		return false
	}
	w := d.t[k].w
	return strings.IndexByte(sep[:nl], '-') >= 0 || len(w) == 6 || len(w) == 4 && w[:2] == "20"
}

// refNext skips what may stand between the parts of a reference (fillers,
// "tiret", "numéro", "n°") and returns the next part's index.
func (d *doc) refNext(j int) (int, bool) {
	for k := j; k < len(d.t) && k < j+6; k++ {
		if !d.free(k) || !d.refSep(k) {
			return 0, false
		}
		switch w := d.t[k].w; w {
		case "tiret", "numero", "n", "no", "num":
			continue
		default:
			if isFiller(w) {
				continue
			}
		}
		return k, true
	}
	return 0, false
}

// refRead is one reading of a case reference.
type refRead struct {
	ref      string // canonical, "" when no sequence number was read
	year     int    // the year read, 0 if none
	end      int    // index after the last token read
	strength int    // see seqRead.strength
	ok       bool
}

// readRef reads the year and the sequence number from j, after "AMP" or a
// reference word. short allows the year said in two digits ("vingt-six").
func (d *doc) readRef(j int, short bool) refRead {
	k, ok := d.refNext(j)
	if !ok {
		return refRead{end: j}
	}
	if w := d.t[k].w; isDigits(w) && len(w) > 4 && len(w) <= 12 && w[:2] == "20" { // "AMP 2026004213"
		y, _ := strconv.Atoi(w[:4])
		if seq, ok := seqNumber(w[4:]); ok {
			return refRead{ref: caseref.Format(y, seq).String(), year: y, end: k + 1, strength: 3, ok: true}
		}
		return refRead{end: j}
	}
	year, e, ok := d.refYear(k, short)
	if !ok {
		return refRead{end: j}
	}
	s, ok := d.readSeq(e, year, false)
	if !ok {
		return refRead{year: year, end: e}
	}
	return s.ref()
}

// repeatAt reads a reference said again without "AMP" at i: the year (in
// full) and the sequence number, or the sequence number alone when the year
// is known. Only firm readings count: six digits, in digits or pairs, that
// end the number said.
func (d *doc) repeatAt(i, year int) (refRead, bool) {
	firm := func(s seqRead) bool {
		return s.clean == cleanStrict && len(s.digits) == 6 && s.strength() >= 2
	}
	if y, e, ok := d.refYear(i, false); ok && (year == 0 || y == year) {
		if s, ok := d.readSeq(e, y, false); ok && firm(s) {
			return s.ref(), true
		}
		return refRead{}, false
	}
	if year == 0 {
		return refRead{}, false
	}
	if s, ok := d.readSeq(i, year, true); ok && firm(s) && s.year == year {
		return s.ref(), true
	}
	return refRead{}, false
}

// refYear reads the year at k: "2026", "deux mille vingt-six", "vingt vingt-six",
// "deux zéro deux six", and when short, "vingt-six".
func (d *doc) refYear(k int, short bool) (year, end int, ok bool) {
	if !d.free(k) {
		return 0, 0, false
	}
	w := d.t[k].w
	if isDigits(w) && len(w) == 4 {
		if w[:2] != "20" {
			return 0, 0, false
		}
		y, _ := strconv.Atoi(w)
		return y, k + 1, true
	}
	// "deux zéro deux six"
	var b [4]byte
	n := 0
	for m := k; n < 4 && (m == k || d.joined(m)); m++ {
		v, ok := digitWord(d.t[m].w)
		if !ok {
			break
		}
		b[n] = byte('0' + v)
		n++
	}
	if n == 4 && b[0] == '2' && b[1] == '0' {
		y, _ := strconv.Atoi(string(b[:]))
		return y, k + 4, true
	}
	var tmp [24]alt
	// "vingt vingt-six"
	if w == "vingt" && d.joined(k+1) && d.t[k+1].sep != "-" {
		best := alt{}
		for _, a := range d.below100(k+1, tmp[:0]) {
			if a.v >= 10 && a.end > best.end {
				best = a
			}
		}
		if best.end > 0 {
			return 2000 + best.v, best.end, true
		}
	}
	// The first reading that is a year, longest first: "vingt-six mille
	// trois cent dix-huit" is 26 then 1 318.
	for _, a := range d.number(k, tmp[:0]) {
		switch {
		case a.v >= 2000 && a.v <= 2099:
			return a.v, a.end, true
		case short && a.v >= 10 && a.v <= 99:
			return 2000 + a.v, a.end, true
		}
	}
	return 0, 0, false
}

// digitWord reads one digit said or written alone.
func digitWord(w string) (int, bool) {
	if len(w) == 1 && w[0] >= '0' && w[0] <= '9' {
		return int(w[0] - '0'), true
	}
	if v, ok := unitWords[w]; ok && v <= 9 && w != "une" {
		return v, true
	}
	return 0, false
}

// How a reading ends the number said.
const (
	cleanNot     = iota // number words follow that it does not explain
	cleanArticle        // only "un" follows, before a word: "… dix-huit un lampadaire"
	cleanStrict         // nothing follows
)

// seqRead is one reading of a sequence number.
type seqRead struct {
	year      int    // the year, which a restart may have changed
	digits    string // as said, before padding
	end       int    // index after its last token
	clean     int    // cleanNot, cleanArticle, cleanStrict
	leftover  int    // number tokens said after it in the same run
	written   bool   // some group written in digits
	spoken    bool   // some group said in words
	single    bool   // every group said in words is one digit word
	composite bool   // a group said in words is 100 or more
	doubtful  bool
}

// strength ranks a reading: 3 written, or said digit by digit (six
// digits); 2 said in pairs or tens (six digits) or digit by digit without
// the leading zeros; 1 a number said whole ("neuf mille cinq cent quarante
// et un"), which says where no digit goes; 0 doubtful: number words left
// unexplained after a number said whole, or fewer than six digits said one
// by one from a zero.
func (s seqRead) strength() int {
	n := len(s.digits)
	switch {
	case s.doubtful:
		return 0
	case !s.spoken:
		return 3
	case s.composite:
		return 1
	case s.single && !s.written:
		if n == 6 {
			return 3
		}
		if s.digits[0] == '0' {
			return 0
		}
		return 2
	case n == 6:
		return 2
	}
	return 1
}

func (s seqRead) ref() refRead {
	seq, _ := seqNumber(s.digits)
	return refRead{ref: caseref.Format(s.year, seq).String(), year: s.year, end: s.end, strength: s.strength(), ok: true}
}

// readSeq reads the sequence number after the year, which ends at j. The
// tokens it may span (the run: numbers, fillers, "tiret", corrections; at
// most maxRun, on one line) are read end to end, longest numbers first
// (greedy). When that reading does not explain the whole run, the caller
// may have started again: at most maxRestarts places are tried, the latest
// first, and a restart is kept when its reading explains the rest of the
// run:
//
//   - after a pause (filler or correction), the year said again or
//     corrected: "vingt-six euh deux mille vingt-six zéro zéro…";
//   - after a pause, the words just before it said again: "zéro zéro
//     quatre-vingt euh quatre-vingt-quinze…";
//   - after a pause, digits starting like those before it: "zéro zéro
//     quatre-vingt-quinze euh zéro zéro neuf cinq…";
//   - after a correction ("non", "pardon", "attendez"), anything;
//   - anywhere, the same year said again, unless the first reading was six
//     digits said in digits or pairs (then what follows is another number).
func (d *doc) readSeq(j, year int, start bool) (seqRead, bool) {
	var buf [maxRun]int
	run := d.refRun(j, start, buf[:0])
	if len(run) == 0 {
		return seqRead{}, false
	}
	after := run[len(run)-1] + 1
	first, firstOK := d.seqOf(run, year, after)
	if firstOK && first.clean == cleanStrict {
		return first, true
	}
	strong := firstOK && len(first.digits) == 6 && first.strength() >= 2
	sub := d.sub(run)
	tried := 0
	var tmp [maxRun]int
	for p := len(run) - 1; p >= 0 && tried < maxRestarts; p-- {
		if !isPause(sub.t[p].w) {
			// The same year said again.
			if strong {
				continue
			}
			if y, e, ok := sub.refYear(p, false); ok && y == year {
				tried++
				if s, ok := d.seqOf(run[e:], year, after); ok && s.clean == cleanStrict {
					return s, true
				}
			}
			continue
		}
		if p+1 < len(run) && isPause(sub.t[p+1].w) {
			continue // a run of pauses is tried once, from its last word
		}
		q, corrected := p, corrections[sub.t[p].w]
		for q > 0 && isPause(sub.t[q-1].w) {
			q--
			corrected = corrected || corrections[sub.t[q].w]
		}
		g := p + 1
		for g < len(run) && sub.t[g].w == "tiret" {
			g++
		}
		p = q
		if g >= len(run) {
			continue
		}
		tried++
		// The year said again, or corrected.
		y, e, ok := sub.refYear(g, false)
		if !ok {
			if y, e, ok = sub.refYear(g, true); y != year {
				ok = false
			}
		}
		if ok {
			if s, ok := d.seqOf(run[e:], y, after); ok && s.clean == cleanStrict {
				return s, true
			}
		}
		// The words just before the pause said again after it.
		if k := repeatedWords(sub, q, g); k > 0 {
			idx := append(append(tmp[:0], run[:q-k]...), run[g:]...)
			if s, ok := d.seqOf(idx, year, after); ok && s.clean == cleanStrict {
				return s, true
			}
		}
		post, ok := d.seqOf(run[g:], year, after)
		if !ok || post.clean != cleanStrict {
			continue
		}
		// A correction replaces a reading that was not firm, or one of the
		// same length.
		if corrected && (!strong || len(post.digits) == len(first.digits)) {
			return post, true
		}
		if pre, ok := d.seqOf(run[:q], year, after); ok && strings.HasPrefix(post.digits, pre.digits) {
			return post, true
		}
	}
	if !firstOK {
		return seqRead{}, false
	}
	if first.clean == cleanNot && first.leftover <= 3 && (first.composite || len(first.digits) < 6) {
		first.doubtful = true
	}
	return first, true
}

// repeatedWords returns k ≥ 1 when the k number words before the pause at p
// are said again from g, the longest such k, or 0.
func repeatedWords(sub *doc, p, g int) int {
	for k := min(p, 6); k >= 1; k-- {
		if g+k > len(sub.t) {
			continue
		}
		same := true
		for m := 0; m < k && same; m++ {
			a, b := sub.t[p-k+m].w, sub.t[g+m].w
			same = a == b && isNumeric(a)
		}
		if same {
			return k
		}
	}
	return 0
}

// refRun appends to idx the tokens from j that a sequence number may span;
// start says that j starts a number (what comes before it does not matter).
func (d *doc) refRun(j int, start bool, idx []int) []int {
	for k := j; k < len(d.t) && len(idx) < cap(idx); k++ {
		if !d.free(k) || !(d.refSep(k) || start && k == j) {
			break
		}
		w := d.t[k].w
		switch {
		case isNumeric(w), isPause(w), w == "tiret", w == "numero", w == "n", w == "no", w == "num":
		case w == "et" && d.joined(k+1) && (d.t[k+1].w == "un" || d.t[k+1].w == "une" || d.t[k+1].w == "onze"):
		default:
			return idx
		}
		idx = append(idx, k)
	}
	return idx
}

// sub copies the tokens idx into a document of their own, so that a reading
// can skip words said twice.
func (d *doc) sub(idx []int) *doc {
	t := make([]token, len(idx))
	for m, k := range idx {
		t[m] = d.t[k]
		if strings.IndexByte(t[m].sep, '\n') >= 0 {
			t[m].sep = "-" // a line break refSep allowed
		}
	}
	if len(t) > 0 {
		t[0].sep = " " // what stood before the run was checked by refRun
	}
	return &doc{t: t, used: make([]bool, len(t))}
}

// seqOf reads the sequence number from the tokens idx (a run, or a run
// with words said twice left out) greedily, with year; after is the index
// of the token after the run.
func (d *doc) seqOf(idx []int, year, after int) (seqRead, bool) {
	if len(idx) == 0 {
		return seqRead{}, false
	}
	sub := d.sub(idx)
	s := sub.greedySeq(0)
	if len(s.digits) == 0 {
		return seqRead{}, false
	}
	if _, ok := seqNumber(s.digits); !ok {
		return seqRead{}, false
	}
	s.year = year
	for k := s.end; k < len(sub.t); k++ {
		if isNumeric(sub.t[k].w) {
			s.leftover++
		}
	}
	switch {
	case s.leftover == 0:
		s.clean = cleanStrict
	case s.leftover == 1 && sub.t[len(sub.t)-1].w == "un" && after < len(d.t) && d.t[after].sep == " " &&
		!isNumeric(d.t[after].w) && !isFiller(d.t[after].w) && d.t[after].w != "et":
		s.clean = cleanArticle
	}
	s.end = idx[s.end-1] + 1
	return s, true
}

// greedySeq reads the sequence number from j: digit tokens and number words
// put end to end ("zéro zéro quarante-deux treize" is 004213), at most six
// digits; a number said whole ("quatre mille deux cent treize") or written
// in four digits or more ends it.
func (d *doc) greedySeq(j int) seqRead {
	s := seqRead{single: true}
	var digits []byte
	end := j
	for len(digits) < 6 {
		k, ok := d.refNext(end)
		if !ok {
			break
		}
		if w := d.t[k].w; isDigits(w) {
			if len(digits)+len(w) > 6 {
				if t := strings.TrimLeft(w, "0"); len(digits) == 0 && len(t) > 0 && len(t) <= 6 {
					digits, end, s.written = append(digits, t...), k+1, true
				}
				break
			}
			digits, end, s.written = append(digits, w...), k+1, true
			if len(w) >= 4 {
				break
			}
			continue
		}
		var tmp [24]alt
		took, whole := false, false
		for ai, a := range d.number(k, tmp[:0]) {
			v := strconv.Itoa(a.v)
			if len(digits)+len(v) > 6 {
				continue
			}
			// Never cut a number before its multiplier ("treize | mille").
			if ai > 0 && d.joined(a.end) && (isMille(d.t[a.end].w) || isCent(d.t[a.end].w)) {
				continue
			}
			digits, end, took, whole = append(digits, v...), a.end, true, a.v >= 100
			s.spoken = true
			s.composite = s.composite || whole
			s.single = s.single && a.v <= 9 && a.end == k+1
			break
		}
		if !took || whole {
			break
		}
	}
	s.digits, s.end = string(digits), end
	return s
}

// seqNumber reads the digits of a sequence number, six at most once
// leading zeros beyond six are dropped; all zeros is no number. caseref
// pads it to six digits.
func seqNumber(s string) (int, bool) {
	if len(s) > 6 {
		s = strings.TrimLeft(s, "0")
	}
	if len(s) == 0 || len(s) > 6 || strings.Trim(s, "0") == "" || !isDigits(s) {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}
