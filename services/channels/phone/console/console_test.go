package console_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/channels/phone/console"
	"github.com/ampmetropole/guichet/services/channels/phone/telephony"
	"github.com/ampmetropole/guichet/services/language/extract"
	"github.com/ampmetropole/guichet/services/testkit"
	"github.com/ampmetropole/guichet/services/testkit/stack"
)

func TestMain(m *testing.M) { testkit.Main(m) }

var noRedirect = testkit.NoRedirect()

func setup(t *testing.T) (stack.Stack, *httptest.Server, string) {
	t.Helper()
	st := stack.New(t, stack.Options{Router: true})
	h, err := console.New(console.Deps{Store: st.Store, Calls: telephony.New(st.Intake, extract.New(st.Places), telephony.WithCompetences(st.Catalogue.Known)), Catalogue: st.Catalogue,
		Tasks: st.Store, SMS: true, Agent: func(r *http.Request) string { return r.Header.Get("X-Test-Signed-In") }, Log: testkit.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	rc, err := st.Intake.Submit(context.Background(), schemas.Request{Channel: "web", Source: schemas.Source{Adapter: "test"},
		Subject: "Lampadaire éteint <b>rue</b>", Body: "Éteint depuis lundi.", Hints: &schemas.Hints{Competence: "eclairage"},
		Citizen: &schemas.Citizen{Name: "Léa Martinez", Email: "lea@example.net", Phone: "+33639981427"}})
	if err != nil {
		t.Fatal(err)
	}
	return st, srv, st.CaseRef(t, rc.ID)
}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := noRedirect.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestScreenPopShowsCallerAndHistory(t *testing.T) {
	_, srv, ref := setup(t)
	code, body := get(t, srv.URL+"/agent?caller=06+39+98+14+27&agent=agent-01")
	if code != 200 {
		t.Fatalf("status %d", code)
	}
	for _, want := range []string{"Appel du &#43;33639981427", "Léa Martinez", "lea@example.net", ref, "Éclairage public", "Ouverture",
		"Lampadaire éteint &lt;b&gt;rue&lt;/b&gt;", `value="` + ref + `"`, `value="agent-01"`} {
		if !strings.Contains(body, want) {
			t.Errorf("console lacks %q", want)
		}
	}
	for q, want := range map[string]string{"lea@example.net": ref, "martinez": ref, strings.ToLower(ref): ref,
		"amp " + ref[4:8] + " " + strings.TrimLeft(ref[9:], "0"): ref, "inconnu": "Aucun appelant connu"} {
		if _, body := get(t, srv.URL+"/agent?q="+url.QueryEscape(q)); !strings.Contains(body, want) {
			t.Errorf("search %q: no %q", q, want)
		}
	}
	if _, body := get(t, srv.URL+"/agent?caller=n'importe+quoi"); !strings.Contains(body, "n&#39;est pas un numéro valide") {
		t.Error("a bad screen-pop number is not explained")
	}
}

func postForm(t *testing.T, u string, v url.Values) *http.Response {
	t.Helper()
	resp, err := noRedirect.PostForm(u, v)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestLogCallOntoCaseOrAsNewRequest(t *testing.T) {
	st, srv, ref := setup(t)
	ctx := context.Background()
	resp := postForm(t, srv.URL+"/agent/appels", url.Values{"caller": {"+33639981427"}, "agent": {"agent-01"}, "direction": {"inbound"},
		"cible": {ref}, "resume": {"Rappel : toujours éteint."}, "call_id": {"console-test-1"},
		"transcription": {"Agent : Métropole bonjour\nAppelant : le lampadaire est toujours éteint"}})
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "journalise=") {
		t.Fatalf("log onto case: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	var c casestore.Case
	testkit.Eventually(t, 10*time.Second, "call in the case", func() bool {
		c, _ = st.Store.Case(ctx, ref)
		return len(c.Events) == 2
	})
	if c.Events[1].Channel != "phone" {
		t.Errorf("event %+v", c.Events[1])
	}

	resp = postForm(t, srv.URL+"/agent/appels", url.Values{"caller": {"+33639981427"}, "agent": {"agent-01"}, "direction": {"inbound"},
		"cible": {"nouvelle"}, "competence": {"dechets"}, "resume": {"Demande de composteur"}, "call_id": {"console-test-2"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("new request: %d", resp.StatusCode)
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	newRef := st.CaseRef(t, loc.Query().Get("journalise"))
	nc, _ := st.Store.Case(ctx, newRef)
	if newRef == ref || nc.Competence != "dechets" {
		t.Fatalf("new request went to %s (%s)", newRef, nc.Competence)
	}
	// The caller's page now lists both cases.
	_, body := get(t, srv.URL+"/agent?caller=%2B33639981427")
	if !strings.Contains(body, ref) || !strings.Contains(body, newRef) {
		t.Error("the console does not show both cases")
	}

	// A call without summary nor transcript is refused, the typing kept.
	resp, err := noRedirect.PostForm(srv.URL+"/agent/appels", url.Values{"caller": {"+33639981427"}, "agent": {"agent-01"}, "direction": {"inbound"}, "cible": {"nouvelle"}, "call_id": {"console-test-3"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(b), "résumé") {
		t.Fatalf("empty call: %d", resp.StatusCode)
	}
	// Cross-site posts are refused.
	req, _ := http.NewRequest("POST", srv.URL+"/agent/appels", strings.NewReader("agent=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if resp, err := noRedirect.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site post: %v %v", resp, err)
	}
}

// A team's call-back request shows on the console until an agent says it
// was made.
func TestCallBacks(t *testing.T) {
	st, srv, ref := setup(t)
	ctx := context.Background()
	if _, err := st.Store.Reply(ctx, ref, casestore.ReplyRequest{Channel: casestore.ReplyCallback, To: "+33639981427",
		Message: "Rappeler pour fixer un rendez-vous."}, casestore.Change{Actor: "camille"}); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(srv.URL + "/agent")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`action="(/agent/rappels/[0-9a-f-]+/fait)"`).FindSubmatch(page)
	if m == nil || !strings.Contains(string(page), "Rappeler pour fixer un rendez-vous.") {
		t.Fatalf("call-backs:\n%s", page)
	}
	done, _ := http.NewRequest("POST", srv.URL+string(m[1]), strings.NewReader(""))
	done.Header.Set("X-Test-Signed-In", "agent-07") // who auth would say is signed in
	resp, err = noRedirect.Do(done)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("done: %d", resp.StatusCode)
	}
	tasks, err := st.Store.ReplyTasks(ctx, casestore.ReplyCallback, 10)
	if err != nil || len(tasks) != 0 {
		t.Errorf("call-backs left: %v %v", tasks, err)
	}
	c, _ := st.Store.Case(ctx, ref)
	if last := c.Events[len(c.Events)-1]; last.Summary != "rappel téléphonique fait" || last.Actor.ID != "agent-07" {
		t.Errorf("history %+v", last)
	}
	if resp, _ := noRedirect.PostForm(srv.URL+"/agent/rappels/0190d3a8-0000-7000-8000-000000000000/fait", url.Values{}); resp.StatusCode != 404 {
		t.Errorf("unknown call-back: %d", resp.StatusCode)
	}
}

// Once a call is logged, the agent sees its tracking code to read out, and
// whether the caller also gets it by SMS (a mobile) or must note it (a
// landline); a code in the address that is no code is not shown.
func TestLoggedCallShowsTheCode(t *testing.T) {
	st, srv, _ := setup(t)
	for _, tt := range []struct{ caller, says string }{
		{"+33687654321", "Il le reçoit aussi par SMS sur son mobile"},
		{"+33491000000", "Invitez-le à le noter"},
	} {
		resp := postForm(t, srv.URL+"/agent/appels", url.Values{"caller": {tt.caller}, "agent": {"agent-01"}, "direction": {"inbound"},
			"cible": {"nouvelle"}, "competence": {"dechets"}, "resume": {"Demande de composteur"}, "call_id": {"code-" + tt.caller}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s: %d", tt.caller, resp.StatusCode)
		}
		loc, _ := url.Parse(resp.Header.Get("Location"))
		tr, err := st.Store.Tracking(context.Background(), loc.Query().Get("code"))
		if err != nil || tr.Request.ID != loc.Query().Get("journalise") {
			t.Fatalf("%s: the code in %s is not the call's: %v", tt.caller, loc, err)
		}
		_, body := get(t, srv.URL+loc.String())
		if !strings.Contains(body, "Code de suivi à lire à l'appelant : <strong class=\"code-suivi\">"+tr.Code+"</strong>") || !strings.Contains(body, tt.says) {
			t.Errorf("%s: the console does not show the code and %q", tt.caller, tt.says)
		}
	}
	if _, body := get(t, srv.URL+"/agent?journalise=x&code=%3Cscript%3E"); strings.Contains(body, "Code de suivi à lire") {
		t.Error("a code that is no code is shown")
	}
}
