package sms

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/ampmetropole/guichet/services/platform/fault"
)

// Forget deletes the outbox's messages sent to, or mentioning, one of
// contacts — phone numbers in E.164 form ("+33…", also found written the
// French way in a text), and e-mail addresses — and returns how many it
// deleted. It reads every file of the folder once; the outbox keeps no
// index besides its files. Half-written files a crash left behind are
// looked at too.
func (o *Outbox) Forget(ctx context.Context, contacts []string) (int, error) {
	m := newMentions(contacts)
	if m.empty() {
		return 0, nil
	}
	entries, err := os.ReadDir(o.dir)
	if err != nil {
		return 0, fmt.Errorf("sms: outbox forget: %w", err)
	}
	n := 0
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return n, fault.E(fault.Transient, fmt.Errorf("sms: outbox forget: %w", err))
		}
		name := e.Name()
		id, ok := strings.CutSuffix(name, ".json")
		if !ok || !e.Type().IsRegular() || (!validID(id) && !strings.HasPrefix(name, ".tmp-")) {
			continue
		}
		path := filepath.Join(o.dir, name)
		data, err := readBounded(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return n, fmt.Errorf("sms: outbox forget: %w", err)
		}
		hit := m.in(string(data))
		if !hit {
			// JSON escapes some characters: read the text decoded.
			if st, err := parseStored(id, data); err == nil {
				hit = m.in(st.To) || m.in(st.Text)
			}
		}
		if !hit {
			continue
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return n, fmt.Errorf("sms: outbox forget: %w", err)
		}
		n++
	}
	return n, nil
}

// readBounded reads at most maxStoredSize bytes of a file.
func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxStoredSize))
}

// mentions finds phone numbers (E.164 or French national, with or without
// separators) and e-mail addresses (any case) in a text.
type mentions struct {
	emails [][]byte // lower case
	phones []string // digits only: "33756123456" and "0756123456"
}

func newMentions(contacts []string) mentions {
	var m mentions
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

func (m mentions) empty() bool { return len(m.emails) == 0 && len(m.phones) == 0 }

// in reports whether text mentions one of the contacts.
func (m mentions) in(text string) bool {
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
