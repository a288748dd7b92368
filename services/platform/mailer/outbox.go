package mailer

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ampmetropole/guichet/services/platform/fault"
)

// idTimeLayout is the time part of an outbox message ID (always UTC).
const idTimeLayout = "20060102T150405.000000000Z"

// Outbox writes messages to a folder instead of sending them (used by
// `guichet dev`) and reads them back for a page that lists them. Each message
// is one .eml file named "<UTC time>-<8 random hex>.eml"; the name without
// .eml is its ID. An Outbox is safe for concurrent use.
type Outbox struct {
	dir  string
	from *mail.Address
	now  func() time.Time
}

// NewOutbox returns an outbox writing to dir, which it creates (0o755) if
// missing; from is the sender address written in each message.
func NewOutbox(dir, from string) (*Outbox, error) {
	if dir == "" {
		return nil, fault.E(fault.Invalid, errors.New("mailer: outbox: folder is empty"))
	}
	addr, err := parseFrom(from)
	if err != nil {
		return nil, fmt.Errorf("mailer: outbox: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("mailer: outbox: %w", err)
	}
	return &Outbox{dir: dir, from: addr, now: time.Now}, nil
}

// Send writes m as one RFC 5322 .eml file, atomically: readers see the whole
// file or nothing.
func (o *Outbox) Send(ctx context.Context, m Message) error {
	if err := ctx.Err(); err != nil {
		return fault.E(fault.Transient, fmt.Errorf("mailer: outbox send: %w", err))
	}
	now := o.now().UTC()
	msg, err := compose(o.from, m, now)
	if err != nil {
		return fmt.Errorf("mailer: outbox send: %w", err)
	}
	var buf bytes.Buffer
	if _, err := msg.WriteTo(&buf); err != nil {
		return fmt.Errorf("mailer: outbox send: compose: %w", err)
	}
	if buf.Len() > maxStoredSize {
		return fault.E(fault.TooLarge, fmt.Errorf("mailer: outbox send: message is %d bytes, over the %d limit", buf.Len(), maxStoredSize))
	}
	var suffix [4]byte
	_, _ = rand.Read(suffix[:]) // never fails (crypto/rand crashes the program instead)
	id := now.Format(idTimeLayout) + "-" + hex.EncodeToString(suffix[:])
	if err := writeAtomic(filepath.Join(o.dir, id+".eml"), buf.Bytes()); err != nil {
		return fmt.Errorf("mailer: outbox send: %w", err)
	}
	return nil
}

// writeAtomic writes data to a temporary file in the same folder, then
// renames it to path.
func writeAtomic(path string, data []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*.eml")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// List returns at most limit messages, newest first. Files that cannot be
// read or parsed are skipped. limit must be positive.
func (o *Outbox) List(ctx context.Context, limit int) ([]Stored, error) {
	if limit <= 0 {
		return nil, fault.E(fault.Invalid, fmt.Errorf("mailer: outbox list: limit %d is not positive", limit))
	}
	entries, err := os.ReadDir(o.dir)
	if err != nil {
		return nil, fmt.Errorf("mailer: outbox list: %w", err)
	}
	ids := make([]string, 0, len(entries))
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".eml")
		if ok && e.Type().IsRegular() && validID(id) {
			ids = append(ids, id)
		}
	}
	// The ID starts with the UTC time at a fixed width: newest sorts last.
	slices.Sort(ids)
	slices.Reverse(ids)
	out := make([]Stored, 0, min(limit, len(ids)))
	for _, id := range ids {
		if len(out) == limit {
			break
		}
		if err := ctx.Err(); err != nil {
			return nil, fault.E(fault.Transient, fmt.Errorf("mailer: outbox list: %w", err))
		}
		st, err := o.read(id)
		if err != nil {
			continue
		}
		out = append(out, st)
	}
	return out, nil
}

// Get returns the message with the given ID: fault.Invalid when id is not an
// outbox ID, fault.NotFound when there is no such message.
func (o *Outbox) Get(ctx context.Context, id string) (Stored, error) {
	if err := ctx.Err(); err != nil {
		return Stored{}, fault.E(fault.Transient, fmt.Errorf("mailer: outbox get: %w", err))
	}
	if !validID(id) {
		return Stored{}, fault.E(fault.Invalid, fmt.Errorf("mailer: outbox get: %q is not a message ID", id))
	}
	st, err := o.read(id)
	if err != nil {
		return Stored{}, fmt.Errorf("mailer: outbox get: %w", err)
	}
	return st, nil
}

// read reads and parses the file of a valid ID, at most maxStoredSize bytes.
func (o *Outbox) read(id string) (Stored, error) {
	path := filepath.Join(o.dir, id+".eml")
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Stored{}, fault.E(fault.NotFound, fmt.Errorf("message %s: %w", id, err))
	}
	if err != nil {
		return Stored{}, err
	}
	if !fi.Mode().IsRegular() {
		return Stored{}, fault.E(fault.NotFound, fmt.Errorf("message %s: not a regular file", id))
	}
	if fi.Size() > maxStoredSize {
		return Stored{}, fault.E(fault.TooLarge, fmt.Errorf("message %s: %d bytes, over the %d limit", id, fi.Size(), maxStoredSize))
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Stored{}, fault.E(fault.NotFound, fmt.Errorf("message %s: %w", id, err))
	}
	if err != nil {
		return Stored{}, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxStoredSize+1))
	if err != nil {
		return Stored{}, fmt.Errorf("message %s: %w", id, err)
	}
	st, err := parseStored(id, data)
	if err != nil {
		return Stored{}, fmt.Errorf("message %s: %w", id, err)
	}
	return st, nil
}

// validID reports whether id has the form "20060102T150405.000000000Z-"
// followed by 8 lower-case hex digits. Nothing else reaches the file system.
func validID(id string) bool {
	const n = len(idTimeLayout)
	if len(id) != n+1+8 || id[n] != '-' {
		return false
	}
	for i := 0; i < n; i++ {
		c := id[i]
		switch i {
		case 8:
			if c != 'T' {
				return false
			}
		case 15:
			if c != '.' {
				return false
			}
		case n - 1:
			if c != 'Z' {
				return false
			}
		default:
			if c < '0' || c > '9' {
				return false
			}
		}
	}
	for i := n + 1; i < len(id); i++ {
		if c := id[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	_, err := time.Parse(idTimeLayout, id[:n])
	return err == nil
}
