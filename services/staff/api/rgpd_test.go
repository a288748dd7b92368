package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/deadline"
	"github.com/ampmetropole/guichet/services/cases/personaldata"
	"github.com/ampmetropole/guichet/services/cases/retention"
	"github.com/ampmetropole/guichet/services/platform/frtime"
	"github.com/ampmetropole/guichet/services/staff/api"
	"github.com/ampmetropole/guichet/services/staff/auth"
	"github.com/ampmetropole/guichet/services/testkit"
	"github.com/ampmetropole/guichet/services/testkit/stack"
)

// call sends a request with the bearer token given ("" for none) and
// returns the status and the body.
func call(t *testing.T, srv *httptest.Server, token, method, path, body string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// The data protection officer's API: only the dpo and admin roles reach
// it (401 without a credential, 403 for the other roles, sessions need
// their CSRF token); the export finds the person; an erasure is refused
// with its reason (409) while a case is open, done once they are closed;
// the schedule runs dry by default; holds and the register; every bad or
// oversized input is a French 400 or 413.
func TestRGPDRoutes(t *testing.T) {
	ctx := context.Background()
	st := stack.New(t, stack.Options{Router: true})
	officer := personaldata.NewOfficer(personaldata.NewExporter(st.Store.DB(), st.Catalogue, st.Places),
		retention.New(st.Store.DB(), st.Catalogue, testkit.Logger(t)), personaldata.BuildRegister(st.Catalogue, personaldata.RegisterConfig{}))
	h, err := api.New(api.Deps{Intake: st.Intake, Store: st.Store, Guard: st.Auth, Officer: officer,
		Ready: map[string]api.Pinger{"postgres": st.Store}, Gatherer: st.Registry, Log: testkit.Logger(t)}, st.Registry)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(st.Auth.Middleware(h))
	t.Cleanup(srv.Close)
	dpo := st.Token(t, auth.RoleDPO, nil, nil)
	admin := st.Token(t, auth.RoleAdmin, nil, nil)

	const email = "zephyrin.quenouille@example.net"
	open, _ := st.Route(t, schemas.Request{Channel: schemas.ChannelWeb, Subject: "Nid-de-poule", Body: "Devant le 37 impasse des Tamaris-Bleus.",
		Citizen: &schemas.Citizen{Name: "Zéphyrin Quenouille-Arbogast", Email: email}, Hints: &schemas.Hints{Competence: "voirie"}})

	routes := []struct{ method, path, body string }{
		{"GET", "/api/v1/rgpd/export?email=" + url.QueryEscape(email), ""},
		{"POST", "/api/v1/rgpd/erase", `{"email":"` + email + `","reason":"demande"}`},
		{"POST", "/api/v1/rgpd/retention", ""},
		{"GET", "/api/v1/rgpd/holds", ""},
		{"POST", "/api/v1/rgpd/holds", `{"case_ref":"` + open + `","reason":"contentieux"}`},
		{"POST", "/api/v1/rgpd/holds/" + open + "/release", `{"reason":"fin"}`},
		{"GET", "/api/v1/rgpd/registre", ""},
	}
	for _, role := range []string{auth.RoleTeam, auth.RoleSupervisor, auth.RoleAgent, auth.RoleMailroom, auth.RolePartner} {
		comps := []string(nil)
		if role == auth.RoleTeam {
			comps = []string{personaldata.Competence}
		}
		tok := st.Token(t, role, comps, nil)
		for _, r := range routes {
			if code, _, _ := call(t, srv, tok, r.method, r.path, r.body); code != http.StatusForbidden {
				t.Errorf("%s %s as %s: %d, want 403", r.method, r.path, role, code)
			}
		}
	}
	for _, r := range routes {
		if code, _, hd := call(t, srv, "", r.method, r.path, r.body); code != http.StatusUnauthorized || hd.Get("WWW-Authenticate") == "" {
			t.Errorf("%s %s without a credential: %d, want 401", r.method, r.path, code)
		}
	}

	// The export.
	code, body, _ := call(t, srv, dpo, "GET", "/api/v1/rgpd/export?email="+url.QueryEscape(" Zephyrin.Quenouille@example.NET"), "")
	var e personaldata.Export
	if err := json.Unmarshal([]byte(body), &e); code != 200 || err != nil || len(e.Requests) != 1 || e.Requests[0].CaseRef != open {
		t.Fatalf("export: %d %v\n%s", code, err, body)
	}
	code, body, hd := call(t, srv, admin, "GET", "/api/v1/rgpd/export?name="+url.QueryEscape("zephyrin quenouille-arbogast")+"&format=texte", "")
	if code != 200 || !strings.HasPrefix(hd.Get("Content-Type"), "text/plain") || !strings.Contains(body, "Devant le 37 impasse des Tamaris-Bleus.") {
		t.Errorf("export as text: %d %s\n%s", code, hd.Get("Content-Type"), body)
	}
	for _, q := range []string{"", "?email=" + email + "&phone=0612345678", "?email=pas-une-adresse", "?phone=12", "?name=Lé",
		"?name=" + strings.Repeat("a", 300), "?email=" + email + "&format=pdf", "?courriel=" + email} {
		if code, body, _ := call(t, srv, dpo, "GET", "/api/v1/rgpd/export"+q, ""); code != 400 || !strings.Contains(body, `"error"`) {
			t.Errorf("export%s: %d %s, want 400", q, code, body)
		}
	}

	// Erasure: bad input, then refused while the case is open.
	for _, b := range []string{"", "{", `{"email":"` + email + `"}`, `{"email":"` + email + `","reason":"x","motif":"y"}`, `{"reason":"x"}`,
		`{"email":"` + email + `","phone":"0612345678","reason":"x"}`, `{"email":42,"reason":"x"}`} {
		if code, body, _ := call(t, srv, dpo, "POST", "/api/v1/rgpd/erase", b); code != 400 {
			t.Errorf("erase %s: %d %s, want 400", b, code, body)
		}
	}
	big := `{"email":"` + email + `","reason":"` + strings.Repeat("x", 9000) + `"}`
	if code, _, _ := call(t, srv, dpo, "POST", "/api/v1/rgpd/erase", big); code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized erase: %d, want 413", code)
	}
	code, body, _ = call(t, srv, dpo, "POST", "/api/v1/rgpd/erase", `{"email":"`+email+`","reason":"demande de la personne"}`)
	var refused struct {
		Error   string
		Refused []struct{ CaseRef, Reason string } `json:"refused"`
	}
	if err := json.Unmarshal([]byte(body), &refused); code != http.StatusConflict || err != nil || !strings.Contains(refused.Error, open) ||
		len(refused.Refused) != 1 || refused.Refused[0].Reason == "" || strings.HasPrefix(refused.Error, "retention:") {
		t.Errorf("erase with an open case: %d %s", code, body)
	}

	// Holds.
	for _, b := range []string{`{"case_ref":"pas-une-ref","reason":"x"}`, `{"case_ref":"` + open + `"}`, `{"case_ref":"` + open + `","reason":"x","y":1}`} {
		if code, body, _ := call(t, srv, dpo, "POST", "/api/v1/rgpd/holds", b); code != 400 {
			t.Errorf("hold %s: %d %s, want 400", b, code, body)
		}
	}
	if code, body, _ := call(t, srv, dpo, "POST", "/api/v1/rgpd/holds", `{"case_ref":"AMP-2019-999999","reason":"contentieux"}`); code != 404 {
		t.Errorf("hold of an unknown case: %d %s", code, body)
	}
	if code, body, _ := call(t, srv, dpo, "POST", "/api/v1/rgpd/holds", `{"case_ref":"`+strings.ToLower(open)+`","reason":"contentieux n° 27-0042"}`); code != 201 {
		t.Fatalf("hold: %d %s", code, body)
	}
	if code, body, _ := call(t, srv, dpo, "POST", "/api/v1/rgpd/holds", `{"case_ref":"`+open+`","reason":"encore"}`); code != 409 || !strings.Contains(body, "déjà") {
		t.Errorf("hold twice: %d %s", code, body)
	}
	if code, body, _ := call(t, srv, dpo, "GET", "/api/v1/rgpd/holds", ""); code != 200 || !strings.Contains(body, open) || !strings.Contains(body, "27-0042") {
		t.Errorf("holds: %d %s", code, body)
	}
	if code, body, _ := call(t, srv, dpo, "POST", "/api/v1/rgpd/holds/"+open+"/release", `{"reason":"contentieux clos"}`); code != 200 {
		t.Errorf("release: %d %s", code, body)
	}
	if code, body, _ := call(t, srv, dpo, "POST", "/api/v1/rgpd/holds/"+open+"/release", `{"reason":"encore"}`); code != 409 {
		t.Errorf("release twice: %d %s", code, body)
	}
	if code, _, _ := call(t, srv, dpo, "POST", "/api/v1/rgpd/holds/nimporte/release", `{"reason":"x"}`); code != 400 {
		t.Errorf("release of no reference: %d", code)
	}

	// The schedule: a dry run by default.
	for _, b := range []string{`{"now":"demain"}`, `{"dry_run":"non"}`, `{"when":"2040-01-01"}`} {
		if code, body, _ := call(t, srv, dpo, "POST", "/api/v1/rgpd/retention", b); code != 400 {
			t.Errorf("retention %s: %d %s, want 400", b, code, body)
		}
	}
	if _, err := st.Store.Transition(ctx, casestore.TransitionRequest{Ref: open, To: "rejected", Role: auth.RoleTeam,
		Change: casestore.Change{Actor: "julie", Reason: "hors sujet"}}, deadline.New(frtime.Paris())); err != nil {
		t.Fatal(err)
	}
	code, body, _ = call(t, srv, dpo, "POST", "/api/v1/rgpd/retention", `{"now":"2040-01-01"}`)
	if code != 200 || !strings.Contains(body, `"dry_run":true`) || !strings.Contains(body, open) {
		t.Errorf("retention dry run: %d %s", code, body)
	}
	if c, err := st.Store.Case(ctx, open); err != nil || c.Events[0].Summary == "" {
		t.Errorf("a dry run erased: %v %+v", err, c.Events)
	}

	// The erasure, once the case is closed.
	code, body, _ = call(t, srv, dpo, "POST", "/api/v1/rgpd/erase", `{"email":"`+email+`","reason":"demande de la personne"}`)
	if code != 200 || !strings.Contains(body, `"cases":1`) {
		t.Fatalf("erase: %d %s", code, body)
	}
	if _, body, _ := call(t, srv, dpo, "GET", "/api/v1/rgpd/export?email="+url.QueryEscape(email), ""); strings.Contains(body, "Tamaris") || strings.Contains(body, "Quenouille") {
		t.Errorf("the export after the erasure:\n%s", body)
	}

	// The register.
	code, body, _ = call(t, srv, dpo, "GET", "/api/v1/rgpd/registre", "")
	var reg personaldata.Register
	if err := json.Unmarshal([]byte(body), &reg); code != 200 || err != nil || len(reg.Purposes) != len(st.Catalogue.Competences) {
		t.Errorf("registre: %d %v", code, err)
	}
	if code, body, hd := call(t, srv, dpo, "GET", "/api/v1/rgpd/registre?format=markdown", ""); code != 200 || !strings.HasPrefix(hd.Get("Content-Type"), "text/markdown") ||
		!strings.Contains(body, "# Registre des activités de traitement") {
		t.Errorf("registre in Markdown: %d %s", code, hd.Get("Content-Type"))
	}

	// Each act is in the audit log, in the name of the token.
	entries, err := st.Auth.AuditLog(ctx, auth.AuditFilter{Action: ""}, 200)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, a := range entries {
		seen[a.Action] = true
	}
	for _, action := range []string{personaldata.ActionExport, personaldata.ActionEraseRefused, personaldata.ActionRetention, "rgpd.hold", "rgpd.release", "rgpd.erase"} {
		if !seen[action] {
			t.Errorf("no %s in the audit log", action)
		}
	}
}

// A person signed in on the back office reaches the API with their
// session, and a change needs its CSRF token.
func TestRGPDSessionNeedsCSRF(t *testing.T) {
	st := stack.New(t, stack.Options{})
	officer := personaldata.NewOfficer(personaldata.NewExporter(st.Store.DB(), st.Catalogue, st.Places),
		retention.New(st.Store.DB(), st.Catalogue, testkit.Logger(t)), personaldata.BuildRegister(st.Catalogue, personaldata.RegisterConfig{}))
	h, err := api.New(api.Deps{Intake: st.Intake, Store: st.Store, Guard: st.Auth, Officer: officer,
		Ready: map[string]api.Pinger{"postgres": st.Store}, Gatherer: st.Registry, Log: testkit.Logger(t)}, st.Registry)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	st.Auth.Register(mux)
	mux.Handle("/api/", h)
	srv := httptest.NewServer(st.Auth.Middleware(mux))
	t.Cleanup(srv.Close)
	ctx := context.Background()
	if _, err := st.Auth.CreateAccount(ctx, "dpd", "Délégué", auth.RoleDPO, "un mot de passe assez long", nil, nil); err != nil {
		t.Fatal(err)
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.PostForm(srv.URL+"/bo/connexion", url.Values{"identifiant": {"dpd"}, "mot_de_passe": {"un mot de passe assez long"}, "retour": {"/bo/rgpd"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", resp.StatusCode)
	}
	get, err := client.Get(srv.URL + "/api/v1/rgpd/registre")
	if err != nil {
		t.Fatal(err)
	}
	get.Body.Close()
	if get.StatusCode != 200 {
		t.Errorf("GET with the session: %d", get.StatusCode)
	}
	post, err := client.Post(srv.URL+"/api/v1/rgpd/retention", "application/json", bytes.NewReader([]byte(`{}`)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(post.Body)
	post.Body.Close()
	if post.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "CSRF") {
		t.Errorf("POST with the session, without CSRF: %d %s", post.StatusCode, b)
	}
}
