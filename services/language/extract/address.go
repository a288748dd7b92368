package extract

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxStreetWords bounds the words of a street name.
const maxStreetWords = 5

// address returns the first street address with a house number ("douze
// avenue de la fontaine" → "12 avenue de la Fontaine"), else the first
// without one, and marks the tokens of every address found so that a commune
// inside a street name ("rue d'Aubagne") is not taken for the place.
//
// A street name runs from the street type to a postal code or number, a
// commune named after the street's own name, "à", punctuation, a filler or
// a word that cannot be part of a name. Its words are capitalized, its
// particles ("de la", "du", "l'") kept lower case, the street type written
// out ("bd" → "boulevard").
func (e *Extractor) address(d *doc) string {
	first := ""
	for k := 0; k < len(d.t); k++ {
		st, ok := streetTypes[d.t[k].w]
		if !ok || !d.free(k) {
			continue
		}
		num, numStart := d.houseNumber(k)
		name, end, capital := e.streetName(d, k, st)
		if name == "" || (num == "" && !st.strong && !capital) {
			continue
		}
		if num == "" {
			d.mark(k, end)
			if first == "" {
				first = st.canon + " " + name
			}
			k = end - 1
			continue
		}
		d.mark(numStart, end)
		return num + " " + st.canon + " " + name
	}
	return first
}

// houseNumber reads the number before the street type at k: digits ("12",
// "12bis", "12 bis") or words ("cent vingt-trois"), with bis or ter.
func (d *doc) houseNumber(k int) (string, int) {
	j := k - 1
	suffix := ""
	for j >= 0 && isFiller(d.t[j].w) {
		j--
	}
	if j >= 0 && d.free(j) && (d.t[j].w == "bis" || d.t[j].w == "ter" || d.t[j].w == "quater") {
		suffix = " " + d.t[j].w
		j--
	}
	if j < 0 || !d.free(j) || !sepOnly(d.t[j+1].sep, " ,-") {
		return "", 0
	}
	w := d.t[j].w
	if n := leadingDigits(w); n > 0 && n <= 4 && w[0] != '0' {
		switch rest := w[n:]; rest {
		case "":
		case "bis", "ter", "b":
			if suffix == "" {
				suffix = " " + map[string]string{"bis": "bis", "ter": "ter", "b": "bis"}[rest]
			}
		default:
			return "", 0
		}
		return w[:n] + suffix, j
	}
	if !isNumberWord(w) {
		return "", 0
	}
	// The longest number in words that ends at j.
	for s := max(0, j-6); s <= j; s++ {
		if !d.free(s) {
			continue
		}
		var tmp [24]alt
		for _, a := range d.number(s, tmp[:0]) {
			if a.end != j+1 || a.v < 1 || a.v > 999 {
				continue
			}
			// "un" alone is an article unless said "au un".
			if a.v == 1 && s == j && d.w(d.prevWord(s)) != "au" {
				continue
			}
			return strconv.Itoa(a.v) + suffix, s
		}
	}
	return "", 0
}

func leadingDigits(w string) int {
	n := 0
	for n < len(w) && w[n] >= '0' && w[n] <= '9' {
		n++
	}
	return n
}

// streetName reads the name after the street type at k. It returns the
// name, the index after it and whether its first word was written with a
// capital.
func (e *Extractor) streetName(d *doc, k int, st streetType) (string, int, bool) {
	var parts []int // token indexes
	names, lastName := 0, false
	capital := false
	i := k + 1
	for ; i < len(d.t) && i-k <= 12; i++ {
		if !d.free(i) {
			break
		}
		sep, w := d.t[i].sep, d.t[i].w
		if i == k+1 && st.abbr {
			sep = strings.Replace(sep, ".", "", 1)
		}
		if !sepOnly(sep, sepWord) {
			break
		}
		if isFiller(w) {
			break
		}
		// The rest of a hyphenated word: "Saint-Jean-du-Désert".
		if lastName && sep == "-" {
			parts = append(parts, i)
			continue
		}
		if particles[w] {
			if lastName && (w == "le" || w == "la" || w == "les") {
				break // an article after the name starts a new phrase
			}
			parts = append(parts, i)
			lastName = false
			continue
		}
		if names > 0 {
			if _, n := e.communeAt(d, i); n > 0 {
				break
			}
		}
		if isNumeric(w) {
			// "rue du 4 septembre", "boulevard du quatorze juillet"
			if names > 0 || i == k+1 || d.t[i-1].w != "du" {
				break
			}
		} else if stopWords[w] || titles[w] != "" || !isWord(w) {
			break
		} else if _, ok := streetTypes[w]; ok {
			break
		}
		if names == 0 {
			r, _ := utf8.DecodeRuneInString(d.t[i].surf)
			capital = unicode.IsUpper(r)
		}
		parts = append(parts, i)
		names++
		lastName = true
		if isNumeric(w) {
			var tmp [24]alt
			if a := d.number(i, tmp[:0]); len(a) > 0 && !isDigits(w) {
				i = a[0].end - 1
				parts[len(parts)-1] = -a[0].v - 1 // a number in words, written in digits
			}
		}
		if names >= maxStreetWords {
			i++
			break
		}
	}
	for len(parts) > 0 {
		p := parts[len(parts)-1]
		if p >= 0 && particles[d.t[p].w] {
			parts = parts[:len(parts)-1]
			continue
		}
		break
	}
	if names == 0 || len(parts) == 0 {
		return "", k + 1, false
	}
	end := parts[len(parts)-1] + 1
	if end <= 0 { // ended on a number in words
		end = i
	}
	var b strings.Builder
	for n, p := range parts {
		if p < 0 {
			if n > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(strconv.Itoa(-p - 1))
			continue
		}
		t := d.t[p]
		if n > 0 {
			switch {
			case strings.IndexByte(t.sep, '\'') >= 0:
				b.WriteByte('\'')
			case t.sep == "-":
				b.WriteByte('-')
			default:
				b.WriteByte(' ')
			}
		}
		if lowerInName[t.w] || isDigits(t.w) {
			b.WriteString(strings.ToLower(t.surf))
		} else {
			b.WriteString(capitalize(t.surf))
		}
	}
	return b.String(), end, capital
}

// isWord reports whether w is made of letters only.
func isWord(w string) bool {
	for _, r := range w {
		if !unicode.IsLetter(r) {
			return false
		}
	}
	return w != ""
}

// capitalize writes a word said or written in one case with a capital
// initial ("fontaine", "FONTAINE" → "Fontaine"); a word written in mixed
// case ("McKenzie") stays as written.
func capitalize(s string) string {
	if s == "" {
		return s
	}
	lower, upper := strings.ToLower(s), strings.ToUpper(s)
	if s != lower && s != upper {
		r, n := utf8.DecodeRuneInString(s)
		return string(unicode.ToUpper(r)) + s[n:]
	}
	r, n := utf8.DecodeRuneInString(lower)
	return string(unicode.ToUpper(r)) + lower[n:]
}
