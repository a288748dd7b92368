package redact

import (
	"bytes"
	"strings"
)

// Mentions finds given contacts in a text: e-mail addresses (any case)
// and phone numbers (E.164, also written the French national way, with or
// without separators). The outboxes use it to forget what was sent to an
// erased person.
type Mentions struct {
	emails [][]byte // lower case
	phones []string // digits only: "33756123456" and "0756123456"
}

// NewMentions reads contacts: e-mail addresses and E.164 numbers; anything
// else is ignored.
func NewMentions(contacts []string) Mentions {
	var m Mentions
	for _, c := range contacts {
		c = strings.TrimSpace(c)
		switch {
		case strings.Contains(c, "@"):
			m.emails = append(m.emails, []byte(strings.ToLower(c)))
		case strings.HasPrefix(c, "+") && len(c) > 8:
			d := c[1:]
			m.phones = append(m.phones, d)
			if national, ok := strings.CutPrefix(d, "33"); ok {
				m.phones = append(m.phones, "0"+national)
			}
		}
	}
	return m
}

// Empty says there is nothing to look for.
func (m Mentions) Empty() bool { return len(m.emails) == 0 && len(m.phones) == 0 }

// In reports whether text mentions one of the contacts.
func (m Mentions) In(text string) bool {
	if len(m.emails) > 0 {
		lower := bytes.ToLower([]byte(text))
		for _, e := range m.emails {
			if bytes.Contains(lower, e) {
				return true
			}
		}
	}
	if len(m.phones) > 0 {
		digits := strings.Map(func(r rune) rune {
			switch r {
			case ' ', '.', '-', '\u00a0', '\u202f', '(', ')':
				return -1
			}
			return r
		}, text)
		for _, p := range m.phones {
			if strings.Contains(digits, p) {
				return true
			}
		}
	}
	return false
}
