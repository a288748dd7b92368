package auth_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ampmetropole/guichet/services/staff/auth"
)

// backOffice is a small back office: pages and API routes needing
// different permissions, the case routes also checking the case's scope.
func backOffice(svc *auth.Service) func(mux *http.ServeMux) {
	ok := func(w http.ResponseWriter, r *http.Request) {
		p, _ := auth.FromContext(r.Context())
		fmt.Fprintf(w, "ok %s", p.Name)
	}
	casePage := func(w http.ResponseWriter, r *http.Request) {
		p, _ := auth.FromContext(r.Context())
		if !p.SeesCase(r.PathValue("competence"), r.PathValue("territory")) {
			svc.DenyPage(w, r)
			return
		}
		ok(w, r)
	}
	caseAPI := func(w http.ResponseWriter, r *http.Request) {
		p, _ := auth.FromContext(r.Context())
		if !p.SeesCase(r.PathValue("competence"), r.PathValue("territory")) {
			auth.DenyAPI(w)
			return
		}
		ok(w, r)
	}
	page := func(perm auth.Permission, h http.HandlerFunc) http.Handler { return svc.RequirePage(perm)(h) }
	api := func(perm auth.Permission, h http.HandlerFunc) http.Handler { return svc.RequireAPI(perm)(h) }
	return func(mux *http.ServeMux) {
		mux.Handle("GET /bo/dossiers/{competence}/{territory}", page(auth.PermCaseRead, casePage))
		mux.Handle("POST /bo/dossiers/{competence}/{territory}/transition", page(auth.PermCaseTransition, casePage))
		mux.Handle("GET /bo/triage", page(auth.PermTriage, ok))
		mux.Handle("GET /bo/tableau", page(auth.PermDashboard, ok))
		mux.Handle("GET /bo/courrier", page(auth.PermMailroom, ok))
		mux.Handle("GET /bo/agent", page(auth.PermAgentConsole, ok))
		mux.Handle("GET /bo/admin/comptes", page(auth.PermAdminAccounts, ok))
		mux.Handle("GET /bo/jeton", page(auth.PermCaseRead, func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, `<form method="post">%s</form>`, svc.CSRFField(r))
		}))
		mux.Handle("GET /api/v1/bo/cases/{competence}/{territory}", api(auth.PermCaseRead, caseAPI))
		mux.Handle("POST /api/v1/bo/cases/{competence}/{territory}/route", api(auth.PermCaseReroute, caseAPI))
		mux.Handle("GET /api/v1/bo/audit", api(auth.PermAuditRead, ok))
	}
}

var csrfValue = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrfOf reads the CSRF token from a form of the signed-in client.
func csrfOf(t *testing.T, c *http.Client, base string) string {
	t.Helper()
	r := get(t, c, base+"/bo/jeton")
	m := csrfValue.FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("no CSRF field in %d %q", r.code, r.body)
	}
	return m[1]
}

// TestMiddlewareWalk walks every route as nobody, as each role, and as a
// team member of another competence, by session for pages and by token
// for the API.
func TestMiddlewareWalk(t *testing.T) {
	t.Parallel()
	svc, _ := setup(t, dev)
	srv := server(t, svc, backOffice(svc))
	ctx := context.Background()

	type who struct {
		role                     string
		competences, territories []string
	}
	people := map[string]who{
		"agent":       {auth.RoleAgent, nil, nil},
		"courrier":    {auth.RoleMailroom, nil, nil},
		"voirie":      {auth.RoleTeam, []string{"voirie"}, []string{"marseille-provence"}},
		"eau":         {auth.RoleTeam, []string{"eau_assainissement"}, nil}, // another competence
		"superviseur": {auth.RoleSupervisor, nil, nil},
		"admin":       {auth.RoleAdmin, nil, nil},
	}
	type creds struct {
		client *http.Client
		csrf   string
		token  string
	}
	as := map[string]creds{}
	for name, w := range people {
		mustAccount(t, svc, name, w.role, w.competences, w.territories)
		c := browser(t)
		signIn(t, c, srv.URL, name)
		tok, err := svc.CreateToken(ctx, "jeton-"+name, w.role, w.competences, w.territories, 0)
		if err != nil {
			t.Fatal(err)
		}
		as[name] = creds{client: c, csrf: csrfOf(t, c, srv.URL), token: tok}
	}

	routes := []struct {
		method, path string
		api          bool
		allowed      []string // everyone else signed in gets 403
	}{
		{"GET", "/bo/dossiers/voirie/marseille-provence", false, []string{"agent", "courrier", "voirie", "superviseur", "admin"}},
		{"POST", "/bo/dossiers/voirie/marseille-provence/transition", false, []string{"voirie", "superviseur", "admin"}},
		{"GET", "/bo/dossiers/voirie/pays-d-aix", false, []string{"agent", "courrier", "superviseur", "admin"}},
		{"GET", "/bo/triage", false, []string{"superviseur", "admin"}},
		{"GET", "/bo/tableau", false, []string{"superviseur", "admin"}},
		{"GET", "/bo/courrier", false, []string{"courrier", "admin"}},
		{"GET", "/bo/agent", false, []string{"agent", "admin"}},
		{"GET", "/bo/admin/comptes", false, []string{"admin"}},
		{"GET", "/api/v1/bo/cases/voirie/marseille-provence", true, []string{"agent", "courrier", "voirie", "superviseur", "admin"}},
		{"GET", "/api/v1/bo/cases/eau_assainissement/pays-d-aix", true, []string{"agent", "courrier", "eau", "superviseur", "admin"}},
		{"POST", "/api/v1/bo/cases/voirie/marseille-provence/route", true, []string{"voirie", "superviseur", "admin"}},
		{"GET", "/api/v1/bo/audit", true, []string{"admin"}},
	}
	request := func(method, path string, cr *creds, api bool) response {
		var body io.Reader
		if method == "POST" && !api && cr != nil {
			body = strings.NewReader(url.Values{"csrf": {cr.csrf}}.Encode())
		}
		req, _ := http.NewRequest(method, srv.URL+path, body)
		if body != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		c := browser(t)
		if cr != nil && api {
			req.Header.Set("Authorization", "Bearer "+cr.token)
		} else if cr != nil {
			c = cr.client
		}
		return do(t, c, req)
	}
	for _, rt := range routes {
		// Nobody.
		r := request(rt.method, rt.path, nil, rt.api)
		switch {
		case rt.api:
			if r.code != http.StatusUnauthorized || !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") ||
				!strings.Contains(r.header.Get("Content-Type"), "application/json") || !strings.Contains(r.body, `"authentification requise"`) {
				t.Errorf("%s %s without credentials: %d %v %s", rt.method, rt.path, r.code, r.header, r.body)
			}
		case rt.method == "GET":
			if want := auth.LoginPath + "?retour=" + url.QueryEscape(rt.path); r.code != http.StatusFound || r.header.Get("Location") != want {
				t.Errorf("%s %s without session: %d to %q, want 302 to %q", rt.method, rt.path, r.code, r.header.Get("Location"), want)
			}
		default:
			if r.code != http.StatusSeeOther || r.header.Get("Location") != auth.LoginPath {
				t.Errorf("%s %s without session: %d to %q", rt.method, rt.path, r.code, r.header.Get("Location"))
			}
		}
		// Each person.
		for name := range people {
			cr := as[name]
			r := request(rt.method, rt.path, &cr, rt.api)
			want := http.StatusForbidden
			if slices.Contains(rt.allowed, name) {
				want = http.StatusOK
			}
			if r.code != want {
				t.Errorf("%s %s as %s: %d, want %d (%s)", rt.method, rt.path, name, r.code, want, r.body)
				continue
			}
			switch {
			case want == http.StatusOK && !strings.HasPrefix(r.body, "ok "):
				t.Errorf("%s %s as %s: body %q", rt.method, rt.path, name, r.body)
			case want == http.StatusForbidden && rt.api && !strings.Contains(r.body, `"error":"accès refusé`):
				t.Errorf("%s %s as %s: 403 body %q", rt.method, rt.path, name, r.body)
			case want == http.StatusForbidden && !rt.api && (!strings.Contains(r.body, "<h1>Accès refusé</h1>") ||
				r.header.Get("Content-Security-Policy") == "" || r.header.Get("Cache-Control") != "no-store"):
				t.Errorf("%s %s as %s: 403 page %v %q", rt.method, rt.path, name, r.header, r.body)
			}
		}
	}
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	svc, _ := setup(t, dev)
	var received string
	srv := server(t, svc, func(mux *http.ServeMux) {
		backOffice(svc)(mux)
		mux.Handle("POST /bo/envoi", svc.RequirePage(auth.PermCaseRead)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
			if err := r.ParseMultipartForm(1 << 10); err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			f, _, err := r.FormFile("scan")
			if err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			data, _ := io.ReadAll(f)
			received = r.FormValue("note") + ":" + string(data)
			w.Write([]byte("ok"))
		})))
		mux.Handle("POST /api/v1/bo/note", svc.RequireAPI(auth.PermCaseRead)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("ok"))
		})))
	})
	mustAccount(t, svc, "voirie", auth.RoleTeam, []string{"voirie"}, nil)
	mustAccount(t, svc, "autre", auth.RoleTeam, []string{"voirie"}, nil)
	c := browser(t)
	signIn(t, c, srv.URL, "voirie")
	token := csrfOf(t, c, srv.URL)
	other := browser(t)
	signIn(t, other, srv.URL, "autre")
	otherToken := csrfOf(t, other, srv.URL)
	if token == otherToken {
		t.Fatal("two sessions share a CSRF token")
	}
	// Signing in again gives another session, and another token.
	c2 := browser(t)
	signIn(t, c2, srv.URL, "voirie")
	if csrfOf(t, c2, srv.URL) == token {
		t.Fatal("two sessions of one account share a CSRF token")
	}

	const transition = "/bo/dossiers/voirie/marseille-provence/transition"
	post := func(form url.Values, header string) int {
		req, _ := http.NewRequest("POST", srv.URL+transition, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if header != "" {
			req.Header.Set(auth.CSRFHeader, header)
		}
		return do(t, c, req).code
	}
	for _, tt := range []struct {
		name   string
		form   url.Values
		header string
		want   int
	}{
		{"the session's token", url.Values{"csrf": {token}, "etat": {"clos"}}, "", 200},
		{"in the header", url.Values{"etat": {"clos"}}, token, 200},
		{"no token", url.Values{"etat": {"clos"}}, "", 403},
		{"another session's token", url.Values{"csrf": {otherToken}}, "", 403},
		{"a wrong token", url.Values{"csrf": {strings.Repeat("A", len(token))}}, "", 403},
		{"a truncated token", url.Values{"csrf": {token[:20]}}, "", 403},
		{"a wrong header beats a right field", url.Values{"csrf": {token}}, otherToken, 403},
		// Past the 1 MiB read to find the token: too large, not "expired".
		{"an oversized form", url.Values{"csrf": {token}, "texte": {strings.Repeat("a", 1<<20)}}, "", 413},
	} {
		if got := post(tt.form, tt.header); got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, got, tt.want)
		}
	}
	req, _ := http.NewRequest("POST", srv.URL+transition, strings.NewReader("csrf="+url.QueryEscape(token)))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if r := do(t, c, req); r.code != 200 {
		t.Fatalf("raw form: %d", r.code)
	}
	if r := do(t, c, mustRequest("POST", srv.URL+transition, nil)); r.code != 403 || !strings.Contains(r.body, "Formulaire expiré") {
		t.Fatalf("no body: %d", r.code)
	}

	// A multipart form: the token first, then the rest of the body reaches
	// the handler whole.
	multipartForm := func(fields [][2]string) (*bytes.Buffer, string) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for _, f := range fields {
			if f[0] == "scan" {
				fw, _ := mw.CreateFormFile("scan", "lettre.pdf")
				fw.Write([]byte(f[1]))
				continue
			}
			mw.WriteField(f[0], f[1])
		}
		mw.Close()
		return &buf, mw.FormDataContentType()
	}
	big := strings.Repeat("%PDF-1.7 scan ", 5000) // 70 kB: more than the part read ahead
	for _, tt := range []struct {
		name   string
		fields [][2]string
		want   int
	}{
		{"token first", [][2]string{{"csrf", token}, {"note", "lettre"}, {"scan", big}}, 200},
		{"token after the file", [][2]string{{"note", "lettre"}, {"scan", big}, {"csrf", token}}, 403},
		{"no token", [][2]string{{"note", "lettre"}, {"scan", big}}, 403},
		{"wrong token first", [][2]string{{"csrf", otherToken}, {"scan", big}}, 403},
	} {
		received = ""
		body, ct := multipartForm(tt.fields)
		req := mustRequest("POST", srv.URL+"/bo/envoi", body)
		req.Header.Set("Content-Type", ct)
		r := do(t, c, req)
		if r.code != tt.want {
			t.Errorf("multipart, %s: %d, want %d (%s)", tt.name, r.code, tt.want, r.body)
		}
		if tt.want == 200 && received != "lettre:"+big {
			t.Errorf("multipart, %s: the handler read %d bytes, not the whole form", tt.name, len(received))
		}
	}

	// A token's calls carry no cookie: no CSRF token needed. A session's
	// calls to the API need it in the header.
	tok, err := svc.CreateToken(context.Background(), "robot", auth.RoleTeam, []string{"voirie"}, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	req = mustRequest("POST", srv.URL+"/api/v1/bo/note", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if r := do(t, browser(t), req); r.code != 200 {
		t.Fatalf("token without CSRF: %d", r.code)
	}
	req = mustRequest("POST", srv.URL+transition, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if r := do(t, browser(t), req); r.code != 200 {
		t.Fatalf("token on a page without CSRF: %d", r.code)
	}
	if r := do(t, c, mustRequest("POST", srv.URL+"/api/v1/bo/note", nil)); r.code != 403 || !strings.Contains(r.body, "X-CSRF-Token") {
		t.Fatalf("session API call without CSRF: %d %s", r.code, r.body)
	}
	req = mustRequest("POST", srv.URL+"/api/v1/bo/note", nil)
	req.Header.Set(auth.CSRFHeader, token)
	if r := do(t, c, req); r.code != 200 {
		t.Fatalf("session API call with CSRF: %d", r.code)
	}
}

func mustRequest(method, u string, body io.Reader) *http.Request {
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		panic(err)
	}
	return req
}

// A bearer header that is not valid is not helped by a valid cookie.
func TestBadBearerBeatsCookie(t *testing.T) {
	t.Parallel()
	svc, _ := setup(t, dev)
	mustAccount(t, svc, "admin", auth.RoleAdmin, nil, nil)
	srv := server(t, svc, backOffice(svc))
	c := browser(t)
	signIn(t, c, srv.URL, "admin")
	req := mustRequest("GET", srv.URL+"/api/v1/bo/audit", nil)
	req.Header.Set("Authorization", "Bearer gch_faux")
	if r := do(t, c, req); r.code != http.StatusUnauthorized {
		t.Fatalf("bad bearer with a good cookie: %d", r.code)
	}
	if r := get(t, c, srv.URL+"/api/v1/bo/audit"); r.code != 200 {
		t.Fatalf("good cookie: %d", r.code)
	}
}
