// Package letter reads the layout of a French letter as OCR gives it: the
// sender's block at the top, the date line, the "Objet :" line and the body.
// What the words say (case references, postal code, phone…) is the extract
// package's job; this one knows where things sit on the page.
package letter

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// MaxInput bounds the text read; the rest is ignored.
const MaxInput = 200000

// Layout is the structure of a letter.
type Layout struct {
	SenderName    string
	SenderAddress []string // street lines and the "13300 Salon-de-Provence" line
	PostalCode    string   // from the sender's block
	City          string
	Date          time.Time // zero when no date line was found
	Subject       string
	Body          string // from the salutation to the end, OCR line breaks kept
}

var (
	// OCR reads "Objet" as "0bjet", "Obiet", "Objct"…
	subjectLine = regexp.MustCompile(`(?i)^\s*[o0]b[jil1]e?[ec]t\s*[:;.]?\s*(.*)$`)
	dateLine    = regexp.MustCompile(`(?i)\b(1er|[0-3]?[0-9O])\s+(janvier|f[ée]vrier|mars|avril|mai|juin|juillet|ao[uû]t|septembre|octobre|novembre|d[ée]cembre)\s+([12][0-9O]{3})\b`)
	postalLine  = regexp.MustCompile(`^\s*((?:[0-9O]\s?){5})\s+([A-Za-zÀ-ÿ' -]{2,})$`)
	streetLine  = regexp.MustCompile(`(?i)^\s*[0-9]{1,4}\s*(bis|ter)?\s*,?\s*(rue|avenue|av\.?|boulevard|bd|chemin|all[ée]e|impasse|place|cours|route|traverse|quai|mont[ée]e|square|lotissement|r[ée]sidence|cit[ée]|parc|hameau|lieu-dit)\b`)
	contactLine = regexp.MustCompile(`(?i)(@|\bt[ée]l(?:[ée]phone)?\b|\bportable\b|\bcourriel\b|\be-?mail\b|^\s*(\+33|0[1-9])[\s.]?[0-9])`)
	recipient   = regexp.MustCompile(`(?i)(m[ée]tropole|monsieur le pr[ée]sident|madame la pr[ée]sidente|direction|service|à l'attention)`)
)

var months = map[string]time.Month{"janvier": 1, "fevrier": 2, "février": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6, "juillet": 7,
	"aout": 8, "août": 8, "septembre": 9, "octobre": 10, "novembre": 11, "decembre": 12, "décembre": 12}

// Read finds the layout of text.
func Read(text string) Layout {
	if len(text) > MaxInput {
		text = strings.ToValidUTF8(text[:MaxInput], "")
	}
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	var l Layout
	subjectAt, dateAt := -1, -1
	for i, line := range lines {
		if subjectAt < 0 {
			if m := subjectLine.FindStringSubmatch(line); m != nil && strings.TrimSpace(m[1]) != "" {
				subjectAt = i
				l.Subject = strings.TrimSpace(m[1])
			}
		}
		if dateAt < 0 {
			if m := dateLine.FindStringSubmatch(line); m != nil {
				if d, ok := date(m); ok {
					l.Date, dateAt = d, i
				}
			}
		}
	}
	// The sender's block: the first lines, until the date, the recipient or
	// the subject, whichever comes first.
	end := len(lines)
	for _, at := range []int{subjectAt, dateAt} {
		if at >= 0 && at < end {
			end = at
		}
	}
	var block []string
	for i := 0; i < end; i++ {
		line := strings.TrimSpace(lines[i])
		if line == "" {
			if len(block) > 0 {
				break // a blank line closes the block
			}
			continue
		}
		if recipient.MatchString(line) && len(block) > 0 {
			break
		}
		block = append(block, line)
	}
	for i, line := range block {
		switch {
		case contactLine.MatchString(line):
		case i == 0:
			// OCR reads specks after a name as punctuation.
			l.SenderName = strings.TrimRight(line, ".,;:'`´ ")
		case streetLine.MatchString(line):
			l.SenderAddress = append(l.SenderAddress, line)
		default:
			if m := postalLine.FindStringSubmatch(line); m != nil {
				l.PostalCode = strings.NewReplacer(" ", "", "O", "0").Replace(m[1])
				l.City = strings.TrimSpace(m[2])
				l.SenderAddress = append(l.SenderAddress, line)
			} else if l.PostalCode == "" {
				l.SenderAddress = append(l.SenderAddress, line) // "Résidence…", "Bât. B"
			}
		}
	}
	if l.PostalCode == "" {
		// Without a postal code line, the first lines are not a sender's
		// block but the text itself.
		l.SenderName, l.SenderAddress = "", nil
	}
	start := 0
	if subjectAt >= 0 {
		start = subjectAt + 1
	} else if dateAt >= 0 {
		start = dateAt + 1
	}
	l.Body = strings.TrimSpace(strings.Join(lines[start:], "\n"))
	return l
}

func date(m []string) (time.Time, bool) {
	dayText := strings.ReplaceAll(m[1], "O", "0")
	day := 1
	if dayText != "1er" {
		d, err := strconv.Atoi(dayText)
		if err != nil || d < 1 || d > 31 {
			return time.Time{}, false
		}
		day = d
	}
	month, ok := months[strings.ToLower(m[2])]
	if !ok {
		return time.Time{}, false
	}
	year, err := strconv.Atoi(strings.ReplaceAll(m[3], "O", "0"))
	if err != nil {
		return time.Time{}, false
	}
	t := time.Date(year, month, day, 0, 0, 0, 0, time.UTC)
	if t.Day() != day { // 31 février
		return time.Time{}, false
	}
	return t, true
}
