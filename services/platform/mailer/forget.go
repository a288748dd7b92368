package mailer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/platform/redact"
)

// Forget deletes the outbox's messages sent to, or mentioning, one of
// contacts — e-mail addresses, and phone numbers in E.164 form ("+33…",
// also found written the French way in a text) — and returns how many it
// deleted. It reads every file of the folder once; the outbox keeps no
// index besides its files. Half-written files a crash left behind are
// looked at too.
func (o *Outbox) Forget(ctx context.Context, contacts []string) (int, error) {
	m := redact.NewMentions(contacts)
	if m.Empty() {
		return 0, nil
	}
	entries, err := os.ReadDir(o.dir)
	if err != nil {
		return 0, fmt.Errorf("mailer: outbox forget: %w", err)
	}
	n := 0
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return n, fault.E(fault.Transient, fmt.Errorf("mailer: outbox forget: %w", err))
		}
		name := e.Name()
		id, ok := strings.CutSuffix(name, ".eml")
		if !ok || !e.Type().IsRegular() || (!validID(id) && !strings.HasPrefix(name, ".tmp-")) {
			continue
		}
		path := filepath.Join(o.dir, name)
		data, err := readBounded(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return n, fmt.Errorf("mailer: outbox forget: %w", err)
		}
		hit := m.In(string(data))
		if !hit {
			// The body may be quoted-printable or base64: read it decoded.
			if st, err := parseStored(id, data); err == nil {
				hit = m.In(st.To) || m.In(st.Subject) || m.In(st.Body)
			}
		}
		if !hit {
			continue
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return n, fmt.Errorf("mailer: outbox forget: %w", err)
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
