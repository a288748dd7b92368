package auth_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/services/auth"
	"github.com/ampmetropole/guichet/services/fault"
	"github.com/ampmetropole/guichet/services/testkit"
)

func TestLogin(t *testing.T) {
	t.Parallel()
	svc, b := setup(t)
	ctx := auth.WithClientIP(context.Background(), "192.0.2.1")
	acct := mustAccount(t, svc, "camille.roux", auth.RoleTeam, []string{"voirie"}, []string{"pays-d-aix"})
	mustAccount(t, svc, "parti", auth.RoleAgent, nil, nil)
	if err := svc.Disable(ctx, "parti"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateAccount(ctx, "sso.seulement", "SSO", auth.RoleAgent, "", nil, nil); err != nil {
		t.Fatal(err)
	}

	sess, err := svc.Login(ctx, "  Camille.Roux ", goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	p := sess.Principal
	if p.Kind != auth.KindAccount || p.Name != "camille.roux" || p.ID != fmt.Sprint(acct.ID) || p.Role != auth.RoleTeam ||
		!slices.Equal(p.Competences, []string{"voirie"}) || !slices.Equal(p.Territories, []string{"pays-d-aix"}) ||
		p.DisplayName != "Nom de camille.roux" {
		t.Fatalf("principal %+v", p)
	}
	if len(sess.Token) != 43 || !sess.ExpiresAt.Equal(b.clock.Now().Add(12*time.Hour)) {
		t.Fatalf("session %q until %v", sess.Token, sess.ExpiresAt)
	}
	// The database holds the token's hash, never the token.
	var n int
	if err := b.pool.QueryRow(ctx, `SELECT count(*) FROM sessions WHERE id = sha256(decode(translate($1, '-_', '+/') || '=', 'base64'))`,
		sess.Token).Scan(&n); err != nil || n != 1 {
		t.Fatalf("session stored by its hash: %d, %v", n, err)
	}

	for _, tt := range []struct{ name, login, password string }{
		{"wrong password", "camille.roux", goodPassword + "!"},
		{"unknown login", "personne", goodPassword},
		{"disabled account", "parti", goodPassword},
		{"account without password", "sso.seulement", goodPassword},
		{"empty password", "camille.roux", ""},
		{"password far too long", "camille.roux", strings.Repeat("x", 10000)},
		{"login with a NUL byte", "camille\x00roux", goodPassword},
		{"login not UTF-8", "camille\xffroux", goodPassword},
	} {
		_, err := svc.Login(ctx, tt.login, tt.password)
		if fault.KindOf(err) != fault.Invalid || err.Error() != "auth: identifiant ou mot de passe incorrect" && tt.password != "" {
			t.Errorf("%s: %v (kind %v)", tt.name, err, fault.KindOf(err))
		}
	}
	entries, err := svc.AuditLog(ctx, auth.AuditFilter{Action: auth.ActionLoginFailed}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, e := range entries {
		reasons = append(reasons, fmt.Sprint(e.Details["reason"]))
		if e.IP != "192.0.2.1" {
			t.Errorf("failure without the address: %+v", e)
		}
	}
	slices.Sort(reasons)
	want := []string{"disabled", "no_password", "unknown_login", "unknown_login", "unknown_login", "wrong_password", "wrong_password"}
	if !slices.Equal(reasons, want) {
		t.Fatalf("failure reasons %v, want %v", reasons, want)
	}
	if got := auditActions(t, svc, auth.AuditFilter{Action: auth.ActionLogin}); !slices.Equal(got, []string{auth.ActionLogin}) {
		t.Fatalf("login entries %v", got)
	}
}

// A wrong login and a wrong password take the same argon2id work. Not
// parallel: other tests would disturb the timing.
func TestLoginTimingDoesNotTellUnknownLogins(t *testing.T) {
	svc, _ := setup(t, func(c *auth.Config) { c.MaxFailuresPerLogin, c.MaxFailuresPerIP = 100, 100 })
	ctx := context.Background()
	mustAccount(t, svc, "camille.roux", auth.RoleAgent, nil, nil)
	svc.Login(ctx, "personne", "réchauffement") // the dummy hash is made once
	measure := func(login string) time.Duration {
		best := time.Hour
		for range 3 {
			start := time.Now()
			if _, err := svc.Login(ctx, login, "mauvais mot de passe"); fault.KindOf(err) != fault.Invalid {
				t.Fatal(err)
			}
			best = min(best, time.Since(start))
		}
		return best
	}
	known, unknown := measure("camille.roux"), measure("personne")
	if unknown < known/2 {
		t.Fatalf("an unknown login answers in %v, a known one in %v", unknown, known)
	}
}

func TestLoginRateLimit(t *testing.T) {
	t.Parallel()
	svc, b := setup(t, func(c *auth.Config) { c.MaxFailuresPerIP = 8 })
	mustAccount(t, svc, "camille.roux", auth.RoleAgent, nil, nil)
	mustAccount(t, svc, "lea.martin", auth.RoleAgent, nil, nil)
	from := func(ip string) context.Context { return auth.WithClientIP(context.Background(), ip) }

	// Four failures, then a success: the count by login starts again.
	for range 4 {
		_, err := svc.Login(from("192.0.2.1"), "camille.roux", "mauvais mot de passe")
		wantKind(t, err, fault.Invalid)
	}
	if _, err := svc.Login(from("192.0.2.1"), "camille.roux", goodPassword); err != nil {
		t.Fatal(err)
	}
	// Five failures from five addresses: the login is locked, even with the
	// right password.
	for i := range 5 {
		b.clock.Advance(time.Minute)
		_, err := svc.Login(from(fmt.Sprintf("198.51.100.%d", i)), "camille.roux", "mauvais mot de passe")
		wantKind(t, err, fault.Invalid)
	}
	_, err := svc.Login(from("203.0.113.9"), "camille.roux", goodPassword)
	wantKind(t, err, fault.TooMany)
	if !strings.Contains(err.Error(), "trop de tentatives") {
		t.Fatalf("message %q", err)
	}
	// Another login is not locked.
	if _, err := svc.Login(from("203.0.113.9"), "lea.martin", goodPassword); err != nil {
		t.Fatal(err)
	}
	// Once the first failure is 15 minutes old, one more attempt is allowed.
	b.clock.Advance(10 * time.Minute)
	_, err = svc.Login(from("203.0.113.9"), "camille.roux", goodPassword)
	wantKind(t, err, fault.TooMany)
	b.clock.Advance(time.Minute)
	if _, err := svc.Login(from("203.0.113.9"), "camille.roux", goodPassword); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	if got := auditActions(t, svc, auth.AuditFilter{Action: auth.ActionLoginLimited}); len(got) != 2 {
		t.Fatalf("%d limited attempts audited, want 2", len(got))
	}

	// By address: 8 failures over several logins lock the address for
	// everyone, not other addresses.
	for i := range 8 {
		_, err := svc.Login(from("192.0.2.66"), fmt.Sprintf("essai%d", i), "mauvais mot de passe")
		wantKind(t, err, fault.Invalid)
	}
	_, err = svc.Login(from("192.0.2.66"), "lea.martin", goodPassword)
	wantKind(t, err, fault.TooMany)
	if _, err := svc.Login(from("192.0.2.67"), "lea.martin", goodPassword); err != nil {
		t.Fatal(err)
	}
}

// Guesses sent all at once cannot slip past the count while the first ones
// are still being checked.
func TestLoginRateLimitParallel(t *testing.T) {
	t.Parallel()
	svc, _ := setup(t)
	mustAccount(t, svc, "camille.roux", auth.RoleAgent, nil, nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	kinds := map[fault.Kind]int{}
	for i := range 12 {
		wg.Go(func() {
			ctx := auth.WithClientIP(context.Background(), fmt.Sprintf("198.51.100.%d", i))
			_, err := svc.Login(ctx, "camille.roux", fmt.Sprintf("essai numéro %d", i))
			mu.Lock()
			kinds[fault.KindOf(err)]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if kinds[fault.Invalid] > 5 || kinds[fault.Invalid]+kinds[fault.TooMany] != 12 {
		t.Fatalf("outcomes %v: more than 5 passwords checked", kinds)
	}
}

func TestLoginPage(t *testing.T) {
	t.Parallel()
	svc, b := setup(t, dev, func(c *auth.Config) { c.MaxFailuresPerLogin = 2 })
	mustAccount(t, svc, "camille.roux", auth.RoleAgent, nil, nil)
	srv := server(t, svc, func(mux *http.ServeMux) {
		mux.Handle("GET /bo/", svc.RequirePage(auth.PermCaseRead)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, _ := auth.FromContext(r.Context())
			fmt.Fprintf(w, "bonjour %s", p.Name)
		})))
	})
	c := browser(t)

	r := get(t, c, srv.URL+auth.LoginPath+"?retour="+url.QueryEscape("/bo/dossiers?etat=ouvert"))
	if r.code != http.StatusOK {
		t.Fatalf("GET: %d", r.code)
	}
	for _, want := range []string{`<html lang="fr">`, `<label for="identifiant">`, `autocomplete="username"`, `<label for="mot-de-passe">`,
		`autocomplete="current-password"`, `name="retour" value="/bo/dossiers?etat=ouvert"`, "Connectez-vous pour accéder à cette page", `href="/bo/auth/style.css"`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("sign-in page lacks %s", want)
		}
	}
	if strings.Contains(r.body, "/bo/oidc/login") {
		t.Error("OpenID Connect offered without being configured")
	}
	if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("security headers: %v", r.header)
	}
	if css := get(t, c, srv.URL+"/bo/auth/style.css"); css.code != 200 || !strings.Contains(css.header.Get("Content-Type"), "text/css") {
		t.Errorf("style sheet: %d %s", css.code, css.header.Get("Content-Type"))
	}

	// A sign-in posted from another site is refused (login CSRF).
	req, _ := http.NewRequest("POST", srv.URL+auth.LoginPath, strings.NewReader(url.Values{"identifiant": {"camille.roux"},
		"mot_de_passe": {goodPassword}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if r := do(t, c, req); r.code != http.StatusForbidden {
		t.Fatalf("cross-site sign-in: %d", r.code)
	}

	// Nothing typed: both fields named, in the summary and beside them.
	r = postForm(t, c, srv.URL+auth.LoginPath, url.Values{"identifiant": {" "}, "retour": {"/bo/dossiers"}})
	if r.code != http.StatusUnprocessableEntity {
		t.Fatalf("empty form: %d", r.code)
	}
	for _, want := range []string{`role="alert"`, `href="#identifiant"`, `href="#mot-de-passe"`, "Saisissez votre identifiant.",
		`aria-invalid="true" aria-describedby="identifiant-erreur"`, `aria-describedby="mot-de-passe-erreur"`, `name="retour" value="/bo/dossiers"`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("empty form: page lacks %s", want)
		}
	}
	// Wrong password: one message that does not say which was wrong.
	r = postForm(t, c, srv.URL+auth.LoginPath, url.Values{"identifiant": {"camille.roux"}, "mot_de_passe": {"mauvais mot de passe"}})
	if r.code != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Identifiant ou mot de passe incorrect.") ||
		!strings.Contains(r.body, `value="camille.roux"`) {
		t.Fatalf("wrong password: %d %s", r.code, r.body)
	}
	postForm(t, c, srv.URL+auth.LoginPath, url.Values{"identifiant": {"camille.roux"}, "mot_de_passe": {"mauvais mot de passe"}})
	r = postForm(t, c, srv.URL+auth.LoginPath, url.Values{"identifiant": {"camille.roux"}, "mot_de_passe": {goodPassword}})
	if r.code != http.StatusTooManyRequests || r.header.Get("Retry-After") != "900" || !strings.Contains(r.body, "Trop de tentatives") {
		t.Fatalf("over the limit: %d %v", r.code, r.header)
	}
	b.clock.Advance(16 * time.Minute)

	// Success: back to the page asked for, signed in.
	r = postForm(t, c, srv.URL+auth.LoginPath, url.Values{"identifiant": {"camille.roux"}, "mot_de_passe": {goodPassword},
		"retour": {"/bo/dossiers?etat=ouvert"}})
	if r.code != http.StatusSeeOther || r.header.Get("Location") != "/bo/dossiers?etat=ouvert" {
		t.Fatalf("sign-in: %d %v", r.code, r.header)
	}
	if r := get(t, c, srv.URL+"/bo/dossiers"); r.code != 200 || r.body != "bonjour camille.roux" {
		t.Fatalf("signed in: %d %q", r.code, r.body)
	}
	// The sign-in page of someone signed in leads on.
	if r := get(t, c, srv.URL+auth.LoginPath); r.code != http.StatusSeeOther || r.header.Get("Location") != "/bo/" {
		t.Fatalf("sign-in page when signed in: %d %v", r.code, r.header)
	}
}

func TestOpenRedirectRefused(t *testing.T) {
	t.Parallel()
	svc, _ := setup(t, dev)
	mustAccount(t, svc, "camille.roux", auth.RoleAgent, nil, nil)
	srv := server(t, svc, nil)
	for _, retour := range []string{"https://evil.example/bo/", "//evil.example", `/\evil.example`, "/\t/evil.example",
		"javascript:alert(1)", "http:evil.example", "/bo/connexion"} {
		c := browser(t)
		if r := get(t, c, srv.URL+auth.LoginPath+"?retour="+url.QueryEscape(retour)); !strings.Contains(r.body, `name="retour" value=""`) {
			t.Errorf("retour %q kept in the form", retour)
		}
		r := postForm(t, c, srv.URL+auth.LoginPath, url.Values{"identifiant": {"camille.roux"}, "mot_de_passe": {goodPassword}, "retour": {retour}})
		if r.code != http.StatusSeeOther || r.header.Get("Location") != "/bo/" {
			t.Errorf("retour %q: %d to %q", retour, r.code, r.header.Get("Location"))
		}
	}
}

func TestSessionCookieAttributes(t *testing.T) {
	t.Parallel()
	first, b := setup(t)
	mustAccount(t, first, "camille.roux", auth.RoleAgent, nil, nil)
	for _, tt := range []struct {
		publicURL string
		secure    bool
	}{
		{"https://guichet.ampmetropole.fr", true},
		{"", true},
		{"http://guichet.ampmetropole.fr", true}, // plain http elsewhere than on this machine: still Secure
		{"http://127.0.0.1:8080", false},
		{"http://localhost:8080", false},
		{"http://[::1]:8080", false},
	} {
		svc, err := auth.New(auth.Config{Secret: testSecret, PublicURL: tt.publicURL, Now: b.clock.Now}, b.pool, testkit.Logger(t))
		if err != nil {
			t.Fatal(err)
		}
		srv := server(t, svc, nil)
		r := postForm(t, browser(t), srv.URL+auth.LoginPath, url.Values{"identifiant": {"camille.roux"}, "mot_de_passe": {goodPassword}})
		var ck *http.Cookie
		for _, c := range (&http.Response{Header: r.header}).Cookies() {
			if c.Name == auth.SessionCookie {
				ck = c
			}
		}
		if ck == nil {
			t.Fatalf("%s: no session cookie in %v", tt.publicURL, r.header)
		}
		if ck.Secure != tt.secure || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.MaxAge != 0 || len(ck.Value) != 43 {
			t.Errorf("%s: cookie %+v", tt.publicURL, ck)
		}
	}
}
