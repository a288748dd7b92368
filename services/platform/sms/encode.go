package sms

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/linxGnu/gosmpp/data"
	"golang.org/x/text/unicode/norm"

	"github.com/ampmetropole/guichet/services/platform/fault"
)

// Coding is how the text of an SMS travels: GSM-7 or UCS-2.
type Coding string

// The two codings this package sends.
const (
	GSM7 Coding = "GSM-7" // GSM 03.38 default alphabet and extension table, data_coding 0x00
	UCS2 Coding = "UCS-2" // UTF-16 big-endian, data_coding 0x08
)

// Lengths of one SMS and of one part of a concatenated SMS, in septets
// (GSM-7) or UTF-16 code units (UCS-2), and the most parts a message may have.
const (
	gsm7Single = 160
	gsm7Part   = 153
	ucs2Single = 70
	ucs2Part   = 67
	// MaxParts bounds the parts of one message: 918 GSM-7 septets, or 402
	// UCS-2 code units.
	MaxParts = 6
)

// maxTextBytes bounds the UTF-8 text Encode looks at: no character takes more
// than 3 bytes per septet or 2 per code unit kept (… is 3 bytes for 3
// septets, U+202F 3 bytes for one), so a longer text can never fit MaxParts.
const maxTextBytes = 4096

// Encoded is a text as it will travel: its coding and its parts.
type Encoded struct {
	Coding Coding
	Text   string // the text the phone will show: normalised, transliterated when GSM-7
	Length int    // in septets (GSM-7) or UTF-16 code units (UCS-2), escapes counted twice
	Parts  []Part // one, or up to MaxParts for a concatenated message
}

// Part is the user data of one SMS, without the user data header.
type Part struct {
	Text string // the piece of Encoded.Text this part carries
	Data []byte // GSM-7 unpacked, one septet per octet (escapes as 0x1B and the character), or UTF-16BE
}

// Encode normalises, transliterates and splits text as described in the
// package documentation. Errors are fault.Invalid, in French: an empty text,
// a control character, invalid UTF-8, or a text over MaxParts parts.
func Encode(text string) (Encoded, error) {
	if len(text) > maxTextBytes {
		return Encoded{}, tooLong(fmt.Sprintf("%d octets", len(text)))
	}
	clean, err := normalize(text)
	if err != nil {
		return Encoded{}, err
	}
	if strings.TrimSpace(clean) == "" {
		return Encoded{}, fault.E(fault.Invalid, errors.New("le texte du SMS est vide"))
	}
	if n, ok := gsmLength(clean); ok {
		return encodeGSM(clean, n)
	}
	if t := transliterate(clean); t != clean {
		if n, ok := gsmLength(t); ok {
			return encodeGSM(t, n)
		}
	}
	return encodeUCS2(clean)
}

// tooLong is the error for a text over MaxParts parts.
func tooLong(what string) error {
	return fault.E(fault.Invalid, fmt.Errorf(
		"texte trop long pour un SMS : %s, au plus %d SMS enchaînés, soit %d caractères simples ou %d avec des caractères hors de l'alphabet GSM (émoji…)",
		what, MaxParts, MaxParts*gsm7Part, MaxParts*ucs2Part))
}

// normalize checks text and puts it in the form described in the package
// documentation (NFC, LF line breaks, no invisible characters).
func normalize(text string) (string, error) {
	if !utf8.ValidString(text) {
		return "", fault.E(fault.Invalid, errors.New("le texte du SMS n'est pas de l'UTF-8 valide"))
	}
	text = norm.NFC.String(text)
	var b strings.Builder
	b.Grow(len(text))
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		i += size
		switch {
		case r == '\r':
			if i < len(text) && text[i] == '\n' {
				i++
			}
			b.WriteByte('\n')
		case r == '\n':
			b.WriteByte('\n')
		case r == '\t':
			b.WriteByte(' ')
		case r == '\u200B' || r == '\uFEFF' || r == '\u00AD':
			// zero-width space, byte-order mark, soft hyphen: invisible
		case r == '\u2028' || r == '\u2029':
			b.WriteByte('\n') // line and paragraph separators
		case r < 0x20 || (r >= 0x7F && r < 0xA0):
			return "", fault.E(fault.Invalid, fmt.Errorf("le texte du SMS contient un caractère de contrôle (U+%04X)", r))
		default:
			b.WriteRune(r)
		}
	}
	return b.String(), nil
}

// septets returns what r costs in GSM-7: 1 in the default alphabet, 2 in the
// extension table, 0 when GSM-7 cannot carry it. The tables are gosmpp's.
func septets(r rune) int {
	if r == 0x1B || r == '\f' {
		return 0 // the escape itself, and the extension's page break: never sent
	}
	if data.IsEscapeChar(r) {
		return 2
	}
	if len(data.ValidateGSM7String(string(r))) == 0 {
		return 1
	}
	return 0
}

// gsmLength returns the septets of s, or false when GSM-7 cannot carry it.
func gsmLength(s string) (int, bool) {
	n := 0
	for _, r := range s {
		c := septets(r)
		if c == 0 {
			return 0, false
		}
		n += c
	}
	return n, true
}

// transliteration returns the obvious GSM-7 equivalent of a character
// outside GSM-7, as the package documentation lists them, or false.
func transliteration(r rune) (string, bool) {
	switch r {
	case 'ê', 'ë':
		return "e", true
	case 'â', 'á', 'ã':
		return "a", true
	case 'î', 'ï', 'í':
		return "i", true
	case 'ô', 'ó', 'õ':
		return "o", true
	case 'û', 'ú':
		return "u", true
	case 'ÿ', 'ý':
		return "y", true
	case 'ç':
		return "c", true
	case 'À', 'Â', 'Á', 'Ã':
		return "A", true
	case 'È', 'Ê', 'Ë':
		return "E", true
	case 'Î', 'Ï', 'Í', 'Ì':
		return "I", true
	case 'Ô', 'Ó', 'Ò', 'Õ':
		return "O", true
	case 'Ù', 'Û', 'Ú':
		return "U", true
	case 'Ÿ', 'Ý':
		return "Y", true
	case 'œ':
		return "oe", true
	case 'Œ':
		return "OE", true
	case '’', '‘', '‚', '‛', '′', '`', '´', '‹', '›':
		return "'", true
	case '“', '”', '„', '‟', '″', '«', '»':
		return `"`, true
	case '\u00A0', '\u202F', '\u2007', '\u2009', '\u2002', '\u2003', '\u2004', '\u2005', '\u2006', '\u2008', '\u200A':
		return " ", true
	case '‐', '‑', '‒', '–', '—', '−':
		return "-", true
	case '…':
		return "...", true
	}
	return "", false
}

// transliterate replaces the characters of s that have an obvious GSM-7
// equivalent; the others are kept.
func transliterate(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if t, ok := transliteration(r); ok {
			b.WriteString(t)
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// encodeGSM splits s, whose length is n septets, into GSM-7 parts. A
// character (one septet, or an escape and its character) is never cut.
func encodeGSM(s string, n int) (Encoded, error) {
	limit := gsm7Single
	if n > gsm7Single {
		limit = gsm7Part
		if n > MaxParts*gsm7Part {
			return Encoded{}, tooLong(fmt.Sprintf("%d caractères", n))
		}
	}
	enc := Encoded{Coding: GSM7, Text: s, Length: n}
	start, used := 0, 0
	for i, r := range s {
		c := septets(r)
		if used+c > limit {
			enc.Parts = append(enc.Parts, Part{Text: s[start:i]})
			start, used = i, 0
		}
		used += c
	}
	enc.Parts = append(enc.Parts, Part{Text: s[start:]})
	if len(enc.Parts) > MaxParts {
		// An escape pushed to the next part can add one: still too long.
		return Encoded{}, tooLong(fmt.Sprintf("%d caractères", n))
	}
	for i := range enc.Parts {
		b, err := data.GSM7BIT.Encode(enc.Parts[i].Text)
		if err != nil {
			return Encoded{}, fmt.Errorf("sms: encode GSM-7: %w", err)
		}
		enc.Parts[i].Data = b
	}
	return enc, nil
}

// encodeUCS2 splits s into UCS-2 parts. A surrogate pair is never cut.
func encodeUCS2(s string) (Encoded, error) {
	units := utf16.Encode([]rune(s))
	n := len(units)
	limit := ucs2Single
	if n > ucs2Single {
		limit = ucs2Part
		if n > MaxParts*ucs2Part {
			return Encoded{}, tooLong(fmt.Sprintf("%d caractères hors de l'alphabet GSM", n))
		}
	}
	enc := Encoded{Coding: UCS2, Text: s, Length: n}
	for start := 0; start < n; {
		end := min(start+limit, n)
		if end < n && utf16.IsSurrogate(rune(units[end-1])) && units[end-1] < 0xDC00 {
			end-- // a high surrogate: its pair goes to the next part
		}
		text := string(utf16.Decode(units[start:end]))
		b, err := data.UCS2.Encode(text)
		if err != nil {
			return Encoded{}, fmt.Errorf("sms: encode UCS-2: %w", err)
		}
		enc.Parts = append(enc.Parts, Part{Text: text, Data: b})
		start = end
	}
	if len(enc.Parts) > MaxParts {
		return Encoded{}, tooLong(fmt.Sprintf("%d caractères hors de l'alphabet GSM", n))
	}
	return enc, nil
}
