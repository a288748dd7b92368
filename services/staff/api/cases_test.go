package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// as calls the API with a bearer token (empty: none).
func as(t *testing.T, token, method, url, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	if resp.StatusCode == http.StatusUnauthorized && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("%s %s: 401 without a Bearer challenge", method, url)
	}
	return resp.StatusCode, m
}

// Every guarded route, walked without credentials, with a role that may not,
// with a team member of another competence and with the right person.
func TestAuthorizationWalk(t *testing.T) {
	b := setup(t)
	u := b.public.URL
	_, ref := postRouted(t, b.srv.URL, `{"channel": "web", "body": "Bac cassé.", "location": {"postal_code": "13400"}, "citizen": {"email": "a@example.org"}, "hints": {"competence": "dechets"}}`)
	agent := b.st.Token(t, "agent", nil, nil)
	mailroom := b.st.Token(t, "mailroom", nil, nil)
	voirie := b.st.Token(t, "team", []string{"voirie"}, nil)
	dechets := b.st.Token(t, "team", []string{"dechets"}, []string{"pays-d-aubagne-etoile"})
	dechetsAix := b.st.Token(t, "team", []string{"dechets"}, []string{"pays-d-aix"})
	for _, tc := range []struct {
		method, path, body string
		token              string
		want               int
	}{
		{"GET", "/api/v1/cases", "", "", 401},
		{"GET", "/api/v1/cases", "", "gch_pas-un-jeton", 401},
		{"GET", "/api/v1/cases/" + ref, "", "", 401},
		{"GET", "/api/v1/cases/" + ref, "", voirie, 404},
		{"GET", "/api/v1/cases/" + ref, "", dechetsAix, 404},
		{"GET", "/api/v1/cases/" + ref, "", agent, 200},
		{"GET", "/api/v1/cases/" + ref, "", dechets, 200},
		{"GET", "/api/v1/cases/" + strings.ToLower(ref), "", voirie, 404},
		{"GET", "/api/v1/cases/" + strings.ToLower(ref), "", dechets, 200},
		{"GET", "/api/v1/cases/pas-un-dossier", "", dechets, 400},
		{"POST", "/api/v1/cases/" + strings.ToLower(ref) + "/transitions", `{"to": "qualified"}`, voirie, 404},
		{"POST", "/api/v1/cases/" + ref + "/transitions", `{"to": "qualified"}`, "", 401},
		{"POST", "/api/v1/cases/" + ref + "/transitions", `{"to": "qualified"}`, agent, 403},
		{"POST", "/api/v1/cases/" + ref + "/transitions", `{"to": "qualified"}`, voirie, 404},
		{"POST", "/api/v1/cases/" + ref + "/route", `{"competence": "voirie", "reason": "x"}`, mailroom, 403},
		{"POST", "/api/v1/cases/" + ref + "/route", `{"competence": "voirie", "reason": "x"}`, voirie, 404},
		{"POST", "/api/v1/cases/" + ref + "/split", `{"request_ids": ["0190d3a8-0000-7000-8000-000000000000"], "reason": "x"}`, "", 401},
		{"POST", "/api/v1/cases/" + ref + "/merge", `{"into": "AMP-2026-999999", "reason": "x"}`, agent, 403},
		{"POST", "/api/v1/cases/" + ref + "/unmerge", `{"reason": "x"}`, voirie, 404},
		{"GET", "/api/v1/mail/letters", "", "", 401},
		{"GET", "/api/v1/mail/letters", "", dechets, 403},
		{"GET", "/api/v1/mail/letters", "", mailroom, 200},
		{"POST", "/api/v1/mail/scans", "", "", 401},
		{"POST", "/api/v1/mail/letters/0190d3a8-0000-7000-8000-000000000000/correction", `{"text": "x"}`, agent, 403},
		{"POST", "/api/v1/cases/" + ref + "/transitions", `{"to": "qualified"}`, dechets, 200},
	} {
		if code, body := as(t, tc.token, tc.method, u+tc.path, tc.body); code != tc.want {
			t.Errorf("%s %s with %q: %d %v, want %d", tc.method, tc.path, prefix(tc.token), code, body, tc.want)
		}
	}
	// A reference as people type it is the case's; the answer says it in
	// canonical form.
	for _, typed := range []string{strings.ToLower(ref), "%20" + strings.ReplaceAll(strings.ToLower(ref), "-", "%20")} {
		if code, c := as(t, dechets, "GET", u+"/api/v1/cases/"+typed, ""); code != 200 || c["ref"] != ref {
			t.Errorf("GET /api/v1/cases/%s: %d, ref %v; want 200, %s", typed, code, c["ref"], ref)
		}
	}
	// A team member's queue holds only their competences and territories.
	_, page := as(t, voirie, "GET", u+"/api/v1/cases", "")
	if page["total"] != 0.0 {
		t.Errorf("voirie sees %v", page)
	}
	_, page = as(t, dechets, "GET", u+"/api/v1/cases?competence=dechets", "")
	if page["total"] != 1.0 {
		t.Errorf("dechets sees %v", page)
	}
}

func prefix(tok string) string {
	if len(tok) > 12 {
		return tok[:12] + "…"
	}
	return tok
}

func TestTransitionsThroughTheAPI(t *testing.T) {
	b := setup(t)
	u := b.public.URL
	_, ref := postRouted(t, b.srv.URL, `{"channel": "web", "body": "Lampadaire éteint.", "location": {"postal_code": "13100"}, "citizen": {"email": "a@example.org"}, "hints": {"competence": "eclairage"}}`)
	team := b.st.Token(t, "team", []string{"eclairage"}, nil)
	sup := b.st.Token(t, "supervisor", nil, nil)
	for _, tc := range []struct {
		token, body string
		want        int
		state       string
	}{
		{team, `{"to": "closed"}`, 409, ""},
		{team, `{"to": "done"}`, 400, ""},
		{team, `{"to": "qualified", "extra": 1}`, 400, ""},
		{team, `{"to": "qualified"}`, 200, "qualified"},
		{team, `{"to": "waiting"}`, 400, ""},
		{team, `{"to": "waiting", "waiting_on": "citizen", "reason": "photo demandée"}`, 200, "waiting"},
		{team, `{"to": "resolved"}`, 200, "resolved"},
		{team, `{"to": "closed"}`, 200, "closed"},
		{team, `{"to": "in_progress", "reason": "le lampadaire s'est rééteint"}`, 403, ""},
		{sup, `{"to": "in_progress", "reason": "le lampadaire s'est rééteint"}`, 200, "in_progress"},
	} {
		code, c := as(t, tc.token, "POST", u+"/api/v1/cases/"+ref+"/transitions", tc.body)
		if code != tc.want || (tc.state != "" && c["state"] != tc.state) {
			t.Fatalf("%s: %d %v, want %d %s", tc.body, code, c, tc.want, tc.state)
		}
	}
	_, c := as(t, team, "GET", u+"/api/v1/cases/"+ref, "")
	evs := events(c)
	last := evs[len(evs)-1]
	if last["type"] != "state_changed" || last["data"].(map[string]any)["to"] != "in_progress" || c["deadline"] == nil {
		t.Errorf("after reopening: %v", c)
	}
	if code, q := as(t, team, "GET", u+"/api/v1/cases?state=in_progress&overdue=false&limit=10", ""); code != 200 || q["total"] != 1.0 {
		t.Errorf("queue: %d %v", code, q)
	}
	if code, q := as(t, team, "GET", u+"/api/v1/cases?state=pending", ""); code != 200 || q["total"] != 1.0 || q["total_capped"] != false ||
		q["by_state"].(map[string]any)["in_progress"] != 1.0 {
		t.Errorf("pending queue: %d %v", code, q)
	}
	for _, bad := range []string{"?state=done", "?overdue=peut-etre", "?limit=0", "?limit=abc", "?q=" + strings.Repeat("x", 300)} {
		if code, _ := as(t, team, "GET", u+"/api/v1/cases"+bad, ""); code != 400 {
			t.Errorf("%s: %d", bad, code)
		}
	}
}

func TestNotesAndReplies(t *testing.T) {
	b := setup(t)
	u := b.public.URL
	_, ref := postRouted(t, b.srv.URL, `{"channel": "web", "body": "Bac cassé.", "location": {"postal_code": "13400"}, "citizen": {"email": "a@example.org"}, "hints": {"competence": "dechets"}}`)
	team := b.st.Token(t, "team", []string{"dechets"}, nil)
	agent := b.st.Token(t, "agent", nil, nil)
	if code, c := as(t, team, "POST", u+"/api/v1/cases/"+ref+"/notes", `{"text": "Prestataire prévenu."}`); code != 201 || last(c)["type"] != "note_added" {
		t.Fatalf("note: %d %v", code, c)
	}
	if code, c := as(t, team, "POST", u+"/api/v1/cases/"+ref+"/replies", `{"channel": "email", "to": "a@example.org", "subject": "Votre bac", "message": "Livraison jeudi."}`); code != 201 || last(c)["type"] != "replied" {
		t.Fatalf("reply: %d %v", code, c)
	}
	if code, c := as(t, team, "POST", u+"/api/v1/cases/"+ref+"/assignment", `{"assignee": "julie"}`); code != 200 || c["assignee"] != "julie" || last(c)["type"] != "assigned" {
		t.Fatalf("assign: %d %v", code, c)
	}
	for _, tc := range []struct {
		token, path, body string
		want              int
	}{
		{team, "/notes", `{"text": ""}`, 400},
		{agent, "/assignment", `{"assignee": "x"}`, 403},
		{team, "/replies", `{"channel": "pigeon", "to": "x", "message": "y"}`, 400},
		{team, "/replies", `{"channel": "email", "to": "a@example.org", "message": "y", "cc": "b"}`, 400},
		{agent, "/notes", `{"text": "x"}`, 403},
		{"", "/replies", `{}`, 401},
	} {
		if code, body := as(t, tc.token, "POST", u+"/api/v1/cases/"+ref+tc.path, tc.body); code != tc.want {
			t.Errorf("%s %s: %d %v, want %d", tc.path, tc.body, code, body, tc.want)
		}
	}
}

func TestAuditLogForAdmins(t *testing.T) {
	b := setup(t)
	_, ref := postRouted(t, b.srv.URL, `{"channel": "web", "body": "Bac cassé.", "citizen": {"email": "a@example.org"}, "hints": {"competence": "dechets"}}`)
	team := b.st.Token(t, "team", []string{"dechets"}, nil)
	as(t, team, "GET", b.public.URL+"/api/v1/cases/"+ref, "")
	code, got := do(t, "GET", b.srv.URL+"/api/v1/audit?action=case.view&target="+ref, "")
	entries, _ := got["entries"].([]any)
	if code != 200 || len(entries) != 1 || !strings.HasPrefix(entries[0].(map[string]any)["actor"].(string), "test-team-") {
		t.Fatalf("audit: %d %v", code, got)
	}
	if code, _ := as(t, team, "GET", b.public.URL+"/api/v1/audit", ""); code != 403 {
		t.Errorf("a team member reading the audit log: %d", code)
	}
	for _, bad := range []string{"?before=x", "?limit=0", "?limit=5000"} {
		if code, _ := do(t, "GET", b.srv.URL+"/api/v1/audit"+bad, ""); code != 400 {
			t.Errorf("%s: %d", bad, code)
		}
	}
}
