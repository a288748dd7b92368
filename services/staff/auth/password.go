package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/ampmetropole/guichet/services/platform/fault"
)

// Passwords are hashed with argon2id (RFC 9106) and stored as PHC strings:
// $argon2id$v=19$m=65536,t=2,p=2$<salt>$<hash>. 64 MiB, two passes and two
// lanes take about 0.2 s on the 2-core development machine, above OWASP's
// minimum (19 MiB, two passes). A hash made with other parameters is
// redone at the next successful sign-in.
const (
	argonMemory  = 64 * 1024 // KiB
	argonTime    = 2
	argonThreads = 2
	argonSaltLen = 16
	argonKeyLen  = 32

	// maxConcurrentHashes bounds the memory sign-ins take at once
	// (4 × 64 MiB); more wait their turn.
	maxConcurrentHashes = 4

	minPasswordLen = 12  // characters
	maxPasswordLen = 256 // bytes: longer is refused, not truncated
)

var errBadHash = errors.New("auth: stored password hash is malformed")

type argonParams struct {
	memory  uint32
	time    uint32
	threads uint8
}

// currentParams are the parameters new hashes are made with.
func currentParams() argonParams {
	return argonParams{memory: argonMemory, time: argonTime, threads: argonThreads}
}

// hashPassword returns the PHC string of password with a fresh salt.
func hashPassword(password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("auth: salt: %w", err)
	}
	p := currentParams()
	key := argon2.IDKey([]byte(password), salt, p.time, p.memory, p.threads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.memory, p.time, p.threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// decodeHash reads a PHC string, refusing parameters that would make
// checking a password a denial of service.
func decodeHash(phc string) (argonParams, []byte, []byte, error) {
	var p argonParams
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, errBadHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return p, nil, nil, errBadHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.memory, &p.time, &p.threads); err != nil {
		return p, nil, nil, errBadHash
	}
	if p.memory < 8*1024 || p.memory > 1024*1024 || p.time < 1 || p.time > 16 || p.threads < 1 || p.threads > 16 {
		return p, nil, nil, errBadHash
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 || len(salt) > 64 {
		return p, nil, nil, errBadHash
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 64 {
		return p, nil, nil, errBadHash
	}
	return p, salt, key, nil
}

// checkPassword says whether password matches the PHC string, comparing in
// constant time, and whether the hash should be redone with the current
// parameters.
func checkPassword(password, phc string) (ok, rehash bool, err error) {
	p, salt, key, err := decodeHash(phc)
	if err != nil {
		return false, false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.time, p.memory, p.threads, uint32(len(key)))
	ok = subtle.ConstantTimeCompare(got, key) == 1
	return ok, ok && (p != currentParams() || len(key) != argonKeyLen), nil
}

// hash and check run argon2id under the service's bound on memory.
func (s *Service) hash(ctx context.Context, password string) (string, error) {
	if err := s.acquireHashing(ctx); err != nil {
		return "", err
	}
	defer func() { <-s.hashing }()
	return hashPassword(password)
}

func (s *Service) check(ctx context.Context, password, phc string) (ok, rehash bool, err error) {
	if err := s.acquireHashing(ctx); err != nil {
		return false, false, err
	}
	defer func() { <-s.hashing }()
	return checkPassword(password, phc)
}

func (s *Service) acquireHashing(ctx context.Context) error {
	select {
	case s.hashing <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fault.E(fault.Transient, fmt.Errorf("auth: password hashing: %w", ctx.Err()))
	}
}

// dummy is a hash of nothing anyone types, checked when the login is
// unknown so that it takes as long as a wrong password.
func (s *Service) dummy() string {
	s.dummyOnce.Do(func() {
		// crypto/rand does not fail (Go 1.24+); were it to, the check
		// below fails as a malformed hash, which is a refusal too.
		s.dummyHash, _ = hashPassword("guichet: no such account")
	})
	return s.dummyHash
}

// validatePassword applies the password policy: 12 characters at least,
// 256 bytes at most.
func validatePassword(password string) error {
	switch {
	case !utf8.ValidString(password):
		return fault.E(fault.Invalid, errors.New("auth: le mot de passe contient des caractères illisibles"))
	case utf8.RuneCountInString(password) < minPasswordLen:
		return fault.E(fault.Invalid, fmt.Errorf("auth: le mot de passe doit compter au moins %d caractères", minPasswordLen))
	case len(password) > maxPasswordLen:
		return fault.E(fault.Invalid, fmt.Errorf("auth: le mot de passe doit compter au plus %d caractères", maxPasswordLen))
	}
	return nil
}
