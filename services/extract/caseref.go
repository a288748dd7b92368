package extract

import (
	"slices"
	"strconv"
	"strings"
)

// maxRefs bounds the case references kept from one text.
const maxRefs = 20

// caseRefs finds the Métropole's case references, "AMP-2026-004213", written
// ("amp 2026 4213", "AMP-2O26-0051O2") or spoken ("a m p deux mille vingt-six
// zéro zéro quarante-deux treize", "amp vingt-six quatre mille deux cent
// treize"), and marks their tokens. Only numbers after the AMP prefix count:
// invoices, permits, fines and other organizations' references do not.
func (d *doc) caseRefs() []string {
	var refs []string
	for i := 0; i < len(d.t) && len(refs) < maxRefs; i++ {
		j, ok := d.ampPrefix(i)
		if !ok {
			continue
		}
		ref, end, ok := d.caseRefAt(j)
		if !ok {
			continue
		}
		d.mark(i, end)
		if !slices.Contains(refs, ref) {
			refs = append(refs, ref)
		}
		i = end - 1
	}
	return refs
}

// ampPrefix matches "amp", "AMP", "a m p", "A.M.P." at i and returns the
// index after it.
func (d *doc) ampPrefix(i int) (int, bool) {
	if !d.free(i) {
		return 0, false
	}
	switch d.t[i].w {
	case "amp":
		return i + 1, true
	case "a":
		if d.free(i+2) && d.t[i+1].w == "m" && d.t[i+2].w == "p" &&
			sepOnly(d.t[i+1].sep, " .-") && sepOnly(d.t[i+2].sep, " .-") {
			return i + 3, true
		}
	}
	return 0, false
}

// refNext skips what may stand between the parts of a reference (fillers,
// "tiret", "numéro", "n°") and returns the next part's index.
func (d *doc) refNext(j int) (int, bool) {
	for k := j; k < len(d.t) && k < j+6; k++ {
		if !d.free(k) || !sepOnly(d.t[k].sep, sepRef) {
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

// caseRefAt reads the year and the sequence number after the prefix.
func (d *doc) caseRefAt(j int) (string, int, bool) {
	k, ok := d.refNext(j)
	if !ok {
		return "", 0, false
	}
	if w := d.t[k].w; isDigits(w) {
		switch {
		case len(w) == 4 && w[:2] == "20":
			if seq, end, ok := d.refSeq(k + 1); ok {
				return "AMP-" + w + "-" + seq, end, true
			}
		case len(w) > 4 && len(w) <= 12 && w[:2] == "20": // "AMP 2026004213"
			if seq, ok := padSeq(w[4:]); ok {
				return "AMP-" + w[:4] + "-" + seq, k + 1, true
			}
		}
		return "", 0, false
	}
	// Spoken year: "deux mille vingt-six", or "vingt-six" for 2026. The
	// longest reading comes first; a shorter one is tried when the rest does
	// not read as a sequence number.
	var tmp [24]alt
	for _, a := range d.number(k, tmp[:0]) {
		year := 0
		switch {
		case a.v >= 2000 && a.v <= 2099:
			year = a.v
		case a.v >= 10 && a.v <= 99:
			year = 2000 + a.v
		default:
			continue
		}
		if seq, end, ok := d.refSeq(a.end); ok {
			return "AMP-" + strconv.Itoa(year) + "-" + seq, end, true
		}
	}
	return "", 0, false
}

// refSeq reads the sequence number from j: digit tokens and number words put
// end to end ("zéro zéro quarante-deux treize" is 004213), at most six
// digits; a number said whole ("quatre mille deux cent treize") ends it.
func (d *doc) refSeq(j int) (string, int, bool) {
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
					digits, end = append(digits, t...), k+1
				}
				break
			}
			digits, end = append(digits, w...), k+1
			if len(w) >= 4 {
				break
			}
			continue
		}
		var tmp [24]alt
		took, whole := false, false
		for ai, a := range d.number(k, tmp[:0]) {
			s := strconv.Itoa(a.v)
			if len(digits)+len(s) > 6 {
				continue
			}
			// Never cut a number before its multiplier ("treize | mille").
			if ai > 0 && d.joined(a.end) && (isMille(d.t[a.end].w) || isCent(d.t[a.end].w)) {
				continue
			}
			digits, end, took, whole = append(digits, s...), a.end, true, a.v >= 100
			break
		}
		if !took || whole {
			break
		}
	}
	seq, ok := padSeq(string(digits))
	return seq, end, ok
}

// padSeq left-pads a sequence number to six digits; all zeros is no number.
func padSeq(s string) (string, bool) {
	if len(s) > 6 {
		s = strings.TrimLeft(s, "0")
	}
	if len(s) == 0 || len(s) > 6 || strings.Trim(s, "0") == "" || !isDigits(s) {
		return "", false
	}
	return strings.Repeat("0", 6-len(s)) + s, true
}
