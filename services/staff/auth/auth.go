// Package auth owns who may use the back office and the API: staff accounts
// and their roles, sign-in by password or by the Métropole's OpenID Connect
// provider, sessions, the bearer tokens of other systems, what each role may
// do and which cases it sees, and the append-only audit log of who signed in,
// did or saw what.
//
// Wiring: wrap the whole mux in [Service.Middleware] (it finds who is
// calling), guard each staff page with [Service.RequirePage] and each API
// route with [Service.RequireAPI], and mount the sign-in pages with
// [Service.Register].
package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/ampmetropole/guichet/services/platform/staffshell"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// DB is what the service needs of PostgreSQL; a *pgxpool.Pool is one.
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Config configures the service. Zero durations and limits take the
// defaults named on each field.
type Config struct {
	// Secret keys the CSRF tokens and the OpenID Connect state cookie
	// (GUICHET_SECRET, at least 16 bytes). Changing it invalidates forms
	// being filled in, not sessions.
	Secret string
	// PublicURL is the site's address (GUICHET_PUBLIC_URL). The cookies are
	// Secure unless it is http:// on a loopback host (guichet dev on
	// http://127.0.0.1 or http://localhost); empty means Secure.
	PublicURL string
	// DevToken, when set (GUICHET_DEV_TOKEN, at least 16 characters), is
	// accepted as a bearer token with the admin role. For development only.
	DevToken string
	// OIDC configures sign-in with the Métropole's identity provider; nil
	// offers password sign-in only.
	OIDC *OIDCConfig
	// Home is where sign-in leads when no page was asked for; default
	// the role's own first page ([HomeOf]).
	Home string
	// CompetenceName and TerritoryName name a person's scope in the staff
	// frame ("Voirie, Marseille Provence"); nil shows the codes.
	CompetenceName, TerritoryName func(code string) string
	// CommuneName names a mairie's commune from its INSEE code; nil shows
	// the code.
	CommuneName func(insee string) string

	// IdleTimeout ends a session unused for that long; default 30 minutes.
	IdleTimeout time.Duration
	// SessionLifetime ends a session that long after sign-in, used or not;
	// default 12 hours.
	SessionLifetime time.Duration

	// The sign-in limit slows password guessing with back-offs, never a
	// lockout, so that a guesser cannot lock the real user out; see
	// [Service.Login] for how the figures below combine.

	// FailureWindow is how long a failed sign-in counts against the next
	// ones (unless the login signs in meanwhile); default 15 minutes.
	FailureWindow time.Duration
	// MaxFailuresPerPair is how many failures of one login from one
	// address go without back-off; default 3.
	MaxFailuresPerPair int
	// MaxFailuresPerIP is how many failures from one address, whatever
	// the login, go without back-off; default 20, since a call centre's
	// agents share one address. A failure followed by the same login's
	// sign-in from that address does not count.
	MaxFailuresPerIP int
	// MaxFailuresPerLogin is how many failures of one login, from any
	// address, go without back-off; default 10.
	MaxFailuresPerLogin int
	// FirstBackoff is the wait after a limit's allowance is used up,
	// doubled at each further failure; default 1 second.
	FirstBackoff time.Duration
	// MaxBackoff caps the back-offs of one login from one address and of
	// one address; default 15 minutes.
	MaxBackoff time.Duration
	// MaxLoginBackoff caps the back-off by login from any address, which
	// also falls on the real user: default 30 seconds, a wait a person
	// puts up with.
	MaxLoginBackoff time.Duration
	// KnownAddressFor spares the back-off by login to the addresses the
	// login signed in from within that long; default 30 days.
	KnownAddressFor time.Duration

	// KnownCompetence and KnownTerritory, when set, check the codes given
	// to accounts and tokens (the catalogue's competences, plus "triage"
	// for the triage queue; the territories' codes). Nil accepts any
	// well-formed code.
	KnownCompetence func(code string) bool
	KnownTerritory  func(code string) bool
	// KnownCommune checks the INSEE codes given to a mairie's accounts
	// (the Métropole's communes). Nil accepts any well-formed code.
	KnownCommune func(insee string) bool

	// Now is the clock; default time.Now. Tests move it.
	Now func() time.Time
	// ClientIP tells the client's address for the audit log and the
	// sign-in limit; default the connection's address (set it to read
	// X-Forwarded-For from a trusted reverse proxy).
	ClientIP func(r *http.Request) string
}

// OIDCConfig is the Métropole's OpenID Connect identity provider, as
// registered for Guichet.
type OIDCConfig struct {
	IssuerURL    string // e.g. https://sso.ampmetropole.fr/realms/agents
	ClientID     string
	ClientSecret string
	RedirectURL  string // https://guichet.ampmetropole.fr/bo/oidc/callback
	// HTTPClient talks to the provider; default a client with a 10 s timeout.
	HTTPClient *http.Client
}

func (c *Config) setDefaults() {
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 30 * time.Minute
	}
	if c.SessionLifetime == 0 {
		c.SessionLifetime = 12 * time.Hour
	}
	if c.FailureWindow == 0 {
		c.FailureWindow = 15 * time.Minute
	}
	if c.MaxFailuresPerPair == 0 {
		c.MaxFailuresPerPair = 3
	}
	if c.MaxFailuresPerIP == 0 {
		c.MaxFailuresPerIP = 20
	}
	if c.MaxFailuresPerLogin == 0 {
		c.MaxFailuresPerLogin = 10
	}
	if c.FirstBackoff == 0 {
		c.FirstBackoff = time.Second
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = 15 * time.Minute
	}
	if c.MaxLoginBackoff == 0 {
		c.MaxLoginBackoff = 30 * time.Second
	}
	if c.KnownAddressFor == 0 {
		c.KnownAddressFor = 30 * 24 * time.Hour
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.ClientIP == nil {
		c.ClientIP = remoteIP
	}
	if c.OIDC != nil && c.OIDC.HTTPClient == nil {
		c.OIDC.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
}

// Validate says what is wrong with the configuration, if anything.
func (c *Config) Validate() error {
	if len(c.Secret) < 16 {
		return errors.New("auth: the secret must be at least 16 bytes")
	}
	if c.DevToken != "" && len(c.DevToken) < 16 {
		return errors.New("auth: the development token must be at least 16 characters")
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("auth: public URL %q is not an http(s) address", c.PublicURL)
		}
	}
	if c.Home != "" && safeReturn(c.Home, "") != c.Home {
		return fmt.Errorf("auth: home %q is not a local path", c.Home)
	}
	if c.IdleTimeout < 0 || c.SessionLifetime < 0 || c.FailureWindow < 0 || c.MaxFailuresPerPair < 0 || c.MaxFailuresPerLogin < 0 ||
		c.MaxFailuresPerIP < 0 || c.FirstBackoff < 0 || c.MaxBackoff < 0 || c.MaxLoginBackoff < 0 || c.KnownAddressFor < 0 {
		return errors.New("auth: durations and limits cannot be negative")
	}
	if o := c.OIDC; o != nil {
		if o.IssuerURL == "" || o.ClientID == "" || o.RedirectURL == "" {
			return errors.New("auth: OpenID Connect needs the issuer URL, the client id and the redirect URL")
		}
		if _, err := url.Parse(o.RedirectURL); err != nil {
			return fmt.Errorf("auth: OpenID Connect redirect URL: %w", err)
		}
	}
	return nil
}

// Service signs people and systems in and says what they may do.
type Service struct {
	cfg          Config
	db           DB
	log          *slog.Logger
	csrfKey      []byte
	stateKey     []byte
	secureCookie bool
	hashing      chan struct{} // bounds the memory argon2id takes at once
	dummyOnce    sync.Once
	dummyHash    string
	attempts     *inflight
	oidc         *oidcClient // nil without OpenID Connect
	pages        pages
}

// New builds the service on the database migrated by casestore.
func New(cfg Config, db DB, log *slog.Logger) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.OIDC != nil {
		o := *cfg.OIDC
		cfg.OIDC = &o
	}
	cfg.setDefaults()
	shell, err := staffshell.New(log)
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	p, err := parsePages(shell)
	if err != nil {
		return nil, err
	}
	s := &Service{
		cfg:          cfg,
		db:           db,
		log:          log,
		csrfKey:      deriveKey(cfg.Secret, "guichet auth csrf"),
		stateKey:     deriveKey(cfg.Secret, "guichet auth oidc state"),
		secureCookie: !isLoopbackHTTP(cfg.PublicURL),
		hashing:      make(chan struct{}, maxConcurrentHashes),
		attempts:     newInflight(),
		pages:        p,
	}
	if cfg.OIDC != nil {
		s.oidc = &oidcClient{cfg: *cfg.OIDC}
	}
	return s, nil
}

func (s *Service) now() time.Time { return s.cfg.Now().UTC() }

// deriveKey gives each use of the secret its own key.
func deriveKey(secret, purpose string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// isLoopbackHTTP says whether the site is served over plain HTTP on this
// machine, the one case where cookies cannot be Secure.
func isLoopbackHTTP(publicURL string) bool {
	u, err := url.Parse(publicURL)
	if err != nil || u.Scheme != "http" {
		return false
	}
	host := u.Hostname()
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// pages are the templates of the sign-in pages.
type pages struct {
	shell   *staffshell.Shell
	login   *template.Template
	message *template.Template
}
