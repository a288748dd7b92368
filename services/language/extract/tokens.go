package extract

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// token is one word or number of the text.
type token struct {
	w    string // folded: lower case, no accents, OCR digit confusions fixed
	surf string // as written
	// sep is what stands between the previous token and this one: each
	// punctuation mark as written (apostrophes, hyphens and dashes unified),
	// a run of spaces as one " ", a line break as "\n"; at most maxSep bytes.
	sep        string
	start, end int // byte offsets of surf in the text
}

const maxSep = 8

// tokenize splits text into words and numbers. Letters and digits make
// tokens; everything else separates them. Combining accents stay inside the
// word they mark.
func tokenize(s string) []token {
	toks := make([]token, 0, countWords(s))
	var buf, sep []byte
	start := -1
	flush := func(end int) {
		if start < 0 {
			return
		}
		surf := s[start:end]
		w := surf
		if string(buf) != surf {
			w = string(buf)
		}
		toks = appendToken(toks, token{w: w, surf: surf, sep: internSep(sep), start: start, end: end})
		buf, sep, start = buf[:0], sep[:0], -1
	}
	for i, r := range s {
		if r < utf8.RuneSelf {
			c := byte(r)
			switch {
			case 'a' <= c && c <= 'z' || '0' <= c && c <= '9':
			case 'A' <= c && c <= 'Z':
				c += 'a' - 'A'
			default:
				flush(i)
				sep = addSep(sep, sepByte(r))
				continue
			}
			if start < 0 {
				start = i
			}
			buf = append(buf, c)
			continue
		}
		if unicode.Is(unicode.Mn, r) {
			continue // a combining accent: part of the word, dropped when folding
		}
		if f := foldRune(r); f != "" {
			if start < 0 {
				start = i
			}
			buf = append(buf, f...)
			continue
		}
		flush(i)
		sep = addSep(sep, sepByte(r))
	}
	flush(len(s))
	return toks
}

// countWords bounds the number of tokens of s from above (a non-ASCII byte
// counts as a letter; OCR splits add at most one token per word).
func countWords(s string) int {
	n, in := 0, false
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		word := c >= 'a' && c <= 'z' || s[i] >= '0' && s[i] <= '9' || s[i] >= 0x80
		if word && !in {
			n++
		}
		in = word
	}
	return n + n/4 + 1
}

// latinFold holds foldRune's answers for U+0080–U+024F (Latin-1 and the
// Latin Extended blocks), computed once.
var latinFold = func() [0x250]string {
	var t [0x250]string
	for r := rune(0x80); r < 0x250; r++ {
		t[r] = foldSlow(r)
	}
	return t
}()

// foldRune returns the lower-case unaccented form of a non-ASCII letter or
// digit, or "" when r separates words.
func foldRune(r rune) string {
	if r >= 0x80 && r < 0x250 {
		return latinFold[r]
	}
	return foldSlow(r)
}

func foldSlow(r rune) string {
	switch r {
	case 'œ', 'Œ':
		return "oe"
	case 'æ', 'Æ':
		return "ae"
	case 'ß':
		return "ss"
	}
	if !unicode.IsLetter(r) && !unicode.IsNumber(r) {
		return ""
	}
	var b []byte
	for _, c := range norm.NFKD.String(string(unicode.ToLower(r))) {
		switch {
		case unicode.Is(unicode.Mn, c):
		case unicode.IsLetter(c) || unicode.IsDigit(c):
			b = utf8.AppendRune(b, unicode.ToLower(c))
		default:
			return "" // "½" and the like: not a word
		}
	}
	return string(b)
}

// sepByte classifies a separating rune.
func sepByte(r rune) byte {
	switch r {
	case '\n', '\r', '\v', '\f', 0x85, 0x2028, 0x2029:
		return '\n'
	case '\'', '’', '‘', 'ʼ', '`', '´', 'ʹ', '′':
		return '\''
	case '‐', '‑', '‒', '−':
		return '-'
	case '–', '—', '―':
		return ','
	case '«', '»', '“', '”', '„':
		return '"'
	case '…':
		return '.'
	}
	if unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) {
		return ' '
	}
	if r < utf8.RuneSelf {
		return byte(r)
	}
	return '#'
}

func addSep(sep []byte, c byte) []byte {
	n := len(sep)
	switch {
	case c == ' ' && n > 0 && (sep[n-1] == ' ' || sep[n-1] == '\n'):
		return sep
	case c == '\n' && n > 0 && sep[n-1] == ' ':
		sep[n-1] = '\n'
		return sep
	case c == '\n' && n > 0 && sep[n-1] == '\n':
		return sep
	case n >= maxSep:
		if c == '\n' {
			sep[n-1] = '\n'
		}
		return sep
	}
	return append(sep, c)
}

// internSep avoids an allocation for the common separators.
func internSep(b []byte) string {
	switch string(b) {
	case "":
		return ""
	case " ":
		return " "
	case "-":
		return "-"
	case "'":
		return "'"
	case ", ":
		return ", "
	case ". ":
		return ". "
	case ".":
		return "."
	case "\n":
		return "\n"
	}
	return string(b)
}

// appendToken fixes OCR digit confusions ("2O26" → "2026") and splits a
// case-reference prefix glued to its digits ("AMP2026").
func appendToken(toks []token, t token) []token {
	if d, ok := ocrDigits(t.w); ok {
		t.w = d
		return append(toks, t)
	}
	if len(t.w) > 4 && strings.HasPrefix(t.w, "amp") && len(t.surf) > 3 && strings.EqualFold(t.surf[:3], "amp") {
		rest := t.w[3:]
		if d, ok := ocrDigits(rest); ok {
			rest = d
		}
		if isDigits(rest) {
			toks = append(toks, token{w: "amp", surf: t.surf[:3], sep: t.sep, start: t.start, end: t.start + 3})
			return append(toks, token{w: rest, surf: t.surf[3:], start: t.start + 3, end: t.end})
		}
	}
	return append(toks, t)
}

// ocrDigits reads a token made of digits and the letters OCR confuses with
// them (O for 0, I and l for 1) as digits, when it has at least two real
// digits and three characters.
func ocrDigits(w string) (string, bool) {
	if len(w) < 3 {
		return "", false
	}
	digits, letters := 0, 0
	for i := 0; i < len(w); i++ {
		switch c := w[i]; {
		case '0' <= c && c <= '9':
			digits++
		case c == 'o' || c == 'i' || c == 'l':
			letters++
		default:
			return "", false
		}
	}
	if digits < 2 || letters == 0 {
		return "", false
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case 'o':
			return '0'
		case 'i', 'l':
			return '1'
		}
		return r
	}, w), true
}

func isDigits(w string) bool {
	if w == "" {
		return false
	}
	for i := 0; i < len(w); i++ {
		if w[i] < '0' || w[i] > '9' {
			return false
		}
	}
	return true
}

// sepOnly reports whether every byte of sep is in allowed. Every class
// allows spaces.
func sepOnly(sep, allowed string) bool {
	if sep == " " || sep == "" {
		return true
	}
	for i := 0; i < len(sep); i++ {
		if strings.IndexByte(allowed, sep[i]) < 0 {
			return false
		}
	}
	return true
}

// Separator classes.
const (
	sepWord   = " -'"          // inside a phrase: names, streets, communes
	sepJoin   = " -"           // inside one number
	sepDigits = " ,.-/()"      // between the groups of a phone number or postal code
	sepRef    = " ,.-/_:#°\"'" // inside a case reference
)

// doc is a tokenized text and which tokens a fact already took.
type doc struct {
	t    []token
	used []bool
}

func newDoc(s string) *doc {
	t := tokenize(s)
	return &doc{t: t, used: make([]bool, len(t))}
}

// w returns token i's folded word, "" out of range.
func (d *doc) w(i int) string {
	if i < 0 || i >= len(d.t) {
		return ""
	}
	return d.t[i].w
}

// free reports whether token i exists and no fact took it.
func (d *doc) free(i int) bool { return i >= 0 && i < len(d.t) && !d.used[i] }

// joined reports whether token i is free and follows i-1 within one number
// (spaces or hyphens between).
func (d *doc) joined(i int) bool { return d.free(i) && sepOnly(d.t[i].sep, sepJoin) }

// mark records that a fact took tokens [i, j).
func (d *doc) mark(i, j int) {
	for ; i < j && i < len(d.used); i++ {
		if i >= 0 {
			d.used[i] = true
		}
	}
}

// elided reports whether token i is elided ("l'", "d'", "j'"): followed by an
// apostrophe.
func (d *doc) elided(i int) bool {
	return i+1 < len(d.t) && strings.IndexByte(d.t[i+1].sep, '\'') >= 0
}

// skipFillers returns the first index from i that is not a filler word.
func (d *doc) skipFillers(i int) int {
	for i < len(d.t) && isFiller(d.t[i].w) {
		i++
	}
	return i
}

// prevWord returns the index of the nearest token before i that is not a
// filler, or -1.
func (d *doc) prevWord(i int) int {
	for i--; i >= 0; i-- {
		if !isFiller(d.t[i].w) {
			return i
		}
	}
	return -1
}
