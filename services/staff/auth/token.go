package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ampmetropole/guichet/services/platform/fault"
)

// TokenPrefix starts every API token: "gch_" and 43 characters of
// base64url (32 random bytes), so that a leaked token is easy to recognize
// (secret scanners) and to tell from a session.
const TokenPrefix = "gch_"

var tokenNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,63}$`)

// Token is an API token as an admin sees it; the token itself is shown once,
// at creation, and never stored.
type Token struct {
	ID          string // short id, as in the audit log
	Name        string
	Role        string
	Competences []string
	Territories []string
	CreatedAt   time.Time
	CreatedBy   string
	ExpiresAt   *time.Time
	RevokedAt   *time.Time
}

// CreateToken makes an API token for another system (the telephony, a
// script) with a role and a scope, lasting ttl (0: until revoked), and
// returns it: "Authorization: Bearer gch_…". Only its SHA-256 is stored, so
// it cannot be shown again. One unrevoked token per name. The creation is
// audited in the name of the principal in ctx, else of the system (CLI).
func (s *Service) CreateToken(ctx context.Context, name, role string, competences, territories []string, ttl time.Duration) (string, error) {
	name = normalizeLogin(name)
	if !tokenNamePattern.MatchString(name) {
		return "", fault.E(fault.Invalid, fmt.Errorf("auth: nom de jeton « %s » invalide (2 à 64 caractères : lettres minuscules, chiffres, . _ -)", name))
	}
	if ttl < 0 {
		return "", fault.E(fault.Invalid, errors.New("auth: durée de validité négative"))
	}
	if role == RoleCommune {
		// A mairie's systems are partners (Open311, webhooks); its staff sign in.
		return "", fault.E(fault.Invalid, errors.New("auth: le rôle commune est celui du personnel d'une mairie (un compte) ; pour un logiciel de la mairie, créez un jeton partner"))
	}
	competences, territories, err := s.checkScope(role, competences, territories)
	if err != nil {
		return "", err
	}
	raw, id := newToken()
	plaintext := TokenPrefix + raw
	now := s.now()
	var expires *time.Time
	if ttl > 0 {
		e := now.Add(ttl)
		expires = &e
	}
	by := "guichet"
	if p, ok := FromContext(ctx); ok {
		by = p.Name
	}
	_, err = s.db.Exec(ctx, `
		INSERT INTO api_tokens (id, name, role, competences, territories, created_at, created_by, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, id, name, role, competences, territories, now, by, expires)
	if isUniqueViolation(err) {
		return "", fault.E(fault.Conflict, fmt.Errorf("auth: un jeton « %s » est déjà en service ; révoquez-le d'abord", name))
	}
	if err != nil {
		return "", dbError("create token", err)
	}
	details := map[string]any{"id": shortID(id), "role": role, "competences": competences, "territories": territories}
	if expires != nil {
		details["expires_at"] = expires
	}
	s.auditAs(ctx, "token.create", name, details)
	return plaintext, nil
}

// RevokeToken ends the unrevoked token of this name at once.
func (s *Service) RevokeToken(ctx context.Context, name string) error {
	name = normalizeLogin(name)
	var id []byte
	err := s.db.QueryRow(ctx, `UPDATE api_tokens SET revoked_at = $2 WHERE name = $1 AND revoked_at IS NULL RETURNING id`,
		name, s.now()).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return fault.E(fault.NotFound, fmt.Errorf("auth: pas de jeton « %s » en service", name))
	}
	if err != nil {
		return dbError("revoke token", err)
	}
	s.auditAs(ctx, "token.revoke", name, map[string]any{"id": shortID(id)})
	return nil
}

// ListTokens returns every token, revoked and expired ones too, newest
// first.
func (s *Service) ListTokens(ctx context.Context) ([]Token, error) {
	rows, err := s.db.Query(ctx, `
		SELECT id, name, role, competences, territories, created_at, created_by, expires_at, revoked_at
		FROM api_tokens ORDER BY created_at DESC, name`)
	if err != nil {
		return nil, dbError("list tokens", err)
	}
	tokens, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Token, error) {
		var t Token
		var id []byte
		err := row.Scan(&id, &t.Name, &t.Role, &t.Competences, &t.Territories, &t.CreatedAt, &t.CreatedBy, &t.ExpiresAt, &t.RevokedAt)
		t.ID = shortID(id)
		return t, err
	})
	if err != nil {
		return nil, dbError("list tokens", err)
	}
	return tokens, nil
}

// shortID names a token without giving it away: the start of its hash.
func shortID(id []byte) string { return "tok-" + hex.EncodeToString(id[:min(len(id), 6)]) }

// parseBearer reads an Authorization header "Bearer <token>" (the scheme in
// any case, RFC 6750's token characters).
func parseBearer(header string) (string, bool) {
	scheme, tok, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimLeft(tok, " ")
	if tok == "" || len(tok) > 512 {
		return "", false
	}
	body := strings.TrimRight(tok, "=")
	if body == "" {
		return "", false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~+/", c) >= 0) {
			return "", false
		}
	}
	return tok, true
}

// parseAPIToken reads "gch_" and 32 bytes in base64url, and returns the
// token's id (the SHA-256 of the bytes).
func parseAPIToken(tok string) ([]byte, bool) {
	rest, ok := strings.CutPrefix(tok, TokenPrefix)
	if !ok {
		return nil, false
	}
	return parseSessionToken(rest)
}

// tokenPrincipal finds who an API token (or the development token) is. ok
// is false for a token unknown, revoked or expired.
func (s *Service) tokenPrincipal(ctx context.Context, tok string) (p Principal, ok bool, err error) {
	if s.cfg.DevToken != "" {
		got, want := sha256.Sum256([]byte(tok)), sha256.Sum256([]byte(s.cfg.DevToken))
		if subtle.ConstantTimeCompare(got[:], want[:]) == 1 {
			return Principal{Kind: KindToken, ID: "dev", Name: "dev", DisplayName: "jeton de développement", Role: RoleAdmin}, true, nil
		}
	}
	id, ok := parseAPIToken(tok)
	if !ok {
		return Principal{}, false, nil
	}
	p = Principal{Kind: KindToken, ID: shortID(id)}
	err = s.db.QueryRow(ctx, `
		SELECT name, role, competences, territories FROM api_tokens
		WHERE id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)`, id, s.now()).
		Scan(&p.Name, &p.Role, &p.Competences, &p.Territories)
	if errors.Is(err, pgx.ErrNoRows) {
		return Principal{}, false, nil
	}
	if err != nil {
		return Principal{}, false, dbError("token", err)
	}
	p.DisplayName = p.Name
	return p, true, nil
}

// PartnerKey finds the partner system an API key belongs to (an Open311
// api_key is a partner's API token): its name as written in source.system.
// ok is false for a key unknown, revoked, expired, or of another role than
// [RolePartner] — a telephony token or the development token submits no
// Open311 request.
func (s *Service) PartnerKey(ctx context.Context, key string) (system string, ok bool, err error) {
	p, ok, err := s.tokenPrincipal(ctx, key)
	if err != nil || !ok || p.Role != RolePartner || !p.Can(PermSubmitRequest) {
		return "", false, err
	}
	return p.Submitter(), true, nil
}
