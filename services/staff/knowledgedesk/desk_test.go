package knowledgedesk_test

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

	"github.com/ampmetropole/guichet/services/cases/knowledge"
	"github.com/ampmetropole/guichet/services/platform/staffshell"
	"github.com/ampmetropole/guichet/services/staff/auth"
	"github.com/ampmetropole/guichet/services/staff/knowledgedesk"
	"github.com/ampmetropole/guichet/services/testkit"
	"github.com/ampmetropole/guichet/services/testkit/stack"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// desk is a test back end with the desk on a test server, behind the real
// sign-in, and accounts of every role.
type desk struct {
	st  stack.Stack
	srv *httptest.Server
	kb  *knowledge.Store
}

var accounts = []struct {
	login, role string
	comp        []string
}{
	{"nadia", auth.RoleSupervisor, nil},
	{"ines", auth.RoleAgent, nil},
	{"julie", auth.RoleTeam, []string{"dechets"}},
	{"marc", auth.RoleMailroom, nil},
	{"root", auth.RoleAdmin, nil},
}

// serve mounts extra handlers too (the console, for the browser test).
func serve(t *testing.T, extra func(st stack.Stack, kb *knowledge.Store, mux *http.ServeMux)) desk {
	t.Helper()
	st := stack.New(t, stack.Options{})
	kb := knowledge.New(st.Store.DB())
	d, err := knowledgedesk.New(knowledgedesk.Deps{Guard: st.Auth, Store: kb, Catalogue: st.Catalogue, Log: testkit.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	st.Auth.Register(mux)
	mux.Handle("GET "+staffshell.AssetsPath, staffshell.Assets())
	mux.Handle(knowledgedesk.Base, d)
	mux.Handle(knowledgedesk.Base+"/", d)
	if extra != nil {
		extra(st, kb, mux)
	}
	srv := httptest.NewServer(st.Auth.Middleware(mux))
	t.Cleanup(srv.Close)
	for _, a := range accounts {
		if _, err := st.Auth.CreateAccount(context.Background(), a.login, strings.ToUpper(a.login[:1])+a.login[1:], a.role, password(a.login), a.comp, nil); err != nil {
			t.Fatal(err)
		}
	}
	return desk{st: st, srv: srv, kb: kb}
}

type person struct {
	t      testing.TB
	base   string
	client *http.Client
}

// signIn opens a session through the real sign-in page; the client does
// not follow redirects, so that each answer is seen.
func (d desk) signIn(t testing.TB, login string) person {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 15 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(d.srv.URL+auth.LoginPath, url.Values{"identifiant": {login}, "mot_de_passe": {password(login)}, "retour": {"/bo/connaissances"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") == auth.LoginPath {
		t.Fatalf("%s not signed in: %d %s", login, resp.StatusCode, resp.Header.Get("Location"))
	}
	return person{t: t, base: d.srv.URL, client: c}
}

// anonymous is nobody signed in.
func (d desk) anonymous(t testing.TB) person {
	return person{t: t, base: d.srv.URL, client: testkit.NoRedirect()}
}

func (p person) get(path string) (int, string, string) {
	p.t.Helper()
	resp, err := p.client.Get(p.base + path)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header.Get("Location")
}

var csrfField = regexp.MustCompile(`name="` + auth.CSRFField + `" value="([^"]+)"`)

// post sends form to path with the CSRF token of page (none when page is
// ""), and follows a 303 to show where it leads.
func (p person) post(page, path string, form url.Values) (int, string, string) {
	p.t.Helper()
	if page != "" {
		m := csrfField.FindStringSubmatch(page)
		if m == nil {
			p.t.Fatalf("no CSRF token on the page")
		}
		form.Set(auth.CSRFField, m[1])
	}
	resp, err := p.client.PostForm(p.base+path, form)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	loc := resp.Header.Get("Location")
	if resp.StatusCode == http.StatusSeeOther && strings.HasPrefix(loc, knowledgedesk.Base) {
		code, page, _ := p.get(loc)
		return code, page, loc
	}
	return resp.StatusCode, string(b), loc
}

func wants(t *testing.T, what, page string, parts ...string) {
	t.Helper()
	for _, s := range parts {
		if !strings.Contains(page, s) {
			t.Errorf("%s lacks %q", what, s)
		}
	}
}

var entryLink = regexp.MustCompile(`/bo/connaissances/(\d+)\?fait=creee`)

// TestSupervisorKeepsTheKnowledgeBase: a supervisor writes an entry (the
// form refused first, in French, field by field, the text kept), finds it
// by words, edits it (a stale edit is caught, the text kept), archives and
// restores it; every change is in the audit log; the list flags what is
// due for review and counts the calls answered over 30 days.
func TestSupervisorKeepsTheKnowledgeBase(t *testing.T) {
	d := serve(t, nil)
	ctx := context.Background()
	nadia := d.signIn(t, "nadia")
	code, page, _ := nadia.get("/bo/connaissances")
	if code != 200 {
		t.Fatalf("list: %d", code)
	}
	wants(t, "empty list", page, "Aucune fiche pour l'instant", `href="/bo/connaissances/nouvelle"`, "connaissances.css")
	code, form, _ := nadia.get("/bo/connaissances/nouvelle")
	if code != 200 {
		t.Fatalf("form: %d", code)
	}
	wants(t, "new form", form, `value="`+knowledge.Today(time.Now()).AddDate(1, 0, 0).Format(time.DateOnly)+`"`, "Créer la fiche")

	// Everything wrong: refused field by field, what was typed kept.
	long := "MARQUEUR " + strings.Repeat("x", knowledge.MaxText)
	code, page, _ = nadia.post(form, "/bo/connaissances", url.Values{"titre": {""}, "texte": {long}, "competence": {"inconnue"},
		"territoire": {"lyon"}, "revoir": {"2020-01-01"}})
	if code != http.StatusRequestEntityTooLarge {
		t.Fatalf("bad entry: %d", code)
	}
	wants(t, "refused form", page, "La fiche n'a pas été enregistrée", `href="#titre"`, `href="#texte"`, `href="#competence"`,
		`href="#territoire"`, `href="#revoir"`, "Donnez un titre à la fiche.", "Le texte est trop long : 10000 caractères au plus",
		"Choisissez une compétence de la liste", "Choisissez un territoire de la liste", "La date de relecture est passée",
		`id="texte-erreur"`, `aria-describedby="texte-erreur texte-aide" aria-invalid="true"`, ">MARQUEUR x", `value="2020-01-01"`, "<title>Erreur – Nouvelle fiche")
	code, page, _ = nadia.post(form, "/bo/connaissances", url.Values{"titre": {"Collecte"}, "texte": {"Texte"}, "revoir": {"31/02/2027"}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(page, "La date de relecture n&#39;est pas une date") {
		t.Fatalf("bad date: %d", code)
	}
	if n := testkit.Count(t, d.st.DBURL, `SELECT count(*) FROM knowledge_entries`); n != 0 {
		t.Fatalf("%d entries stored from refused forms", n)
	}

	// A good one, typed as a browser without a date field would.
	review := knowledge.Today(time.Now()).AddDate(0, 6, 0)
	code, page, loc := nadia.post(form, "/bo/connaissances", url.Values{"titre": {"Collecte des encombrants"},
		"texte":      {"Les encombrants sont enlevés sur rendez-vous.\r\n\r\nPrenez rendez-vous au [numéro à compléter]."},
		"competence": {"dechets"}, "territoire": {""}, "revoir": {review.Format("02/01/2006")}})
	m := entryLink.FindStringSubmatch(loc)
	if code != 200 || m == nil {
		t.Fatalf("create: %d %s\n%s", code, loc, page)
	}
	id := m[1]
	wants(t, "entry page", page, "Fiche créée", "<h1>Collecte des encombrants</h1>", "<p>Les encombrants sont enlevés sur rendez-vous.</p>",
		"<p>Prenez rendez-vous au [numéro à compléter].</p>", "Déchets", "Tous territoires", "par nadia", "0 appel répondu")

	_, page, _ = nadia.get("/bo/connaissances?q=" + url.QueryEscape("ENCOMBRANT"))
	wants(t, "search", page, `href="/bo/connaissances/`+id+`"`, "1 fiche pour « ENCOMBRANT »")
	_, page, _ = nadia.get("/bo/connaissances?q=piscine")
	wants(t, "search without match", page, "Aucune fiche pour « piscine »")

	// Edit; an edit made from the first version afterwards is caught.
	_, edit, _ := nadia.get("/bo/connaissances/" + id + "/modifier")
	wants(t, "edit form", edit, `name="version" value="1"`, `value="Collecte des encombrants"`, `<option value="dechets" selected>`)
	code, page, _ = nadia.post(edit, "/bo/connaissances/"+id, url.Values{"version": {"1"}, "titre": {"Encombrants : collecte sur rendez-vous"},
		"texte": {"Texte revu."}, "competence": {"dechets"}, "revoir": {review.Format(time.DateOnly)}})
	if code != 200 {
		t.Fatalf("update: %d\n%s", code, page)
	}
	wants(t, "updated entry", page, "Modifications enregistrées.", "Encombrants : collecte sur rendez-vous", "Texte revu.")
	code, page, _ = nadia.post(edit, "/bo/connaissances/"+id, url.Values{"version": {"1"}, "titre": {"Ma version"}, "texte": {"Mon texte à moi."},
		"revoir": {review.Format(time.DateOnly)}})
	if code != http.StatusConflict {
		t.Fatalf("stale update: %d", code)
	}
	wants(t, "conflict", page, "a été modifiée par nadia", `value="Ma version"`, ">Mon texte à moi.</textarea>", `name="version" value="2"`, "Version enregistrée par nadia", "Texte revu.")

	// Archive, then restore.
	_, entry, _ := nadia.get("/bo/connaissances/" + id)
	code, page, _ = nadia.post(entry, "/bo/connaissances/"+id+"/archiver", url.Values{})
	if code != 200 {
		t.Fatalf("archive: %d", code)
	}
	wants(t, "archived", page, "Fiche archivée : elle n&#39;est plus proposée", "Remettre en service")
	_, page, _ = nadia.get("/bo/connaissances")
	if strings.Contains(page, `href="/bo/connaissances/`+id+`"`) {
		t.Error("an archived entry in the list")
	}
	_, page, _ = nadia.get("/bo/connaissances?archives=1")
	wants(t, "archive list", page, `href="/bo/connaissances/`+id+`"`, "Réponses types archivées")
	code, page, _ = nadia.post(page, "/bo/connaissances/"+id+"/restaurer", url.Values{})
	if code != 200 || !strings.Contains(page, "Fiche remise en service") {
		t.Fatalf("restore: %d", code)
	}

	log, err := d.st.Auth.AuditLog(ctx, auth.AuditFilter{Action: "knowledge."}, 10)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range log {
		actions = append(actions, e.Action)
		if e.Actor != "nadia" || e.Target != "fiche "+id {
			t.Errorf("audit entry %+v", e)
		}
	}
	if strings.Join(actions, ",") != "knowledge.restore,knowledge.archive,knowledge.update,knowledge.create" {
		t.Errorf("audit: %v", actions)
	}

	// An entry past its review date, answered twice.
	old, err := d.kb.Create(ctx, knowledge.Draft{Title: "Badge des déchetteries", Text: "À revoir.", ReviewOn: knowledge.Today(time.Now()).AddDate(0, 0, -2)}, "nadia")
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := d.kb.RecordUse(ctx, knowledge.Use{Entry: old.ID, Agent: "ines", Channel: knowledge.ChannelPhone}); err != nil {
			t.Fatal(err)
		}
	}
	_, page, _ = nadia.get("/bo/connaissances?a_revoir=1")
	row := regexp.MustCompile(`(?s)<tr>\s*<td>.*?</tr>`).FindAllString(page, -1)
	if len(row) != 1 || !strings.Contains(row[0], "Badge des déchetteries") || !strings.Contains(row[0], "à revoir") || !strings.Contains(row[0], `<td class="nombre">2</td>`) {
		t.Errorf("entries due: %q", row)
	}
	_, page, _ = nadia.get("/bo/connaissances/" + itoa(old.ID))
	wants(t, "entry due", page, "La date de relecture est passée", "2 appels répondus avec cette fiche")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestDeskRefuses: every route refuses whoever may not use it — nobody
// signed in is sent to sign in, a role without the permission gets the
// 403 page, an unknown or malformed entry the 404 page — and oversized or
// malformed input a French 4xx with nothing stored.
func TestDeskRefuses(t *testing.T) {
	d := serve(t, nil)
	ctx := context.Background()
	e, err := d.kb.Create(ctx, knowledge.Draft{Title: "Stationnement résidentiel", Text: "Carte de résident.", ReviewOn: knowledge.Today(time.Now()).AddDate(1, 0, 0)}, "nadia")
	if err != nil {
		t.Fatal(err)
	}
	id := itoa(e.ID)
	nobody := d.anonymous(t)
	for _, path := range []string{"/bo/connaissances", "/bo/connaissances/" + id, "/bo/connaissances/nouvelle", "/bo/connaissances/" + id + "/modifier"} {
		if code, _, loc := nobody.get(path); code != http.StatusFound || loc != auth.LoginPath+"?retour="+url.QueryEscape(path) {
			t.Errorf("nobody GET %s: %d %s", path, code, loc)
		}
	}
	for _, path := range []string{"/bo/connaissances", "/bo/connaissances/" + id, "/bo/connaissances/" + id + "/archiver", "/bo/connaissances/" + id + "/restaurer"} {
		if code, _, loc := nobody.post("", path, url.Values{"titre": {"x"}}); code != http.StatusSeeOther || loc != auth.LoginPath {
			t.Errorf("nobody POST %s: %d %s", path, code, loc)
		}
	}

	marc := d.signIn(t, "marc") // the mailroom reads no answers
	if code, page, _ := marc.get("/bo/connaissances"); code != http.StatusForbidden || !strings.Contains(page, "Accès refusé") {
		t.Errorf("mailroom on the list: %d", code)
	}
	for _, login := range []string{"ines", "julie"} { // they read, they do not write
		p := d.signIn(t, login)
		code, list, _ := p.get("/bo/connaissances")
		if code != 200 || !strings.Contains(list, "Stationnement résidentiel") || strings.Contains(list, "Nouvelle fiche") {
			t.Errorf("%s on the list: %d", login, code)
		}
		code, page, _ := p.get("/bo/connaissances/" + id)
		if code != 200 || strings.Contains(page, "/archiver") || strings.Contains(page, "/modifier") {
			t.Errorf("%s on the entry: %d", login, code)
		}
		for _, path := range []string{"/bo/connaissances/nouvelle", "/bo/connaissances/" + id + "/modifier"} {
			if code, page, _ := p.get(path); code != http.StatusForbidden || !strings.Contains(page, "Accès refusé") {
				t.Errorf("%s GET %s: %d", login, path, code)
			}
		}
		for _, path := range []string{"/bo/connaissances", "/bo/connaissances/" + id, "/bo/connaissances/" + id + "/archiver"} {
			if code, _, _ := p.post(list, path, url.Values{"titre": {"x"}, "texte": {"y"}, "revoir": {"2027-01-01"}}); code != http.StatusForbidden {
				t.Errorf("%s POST %s: %d", login, path, code)
			}
		}
	}

	nadia := d.signIn(t, "nadia")
	_, list, _ := nadia.get("/bo/connaissances")
	for _, path := range []string{"/bo/connaissances/987654", "/bo/connaissances/abc", "/bo/connaissances/0", "/bo/connaissances/-3",
		"/bo/connaissances/1234567890123456789012", "/bo/connaissances/987654/modifier", "/bo/connaissances/" + id + "/inconnu", "/bo/connaissances/a/b/c"} {
		if code, page, _ := nadia.get(path); code != http.StatusNotFound || !strings.Contains(page, "Page introuvable") {
			t.Errorf("GET %s: %d", path, code)
		}
	}
	for _, path := range []string{"/bo/connaissances/987654", "/bo/connaissances/987654/archiver", "/bo/connaissances/987654/restaurer", "/bo/connaissances/x/archiver"} {
		if code, page, _ := nadia.post(list, path, url.Values{"version": {"1"}, "titre": {"x"}, "texte": {"y"}, "revoir": {"2027-01-01"}}); code != http.StatusNotFound || !strings.Contains(page, "Page introuvable") {
			t.Errorf("POST %s: %d", path, code)
		}
	}
	if code, page, _ := nadia.get("/bo/connaissances?q=" + strings.Repeat("mot+", 600)); code != http.StatusRequestEntityTooLarge || !strings.Contains(page, "La recherche est trop longue") ||
		!strings.Contains(page, `aria-invalid="true"`) {
		t.Errorf("oversized search: %d", code)
	}
	if code, page, _ := nadia.get("/bo/connaissances?q=a%00b"); code != http.StatusBadRequest || !strings.Contains(page, "caractères non permis") {
		t.Errorf("NUL in the search: %d", code)
	}
	if code, page, _ := nadia.post(list, "/bo/connaissances", url.Values{"titre": {strings.Repeat("é", knowledge.MaxTitle+1)}, "texte": {"y"},
		"revoir": {"2027-01-01"}}); code != http.StatusRequestEntityTooLarge || !strings.Contains(page, "Le titre est trop long") {
		t.Errorf("oversized title: %d", code)
	}
	if code, page, _ := nadia.post(list, "/bo/connaissances", url.Values{"titre": {"a\x00b"}, "texte": {"y\x01"}, "revoir": {"2027-01-01"}}); code != http.StatusUnprocessableEntity ||
		!strings.Contains(page, "Le titre contient des caractères non permis") || !strings.Contains(page, "Le texte contient des caractères non permis") {
		t.Errorf("control characters: %d", code)
	}
	if code, page, _ := nadia.post(list, "/bo/connaissances/"+id, url.Values{"version": {"pas un nombre"}, "titre": {"x"}, "texte": {"y"},
		"revoir": {knowledge.Today(time.Now()).Format(time.DateOnly)}}); code != http.StatusConflict || !strings.Contains(page, "a été modifiée") {
		t.Errorf("malformed version: %d", code)
	}
	// Without the CSRF token, or from another site: refused.
	if code, _, _ := nadia.post("", "/bo/connaissances/"+id+"/archiver", url.Values{}); code != http.StatusForbidden {
		t.Errorf("no CSRF token: %d", code)
	}
	req, _ := http.NewRequest("POST", d.srv.URL+"/bo/connaissances/"+id+"/archiver", strings.NewReader(auth.CSRFField+"="+csrfField.FindStringSubmatch(list)[1]))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if resp, err := nadia.client.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site post: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	// A body far over any entry: refused, in French.
	code, page, _ := nadia.post(list, "/bo/connaissances", url.Values{"titre": {"x"}, "texte": {strings.Repeat("y", 2<<20)}, "revoir": {"2027-01-01"}})
	if code < 400 || code > 499 || !strings.Contains(page, "Formulaire") && !strings.Contains(page, "trop") {
		t.Errorf("huge body: %d", code)
	}
	got, err := d.kb.Get(ctx, e.ID)
	if err != nil || got.Version != 1 || got.Archived {
		t.Errorf("the entry changed: %+v %v", got, err)
	}
	if n := testkit.Count(t, d.st.DBURL, `SELECT count(*) FROM knowledge_entries`); n != 1 {
		t.Errorf("%d entries", n)
	}
}

func password(login string) string { return "mot-de-passe-" + login }
