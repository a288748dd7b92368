package webform_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/deadline"
	"github.com/ampmetropole/guichet/services/cases/lifecycle"
	"github.com/ampmetropole/guichet/services/platform/frtime"
)

// postForm posts an url-encoded form, with extra headers.
func postForm(t *testing.T, target string, form url.Values, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("POST", target, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp, b.String()
}

// move takes a case through transitions, as its team would.
func move(t *testing.T, b testBundle, ref string, states ...string) {
	t.Helper()
	cal := deadline.New(frtime.Paris())
	for _, to := range states {
		if _, err := b.store.Transition(context.Background(), casestore.TransitionRequest{Ref: ref, To: to, Role: lifecycle.RoleTeam,
			Change: casestore.Change{Actor: "camille"}}, cal); err != nil {
			t.Fatal(err)
		}
	}
}

// The status page turns the notices off and on again; another code, a
// value that is neither, an oversized form or a cross-site post changes
// nothing.
func TestStatusPageTurnsNoticesOff(t *testing.T) {
	b := setup(t, options{rate: 100})
	code := submit(t, b, validFields(), nil)
	waitCase(t, b, code)
	_, page := get(t, b.srv.URL+"/suivi/"+code)
	if !strings.Contains(page, `action="/suivi/`+code+`/avis-de-suivi"`) || !strings.Contains(page, "Ne plus recevoir ces avis") {
		t.Fatalf("no way to turn notices off:\n%s", page)
	}
	resp, _ := postForm(t, b.srv.URL+"/suivi/"+code+"/avis-de-suivi", url.Values{"avis": {"non"}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/suivi/"+code+"?avis=non#avis-suivi" {
		t.Fatalf("turn off: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if tr, _ := b.store.Tracking(context.Background(), code); !tr.NoticesOff {
		t.Fatal("notices still on")
	}
	_, page = get(t, b.srv.URL+"/suivi/"+code+"?avis=non")
	if !strings.Contains(page, "Vous ne recevrez plus d&#39;avis de suivi") || !strings.Contains(page, "Recevoir de nouveau les avis") {
		t.Errorf("the page does not say notices are off:\n%s", page)
	}
	for _, tt := range []struct {
		name   string
		path   string
		form   url.Values
		header http.Header
		code   int
	}{
		{"neither yes nor no", "/suivi/" + code + "/avis-de-suivi", url.Values{"avis": {"peut-être"}}, nil, 422},
		{"no choice", "/suivi/" + code + "/avis-de-suivi", url.Values{}, nil, 422},
		{"unknown code", "/suivi/ZZZZ-ZZZZ-ZZZZ/avis-de-suivi", url.Values{"avis": {"oui"}}, nil, 404},
		{"malformed code", "/suivi/%3Cscript%3E/avis-de-suivi", url.Values{"avis": {"oui"}}, nil, 404},
		{"oversized", "/suivi/" + code + "/avis-de-suivi", url.Values{"avis": {"oui"}, "x": {strings.Repeat("a", 8<<10)}}, nil, 413},
		{"cross-site", "/suivi/" + code + "/avis-de-suivi", url.Values{"avis": {"oui"}}, http.Header{"Sec-Fetch-Site": {"cross-site"}}, 403},
	} {
		if resp, _ := postForm(t, b.srv.URL+tt.path, tt.form, tt.header); resp.StatusCode != tt.code {
			t.Errorf("%s: %d, want %d", tt.name, resp.StatusCode, tt.code)
		}
	}
	if tr, _ := b.store.Tracking(context.Background(), code); !tr.NoticesOff {
		t.Fatal("a refused post turned notices on")
	}
	if resp, _ := postForm(t, b.srv.URL+"/suivi/"+code+"/avis-de-suivi", url.Values{"avis": {"oui"}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("turn on: %d", resp.StatusCode)
	}
	if tr, _ := b.store.Tracking(context.Background(), code); tr.NoticesOff {
		t.Fatal("notices still off")
	}
}

// The satisfaction question: not before the request is resolved; then
// once, with the answer shown back; refusals keep what was typed.
func TestOpinionPage(t *testing.T) {
	b := setup(t, options{rate: 100})
	code := submit(t, b, validFields(), nil)
	tr := waitCase(t, b, code)
	if _, page := get(t, b.srv.URL+"/suivi/"+code+"/avis"); !strings.Contains(page, `id="avis-plus-tard"`) || strings.Contains(page, `name="note"`) {
		t.Fatalf("the question is asked before resolution:\n%s", page)
	}
	if resp, _ := postForm(t, b.srv.URL+"/suivi/"+code+"/avis", url.Values{"note": {"5"}}, nil); resp.StatusCode != http.StatusConflict {
		t.Fatalf("an answer before resolution: %d", resp.StatusCode)
	}
	move(t, b, tr.Case.Ref, lifecycle.Qualified, lifecycle.InProgress, lifecycle.Resolved)
	_, page := get(t, b.srv.URL+"/suivi/"+code)
	if !strings.Contains(page, `href="/suivi/`+code+`/avis"`) || !strings.Contains(page, "Donner votre avis") {
		t.Fatalf("the status page does not ask:\n%s", page)
	}
	_, page = get(t, b.srv.URL+"/suivi/"+code+"/avis")
	if !strings.Contains(page, `name="note" value="1"`) || !strings.Contains(page, `name="note" value="5"`) || !strings.Contains(page, `id="commentaire"`) {
		t.Fatalf("no question:\n%s", page)
	}
	for _, tt := range []struct {
		name string
		form url.Values
		code int
		says string
	}{
		{"no score", url.Values{"commentaire": {"Bien"}}, 422, "Choisissez une note de 1"},
		{"score 9", url.Values{"note": {"9"}}, 422, "Choisissez une note de 1"},
		{"score not a number", url.Values{"note": {"cinq"}}, 422, "Choisissez une note de 1"},
		{"comment too long", url.Values{"note": {"4"}, "commentaire": {strings.Repeat("é", 1001)}}, 422, "compte 1001 caractères"},
		{"NUL in the comment", url.Values{"note": {"4"}, "commentaire": {"a\x00b"}}, 422, "caractère qui ne peut pas être enregistré"},
		{"robot", url.Values{"note": {"4"}, "site_web": {"http://spam"}}, 422, "robot"},
		{"oversized", url.Values{"note": {"4"}, "commentaire": {strings.Repeat("a", 20<<10)}}, 413, ""},
	} {
		resp, body := postForm(t, b.srv.URL+"/suivi/"+code+"/avis", tt.form, nil)
		if resp.StatusCode != tt.code || !strings.Contains(body, tt.says) {
			t.Errorf("%s: %d, want %d and %q", tt.name, resp.StatusCode, tt.code, tt.says)
		}
		if tt.code == 422 && !strings.HasPrefix(title(body), "Erreur : ") {
			t.Errorf("%s: title %q", tt.name, title(body))
		}
	}
	if resp, body := postForm(t, b.srv.URL+"/suivi/"+code+"/avis", url.Values{"note": {"2"}, "commentaire": {strings.Repeat("x", 1001)}}, nil); !strings.Contains(body, `value="2" checked`) {
		t.Errorf("the score chosen is lost on an error (%d)", resp.StatusCode)
	}
	if resp, _ := postForm(t, b.srv.URL+"/suivi/"+code+"/avis", url.Values{"note": {"4"}}, http.Header{"Sec-Fetch-Site": {"cross-site"}}); resp.StatusCode != 403 {
		t.Errorf("cross-site answer: %d", resp.StatusCode)
	}
	resp, _ := postForm(t, b.srv.URL+"/suivi/"+code+"/avis", url.Values{"note": {"4"}, "commentaire": {"Rapide <b>merci</b>"}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/suivi/"+code+"/avis?merci=1" {
		t.Fatalf("answer: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, page = get(t, b.srv.URL+"/suivi/"+code+"/avis?merci=1")
	if !strings.Contains(page, "Merci : votre avis est enregistré.") || !strings.Contains(page, "Votre note : 4 sur 5") || !strings.Contains(page, "Rapide &lt;b&gt;merci&lt;/b&gt;") {
		t.Errorf("the answer is not shown back:\n%s", page)
	}
	resp, body := postForm(t, b.srv.URL+"/suivi/"+code+"/avis", url.Values{"note": {"1"}}, nil)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "Vous avez déjà donné votre avis") || !strings.Contains(body, "Votre note : 4 sur 5") {
		t.Errorf("a second answer: %d", resp.StatusCode)
	}
	if _, page := get(t, b.srv.URL+"/suivi/"+code); !strings.Contains(page, "Merci d'avoir donné votre avis") {
		t.Error("the status page does not say the answer was given")
	}
	for _, p := range []string{"/suivi/ZZZZ-ZZZZ-ZZZZ/avis", "/suivi/x/avis"} {
		if resp, _ := get(t, b.srv.URL+p); resp.StatusCode != 404 {
			t.Errorf("GET %s: %d", p, resp.StatusCode)
		}
		if resp, _ := postForm(t, b.srv.URL+p, url.Values{"note": {"5"}}, nil); resp.StatusCode != 404 {
			t.Errorf("POST %s: %d", p, resp.StatusCode)
		}
	}
}
