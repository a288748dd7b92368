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

// photoSHA is the digest of the photo Léa sent.
var photoSHA = strings.Repeat("5e", 32)

// setup is the console without the sign-in in front of it (who is signed
// in comes from the X-Test-Signed-In header), and Léa's case: a web
// request with its place and a photo, routed.
func setup(t *testing.T) (stack.Stack, *httptest.Server, string) {
	t.Helper()
	return setupWith(t, stack.Options{Router: true}, 0)
}

func setupWith(t *testing.T, opts stack.Options, wait time.Duration) (stack.Stack, *httptest.Server, string) {
	t.Helper()
	st := stack.New(t, opts)
	h, err := console.New(console.Deps{Store: st.Store, Calls: telephony.New(st.Intake, extract.New(st.Places), telephony.WithCompetences(st.Catalogue.Known)), Catalogue: st.Catalogue,
		Tasks: st.Store, SMS: true, Agent: func(r *http.Request) string { return r.Header.Get("X-Test-Signed-In") }, CaseWait: wait, Log: testkit.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	rc, err := st.Intake.Submit(context.Background(), schemas.Request{Channel: "web", Source: schemas.Source{Adapter: "test"},
		Subject: "Lampadaire éteint <b>rue</b>", Body: "Éteint depuis lundi, devant le numéro 45.", Hints: &schemas.Hints{Competence: "eclairage"},
		Location:    &schemas.Location{Address: "45 rue Paradis", PostalCode: "13006"},
		Attachments: []schemas.Attachment{{Name: "lampadaire.jpg", ContentType: "image/jpeg", Size: 2048, SHA256: photoSHA, ObjectKey: "sha256/" + photoSHA}},
		Citizen:     &schemas.Citizen{Name: "Léa Martinez", Email: "lea@example.net", Phone: "+33639981427"}})
	if err != nil {
		t.Fatal(err)
	}
	if !opts.Router {
		return st, srv, ""
	}
	return st, srv, st.CaseRef(t, rc.ID)
}

func get(t *testing.T, u string, header ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// post sends the log form as agent (who the sign-in says is signed in).
func post(t *testing.T, u, agent string, v url.Values) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if agent != "" {
		req.Header.Set("X-Test-Signed-In", agent)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestScreenPopShowsCallerAndHistory(t *testing.T) {
	_, srv, ref := setup(t)
	code, body := get(t, srv.URL+"/agent?caller=06+39+98+14+27&agent=agent-01")
	if code != 200 {
		t.Fatalf("status %d", code)
	}
	for _, want := range []string{
		"Appel du 06 39 98 14 27", "Tél. 06 39 98 14 27", "Léa Martinez", "lea@example.net",
		`<a href="/bo/dossiers/` + ref + `">` + ref + `</a>`, "Éclairage public", "Ouverture",
		"Lampadaire éteint &lt;b&gt;rue&lt;/b&gt;", "Éteint depuis lundi, devant le numéro 45.",
		`Lieu :</span> 45 rue Paradis, 13006 Marseille`,
		`<a href="/bo/pieces/` + photoSHA + `"><img src="/bo/pieces/` + photoSHA + `" alt="Photo jointe : lampadaire.jpg"`,
		// The caller's one open case is chosen, its details open.
		`value="` + ref + `" checked`, `<details class="details-dossier" open>`, "est présélectionné",
		// Who logs: nobody is signed in here, so the screen-pop says.
		"Appel journalisé par <strong>agent-01</strong>", `<input type="hidden" name="agent" value="agent-01">`,
		`aria-keyshortcuts="Alt+J" autofocus`, "<kbd>Ctrl</kbd> + <kbd>Entrée</kbd>", `src="/personnel/static/console.js"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("console lacks %q", want)
		}
	}
	for _, not := range []string{`value="nouvelle" checked`, "+33639981427<", `id="agent"`} {
		if strings.Contains(body, not) {
			t.Errorf("console shows %q", not)
		}
	}
	// Found by any of what a caller says of themself or of their case.
	for _, q := range []string{"lea@example.net", "martinez", strings.ToLower(ref), "amp " + ref[4:8] + " " + strings.TrimLeft(ref[9:], "0"),
		"rue Paradis", "Marseille", "13006", "0639981427"} {
		if _, body := get(t, srv.URL+"/agent?q="+url.QueryEscape(q)); !strings.Contains(body, `href="/bo/dossiers/`+ref+`"`) {
			t.Errorf("search %q does not find %s", q, ref)
		}
	}
	if _, body := get(t, srv.URL+"/agent?q=inconnu"); !strings.Contains(body, "Aucun appelant connu") || !strings.Contains(body, `value="nouvelle" checked`) {
		t.Error("an unknown caller is not a new request")
	}
	if _, body := get(t, srv.URL+"/agent?caller=n'importe+quoi"); !strings.Contains(body, "n&#39;est pas un numéro valide") {
		t.Error("a bad screen-pop number is not explained")
	}
	// Signed in, the agent is who the session says, whatever the address.
	_, body = get(t, srv.URL+"/agent?caller=0639981427&agent=intrus", "X-Test-Signed-In", "camille")
	if !strings.Contains(body, "Appel journalisé par <strong>camille</strong>") || strings.Contains(body, "intrus") {
		t.Error("the agent parameter counts although someone is signed in")
	}
}

// readBack is what the page after logging says to read to the caller.
var readBack = regexp.MustCompile(`id="dossier-appel">(AMP-\d{4}-\d{6,})</a>[\s\S]*id="code-appel">([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})</strong>`)

func TestLogCallOntoCaseOrAsNewRequest(t *testing.T) {
	st, srv, ref := setup(t)
	ctx := context.Background()
	resp, _ := post(t, srv.URL+"/agent/appels", "agent-01", url.Values{"caller": {"06 39 98 14 27"}, "direction": {"inbound"},
		"cible": {ref}, "resume": {"Rappel : toujours éteint."}, "call_id": {"console-test-1"},
		"transcription": {"Agent : Métropole bonjour\nAppelant : le lampadaire est toujours éteint"}})
	loc, _ := url.Parse(resp.Header.Get("Location"))
	code := loc.Query().Get("journalise")
	if resp.StatusCode != http.StatusSeeOther || len(code) != 14 || loc.Query().Get("caller") != "+33639981427" {
		t.Fatalf("log onto case: %d %s", resp.StatusCode, loc)
	}
	// The page comes once the router has put the call in the case.
	c, _ := st.Store.Case(ctx, ref)
	if len(c.Events) != 2 || c.Events[1].Channel != "phone" {
		t.Fatalf("the call is not in the case yet: %+v", c.Events)
	}
	_, body := get(t, srv.URL+loc.String())
	if m := readBack.FindStringSubmatch(body); m == nil || m[1] != ref || m[2] != code {
		t.Fatalf("the page does not show %s and %s to read back", ref, code)
	}
	tr, err := st.Store.Tracking(ctx, code)
	if err != nil || strings.Contains(body, tr.Request.ID) {
		t.Errorf("the page shows the internal request id (%v)", err)
	}

	// A new request, logged by the signed-in agent whatever the form says.
	resp, _ = post(t, srv.URL+"/agent/appels", "agent-07", url.Values{"caller": {"+33639981427"}, "agent": {"intrus"}, "direction": {"inbound"},
		"cible": {"nouvelle"}, "competence": {"dechets"}, "resume": {"Demande de composteur"}, "call_id": {"console-test-2"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("new request: %d", resp.StatusCode)
	}
	loc, _ = url.Parse(resp.Header.Get("Location"))
	_, body = get(t, srv.URL+loc.String())
	m := readBack.FindStringSubmatch(body)
	if m == nil || m[1] == ref || m[2] != loc.Query().Get("journalise") {
		t.Fatalf("the new request's case and code are not shown")
	}
	newRef := m[1]
	nc, _ := st.Store.Case(ctx, newRef)
	tr, _ = st.Store.Tracking(ctx, m[2])
	if nc.Competence != "dechets" || tr.Request.Source.OperatorID != "agent-07" {
		t.Errorf("new request in %s, logged by %q", nc.Competence, tr.Request.Source.OperatorID)
	}
	// The caller's page lists both cases and chooses the one just active.
	if !strings.Contains(body, `href="/bo/dossiers/`+ref+`"`) || !strings.Contains(body, `value="`+newRef+`" checked`) {
		t.Error("the console does not show both cases with the latest chosen")
	}

	// Cross-site posts are refused.
	req, _ := http.NewRequest("POST", srv.URL+"/agent/appels", strings.NewReader("resume=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if resp, err := noRedirect.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site post: %v %v", resp, err)
	}
}

// errorText are the error summary and the errors beside the fields.
var errorText = regexp.MustCompile(`(?s)<div class="alerte resume-erreurs".*?</div>|<p class="erreur"[^>]*>.*?</p>`)

// english are the phone channel's words, which the agent must not read.
var english = regexp.MustCompile(`\b(caller_number|case_ref|agent_id|call_id|summary|transcript|invalid|inbound|outbound)\b`)

// A call that cannot be logged comes back with what was typed and, in
// French, what to correct, next to the field and in the summary at the
// top that links to it; nothing is logged.
func TestLogCallErrors(t *testing.T) {
	st, srv, ref := setup(t)
	ok := url.Values{"caller": {"06 39 98 14 27"}, "direction": {"inbound"}, "cible": {ref}, "resume": {"Résumé gardé"}, "q": {"+33639981427"}, "call_id": {"erreurs-1"}}
	with := func(kv ...string) url.Values {
		v := url.Values{}
		for k, vs := range ok {
			v[k] = vs
		}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	for _, tt := range []struct {
		name   string
		agent  string
		form   url.Values
		status int
		field  string // the id its error describes ("" for none)
		anchor string // where the summary's link leads ("" for no link)
		says   string
	}{
		{"nothing said", "agent-01", with("resume", "  "), 422, "resume", "resume", "Indiquez le résumé de l&#39;appel ou collez sa transcription."},
		{"no case chosen", "agent-01", with("cible", ""), 422, "cible", "cible-" + ref, "Choisissez le dossier auquel rattacher l&#39;appel, ou « Nouvelle demande »."},
		{"a case that is no reference", "agent-01", with("cible", "AMP-XX"), 422, "cible", "cible-" + ref, "Ce dossier n&#39;existe pas sous cette référence"},
		{"an unknown domain", "agent-01", with("cible", "nouvelle", "competence", "licornes"), 422, "competence", "competence", "Choisissez un domaine dans la liste"},
		{"a number that is none", "agent-01", with("caller", "12 34"), 422, "caller", "caller", "n&#39;est pas un numéro de téléphone (exemple : 06 12 34 56 78)"},
		{"a direction that is none", "agent-01", with("direction", "sideways"), 422, "direction", "dir-in", "Choisissez le sens de l&#39;appel"},
		{"a transcript that cannot be read", "agent-01", with("resume", "", "format", "whisper", "transcription", "pas du json"), 422, "transcription", "transcription",
			"La transcription n&#39;a pas pu être lue ("},
		{"a summary too long", "agent-01", with("resume", strings.Repeat("é", 10001)), 422, "resume", "resume", "Le résumé est limité à 10 000 caractères"},
		{"nobody signed in nor named", "", with(), 422, "", "", "Votre session ne dit pas qui vous êtes"},
		{"a call id the phone channel refuses", "agent-01", with("call_id", "espaces interdits"), 422, "", "", "L&#39;identifiant de l&#39;appel transmis par la téléphonie"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := post(t, srv.URL+"/agent/appels", tt.agent, tt.form)
			if resp.StatusCode != tt.status || !strings.Contains(body, tt.says) {
				t.Fatalf("%d, wants %q", resp.StatusCode, tt.says)
			}
			if !strings.Contains(body, `<h2 id="erreurs-titre">L'appel n'a pas été journalisé</h2>`) {
				t.Error("no error summary")
			}
			if tt.anchor != "" && !strings.Contains(body, `<a href="#`+tt.anchor+`">`) {
				t.Errorf("the summary does not link to #%s", tt.anchor)
			}
			if tt.field != "" && !strings.Contains(body, `aria-describedby="`+tt.field+`-erreur"`) {
				t.Errorf("the error is not tied to %s", tt.field)
			}
			// What the agent reads: the summary and the fields' errors.
			said := errorText.FindAllString(body, -1)
			if tt.field != "" && len(said) < 2 {
				t.Errorf("errors shown: %q", said)
			}
			if w := english.FindString(strings.Join(said, " ")); w != "" {
				t.Errorf("the page says %q", w)
			}
			if v := tt.form.Get("resume"); strings.TrimSpace(v) != "" && len(v) < 100 && !strings.Contains(body, ">"+v+"</textarea>") {
				t.Error("the summary typed is lost")
			}
		})
	}
	cards, _ := st.Store.FindCitizens(context.Background(), casestore.CitizenQuery{Phone: "+33639981427"}, 10, 10)
	if len(cards) != 1 || len(cards[0].Cases) != 1 || len(cards[0].Cases[0].Events) != 1 {
		t.Errorf("a refused call was logged: %+v", cards)
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
	_, page := get(t, srv.URL+"/agent")
	m := regexp.MustCompile(`action="(/agent/rappels/[0-9a-f-]+/fait)"`).FindStringSubmatch(page)
	if m == nil || !strings.Contains(page, "Rappeler pour fixer un rendez-vous.") || !strings.Contains(page, "<strong>06 39 98 14 27</strong>") {
		t.Fatalf("call-backs:\n%s", page)
	}
	resp, _ := post(t, srv.URL+m[1], "agent-07", url.Values{})
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
	// A callback event is no answer to the citizen: the case shows none.
	if _, body := get(t, srv.URL+"/agent?q="+ref); strings.Contains(body, "Dernière réponse envoyée") {
		t.Error("a call-back shows as the last answer")
	}
	if resp, _ := post(t, srv.URL+"/agent/rappels/0190d3a8-0000-7000-8000-000000000000/fait", "agent-07", url.Values{}); resp.StatusCode != 404 {
		t.Errorf("unknown call-back: %d", resp.StatusCode)
	}
}

// Once a call is logged, the agent sees its tracking code to read out, and
// whether the caller also gets it by SMS (a mobile) or must note it (a
// landline); a code in the address that is no call's is not shown.
func TestLoggedCallShowsTheCode(t *testing.T) {
	st, srv, _ := setup(t)
	for _, tt := range []struct{ caller, says string }{
		{"+33687654321", "L'appelant reçoit aussi le code par SMS sur son mobile"},
		{"+33491000000", "Invitez l'appelant à noter le code"},
	} {
		resp, _ := post(t, srv.URL+"/agent/appels", "agent-01", url.Values{"caller": {tt.caller}, "direction": {"inbound"},
			"cible": {"nouvelle"}, "competence": {"dechets"}, "resume": {"Demande de composteur"}, "call_id": {"code-" + tt.caller}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s: %d", tt.caller, resp.StatusCode)
		}
		loc, _ := url.Parse(resp.Header.Get("Location"))
		tr, err := st.Store.Tracking(context.Background(), loc.Query().Get("journalise"))
		if err != nil || tr.Request.Source.ExternalID != "code-"+tt.caller {
			t.Fatalf("%s: the code in %s is not the call's: %v", tt.caller, loc, err)
		}
		_, body := get(t, srv.URL+loc.String())
		if !strings.Contains(body, `<strong class="code-suivi" id="code-appel">`+tr.Code+"</strong>") || !strings.Contains(body, tt.says) {
			t.Errorf("%s: the console does not show the code and %q", tt.caller, tt.says)
		}
	}
	rc := st.Submit(t, schemas.Request{Channel: "web", Subject: "Autre", Body: "Une demande du formulaire.", Hints: &schemas.Hints{Competence: "dechets"}})
	for _, code := range []string{"%3Cscript%3E", "ZZZZ-ZZZZ-ZZZZ", rc.TrackingCode} {
		if _, body := get(t, srv.URL+"/agent?journalise="+code); strings.Contains(body, "Code de suivi") {
			t.Errorf("%s: a code that is no call's is shown", code)
		}
	}
}

// Before the router has recorded a new caller, the page after logging
// shows them as the new caller with their request, never "nobody known";
// console.js asks for the case until it exists.
func TestNewCallerBeforeTheRouter(t *testing.T) {
	_, srv, _ := setupWith(t, stack.Options{}, 200*time.Millisecond)
	start := time.Now()
	resp, _ := post(t, srv.URL+"/agent/appels", "agent-01", url.Values{"caller": {"07 56 12 34 56"}, "direction": {"inbound"},
		"cible": {"nouvelle"}, "resume": {"Encombrants rue Paradis"}, "call_id": {"nouveau-1"}})
	if resp.StatusCode != http.StatusSeeOther || time.Since(start) > 2*time.Second {
		t.Fatalf("%d after %s", resp.StatusCode, time.Since(start))
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	code := loc.Query().Get("journalise")
	_, body := get(t, srv.URL+loc.String())
	for _, want := range []string{"Nouvel appelant", "Tél. 07 56 12 34 56", "dossier en cours de création",
		`data-suivi="/agent/appels/` + code + `"`, `id="code-appel">` + code + "<"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(body, "Aucun appelant connu") {
		t.Error("the new caller is said unknown")
	}
	status, js := get(t, srv.URL+"/agent/appels/"+code)
	if status != 200 || !strings.Contains(js, `"dossier":""`) || !strings.Contains(js, `"code":"`+code+`"`) {
		t.Errorf("the call's state: %d %s", status, js)
	}
}
