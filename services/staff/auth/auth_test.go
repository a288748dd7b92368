package auth_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/staff/auth"
	"github.com/ampmetropole/guichet/services/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// clock is a clock the test moves.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// bundle is what a test works with besides the service.
type bundle struct {
	clock *clock
	pool  *pgxpool.Pool
}

const testSecret = "un secret de test assez long"

// setup returns a service on a fresh database, with a moving clock; edit
// changes its configuration.
func setup(t *testing.T, edit ...func(*auth.Config)) (*auth.Service, bundle) {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, testkit.Database(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	c := newClock()
	cfg := auth.Config{Secret: testSecret, PublicURL: "https://guichet.ampmetropole.fr", Now: c.Now}
	for _, e := range edit {
		e(&cfg)
	}
	svc, err := auth.New(cfg, pool, testkit.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	return svc, bundle{clock: c, pool: pool}
}

// dev serves the site over http on this machine, as guichet dev does, so
// that a test client keeps the cookies.
func dev(c *auth.Config) { c.PublicURL = "http://127.0.0.1:8080" }

const goodPassword = "correct horse battery staple"

func mustAccount(t *testing.T, svc *auth.Service, login, role string, competences, territories []string) auth.Account {
	t.Helper()
	a, err := svc.CreateAccount(context.Background(), login, "Nom de "+login, role, goodPassword, competences, territories)
	if err != nil {
		t.Fatalf("create account %s: %v", login, err)
	}
	return a
}

func wantKind(t *testing.T, err error, kind fault.Kind) {
	t.Helper()
	if err == nil || fault.KindOf(err) != kind {
		t.Fatalf("error %v (kind %v), want kind %v", err, fault.KindOf(err), kind)
	}
}

// server serves the sign-in pages and the given routes behind the
// middleware, as cmd/guichet will.
func server(t *testing.T, svc *auth.Service, routes func(mux *http.ServeMux)) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	svc.Register(mux)
	if routes != nil {
		routes(mux)
	}
	srv := httptest.NewServer(svc.Middleware(mux))
	t.Cleanup(srv.Close)
	return srv
}

// browser is a client that keeps cookies and does not follow redirects.
func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Jar: jar, Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type response struct {
	code   int
	header http.Header
	body   string
}

func do(t *testing.T, c *http.Client, req *http.Request) response {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, string(b)}
}

func get(t *testing.T, c *http.Client, u string) response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	return do(t, c, req)
}

func postForm(t *testing.T, c *http.Client, u string, form url.Values) response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return do(t, c, req)
}

// signIn signs login in through the form and returns the session cookie's
// value.
func signIn(t *testing.T, c *http.Client, base, login string) string {
	t.Helper()
	r := postForm(t, c, base+auth.LoginPath, url.Values{"identifiant": {login}, "mot_de_passe": {goodPassword}})
	if r.code != http.StatusSeeOther {
		t.Fatalf("sign-in of %s: %d %s", login, r.code, r.body)
	}
	u, _ := url.Parse(base)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == auth.SessionCookie {
			return ck.Value
		}
	}
	t.Fatalf("sign-in of %s: no session cookie", login)
	return ""
}

func auditActions(t *testing.T, svc *auth.Service, filter auth.AuditFilter) []string {
	t.Helper()
	entries, err := svc.AuditLog(context.Background(), filter, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Action)
	}
	return out
}
