// Package attachment checks files citizens attach (type from the content,
// size) and stores them in the JetStream object store "attachments", keyed
// by their sha256, so that a request carries only their metadata.
package attachment

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/gabriel-vasile/mimetype"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/platform/bus"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

// Limits of the web channel.
const (
	MaxFiles = 5
	MaxSize  = 10 << 20
)

// accepted maps the content types we take to how we name them to citizens.
var accepted = map[string]string{
	"image/jpeg":      "photo JPEG",
	"image/png":       "image PNG",
	"image/webp":      "image WebP",
	"image/heic":      "photo HEIC",
	"image/heif":      "photo HEIF",
	"application/pdf": "document PDF",
}

// AcceptedTypes is the accept attribute of a file input.
const AcceptedTypes = "image/jpeg,image/png,image/webp,image/heic,image/heif,application/pdf,.jpg,.jpeg,.png,.webp,.heic,.heif,.pdf"

// File is a checked file, ready to store.
type File struct {
	Name        string
	ContentType string
	Data        []byte
	SHA256      string
}

// Check reads at most MaxSize bytes of r and decides from the content, not
// the name, whether it is a photo or a PDF. Errors are fault.Invalid or
// fault.TooLarge with a message fit for the citizen.
func Check(r io.Reader, name string) (File, error) {
	name = cleanName(name)
	data, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return File{}, fmt.Errorf("attachment: read %s: %w", name, err)
	}
	if len(data) > MaxSize {
		return File{}, fault.E(fault.TooLarge, fmt.Errorf("« %s » dépasse 10 Mio", name))
	}
	if len(data) == 0 {
		return File{}, fault.E(fault.Invalid, fmt.Errorf("« %s » est vide", name))
	}
	mt := mimetype.Detect(data).String()
	if i := strings.IndexByte(mt, ';'); i >= 0 {
		mt = mt[:i]
	}
	if _, ok := accepted[mt]; !ok {
		if strings.EqualFold(filepath.Ext(name), ".pdf") {
			return File{}, fault.E(fault.Invalid, fmt.Errorf("« %s » porte l'extension .pdf mais n'est pas un PDF", name))
		}
		return File{}, fault.E(fault.Invalid, fmt.Errorf("« %s » n'est ni une photo (JPEG, PNG, WebP, HEIC) ni un PDF", name))
	}
	if mt == "application/pdf" && !bytes.Contains(data[max(0, len(data)-2048):], []byte("%%EOF")) {
		return File{}, fault.E(fault.Invalid, fmt.Errorf("« %s » est un PDF incomplet ou abîmé", name))
	}
	sum := sha256.Sum256(data)
	return File{Name: name, ContentType: mt, Data: data, SHA256: hex.EncodeToString(sum[:])}, nil
}

// cleanName keeps the base name of what a browser sent, without control
// characters, at most 255 bytes.
func cleanName(name string) string {
	name = filepath.Base(strings.ReplaceAll(name, "\\", "/"))
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if name == "" || name == "." || name == "/" {
		name = "piece-jointe"
	}
	for len(name) > 255 {
		r := []rune(name)
		name = string(r[:len(r)-1])
	}
	return name
}

// Store keeps files in the attachments object store.
type Store struct {
	os jetstream.ObjectStore
}

// NewStore opens the attachments bucket (bus.EnsureTopology creates it).
func NewStore(ctx context.Context, js jetstream.JetStream) (*Store, error) {
	os, err := js.ObjectStore(ctx, bus.BucketAttachment)
	if err != nil {
		return nil, fmt.Errorf("attachment: open bucket: %w", err)
	}
	return &Store{os: os}, nil
}

// Key is the object name of a file: its content decides it, so the same
// photo sent twice is stored once.
func Key(sha string) string { return "sha256/" + sha }

// Put stores f unless the same content is already there, and returns the
// metadata a request carries.
func (s *Store) Put(ctx context.Context, f File) (schemas.Attachment, error) {
	a := schemas.Attachment{Name: f.Name, ContentType: f.ContentType, Size: int64(len(f.Data)), SHA256: f.SHA256, ObjectKey: Key(f.SHA256)}
	if _, err := s.os.GetInfo(ctx, a.ObjectKey); err == nil {
		return a, nil
	} else if !errors.Is(err, jetstream.ErrObjectNotFound) {
		return a, fault.E(fault.Transient, fmt.Errorf("attachment: look up %s: %w", a.ObjectKey, err))
	}
	if _, err := s.os.Put(ctx, jetstream.ObjectMeta{
		Name:        a.ObjectKey,
		Description: f.Name,
		Headers:     map[string][]string{"Content-Type": {f.ContentType}},
	}, bytes.NewReader(f.Data)); err != nil {
		return a, fault.E(fault.Transient, fmt.Errorf("attachment: store %s: %w", a.ObjectKey, err))
	}
	return a, nil
}

// Get returns a stored file's content, bounded by MaxSize.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	r, err := s.os.Get(ctx, key)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, fault.E(fault.NotFound, fmt.Errorf("attachment: %s: %w", key, err))
	}
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("attachment: get %s: %w", key, err))
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("attachment: read %s: %w", key, err))
	}
	return data, nil
}

// Info returns the metadata of a stored file from its sha256, as the store
// recorded it (never as a client claims it).
func (s *Store) Info(ctx context.Context, sha string) (schemas.Attachment, error) {
	if len(sha) != 64 || strings.Trim(sha, "0123456789abcdef") != "" {
		return schemas.Attachment{}, fault.E(fault.Invalid, fmt.Errorf("attachment: %q is not a sha256", sha))
	}
	info, err := s.os.GetInfo(ctx, Key(sha))
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return schemas.Attachment{}, fault.E(fault.NotFound, fmt.Errorf("attachment: %s: %w", sha, err))
	}
	if err != nil {
		return schemas.Attachment{}, fault.E(fault.Transient, fmt.Errorf("attachment: info %s: %w", sha, err))
	}
	return schemas.Attachment{Name: info.Description, ContentType: info.Headers.Get("Content-Type"),
		Size: int64(info.Size), SHA256: sha, ObjectKey: info.Name}, nil
}
