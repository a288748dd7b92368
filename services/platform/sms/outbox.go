package sms

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ampmetropole/guichet/services/platform/fault"
)

// idTimeLayout is the time part of an outbox message ID (always UTC).
const idTimeLayout = "20060102T150405.000000000Z"

// maxStoredSize bounds a file read back from the outbox. An SMS of six parts
// is at most a few kilobytes of JSON.
const maxStoredSize = 64 << 10

// Outbox writes messages to a folder instead of sending them (used by
// `guichet dev`) and reads them back for a page that lists them, next to the
// e-mails. Each message is one JSON file named "<UTC time>-<8 random
// hex>.json"; the name without .json is its ID. Send checks and encodes a
// message exactly as SMPP does, so that what is refused or split in
// development is what would be in production. An Outbox is safe for
// concurrent use.
type Outbox struct {
	dir string
	now func() time.Time
}

// Stored is a message read back from the outbox.
type Stored struct {
	ID     string
	To     string    // E.164
	Text   string    // as the phone shows it: normalised, transliterated when GSM-7
	Coding Coding    // GSM7 or UCS2
	Parts  int       // how many SMS it takes, 1 to MaxParts
	At     time.Time // when it was written, UTC
}

// storedFile is the JSON form of a Stored message.
type storedFile struct {
	To       string    `json:"to"`
	Text     string    `json:"text"`
	Encoding Coding    `json:"encoding"`
	Parts    int       `json:"parts"`
	At       time.Time `json:"at"`
}

// NewOutbox returns an outbox writing to dir, which it creates (0o755) if
// missing.
func NewOutbox(dir string) (*Outbox, error) {
	if dir == "" {
		return nil, fault.E(fault.Invalid, errors.New("sms: outbox: folder is empty"))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("sms: outbox: %w", err)
	}
	return &Outbox{dir: dir, now: time.Now}, nil
}

// Send checks and encodes m as SMPP.Send does, then writes it as one JSON
// file, atomically: readers see the whole file or nothing. Errors are
// fault.Invalid when m itself is wrong.
func (o *Outbox) Send(ctx context.Context, m Message) error {
	if err := ctx.Err(); err != nil {
		return fault.E(fault.Transient, fmt.Errorf("sms: outbox send: %w", err))
	}
	if err := CheckRecipient(m.To); err != nil {
		return fmt.Errorf("sms: outbox send: %w", err)
	}
	enc, err := Encode(m.Text)
	if err != nil {
		return fmt.Errorf("sms: outbox send: %w", err)
	}
	now := o.now().UTC()
	body, err := json.MarshalIndent(storedFile{To: m.To, Text: enc.Text, Encoding: enc.Coding, Parts: len(enc.Parts), At: now}, "", "  ")
	if err != nil {
		return fmt.Errorf("sms: outbox send: %w", err)
	}
	body = append(body, '\n')
	var suffix [4]byte
	_, _ = rand.Read(suffix[:]) // never fails (crypto/rand crashes the program instead)
	id := now.Format(idTimeLayout) + "-" + hex.EncodeToString(suffix[:])
	if err := writeAtomic(filepath.Join(o.dir, id+".json"), body); err != nil {
		return fmt.Errorf("sms: outbox send: %w", err)
	}
	return nil
}

// writeAtomic writes data to a temporary file in the same folder, then
// renames it to path.
func writeAtomic(path string, data []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*.json")
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
		return nil, fault.E(fault.Invalid, fmt.Errorf("sms: outbox list: limit %d is not positive", limit))
	}
	entries, err := os.ReadDir(o.dir)
	if err != nil {
		return nil, fmt.Errorf("sms: outbox list: %w", err)
	}
	ids := make([]string, 0, len(entries))
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".json")
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
			return nil, fault.E(fault.Transient, fmt.Errorf("sms: outbox list: %w", err))
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
		return Stored{}, fault.E(fault.Transient, fmt.Errorf("sms: outbox get: %w", err))
	}
	if !validID(id) {
		return Stored{}, fault.E(fault.Invalid, fmt.Errorf("sms: outbox get: %q is not a message ID", id))
	}
	st, err := o.read(id)
	if err != nil {
		return Stored{}, fmt.Errorf("sms: outbox get: %w", err)
	}
	return st, nil
}

// read reads and parses the file of a valid ID, at most maxStoredSize bytes.
func (o *Outbox) read(id string) (Stored, error) {
	path := filepath.Join(o.dir, id+".json")
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

// parseStored parses an outbox file: one JSON object whose fields are all
// present and sensible. The file is outside input: whatever is in the folder.
func parseStored(id string, data []byte) (Stored, error) {
	if len(data) > maxStoredSize {
		return Stored{}, fault.E(fault.TooLarge, fmt.Errorf("file is %d bytes, over the %d limit", len(data), maxStoredSize))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var f storedFile
	if err := dec.Decode(&f); err != nil {
		return Stored{}, fmt.Errorf("not an outbox message: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Stored{}, errors.New("not an outbox message: data after the JSON object")
	}
	switch {
	case f.To == "" || len(f.To) > 16 || f.To[0] != '+':
		return Stored{}, fmt.Errorf("recipient %q is not an E.164 number", f.To)
	case f.Text == "":
		return Stored{}, errors.New("text is empty")
	case f.Encoding != GSM7 && f.Encoding != UCS2:
		return Stored{}, fmt.Errorf("encoding %q is neither %s nor %s", f.Encoding, GSM7, UCS2)
	case f.Parts < 1 || f.Parts > MaxParts:
		return Stored{}, fmt.Errorf("%d parts, not between 1 and %d", f.Parts, MaxParts)
	case f.At.IsZero():
		return Stored{}, errors.New("time is missing")
	}
	return Stored{ID: id, To: f.To, Text: f.Text, Coding: f.Encoding, Parts: f.Parts, At: f.At.UTC()}, nil
}

// validID reports whether id has the form "20060102T150405.000000000Z"
// followed by "-" and 8 lower-case hex digits. Nothing else reaches the file
// system.
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
