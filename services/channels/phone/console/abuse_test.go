package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/staff/auth"
)

// The console's routes — the page, logging a call, and the case of a call
// that console.js asks for — behind the real sign-in: nobody signed in is
// sent to sign in, another role is refused, what is malformed or too large
// gets a French 4xx and logs nothing, the agent is the session's.
func TestConsoleAbuse(t *testing.T) {
	st, srv := serve(t)
	ctx := context.Background()
	account(t, st, "camille", "Camille Roux", auth.RoleAgent)
	account(t, st, "courrier", "Paul Courrier", auth.RoleMailroom)
	ref, web := st.Route(t, schemas.Request{Channel: "web", Subject: "Trou", Body: "Un trou dans la chaussée.", Hints: &schemas.Hints{Competence: "voirie"},
		Citizen: &schemas.Citizen{Name: "Léa Martinez", Phone: "+33687654321"}})
	camille := signIn(t, srv.URL, "camille")
	_, page := camille.get("/agent?caller=%2B33687654321&agent=intrus")
	if !strings.Contains(page, "Appel journalisé par <strong>Camille Roux</strong>") || strings.Contains(page, "intrus") || strings.Contains(page, `name="agent"`) {
		t.Fatal("the agent is not the one signed in")
	}
	resp, _ := camille.post(page, "/agent/appels", url.Values{"caller": {"06 87 65 43 21"}, "direction": {"inbound"}, "cible": {ref},
		"resume": {"Toujours là."}, "call_id": {"abus-1"}, "agent": {"intrus"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("log: %d", resp.StatusCode)
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	call := loc.Query().Get("journalise")
	tr, err := st.Store.Tracking(ctx, call)
	if err != nil || tr.Request.Source.OperatorID != "camille" {
		t.Fatalf("logged by %q (%v)", tr.Request.Source.OperatorID, err)
	}
	if _, page := camille.get(loc.String()); !readBack.MatchString(page) {
		t.Error("the reference and code are not shown after logging")
	}

	// The call's case, for console.js.
	for _, tt := range []struct {
		name, path string
		status     int
		says       string
	}{
		{"a call's case", "/agent/appels/" + call, 200, `"dossier":"` + ref + `"`},
		{"typed loosely", "/agent/appels/" + strings.ToLower(strings.ReplaceAll(call, "-", "")), 200, `"dossier":"` + ref + `"`},
		{"no call has that code", "/agent/appels/ZZZZ-ZZZZ-ZZZZ", 404, "Aucun appel n'a été journalisé sous ce code de suivi."},
		{"a web request's code is no call's", "/agent/appels/" + web.TrackingCode, 404, "Aucun appel"},
		{"malformed", "/agent/appels/pas-un-code", 400, "Ce code de suivi est illisible"},
		{"oversized", "/agent/appels/" + strings.Repeat("A", 2000), 400, "Ce code de suivi est illisible"},
	} {
		resp, body := camille.get(tt.path)
		var answer map[string]string
		if resp.StatusCode != tt.status || !strings.Contains(body, tt.says) || json.Unmarshal([]byte(body), &answer) != nil ||
			!strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Errorf("%s: %d %s", tt.name, resp.StatusCode, body)
		}
	}

	// Nobody signed in: to the sign-in page; the mailroom: refused.
	anonymous := person{t: t, base: srv.URL, client: noRedirect}
	mailroom := signIn(t, srv.URL, "courrier")
	for _, path := range []string{"/agent?caller=%2B33687654321", "/agent/appels/" + call} {
		if resp, _ := anonymous.get(path); resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), auth.LoginPath) {
			t.Errorf("%s without a session: %d %s", path, resp.StatusCode, resp.Header.Get("Location"))
		}
		if resp, body := mailroom.get(path); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "Accès refusé") {
			t.Errorf("%s as the mailroom: %d", path, resp.StatusCode)
		}
	}
	form := url.Values{"caller": {"0687654321"}, "direction": {"inbound"}, "cible": {"nouvelle"}, "resume": {"Intrusion"}, "call_id": {"abus-2"}}
	req, _ := http.NewRequest("POST", srv.URL+"/agent/appels", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, _ := anonymous.do(req); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != auth.LoginPath {
		t.Errorf("a log without a session: %d", resp.StatusCode)
	}
	req, _ = http.NewRequest("POST", srv.URL+"/agent/appels", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, body := mailroom.do(req); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "Accès refusé") {
		t.Errorf("a log by the mailroom: %d", resp.StatusCode)
	}
	// A form from elsewhere (no CSRF token) is refused.
	req, _ = http.NewRequest("POST", srv.URL+"/agent/appels", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, body := camille.do(req); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "Formulaire expiré") {
		t.Errorf("a log without CSRF token: %d", resp.StatusCode)
	}

	// Too large, or not a form: a French answer, nothing logged.
	token := csrfField.FindStringSubmatch(page)[1]
	var big bytes.Buffer
	mw := multipart.NewWriter(&big)
	_ = mw.WriteField(auth.CSRFField, token) // first, where the guard reads it
	for k, v := range map[string]string{"resume": "Trop gros", "call_id": "abus-3", "cible": "nouvelle", "direction": "inbound"} {
		_ = mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("fichier", "appel.vtt")
	_, _ = fw.Write(bytes.Repeat([]byte("WEBVTT\n\n"), 7<<20/8))
	mw.Close()
	req, _ = http.NewRequest("POST", srv.URL+"/agent/appels", &big)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if resp, body := camille.do(req); resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, "La transcription dépasse 5 Mio") {
		t.Errorf("oversized: %d", resp.StatusCode)
	}
	req, _ = http.NewRequest("POST", srv.URL+"/agent/appels", strings.NewReader("--x\r\nnot a part"))
	req.Header.Set("Content-Type", "multipart/form-data; boundary=x")
	req.Header.Set(auth.CSRFHeader, token)
	if resp, body := camille.do(req); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Le formulaire n&#39;a pas pu être lu") {
		t.Errorf("malformed: %d", resp.StatusCode)
	}
	cards, _ := st.Store.FindCitizens(ctx, casestore.CitizenQuery{Phone: "+33687654321"}, 10, 10)
	if len(cards) != 1 || len(cards[0].Cases) != 1 || len(cards[0].Cases[0].Events) != 2 {
		t.Errorf("only the one call is logged: %+v", cards)
	}
}
