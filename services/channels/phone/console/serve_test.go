package console_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/services/channels/phone/console"
	"github.com/ampmetropole/guichet/services/channels/phone/telephony"
	"github.com/ampmetropole/guichet/services/language/extract"
	"github.com/ampmetropole/guichet/services/platform/staffshell"
	"github.com/ampmetropole/guichet/services/staff/auth"
	"github.com/ampmetropole/guichet/services/testkit"
	"github.com/ampmetropole/guichet/services/testkit/stack"
)

// serve is the console as Guichet serves it (cmd/guichet/compose): behind
// the real sign-in, for the call centre's role only, with the staff
// frame's assets, the phone channel and a running router.
func serve(t *testing.T) (stack.Stack, *httptest.Server) {
	t.Helper()
	return serveWith(t, nil)
}

// serveWith is serve with the console's collaborators changed by change.
func serveWith(t *testing.T, change func(*console.Deps)) (stack.Stack, *httptest.Server) {
	t.Helper()
	st := stack.New(t, stack.Options{Router: true})
	calls := telephony.New(st.Intake, extract.New(st.Places), telephony.WithCompetences(st.Catalogue.Known))
	who := func(r *http.Request) string { p, _ := auth.FromContext(r.Context()); return p.Name }
	deps := console.Deps{Store: st.Store, Calls: calls, Catalogue: st.Catalogue, CSRF: st.Auth.CSRFField,
		Agent: who, Tasks: st.Store, SMS: true, Audit: st.Auth.AuditCaller, Viewer: st.Auth.Viewer, Incidents: st.Store, Log: testkit.Logger(t)}
	if change != nil {
		change(&deps)
	}
	c, err := console.New(deps)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	st.Auth.Register(mux)
	mux.Handle("GET "+staffshell.AssetsPath, staffshell.Assets())
	agentOnly := st.Auth.RequirePage(auth.PermAgentConsole)
	mux.Handle("/agent", agentOnly(c))
	mux.Handle("/agent/", agentOnly(c))
	srv := httptest.NewServer(st.Auth.Middleware(mux))
	t.Cleanup(srv.Close)
	return st, srv
}

// account creates a person with a role and its password.
func account(t *testing.T, st stack.Stack, login, name, role string) {
	t.Helper()
	if _, err := st.Auth.CreateAccount(context.Background(), login, name, role, "mot-de-passe-"+login, nil, nil); err != nil {
		t.Fatal(err)
	}
}

// person is someone signed in through the real sign-in page; redirects
// are not followed.
type person struct {
	t      testing.TB
	base   string
	client *http.Client
}

func signIn(t testing.TB, base, login string) person {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(base+auth.LoginPath, url.Values{"identifiant": {login}, "mot_de_passe": {"mot-de-passe-" + login}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("%s not signed in: %d", login, resp.StatusCode)
	}
	return person{t: t, base: base, client: c}
}

func (p person) do(req *http.Request) (*http.Response, string) {
	p.t.Helper()
	resp, err := p.client.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (p person) get(path string) (*http.Response, string) {
	p.t.Helper()
	req, _ := http.NewRequest("GET", p.base+path, nil)
	return p.do(req)
}

var csrfField = regexp.MustCompile(`name="` + auth.CSRFField + `" value="([^"]+)"`)

// post sends the log form's fields with the CSRF token of page.
func (p person) post(page, path string, form url.Values) (*http.Response, string) {
	p.t.Helper()
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		p.t.Fatalf("no CSRF token on the page")
	}
	form.Set(auth.CSRFField, m[1])
	resp, err := p.client.PostForm(p.base+path, form)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}
