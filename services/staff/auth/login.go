package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/ampmetropole/guichet/services/platform/fault"
)

// Login checks a login and password and opens a session. A wrong login,
// wrong password, account without password or disabled account all fail
// alike (kind Invalid), after the same argon2id work, so that neither the
// answer nor its time tells which.
//
// The sign-in limit slows password guessing without locking the real user
// out. It is backed by the audit log, so every instance shares it and a
// restart does not reset it. A failed sign-in counts for FailureWindow (15
// minutes), and no longer once the same login signs in from the same
// address (for the limits by pair and by address) or from anywhere (for
// the limit by login). Each limit is a back-off from the latest failure it
// counts: past its allowance, the next attempt waits FirstBackoff (1
// second), doubled at each further failure, up to a ceiling:
//
//   - one login from one address: after MaxFailuresPerPair (3) failures,
//     up to MaxBackoff (15 minutes);
//   - one address, whatever the login (a password sprayer): after
//     MaxFailuresPerIP (20) failures, up to MaxBackoff; an agent's typo
//     followed by their sign-in there does not count, so a call centre
//     sharing one address is not held back by its own agents;
//   - one login from anywhere (a guesser spread over many addresses):
//     after MaxFailuresPerLogin (10) failures, up to MaxLoginBackoff (30
//     seconds) only, a wait a person puts up with; the addresses the login
//     signed in from within KnownAddressFor (30 days) are spared it.
//
// So a guesser elsewhere never locks the account out: the same login from
// another address signs in at once, and the most it costs the real user at
// an unknown address is the login's short back-off. An attempt that must
// wait is refused (kind TooMany, with a [*LimitError] saying how long)
// without the password being checked, and audited as login_limited.
// Attempts in flight in this process count as failures made now until they
// end, so that a burst of parallel guesses cannot slip past the count.
func (s *Service) Login(ctx context.Context, login, password string) (Session, error) {
	login = cleanText(normalizeLogin(login), 100)
	if login == "" || password == "" {
		return Session{}, fault.E(fault.Invalid, errors.New("auth: identifiant et mot de passe requis"))
	}
	release, err := s.limit(ctx, login)
	if err != nil {
		return Session{}, err
	}
	defer release()

	a, err := scanAccount(s.db.QueryRow(ctx, `SELECT `+accountColumns+` FROM accounts WHERE login = $1`, login))
	found := err == nil
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return Session{}, dbError("login", err)
	}
	phc := s.dummy()
	if found && a.passwordHash != nil {
		phc = *a.passwordHash
	}
	ok, rehash := false, false
	if len(password) <= maxPasswordLen {
		ok, rehash, err = s.check(ctx, password, phc)
		if errors.Is(err, errBadHash) {
			s.log.Error("login: stored password hash is malformed", "login", login)
		} else if err != nil {
			return Session{}, err
		}
	}
	reason := ""
	switch {
	case !found:
		reason = "unknown_login"
	case a.passwordHash == nil:
		reason = "no_password"
	case !ok:
		reason = "wrong_password"
	case a.disabled:
		reason = "disabled"
	}
	if reason != "" {
		if err := s.Audit(ctx, Principal{Kind: KindAccount, Name: login}, ActionLoginFailed, login,
			map[string]any{"method": "password", "reason": reason}); err != nil {
			return Session{}, err
		}
		return Session{}, fault.E(fault.Invalid, errors.New("auth: identifiant ou mot de passe incorrect"))
	}
	if rehash {
		if h, err := s.hash(ctx, password); err == nil {
			if _, err := s.db.Exec(ctx, `UPDATE accounts SET password_hash = $2 WHERE id = $1`, a.id, h); err != nil {
				s.log.Warn("login: rehash password", "login", login, "err", err)
			}
		}
	}
	return s.signIn(ctx, a, "password")
}

// signIn opens a session for an account whose identity was proven, and
// audits it.
func (s *Service) signIn(ctx context.Context, a accountRow, method string) (Session, error) {
	sess, err := s.openSession(ctx, a)
	if err != nil {
		return Session{}, err
	}
	if err := s.Audit(ctx, sess.Principal, ActionLogin, a.login, map[string]any{"method": method}); err != nil {
		s.log.Error("audit login", "login", a.login, "err", err)
	}
	return sess, nil
}

// limitBy is what one limit of the sign-in limit counts failures by.
type limitBy int

const (
	byPair    limitBy = iota // one login from one address
	byLogin                  // one login from anywhere
	byAddress                // one address, whatever the login
	nLimits
)

// String names the limit in the details of login_limited.
func (sc limitBy) String() string {
	switch sc {
	case byPair:
		return "login_address"
	case byLogin:
		return "login"
	case byAddress:
		return "address"
	}
	return "unknown"
}

// rule gives a limit's allowance of failures and the ceiling of its
// back-off.
func (s *Service) rule(sc limitBy) (free int, ceiling time.Duration) {
	switch sc {
	case byPair:
		return s.cfg.MaxFailuresPerPair, s.cfg.MaxBackoff
	case byLogin:
		return s.cfg.MaxFailuresPerLogin, s.cfg.MaxLoginBackoff
	}
	return s.cfg.MaxFailuresPerIP, s.cfg.MaxBackoff
}

// failures are the recent failures that count against one limit: how many,
// and when the latest was.
type failures struct {
	n    int
	last time.Time
}

// LimitError says why the sign-in limit refused an attempt (kind TooMany):
// how long to wait before the next one.
type LimitError struct {
	Wait time.Duration
}

func (e *LimitError) Error() string {
	return "auth: trop de tentatives de connexion ; réessayez dans " + waitText(e.Wait)
}

// RetryAfter is the wait in whole seconds, rounded up, as a Retry-After
// header wants it.
func (e *LimitError) RetryAfter() int { return seconds(e.Wait) }

// limit refuses a sign-in that must wait (see [Service.Login]); otherwise
// the attempt counts as in flight until release is called.
func (s *Service) limit(ctx context.Context, login string) (release func(), err error) {
	ip := cleanText(ClientIP(ctx), 100) // as the audit log writes it
	pending := s.attempts.add(login, ip)
	release = func() { s.attempts.done(login, ip) }
	now := s.now()
	counts, known, err := s.recentFailures(ctx, login, ip, now)
	if err != nil {
		release()
		return nil, err
	}
	// The limit that asks the longest wait is the one that refuses.
	var worst struct {
		by         limitBy
		failures   int
		step, wait time.Duration
	}
	for sc := range nLimits {
		if sc == byLogin && known || sc == byAddress && ip == "" {
			continue
		}
		f := counts[sc]
		if others := pending[sc] - 1; others > 0 {
			f.n += others
			f.last = now
		}
		free, ceiling := s.rule(sc)
		step := backoff(f.n, free, s.cfg.FirstBackoff, ceiling)
		if wait := f.last.Add(step).Sub(now); step > 0 && wait > worst.wait {
			worst.by, worst.failures, worst.step, worst.wait = sc, f.n, step, wait
		}
	}
	if worst.wait <= 0 {
		return release, nil
	}
	release()
	if err := s.Audit(ctx, Principal{Kind: KindAccount, Name: login}, ActionLoginLimited, login, map[string]any{
		"limit": worst.by.String(), "failures": worst.failures, "delay_s": seconds(worst.step), "wait_s": seconds(worst.wait),
	}); err != nil {
		s.log.Error("audit login limit", "login", login, "err", err)
	}
	return nil, fault.E(fault.TooMany, &LimitError{Wait: worst.wait})
}

// recentFailures reads from the audit log the failures that count against
// a sign-in of login from ip (see [Service.Login]), and whether login
// signed in from ip within KnownAddressFor.
func (s *Service) recentFailures(ctx context.Context, login, ip string, now time.Time) (counts [nLimits]failures, known bool, err error) {
	var addr *string // the audit log writes no address as NULL
	if ip != "" {
		addr = &ip
	}
	since := now.Add(-s.cfg.FailureWindow)
	knownSince := now.Add(-s.cfg.KnownAddressFor)
	okSince := since // the sign-ins worth reading
	if knownSince.Before(since) {
		okSince = knownSince
	}
	var n [nLimits]int
	var last [nLimits]*time.Time
	err = s.db.QueryRow(ctx, `
		WITH ok AS (
		  SELECT coalesce(max(at), '-infinity') AS login_at,
		         coalesce(max(at) FILTER (WHERE ip IS NOT DISTINCT FROM $2), '-infinity') AS pair_at
		  FROM audit_log WHERE action = 'login' AND target = $1 AND at > $4
		), by_login AS (
		  SELECT f.at, f.ip IS NOT DISTINCT FROM $2 AND f.at > ok.pair_at AS pair, f.at > ok.login_at AS since_ok
		  FROM audit_log f, ok
		  WHERE f.action = 'login_failed' AND f.target = $1 AND f.at > $3
		), by_address AS (
		  SELECT f.at FROM audit_log f
		  WHERE f.action = 'login_failed' AND f.ip = $2 AND f.at > $3
		    AND NOT EXISTS (SELECT FROM audit_log s
		                    WHERE s.action = 'login' AND s.target = f.target AND s.at >= f.at AND s.ip = f.ip)
		)
		SELECT
		  (SELECT count(*) FILTER (WHERE pair) FROM by_login), (SELECT max(at) FILTER (WHERE pair) FROM by_login),
		  (SELECT count(*) FILTER (WHERE since_ok) FROM by_login), (SELECT max(at) FILTER (WHERE since_ok) FROM by_login),
		  (SELECT count(*) FROM by_address), (SELECT max(at) FROM by_address),
		  (SELECT pair_at > $5 FROM ok)`,
		login, addr, since, okSince, knownSince,
	).Scan(&n[byPair], &last[byPair], &n[byLogin], &last[byLogin], &n[byAddress], &last[byAddress], &known)
	if err != nil {
		return counts, false, dbError("sign-in limit", err)
	}
	for sc := range nLimits {
		counts[sc].n = n[sc]
		if last[sc] != nil {
			counts[sc].last = *last[sc]
		}
	}
	return counts, known && ip != "", nil
}

// backoff is the wait after n failures when free are allowed: none below
// free, first at free, doubled at each further failure, at most ceiling.
func backoff(n, free int, first, ceiling time.Duration) time.Duration {
	if n < free || first <= 0 {
		return 0
	}
	d := first
	for i := free; i < n && d < ceiling; i++ {
		if d > ceiling/2 {
			return ceiling
		}
		d *= 2
	}
	return min(d, ceiling)
}

// seconds is d in whole seconds, rounded up.
func seconds(d time.Duration) int {
	return int((d + time.Second - 1) / time.Second)
}

// waitText says a wait in French, rounded up: "1 seconde", "40 secondes",
// "3 minutes".
func waitText(d time.Duration) string {
	n, unit := seconds(d), "seconde"
	if n >= 60 {
		n, unit = (n+59)/60, "minute"
	}
	if n > 1 {
		unit += "s"
	}
	return fmt.Sprintf("%d %s", n, unit)
}

// inflight counts the sign-in attempts under way in this process, by pair,
// login and address.
type inflight struct {
	mu sync.Mutex
	n  map[string]int
}

func newInflight() *inflight { return &inflight{n: map[string]int{}} }

// inflightKeys are the keys of an attempt by limit; none by address when
// the address is unknown.
func inflightKeys(login, ip string) [nLimits]string {
	k := [nLimits]string{byPair: "p:" + ip + "\x00" + login, byLogin: "l:" + login}
	if ip != "" {
		k[byAddress] = "i:" + ip
	}
	return k
}

// add counts an attempt in and returns, by limit, the attempts in flight
// including it.
func (f *inflight) add(login, ip string) (n [nLimits]int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for sc, k := range inflightKeys(login, ip) {
		if k != "" {
			f.n[k]++
			n[sc] = f.n[k]
		}
	}
	return n
}

// done counts an attempt out.
func (f *inflight) done(login, ip string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range inflightKeys(login, ip) {
		if k == "" {
			continue
		}
		if f.n[k]--; f.n[k] <= 0 {
			delete(f.n, k)
		}
	}
}

// cleanText makes text typed by anyone fit for a PostgreSQL text column
// and a log line: valid UTF-8, no control characters, at most n bytes.
func cleanText(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
