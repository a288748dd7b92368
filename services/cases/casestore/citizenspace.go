package casestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/citizen"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

// "Mes demandes", a citizen's space: the one-time links that sign a citizen
// in, their sessions, and the requests of a person (migration 00015).
//
// A request is a person's when it carries, itself, the e-mail address or
// the mobile number the person proved by receiving a link (or FranceConnect
// vouched for). The citizens record a request was filed under is no proof:
// the router joins there an e-mail address and a phone number that anybody
// may have typed side by side, so that following it would show a stranger
// someone's calls after typing their number once on the web form.

// Kinds of sign-in links.
const (
	LinkByEmail = "email"
	LinkByPhone = "phone"
)

// CitizenIdentity is what a citizen proved: an e-mail address (normalized),
// a mobile number (E.164), or both.
type CitizenIdentity struct {
	Email string
	Phone string
}

// Empty says whether nothing was proved.
func (id CitizenIdentity) Empty() bool { return id.Email == "" && id.Phone == "" }

// carries says whether a request's citizen block holds one of the proved
// identifiers, as the citizen package normalizes them.
func (id CitizenIdentity) carries(c *schemas.Citizen) bool {
	if c == nil {
		return false
	}
	if id.Email != "" {
		if e, err := citizen.NormalizeEmail(c.Email); err == nil && e == id.Email {
			return true
		}
	}
	if id.Phone != "" {
		if p, err := citizen.NormalizePhone(c.Phone); err == nil && p == id.Phone {
			return true
		}
	}
	return false
}

// SignInLink is a one-time link: the SHA-256 of its token, and where it was
// sent.
type SignInLink struct {
	TokenHash []byte
	Kind      string // LinkByEmail or LinkByPhone
	Address   string // the e-mail address (normalized) or the mobile number (E.164)
	IP        string // the client that asked for it
}

// Identity is what the link proves once used.
func (l SignInLink) Identity() CitizenIdentity {
	if l.Kind == LinkByPhone {
		return CitizenIdentity{Phone: l.Address}
	}
	return CitizenIdentity{Email: l.Address}
}

// LinkLimit bounds the links sent to one address: at most Count since
// Within, each valid for TTL.
type LinkLimit struct {
	Count  int
	Within time.Duration
	TTL    time.Duration
}

// IssueSignInLink records a link, valid for lim.TTL, unless its address was
// sent lim.Count links within lim.Within already (fault.TooMany). The
// count is taken under a lock of the address, so that instances answering
// at once cannot all slip under it. Links expired for a day are deleted on
// the way.
func (s *Store) IssueSignInLink(ctx context.Context, l SignInLink, lim LinkLimit) error {
	wrap := func(err error) error {
		return fault.E(fault.Transient, fmt.Errorf("casestore: issue sign-in link: %w", err))
	}
	if len(l.TokenHash) != 32 || (l.Kind != LinkByEmail && l.Kind != LinkByPhone) || l.Address == "" {
		return fault.E(fault.Invalid, errors.New("casestore: issue sign-in link: malformed link"))
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return wrap(err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('citizen-link:' || $1, 0))`, l.Address); err != nil {
		return wrap(err)
	}
	var n int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM citizen_sign_in_links WHERE address = $1 AND created_at > now() - $2::interval`,
		l.Address, lim.Within.String()).Scan(&n); err != nil {
		return wrap(err)
	}
	if n >= lim.Count {
		return fault.E(fault.TooMany, fmt.Errorf("casestore: issue sign-in link: %d links sent to this address within %s", n, lim.Within))
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO citizen_sign_in_links (token_hash, kind, address, expires_at, ip)
		VALUES ($1, $2, $3, now() + $4::interval, NULLIF($5, ''))`,
		l.TokenHash, l.Kind, l.Address, lim.TTL.String(), l.IP); err != nil {
		return wrap(err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM citizen_sign_in_links WHERE expires_at < now() - interval '1 day'`); err != nil {
		return wrap(err)
	}
	if err := tx.Commit(ctx); err != nil {
		return wrap(err)
	}
	return nil
}

// SignInLinkFor returns the link of a token hash while it is good (not
// used, not expired), without using it: what the confirmation page shows.
// A link unknown, used or expired is fault.NotFound.
func (s *Store) SignInLinkFor(ctx context.Context, tokenHash []byte) (SignInLink, error) {
	l := SignInLink{TokenHash: tokenHash}
	err := s.pool.QueryRow(ctx, `
		SELECT kind, address FROM citizen_sign_in_links
		WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()`, tokenHash).Scan(&l.Kind, &l.Address)
	if errors.Is(err, pgx.ErrNoRows) {
		return l, notFound("sign-in link", "")
	}
	if err != nil {
		return l, fault.E(fault.Transient, fmt.Errorf("casestore: sign-in link: %w", err))
	}
	return l, nil
}

// UseSignInLink uses a link, once: of two uses at the same moment, one
// gets it and the other fault.NotFound, as for a link unknown, used or
// expired.
func (s *Store) UseSignInLink(ctx context.Context, tokenHash []byte) (SignInLink, error) {
	l := SignInLink{TokenHash: tokenHash}
	err := s.pool.QueryRow(ctx, `
		UPDATE citizen_sign_in_links SET used_at = now()
		WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()
		RETURNING kind, address`, tokenHash).Scan(&l.Kind, &l.Address)
	if errors.Is(err, pgx.ErrNoRows) {
		return l, notFound("sign-in link", "")
	}
	if err != nil {
		return l, fault.E(fault.Transient, fmt.Errorf("casestore: use sign-in link: %w", err))
	}
	return l, nil
}

// CitizenSession is a citizen's open session.
type CitizenSession struct {
	ID []byte // the SHA-256 of the cookie's token
	CitizenIdentity
	IDToken   string    // FranceConnect's ID token, for its logout; "" otherwise
	ExpiresAt time.Time // the absolute end
}

// OpenCitizenSession records a session lasting lifetime from now (the
// database's clock, which also ends it; sess.ExpiresAt is not read), and
// ends the session it replaces (nil: none) in the same transaction.
// Sessions ended for a day are deleted on the way.
func (s *Store) OpenCitizenSession(ctx context.Context, sess CitizenSession, lifetime time.Duration, replaces []byte) error {
	wrap := func(err error) error {
		return fault.E(fault.Transient, fmt.Errorf("casestore: open citizen session: %w", err))
	}
	if len(sess.ID) != 32 || sess.Empty() || lifetime <= 0 {
		return fault.E(fault.Invalid, errors.New("casestore: open citizen session: malformed session"))
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return wrap(err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if replaces != nil {
		if _, err := tx.Exec(ctx, `DELETE FROM citizen_sessions WHERE id = $1`, replaces); err != nil {
			return wrap(err)
		}
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO citizen_sessions (id, email, phone, id_token, expires_at)
		VALUES ($1, NULLIF($2, ''), NULLIF($3, ''), NULLIF($4, ''), now() + $5::interval)`,
		sess.ID, sess.Email, sess.Phone, sess.IDToken, lifetime.String()); err != nil {
		return wrap(err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM citizen_sessions WHERE expires_at < now() - interval '1 day' OR last_seen_at < now() - interval '1 day'`); err != nil {
		return wrap(err)
	}
	if err := tx.Commit(ctx); err != nil {
		return wrap(err)
	}
	return nil
}

// CitizenSession returns the session of that id if it is open: before its
// absolute end, and used within idle. Using it moves its idle timeout on.
// A session unknown or ended is fault.NotFound.
func (s *Store) CitizenSession(ctx context.Context, id []byte, idle time.Duration) (CitizenSession, error) {
	sess := CitizenSession{ID: id}
	var email, phone, idToken *string
	err := s.pool.QueryRow(ctx, `
		UPDATE citizen_sessions SET last_seen_at = now()
		WHERE id = $1 AND expires_at > now() AND last_seen_at > now() - $2::interval
		RETURNING email, phone, id_token, expires_at`, id, idle.String()).Scan(&email, &phone, &idToken, &sess.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return sess, notFound("citizen session", "")
	}
	if err != nil {
		return sess, fault.E(fault.Transient, fmt.Errorf("casestore: citizen session: %w", err))
	}
	sess.Email, sess.Phone, sess.IDToken = deref(email), deref(phone), deref(idToken)
	return sess, nil
}

// CloseCitizenSession ends a session and returns what it was (its ID
// token, for the provider's logout); fault.NotFound when there was none.
func (s *Store) CloseCitizenSession(ctx context.Context, id []byte) (CitizenSession, error) {
	sess := CitizenSession{ID: id}
	var email, phone, idToken *string
	err := s.pool.QueryRow(ctx, `DELETE FROM citizen_sessions WHERE id = $1 RETURNING email, phone, id_token, expires_at`, id).
		Scan(&email, &phone, &idToken, &sess.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return sess, notFound("citizen session", "")
	}
	if err != nil {
		return sess, fault.E(fault.Transient, fmt.Errorf("casestore: close citizen session: %w", err))
	}
	sess.Email, sess.Phone, sess.IDToken = deref(email), deref(phone), deref(idToken)
	return sess, nil
}

// CitizenThread is one thread of a person's requests — a request and the
// follow-ups written from its status page — as their space lists it.
type CitizenThread struct {
	Code       string // the thread's first request's tracking code: its status page
	Channel    string
	ReceivedAt time.Time
	Subject    string // "" when the request has none (a call)
	Excerpt    string // the start of its text
	Status     string // received | routed | failed
	// Case is the case that holds the thread's first request now (after
	// merges and splits); nil until it is routed. Without its events.
	Case *CaseSummary
	// Messages are the thread's requests that are the person's, oldest
	// first, the first request included.
	Messages []CitizenMessage
	LastAt   time.Time // when the latest of them came
}

// CitizenMessage is one request of a thread.
type CitizenMessage struct {
	Code       string
	Channel    string
	ReceivedAt time.Time
	Subject    string
}

// excerptRunes bounds the text CitizenThreads reads of each request.
const excerptRunes = 200

// CitizenThreads returns the threads of the requests that carry one of the
// identifiers proved (see the top of this file), the most recently active
// first. It reads the limit latest such requests at most; more says that
// there were others. A thread is listed only when its first request is the
// person's; never another request of the case, even one in the same case.
func (s *Store) CitizenThreads(ctx context.Context, who CitizenIdentity, limit int) (threads []CitizenThread, more bool, err error) {
	if who.Empty() {
		return nil, false, nil
	}
	var email, phone any // NULL matches nothing
	if who.Email != "" {
		email = who.Email
	}
	if who.Phone != "" {
		phone = who.Phone
	}
	rows, err := s.pool.Query(ctx, `
		SELECT r.id::text, COALESCE(r.thread_id, r.id)::text, r.tracking_code, r.channel, r.received_at, r.status,
		       r.payload->'citizen', COALESCE(r.payload->>'subject', ''), left(COALESCE(r.payload->>'body', ''), $4),
		       c.ref, c.competence, c.territory, c.state, c.opened_at, c.updated_at
		FROM requests r LEFT JOIN cases c ON c.id = r.case_id
		WHERE lower(btrim(r.payload #>> '{citizen,email}')) = $1
		   OR r.payload #>> '{citizen,phone}' = $2
		ORDER BY r.received_at DESC, r.id
		LIMIT $3`, email, phone, limit+1, excerptRunes)
	if err != nil {
		return nil, false, fault.E(fault.Transient, fmt.Errorf("casestore: citizen threads: %w", err))
	}
	type row struct {
		id, thread string
		msg        CitizenMessage
		excerpt    string
		status     string
		c          *CaseSummary
	}
	var mine []row
	n := 0
	for rows.Next() {
		n++
		if n > limit {
			more = true
			break
		}
		var rw row
		var who2 []byte
		var ref, competence, territory, state *string
		var opened, updated *time.Time
		if err := rows.Scan(&rw.id, &rw.thread, &rw.msg.Code, &rw.msg.Channel, &rw.msg.ReceivedAt, &rw.status,
			&who2, &rw.msg.Subject, &rw.excerpt, &ref, &competence, &territory, &state, &opened, &updated); err != nil {
			rows.Close()
			return nil, false, fault.E(fault.Transient, fmt.Errorf("casestore: citizen threads: %w", err))
		}
		var c *schemas.Citizen
		if len(who2) > 0 {
			if err := json.Unmarshal(who2, &c); err != nil {
				rows.Close()
				return nil, false, fmt.Errorf("casestore: citizen threads: citizen of %s: %w", rw.id, err)
			}
		}
		if !who.carries(c) {
			continue // an index candidate only: an address that is not one once normalized
		}
		if ref != nil {
			rw.c = &CaseSummary{Ref: *ref, Competence: deref(competence), Territory: deref(territory), State: deref(state),
				OpenedAt: derefTime(opened), UpdatedAt: derefTime(updated)}
		}
		mine = append(mine, rw)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, false, fault.E(fault.Transient, fmt.Errorf("casestore: citizen threads: %w", err))
	}
	byThread := map[string]*CitizenThread{}
	var order []string
	for i := len(mine) - 1; i >= 0; i-- { // oldest first
		rw := mine[i]
		t, ok := byThread[rw.thread]
		if !ok {
			t = &CitizenThread{}
			byThread[rw.thread] = t
			order = append(order, rw.thread)
		}
		if rw.id == rw.thread {
			t.Code, t.Channel, t.ReceivedAt, t.Subject, t.Status, t.Case = rw.msg.Code, rw.msg.Channel, rw.msg.ReceivedAt, rw.msg.Subject, rw.status, rw.c
			t.Excerpt = strings.TrimSpace(rw.excerpt)
		}
		t.Messages = append(t.Messages, rw.msg)
		if rw.msg.ReceivedAt.After(t.LastAt) {
			t.LastAt = rw.msg.ReceivedAt
		}
	}
	for _, id := range order {
		if t := byThread[id]; t.Code != "" { // its first request is the person's
			slices.SortStableFunc(t.Messages, func(a, b CitizenMessage) int { return a.ReceivedAt.Compare(b.ReceivedAt) })
			threads = append(threads, *t)
		}
	}
	slices.SortStableFunc(threads, func(a, b CitizenThread) int { return b.LastAt.Compare(a.LastAt) })
	return threads, more, nil
}

func derefTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}
