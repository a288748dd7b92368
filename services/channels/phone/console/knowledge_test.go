package console_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/cmd/guichet/compose"
	"github.com/ampmetropole/guichet/services/cases/knowledge"
	"github.com/ampmetropole/guichet/services/channels/phone/console"
	"github.com/ampmetropole/guichet/services/channels/phone/telephony"
	"github.com/ampmetropole/guichet/services/language/extract"
	"github.com/ampmetropole/guichet/services/staff/auth"
	"github.com/ampmetropole/guichet/services/testkit"
	"github.com/ampmetropole/guichet/services/testkit/stack"
)

// kbConsole is the console behind the real sign-in, with the knowledge
// base and the router's classifier, and three entries.
type kbConsole struct {
	st                    stack.Stack
	srv                   *httptest.Server
	kb                    *knowledge.Store
	bulky, hours, parking knowledge.Entry
}

func kbSetup(t *testing.T) kbConsole {
	t.Helper()
	st := stack.New(t, stack.Options{})
	kb := knowledge.New(st.Store.DB())
	classifier, err := compose.LoadClassifier("", st.Catalogue)
	if err != nil {
		t.Fatal(err)
	}
	h, err := console.New(console.Deps{Store: st.Store, Calls: telephony.New(st.Intake, extract.New(st.Places), telephony.WithCompetences(st.Catalogue.Known)),
		Catalogue: st.Catalogue, CSRF: st.Auth.CSRFField, Viewer: st.Auth.Viewer, Log: testkit.Logger(t),
		Agent:     func(r *http.Request) string { p, _ := auth.FromContext(r.Context()); return p.Name },
		Knowledge: kb, Suggest: compose.KnowledgeSuggest(classifier)})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	st.Auth.Register(mux)
	agentOnly := st.Auth.RequirePage(auth.PermAgentConsole)
	mux.Handle("/agent", agentOnly(h))
	mux.Handle("/agent/", agentOnly(h))
	srv := httptest.NewServer(st.Auth.Middleware(mux))
	t.Cleanup(srv.Close)
	ctx := context.Background()
	for _, a := range []struct{ login, role string }{{"ines", auth.RoleAgent}, {"julie", auth.RoleTeam}, {"nadia", auth.RoleSupervisor}} {
		if _, err := st.Auth.CreateAccount(ctx, a.login, a.login, a.role, "mot-de-passe-"+a.login, []string{"dechets"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	c := kbConsole{st: st, srv: srv, kb: kb}
	review := knowledge.Today(time.Now()).AddDate(1, 0, 0)
	for _, e := range []struct {
		into *knowledge.Entry
		d    knowledge.Draft
	}{
		{&c.bulky, knowledge.Draft{Title: "Collecte des encombrants", Text: "Enlèvement sur rendez-vous.\n\nNe rien déposer sur le trottoir.", Competence: "dechets"}},
		{&c.hours, knowledge.Draft{Title: "Horaires des déchetteries", Text: "Ouvertes du lundi au samedi.", Competence: "dechets", Territory: "pays-d-aix"}},
		{&c.parking, knowledge.Draft{Title: "Stationnement résidentiel", Text: "La carte de résident.", Competence: "stationnement"}},
	} {
		e.d.ReviewOn = review
		if *e.into, err = kb.Create(ctx, e.d, "nadia"); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

type kbPerson struct {
	t      testing.TB
	base   string
	client *http.Client
}

func (c kbConsole) signIn(t testing.TB, login string) kbPerson {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar, Timeout: 15 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := cl.PostForm(c.srv.URL+auth.LoginPath, url.Values{"identifiant": {login}, "mot_de_passe": {"mot-de-passe-" + login}, "retour": {"/agent"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") == auth.LoginPath {
		t.Fatalf("%s not signed in: %d", login, resp.StatusCode)
	}
	return kbPerson{t: t, base: c.srv.URL, client: cl}
}

func (p kbPerson) do(method, path string, form url.Values) (int, string, string) {
	p.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, p.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := p.client.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header.Get("Location")
}

var kbCSRF = regexp.MustCompile(`name="` + auth.CSRFField + `" value="([^"]+)"`)

// kbUseForm reads the "Répondu avec cette fiche" form of entry id on page.
func kbUseForm(t *testing.T, page string, id int64) url.Values {
	t.Helper()
	m := regexp.MustCompile(`(?s)<form method="post" action="/agent/connaissances/` + strconv.FormatInt(id, 10) + `/reponse">(.*?)</form>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no answer form for entry %d", id)
	}
	v := url.Values{}
	for _, f := range regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`).FindAllStringSubmatch(m[1], -1) {
		v.Set(f[1], strings.NewReplacer("&#43;", "+", "&#39;", "'", "&amp;", "&").Replace(f[2]))
	}
	return v
}

// TestAgentAnswersFromTheKnowledgeBase: without JavaScript, the agent
// finds an entry from the caller's words — the classifier's competence
// brings it even when no word is shared — reads it in the console (title,
// text, competence), records that the call was answered from it, and the
// console says so, on the same caller; one use counted, no request, no
// case. The results alone come as HTML for the script.
func TestAgentAnswersFromTheKnowledgeBase(t *testing.T) {
	c := kbSetup(t)
	ctx := context.Background()
	ines := c.signIn(t, "ines")
	code, page, _ := ines.do("GET", "/agent", nil)
	if code != 200 || !strings.Contains(page, `id="fiches-recherche"`) || !strings.Contains(page, "Chercher une réponse type") || strings.Contains(page, "Répondu avec cette fiche") {
		t.Fatalf("console: %d", code)
	}
	q := url.Values{"caller": {"+33687654321"}, "fq": {"Je voudrais me débarrasser d'un vieux canapé"}}
	code, page, _ = ines.do("GET", "/agent/connaissances?"+q.Encode(), nil)
	if code != 200 {
		t.Fatalf("search: %d\n%s", code, page)
	}
	for _, want := range []string{"Appel du", "Collecte des encombrants", "<p>Enlèvement sur rendez-vous.</p>", "<p>Ne rien déposer sur le trottoir.</p>",
		"Déchets · Tous territoires · <span>domaine reconnu dans la demande</span>", `value="Je voudrais me débarrasser d&#39;un vieux canapé"`,
		"Horaires des déchetteries"} {
		if !strings.Contains(page, want) {
			t.Errorf("results lack %q", want)
		}
	}
	if strings.Contains(page, "Stationnement résidentiel") {
		t.Error("an entry of another competence, without a shared word")
	}
	// The caller's territory narrows the answers.
	q.Set("ft", "marseille-provence")
	if _, page, _ = ines.do("GET", "/agent/connaissances?"+q.Encode(), nil); strings.Contains(page, "Horaires des déchetteries") || !strings.Contains(page, "Collecte des encombrants") {
		t.Error("another territory's entry shown")
	}
	use := kbUseForm(t, page, c.bulky.ID)
	if use.Get("caller") != "+33687654321" || use.Get("ft") != "marseille-provence" || use.Get("fq") == "" || use.Get(auth.CSRFField) == "" {
		t.Fatalf("the answer form carries %v", use)
	}
	code, _, loc := ines.do("POST", "/agent/connaissances/"+strconv.FormatInt(c.bulky.ID, 10)+"/reponse", use)
	if code != http.StatusSeeOther || !strings.HasPrefix(loc, "/agent/connaissances?") {
		t.Fatalf("answered: %d %s", code, loc)
	}
	code, page, _ = ines.do("GET", loc, nil)
	if code != 200 || !strings.Contains(page, "Appel enregistré comme répondu avec la fiche « Collecte des encombrants » : aucun dossier n'a été ouvert.") ||
		!strings.Contains(page, "Appel du") {
		t.Fatalf("after the answer: %d\n%s", code, page)
	}
	e, err := c.kb.Get(ctx, c.bulky.ID)
	if err != nil || e.Uses != 1 {
		t.Fatalf("uses: %+v %v", e, err)
	}
	var agent, channel string
	testkit.QueryRow(t, c.st.DBURL, `SELECT agent, channel FROM knowledge_uses`, nil, &agent, &channel)
	if agent != "ines" || channel != "phone" {
		t.Errorf("use by %q on %q", agent, channel)
	}
	for _, table := range []string{"requests", "cases"} {
		if n := testkit.Count(t, c.st.DBURL, `SELECT count(*) FROM `+table); n != 0 {
			t.Errorf("%d %s after a call answered from an entry", n, table)
		}
	}

	// The results alone, for the script, from the summary being typed.
	code, frag, _ := ines.do("GET", "/agent/connaissances/suggestions?"+url.Values{"texte": {"carte de stationnement résidentiel"}, "caller": {"+33687654321"}}.Encode(), nil)
	if code != 200 || strings.Contains(frag, "<html") || !strings.Contains(frag, "D&#39;après le résumé de l&#39;appel") && !strings.Contains(frag, "D'après le résumé de l'appel") ||
		!strings.Contains(frag, "Stationnement résidentiel") || !strings.Contains(frag, `name="caller" value="&#43;33687654321"`) || !kbCSRF.MatchString(frag) {
		t.Errorf("fragment: %d\n%s", code, frag)
	}
	if _, frag, _ = ines.do("GET", "/agent/connaissances/suggestions?texte=piscine+municipale", nil); !strings.Contains(frag, `data-nombre="0"`) {
		t.Errorf("no match: %s", frag)
	}
}

// TestKnowledgeRoutesRefuse: the console's knowledge routes refuse nobody
// signed in (sign-in), a role without the console (403), an unknown,
// malformed or archived entry (404 page), oversized or malformed input
// (a French 4xx, the question kept), and posts without the CSRF token.
func TestKnowledgeRoutesRefuse(t *testing.T) {
	c := kbSetup(t)
	ctx := context.Background()
	id := strconv.FormatInt(c.bulky.ID, 10)
	nobody := kbPerson{t: t, base: c.srv.URL, client: testkit.NoRedirect()}
	for _, path := range []string{"/agent/connaissances?fq=x", "/agent/connaissances/suggestions?texte=x"} {
		if code, _, loc := nobody.do("GET", path, nil); code != http.StatusFound || !strings.HasPrefix(loc, auth.LoginPath+"?retour=") {
			t.Errorf("nobody GET %s: %d %s", path, code, loc)
		}
	}
	if code, _, loc := nobody.do("POST", "/agent/connaissances/"+id+"/reponse", url.Values{}); code != http.StatusSeeOther || loc != auth.LoginPath {
		t.Errorf("nobody POST: %d %s", code, loc)
	}
	for _, login := range []string{"julie", "nadia"} {
		p := c.signIn(t, login)
		_, home, _ := p.do("GET", "/bo/connexion", nil)
		for _, path := range []string{"/agent/connaissances?fq=x", "/agent/connaissances/suggestions?texte=x"} {
			if code, page, _ := p.do("GET", path, nil); code != http.StatusForbidden || !strings.Contains(page, "Accès refusé") {
				t.Errorf("%s GET %s: %d", login, path, code)
			}
		}
		v := url.Values{}
		if m := kbCSRF.FindStringSubmatch(home); m != nil {
			v.Set(auth.CSRFField, m[1])
		}
		if code, _, _ := p.do("POST", "/agent/connaissances/"+id+"/reponse", v); code != http.StatusForbidden {
			t.Errorf("%s POST: %d", login, code)
		}
	}

	ines := c.signIn(t, "ines")
	_, page, _ := ines.do("GET", "/agent", nil)
	token := url.Values{auth.CSRFField: {kbCSRF.FindStringSubmatch(page)[1]}}
	if _, err := c.kb.Archive(ctx, c.parking.ID, "nadia"); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/agent/connaissances/987654/reponse", "/agent/connaissances/abc/reponse", "/agent/connaissances/0/reponse",
		"/agent/connaissances/99999999999999999999999/reponse", "/agent/connaissances/" + strconv.FormatInt(c.parking.ID, 10) + "/reponse"} {
		if code, page, _ := ines.do("POST", path, token); code != http.StatusNotFound || !strings.Contains(page, "Page introuvable") {
			t.Errorf("POST %s: %d", path, code)
		}
	}
	if code, page, _ := ines.do("GET", "/agent/connaissances/inconnue", nil); code != http.StatusNotFound || !strings.Contains(page, "Page introuvable") {
		t.Errorf("unknown page: %d", code)
	}
	if code, _, _ := ines.do("POST", "/agent/connaissances/"+id+"/reponse", url.Values{}); code != http.StatusForbidden {
		t.Errorf("no CSRF token: %d", code)
	}
	for _, tc := range []struct {
		query  url.Values
		status int
		says   string
	}{
		{url.Values{"fq": {strings.Repeat("encombrant ", 60)}}, http.StatusRequestEntityTooLarge, "La question est trop longue : 500 caractères au plus"},
		{url.Values{"fq": {"a\x00b"}}, http.StatusBadRequest, "La question contient des caractères non permis"},
		{url.Values{"fq": {"encombrants"}, "ft": {"lyon"}}, http.StatusBadRequest, "Ce territoire n&#39;existe pas"},
	} {
		code, page, _ := ines.do("GET", "/agent/connaissances?"+tc.query.Encode(), nil)
		if code != tc.status || !strings.Contains(page, tc.says) || !strings.Contains(page, `aria-invalid="true"`) || !strings.Contains(page, "Console d") {
			t.Errorf("GET ?%s: %d", tc.query.Encode(), code)
		}
	}
	if _, page, _ := ines.do("GET", "/agent/connaissances?"+url.Values{"fq": {strings.Repeat("encombrant ", 60)}}.Encode(), nil); !strings.Contains(page, `value="encombrant encombrant`) {
		t.Error("the oversized question is not kept")
	}
	for _, tc := range []struct {
		query  url.Values
		status int
	}{
		{url.Values{"texte": {strings.Repeat("é", knowledge.MaxQuery+1)}}, http.StatusRequestEntityTooLarge},
		{url.Values{"texte": {"a\xffb"}}, http.StatusBadRequest},
		{url.Values{"texte": {"x"}, "ft": {"lyon"}}, http.StatusBadRequest},
	} {
		if code, body, _ := ines.do("GET", "/agent/connaissances/suggestions?"+tc.query.Encode(), nil); code != tc.status || !strings.Contains(body, "caract") && !strings.Contains(body, "territoire") {
			t.Errorf("suggestions ?%.40s: %d %s", tc.query.Encode(), code, body)
		}
	}
	if n := testkit.Count(t, c.st.DBURL, `SELECT count(*) FROM knowledge_uses`); n != 0 {
		t.Errorf("%d uses recorded by refused requests", n)
	}
}
