package extract

import "strconv"

// French numbers in words. The parser is non-deterministic: from a token it
// returns every reading, longest first, because a transcript does not say
// where one number ends and the next begins ("quatre vingt dix huit" is 98
// in a phone number, but 4 then 80… could also be read). Callers choose.

var unitWords = map[string]int{
	"zero": 0, "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6,
	"sept": 7, "huit": 8, "neuf": 9, "dix": 10, "onze": 11, "douze": 12, "treize": 13,
	"quatorze": 14, "quinze": 15, "seize": 16,
}

var tensWords = map[string]int{
	"vingt": 20, "trente": 30, "quarante": 40, "cinquante": 50, "soixante": 60,
	"septante": 70, "huitante": 80, "octante": 80, "nonante": 90,
}

func isCent(w string) bool  { return w == "cent" || w == "cents" }
func isMille(w string) bool { return w == "mille" || w == "mil" }

// isNumberWord reports whether w is a word of a French number.
func isNumberWord(w string) bool {
	if _, ok := unitWords[w]; ok {
		return w != "une"
	}
	_, ok := tensWords[w]
	return ok || isCent(w) || isMille(w) || w == "vingts"
}

// isNumeric reports whether w is digits or a number word.
func isNumeric(w string) bool { return isDigits(w) || isNumberWord(w) }

// alt is one reading of a number: its value and the index after its last
// token.
type alt struct{ v, end int }

// number appends every reading (0–999 999) of the number that starts at
// token i, longest first; digits may stand for a multiplicand ("2 mille").
func (d *doc) number(i int, out []alt) []alt {
	if !d.free(i) {
		return out
	}
	base := len(out)
	if w := d.t[i].w; w != "" && w[0] >= '0' && w[0] <= '9' {
		// Digits count here only as a multiplicand: "2 mille", "3 cents".
		if !d.joined(i+1) || (!isMille(d.t[i+1].w) && !isCent(d.t[i+1].w)) {
			return out
		}
	}
	out = d.hundreds(i, out)
	n := len(out)
	for k := base; k < n; k++ {
		if a := out[k]; a.v >= 2 && a.v <= 999 && d.joined(a.end) && isMille(d.t[a.end].w) {
			out = d.milleTail(a.v*1000, a.end+1, out)
		}
	}
	if v, ok := d.smallDigits(i); ok && v >= 2 && d.joined(i+1) && isMille(d.t[i+1].w) {
		out = d.milleTail(v*1000, i+2, out)
	}
	if isMille(d.t[i].w) {
		out = d.milleTail(1000, i+1, out)
	}
	return sortAlts(out, base)
}

func (d *doc) milleTail(base, j int, out []alt) []alt {
	out = append(out, alt{base, j})
	if d.joined(j) {
		var tmp [16]alt
		for _, b := range d.hundreds(j, tmp[:0]) {
			if b.v >= 1 && b.v <= 999 {
				out = append(out, alt{base + b.v, b.end})
			}
		}
	}
	return out
}

// hundreds reads below 2 000: "cent", "deux cents", "cent un", and the
// colloquial "treize cent un" (1 301).
func (d *doc) hundreds(i int, out []alt) []alt {
	base := len(out)
	out = d.below100(i, out)
	n := len(out)
	for k := base; k < n; k++ {
		if a := out[k]; a.v >= 2 && a.v <= 19 && d.joined(a.end) && isCent(d.t[a.end].w) {
			out = d.centTail(a.v*100, a.end+1, out)
		}
	}
	if v, ok := d.smallDigits(i); ok && v >= 2 && v <= 19 && d.joined(i+1) && isCent(d.t[i+1].w) {
		out = d.centTail(v*100, i+2, out)
	}
	if isCent(d.t[i].w) {
		out = d.centTail(100, i+1, out)
	}
	return out
}

func (d *doc) centTail(base, j int, out []alt) []alt {
	out = append(out, alt{base, j})
	if d.joined(j) {
		var tmp [8]alt
		for _, b := range d.below100(j, tmp[:0]) {
			if b.v >= 1 {
				out = append(out, alt{base + b.v, b.end})
			}
		}
	}
	return out
}

// below100 reads 0–99.
func (d *doc) below100(i int, out []alt) []alt {
	if !d.free(i) {
		return out
	}
	w := d.t[i].w
	if u, ok := unitWords[w]; ok && w != "une" {
		out = append(out, alt{u, i + 1})
		switch {
		case u == 10 && d.joined(i+1):
			if u2 := unitWords[d.t[i+1].w]; u2 >= 7 && u2 <= 9 {
				out = append(out, alt{10 + u2, i + 2})
			}
		case u == 4 && d.joined(i+1) && (d.t[i+1].w == "vingt" || d.t[i+1].w == "vingts"):
			out = append(out, alt{80, i + 2})
			out = d.afterTens(80, i+2, out)
		}
		return out
	}
	if t, ok := tensWords[w]; ok {
		out = append(out, alt{t, i + 1})
		out = d.afterTens(t, i+1, out)
	}
	return out
}

// afterTens reads what follows a tens word at j: "et un", a unit, and for
// soixante and quatre-vingt the teens.
func (d *doc) afterTens(t, j int, out []alt) []alt {
	if !d.joined(j) {
		return out
	}
	w := d.t[j].w
	if w == "et" {
		if !d.joined(j + 1) {
			return out
		}
		switch d.t[j+1].w {
		case "un", "une":
			out = append(out, alt{t + 1, j + 2})
		case "onze":
			if t == 60 || t == 80 {
				out = append(out, alt{t + 11, j + 2})
			}
		}
		return out
	}
	u, ok := unitWords[w]
	if !ok || u == 0 || w == "une" {
		return out
	}
	switch {
	case u <= 9:
		out = append(out, alt{t + u, j + 1})
	case t == 60 || t == 80:
		out = append(out, alt{t + u, j + 1})
		if u == 10 && d.joined(j+1) {
			if u2 := unitWords[d.t[j+1].w]; u2 >= 7 && u2 <= 9 {
				out = append(out, alt{t + 10 + u2, j + 2})
			}
		}
	}
	return out
}

// smallDigits reads a token of 1–3 digits without a leading zero.
func (d *doc) smallDigits(i int) (int, bool) {
	w := d.w(i)
	if !isDigits(w) || len(w) > 3 || w[0] == '0' {
		return 0, false
	}
	v, err := strconv.Atoi(w)
	return v, err == nil
}

// sortAlts orders out[base:] longest first and keeps one reading per end.
func sortAlts(out []alt, base int) []alt {
	s := out[base:]
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j].end > s[j-1].end; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	k := 0
	for i := range s {
		if i == 0 || s[i].end != s[k-1].end {
			s[k] = s[i]
			k++
		}
	}
	return out[:base+k]
}

// group is one chunk of a number said or written in pieces: a digit token
// as written ("04", "004213") or a number in words as its digits.
type group struct {
	digits string
	end    int
	word   bool // said in words
	v      int  // value, for words
}

// groups appends the readings of the chunk at token i, longest first.
func (d *doc) groups(i int, out []group) []group {
	if !d.free(i) {
		return out
	}
	var tmp [24]alt
	for _, a := range d.number(i, tmp[:0]) {
		out = append(out, group{digits: strconv.Itoa(a.v), end: a.end, word: true, v: a.v})
	}
	if w := d.t[i].w; isDigits(w) {
		out = append(out, group{digits: w, end: i + 1})
	}
	return out
}

// wordsToNumber converts a whole French number written in words (digits
// allowed as multiplicands: "2 mille 26" is not, "deux mille vingt-six" and
// "2 mille vingt-six" are) to its value.
func wordsToNumber(s string) (int, bool) {
	d := newDoc(s)
	if len(d.t) == 0 {
		return 0, false
	}
	if len(d.t) == 1 && isDigits(d.t[0].w) && len(d.t[0].w) <= 9 {
		v, err := strconv.Atoi(d.t[0].w)
		return v, err == nil
	}
	var tmp [24]alt
	for _, a := range d.number(0, tmp[:0]) {
		if a.end == len(d.t) {
			return a.v, true
		}
	}
	return 0, false
}
