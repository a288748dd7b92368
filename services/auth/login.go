package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/ampmetropole/guichet/services/fault"
)

// Login checks a login and password and opens a session. A wrong login,
// wrong password, account without password or disabled account all fail
// alike (kind Invalid), after the same argon2id work, so that neither the
// answer nor its time tells which.
//
// The sign-in limit is backed by the audit log, so every instance shares it
// and a restart does not reset it: once a login has MaxFailuresPerLogin
// failures in the last FailureWindow (counted since its last successful
// sign-in), or an address MaxFailuresPerIP, attempts are refused (kind
// TooMany, password not checked) until the oldest failure leaves the
// window. Attempts in flight in this process count as failures until they
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

// limit refuses a sign-in over the limit (see [Service.Login]); otherwise
// the attempt counts as in flight until release is called.
func (s *Service) limit(ctx context.Context, login string) (release func(), err error) {
	ip := ClientIP(ctx)
	pendingLogin, pendingIP := s.attempts.add(login, ip)
	release = func() { s.attempts.done(login, ip) }
	since := s.now().Add(-s.cfg.FailureWindow)
	var byLogin, byIP int
	err = s.db.QueryRow(ctx, `
		SELECT
		  (SELECT count(*) FROM audit_log
		   WHERE action = 'login_failed' AND target = $1
		     AND at > GREATEST($3, (SELECT max(at) FROM audit_log WHERE action = 'login' AND target = $1))),
		  (SELECT count(*) FROM audit_log WHERE action = 'login_failed' AND ip = $2 AND at > $3)`,
		login, ip, since).Scan(&byLogin, &byIP)
	if err != nil {
		release()
		return nil, dbError("sign-in limit", err)
	}
	over := byLogin+pendingLogin-1 >= s.cfg.MaxFailuresPerLogin ||
		(ip != "" && byIP+pendingIP-1 >= s.cfg.MaxFailuresPerIP)
	if !over {
		return release, nil
	}
	release()
	if err := s.Audit(ctx, Principal{Kind: KindAccount, Name: login}, ActionLoginLimited, login,
		map[string]any{"failures_login": byLogin, "failures_ip": byIP}); err != nil {
		s.log.Error("audit login limit", "login", login, "err", err)
	}
	return nil, fault.E(fault.TooMany, fmt.Errorf("auth: trop de tentatives de connexion ; réessayez dans %d minutes",
		int(s.cfg.FailureWindow.Minutes()+0.5)))
}

// inflight counts the sign-in attempts under way in this process, by login
// and by address.
type inflight struct {
	mu sync.Mutex
	n  map[string]int
}

func newInflight() *inflight { return &inflight{n: map[string]int{}} }

func (f *inflight) add(login, ip string) (byLogin, byIP int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n["l:"+login]++
	byLogin = f.n["l:"+login]
	if ip != "" {
		f.n["i:"+ip]++
		byIP = f.n["i:"+ip]
	}
	return byLogin, byIP
}

func (f *inflight) done(login, ip string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range []string{"l:" + login, "i:" + ip} {
		if k == "i:" {
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
