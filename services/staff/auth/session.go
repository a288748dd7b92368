package auth

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"html/template"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// Names of the session cookie and of where a form or a script gives the
// CSRF token.
const (
	SessionCookie = "guichet_session"
	CSRFField     = "csrf"
	CSRFHeader    = "X-CSRF-Token"
)

const tokenBytes = 32 // random bytes in session and API tokens

// Session is an open session: its token goes in the cookie and is never
// stored (only its SHA-256 is).
type Session struct {
	Token     string
	Principal Principal
	ExpiresAt time.Time
}

// newToken returns 32 random bytes, base64url-encoded, and their SHA-256,
// which is what the database keeps.
func newToken() (encoded string, id []byte) {
	raw := make([]byte, tokenBytes)
	_, _ = rand.Read(raw) // never fails since Go 1.24
	sum := sha256.Sum256(raw)
	return base64.RawURLEncoding.EncodeToString(raw), sum[:]
}

// parseSessionToken reads a session cookie's value: 43 characters of
// base64url for 32 bytes. It returns the session's id (the SHA-256 of the
// bytes).
func parseSessionToken(v string) ([]byte, bool) {
	if len(v) != base64.RawURLEncoding.EncodedLen(tokenBytes) {
		return nil, false
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(v)
	if err != nil || len(raw) != tokenBytes {
		return nil, false
	}
	sum := sha256.Sum256(raw)
	return sum[:], true
}

// accountRow is an account as sign-in reads it.
type accountRow struct {
	id           int64
	login        string
	displayName  string
	role         string
	competences  []string
	territories  []string
	communes     []string
	passwordHash *string
	oidcSubject  *string
	disabled     bool
}

const accountColumns = `id, login, display_name, role, competences, territories, communes, password_hash, oidc_subject, disabled`

func scanAccount(row pgx.Row) (accountRow, error) {
	var a accountRow
	err := row.Scan(&a.id, &a.login, &a.displayName, &a.role, &a.competences, &a.territories, &a.communes,
		&a.passwordHash, &a.oidcSubject, &a.disabled)
	return a, err
}

func (a accountRow) principal(session []byte) Principal {
	return Principal{Kind: KindAccount, ID: strconv.FormatInt(a.id, 10), Name: a.login, DisplayName: a.displayName,
		Role: a.role, Competences: a.competences, Territories: a.territories, Communes: a.communes, session: session}
}

// openSession starts a session for a, after clearing out the sessions that
// have ended, anyone's.
func (s *Service) openSession(ctx context.Context, a accountRow) (Session, error) {
	now := s.now()
	if _, err := s.db.Exec(ctx, `DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2`,
		now, now.Add(-s.cfg.IdleTimeout)); err != nil {
		return Session{}, dbError("clear ended sessions", err)
	}
	token, id := newToken()
	expires := now.Add(s.cfg.SessionLifetime)
	var ip *string
	if a := ClientIP(ctx); a != "" {
		ip = &a
	}
	if _, err := s.db.Exec(ctx, `
		INSERT INTO sessions (id, account_id, created_at, expires_at, last_seen_at, ip)
		VALUES ($1, $2, $3, $4, $3, $5)`, id, a.id, now, expires, ip); err != nil {
		return Session{}, dbError("open session", err)
	}
	return Session{Token: token, Principal: a.principal(id), ExpiresAt: expires}, nil
}

// sessionPrincipal finds the account of a session cookie's value and moves
// the session's idle timeout on. ok is false for a session unknown, ended
// or of a disabled account.
func (s *Service) sessionPrincipal(ctx context.Context, cookie string) (p Principal, ok bool, err error) {
	id, ok := parseSessionToken(cookie)
	if !ok {
		return Principal{}, false, nil
	}
	now := s.now()
	a, err := scanAccount(s.db.QueryRow(ctx, `
		UPDATE sessions s SET last_seen_at = GREATEST(s.last_seen_at, $2)
		FROM accounts a
		WHERE s.id = $1 AND a.id = s.account_id AND NOT a.disabled
		  AND s.expires_at > $2 AND s.last_seen_at > $3
		RETURNING a.id, a.login, a.display_name, a.role, a.competences, a.territories, a.communes,
		          a.password_hash, a.oidc_subject, a.disabled`, id, now, now.Add(-s.cfg.IdleTimeout)))
	if errors.Is(err, pgx.ErrNoRows) {
		return Principal{}, false, nil
	}
	if err != nil {
		return Principal{}, false, dbError("session", err)
	}
	return a.principal(id), true, nil
}

// Logout ends the session whose cookie value is token; an unknown or ended
// session is no error.
func (s *Service) Logout(ctx context.Context, token string) error {
	id, ok := parseSessionToken(token)
	if !ok {
		return nil
	}
	var login string
	err := s.db.QueryRow(ctx, `
		DELETE FROM sessions s USING accounts a WHERE s.id = $1 AND a.id = s.account_id RETURNING a.login`, id).Scan(&login)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return dbError("logout", err)
	}
	if err := s.Audit(ctx, Principal{Kind: KindAccount, Name: login}, ActionLogout, login, nil); err != nil {
		s.log.Error("audit logout", "login", login, "err", err)
	}
	return nil
}

// SetSessionCookie gives the browser the session's cookie: HttpOnly,
// SameSite=Lax, Path=/, Secure (but in guichet dev over http on this
// machine), lasting as long as the browser stays open; the server ends it
// sooner (idle timeout, lifetime).
func (s *Service) SetSessionCookie(w http.ResponseWriter, sess Session) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: sess.Token, Path: "/", HttpOnly: true,
		Secure: s.secureCookie, SameSite: http.SameSiteLaxMode})
}

// clearCookie tells the browser to forget a cookie.
func (s *Service) clearCookie(w http.ResponseWriter, name, path string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: path, MaxAge: -1, HttpOnly: true,
		Secure: s.secureCookie, SameSite: http.SameSiteLaxMode})
}

// csrfFor is the CSRF token of a session: an HMAC of its id, so nothing is
// stored and a token is good for one session only.
func (s *Service) csrfFor(sessionID []byte) string {
	m := hmac.New(sha256.New, s.csrfKey)
	m.Write(sessionID)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// CSRFToken returns the CSRF token of the session of the request, or ""
// without a session. Scripts send it in the X-CSRF-Token header.
func (s *Service) CSRFToken(r *http.Request) string {
	p, ok := FromContext(r.Context())
	if !ok || p.session == nil {
		return ""
	}
	return s.csrfFor(p.session)
}

// CSRFField returns the hidden field that carries the CSRF token, for a
// form posted by a signed-in person. [Service.RequirePage] checks it on
// every POST, PUT, PATCH and DELETE. In a multipart form
// (enctype="multipart/form-data") it must be the first field.
func (s *Service) CSRFField(r *http.Request) template.HTML {
	t := s.CSRFToken(r)
	if t == "" {
		return ""
	}
	return template.HTML(`<input type="hidden" name="` + CSRFField + `" value="` + template.HTMLEscapeString(t) + `">`)
}

// maxCSRFForm bounds the url-encoded body read to find the CSRF token.
const maxCSRFForm = 1 << 20

// csrfOK says whether an unsafe request of a session carries the session's
// CSRF token: in the X-CSRF-Token header, in the "csrf" field of a
// url-encoded form (at most 1 MiB, parsed here), or as the first part of a
// multipart form (read here and put back, so that the handler reads the
// whole body with its own limits).
func (s *Service) csrfOK(w http.ResponseWriter, r *http.Request, p Principal) (ok, tooLarge bool) {
	want := s.csrfFor(p.session)
	got := r.Header.Get(CSRFHeader)
	if got == "" {
		ct, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		switch ct {
		case "application/x-www-form-urlencoded":
			r.Body = http.MaxBytesReader(w, r.Body, maxCSRFForm)
			if err := r.ParseForm(); err != nil {
				var big *http.MaxBytesError
				return false, errors.As(err, &big)
			}
			got = r.PostForm.Get(CSRFField)
		case "multipart/form-data":
			got = firstPartToken(r, params["boundary"])
		}
	}
	return got != "" && hmac.Equal([]byte(got), []byte(want)), false
}

// firstPartToken reads the CSRF field at the head of a multipart body and
// gives the body back whole.
func firstPartToken(r *http.Request, boundary string) string {
	if boundary == "" || r.Body == nil {
		return ""
	}
	var seen bytes.Buffer
	body := r.Body
	head := io.TeeReader(io.LimitReader(body, 16<<10), &seen)
	defer func() {
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(&seen, body), body}
	}()
	part, err := multipart.NewReader(head, boundary).NextPart()
	if err != nil || part.FormName() != CSRFField {
		return ""
	}
	v, err := io.ReadAll(io.LimitReader(part, 256))
	if err != nil {
		return ""
	}
	return string(v)
}
