// Package caseref owns the Métropole's case reference, "AMP-2026-004213":
// its one pattern (which the CHECK of the cases.ref column and the JSON
// Schemas repeat, held to it by tests), reading it strictly from other
// systems, leniently from what people type, and writing it.
package caseref

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/ampmetropole/guichet/services/platform/fault"
)

// Pattern is the canonical form of a case reference: "AMP", the year in
// four digits, the sequence number in six digits or more, joined by dashes.
const Pattern = `^AMP-[0-9]{4}-[0-9]{6,}$`

// Shape is how a reference is described to people in messages.
const Shape = "AMP-AAAA-NNNNNN"

// separators are what people put between the parts of a reference, besides
// nothing at all: dashes of every kind, dots, spaces (no-break ones among
// them).
const separators = `\-.\s` + "\u2010-\u2015\u2212\u00a0\u202f"

// TypedPattern is what a person may type for a reference, in any case,
// with spaces around it: "amp-2026-004213", "AMP 2026 4213", "AMP.2026.4213",
// "AMP2026004213". A sequence number shorter than six digits is padded with
// zeros. It reads the same in Go and as the pattern attribute of an HTML
// input (which anchors it); Normalize is its meaning.
const TypedPattern = `\s*[Aa][Mm][Pp][` + separators + `]*([0-9]{4})[` + separators + `]*([0-9]+)\s*`

var (
	canonical = regexp.MustCompile(Pattern)
	typed     = regexp.MustCompile(`^(?:` + TypedPattern + `)$`)
)

// Ref is a case reference in its canonical form; the zero Ref is no
// reference.
type Ref struct{ s string }

// String returns the reference, "AMP-2026-004213", or "" for the zero Ref.
func (r Ref) String() string { return r.s }

// IsZero says whether r is no reference.
func (r Ref) IsZero() bool { return r.s == "" }

// Parse reads a reference in its canonical form only, as other systems and
// Guichet's own records write it. The error is of kind fault.Invalid.
func Parse(s string) (Ref, error) {
	if !canonical.MatchString(s) {
		return Ref{}, fault.E(fault.Invalid, fmt.Errorf("caseref: %q n'est pas une référence de dossier (%s attendu)", clip(s, 64), Shape))
	}
	return Ref{s}, nil
}

// Normalize reads a reference as a person types it (see TypedPattern) and
// returns it in canonical form; false when s is not a reference. A
// canonical reference normalizes to itself.
func Normalize(s string) (Ref, bool) {
	m := typed.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return Ref{}, false
	}
	seq := m[2]
	if len(seq) < 6 {
		seq = strings.Repeat("0", 6-len(seq)) + seq
	}
	return Ref{"AMP-" + m[1] + "-" + seq}, true
}

// Format writes the reference of a year's sequence number: Format(2026,
// 4213) is "AMP-2026-004213". It panics when year is not 0 to 9999 or seq
// is negative, which no caller's data allows.
func Format(year, seq int) Ref {
	if year < 0 || year > 9999 || seq < 0 {
		panic(fmt.Sprintf("caseref: Format(%d, %d): année ou numéro hors bornes", year, seq))
	}
	return Ref{fmt.Sprintf("AMP-%04d-%06d", year, seq)}
}

// clip cuts s to n runes for an error message.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
