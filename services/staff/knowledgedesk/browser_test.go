package knowledgedesk_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ampmetropole/guichet/cmd/guichet/compose"
	"github.com/ampmetropole/guichet/services/cases/knowledge"
	"github.com/ampmetropole/guichet/services/channels/phone/console"
	"github.com/ampmetropole/guichet/services/channels/phone/telephony"
	"github.com/ampmetropole/guichet/services/language/extract"
	"github.com/ampmetropole/guichet/services/staff/auth"
	"github.com/ampmetropole/guichet/services/testkit"
	"github.com/ampmetropole/guichet/services/testkit/browser"
	"github.com/ampmetropole/guichet/services/testkit/stack"
)

// withConsole mounts the agent console, with the knowledge base and the
// router's classifier, as the composition root does.
func withConsole(t *testing.T) func(stack.Stack, *knowledge.Store, *http.ServeMux) {
	return func(st stack.Stack, kb *knowledge.Store, mux *http.ServeMux) {
		classifier, err := compose.LoadClassifier("", st.Catalogue)
		if err != nil {
			t.Fatal(err)
		}
		h, err := console.New(console.Deps{Store: st.Store, Calls: telephony.New(st.Intake, extract.New(st.Places), telephony.WithCompetences(st.Catalogue.Known)),
			Catalogue: st.Catalogue, CSRF: st.Auth.CSRFField, Viewer: st.Auth.Viewer, Audit: st.Auth.AuditCaller, Log: testkit.Logger(t),
			Agent:     func(r *http.Request) string { p, _ := auth.FromContext(r.Context()); return p.Name },
			Knowledge: kb, Suggest: compose.KnowledgeSuggest(classifier)})
		if err != nil {
			t.Fatal(err)
		}
		agentOnly := st.Auth.RequirePage(auth.PermAgentConsole)
		mux.Handle("/agent", agentOnly(h))
		mux.Handle("/agent/", agentOnly(h))
	}
}

// signInBrowser signs login in through the sign-in page, which leads to
// then.
func signInBrowser(t *testing.T, b context.Context, base, login, then string) {
	t.Helper()
	if err := chromedp.Do(b, chromedp.Navigate(base+auth.LoginPath+"?retour="+url.QueryEscape(then)), chromedp.WaitVisible(chromedp.ID("identifiant")),
		chromedp.SendKeys(chromedp.ID("identifiant"), login), chromedp.SendKeys(chromedp.ID("mot-de-passe"), password(login)),
		chromedp.Submit(chromedp.ID("mot-de-passe")), chromedp.WaitVisible(chromedp.CSS(`form[action="/bo/deconnexion"]`))); err != nil {
		t.Fatalf("sign in as %s: %v", login, err)
	}
}

// TestBrowserSupervisorWritesAgentAnswers, in a real Chromium: a
// supervisor writes an entry (the form refused once, its errors
// accessible), the list shows it; an agent types what the caller said in
// the call's summary, the console proposes the entry as it is typed, and
// the agent records "Répondu avec cette fiche" — counted, no case. The
// list, the form with its errors and the console's panel have no WCAG 2.1
// A/AA violation and do not scroll sideways at 640 px.
func TestBrowserSupervisorWritesAgentAnswers(t *testing.T) {
	d := serve(t, withConsole(t))
	sup := browser.Start(t, 1280, 900)
	signInBrowser(t, sup, d.srv.URL, "nadia", "/bo/connaissances")
	steps := []chromedp.Action[chromedp.Void]{
		chromedp.Navigate(d.srv.URL + "/bo/connaissances"),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/bo/connaissances/nouvelle"]`)),
		chromedp.Click(chromedp.CSS(`a[href="/bo/connaissances/nouvelle"]`)),
		chromedp.WaitVisible(chromedp.ID("titre")),
		chromedp.Click(chromedp.CSS(`form.formulaire-fiche button[type=submit]`)), // empty: refused
		chromedp.WaitVisible(chromedp.CSS(`#titre[aria-invalid=true]`)),
	}
	if err := chromedp.Do(sup, steps...); err != nil {
		t.Fatalf("supervisor, to the refused form: %v", err)
	}
	browser.AssertAccessible(t, sup, "new entry form with errors")
	browser.AssertReflows(t, sup, "new entry form with errors", 640)
	steps = []chromedp.Action[chromedp.Void]{
		chromedp.SendKeys(chromedp.ID("titre"), "Collecte des encombrants"),
		chromedp.SendKeys(chromedp.ID("texte"), "Les encombrants sont enlevés sur rendez-vous, devant le domicile.\n\nPrenez rendez-vous au [numéro à compléter]."),
		chromedp.SetValue(chromedp.ID("competence"), "dechets"),
		chromedp.Click(chromedp.CSS(`form.formulaire-fiche button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.succes`)),
	}
	if err := chromedp.Do(sup, steps...); err != nil {
		t.Fatalf("supervisor, writing the entry: %v", err)
	}
	browser.AssertAccessible(t, sup, "entry page")
	browser.AssertReflows(t, sup, "entry page", 640)
	if err := chromedp.Do(sup, chromedp.Navigate(d.srv.URL+"/bo/connaissances"), chromedp.WaitVisible(chromedp.CSS(`table.fiches`))); err != nil {
		t.Fatalf("supervisor, to the list: %v", err)
	}
	browser.AssertAccessible(t, sup, "knowledge list")
	browser.AssertReflows(t, sup, "knowledge list", 640)
	es, err := d.kb.List(context.Background(), knowledge.ListQuery{})
	if err != nil || len(es) != 1 || es[0].Competence != "dechets" || es[0].EditedBy != "nadia" {
		t.Fatalf("entries: %+v %v", es, err)
	}

	agent := browser.Start(t, 1280, 900)
	signInBrowser(t, agent, d.srv.URL, "ines", "/agent")
	steps = []chromedp.Action[chromedp.Void]{
		chromedp.Navigate(d.srv.URL + "/agent?caller=%2B33687654321"),
		chromedp.WaitVisible(chromedp.ID("resume")),
		chromedp.Click(chromedp.ID("resume")),
		chromedp.SendKeys(chromedp.ID("resume"), "Bonjour, je voudrais me débarrasser d'un vieux canapé"),
		// Proposed while the summary is typed (fiches.js), the page not
		// reloaded: the summary stays.
		chromedp.WaitVisible(chromedp.CSS(`#fiches-resultats article h3`)),
	}
	if err := chromedp.Do(agent, steps...); err != nil {
		t.Fatalf("agent, to the proposed entry: %v", err)
	}
	title, err := chromedp.Run(agent, chromedp.Text(chromedp.CSS(`#fiches-resultats article h3`)))
	if err != nil || title != "Collecte des encombrants" {
		t.Fatalf("proposed %q %v", title, err)
	}
	said, err := chromedp.Run(agent, chromedp.Text(chromedp.ID("fiches-etat")))
	if err != nil || !strings.Contains(said, "1 réponse type d'après le résumé") {
		t.Errorf("announced %q %v", said, err)
	}
	// The panel's own search answers in place too: what the agent typed
	// in the call form stays.
	steps = []chromedp.Action[chromedp.Void]{
		chromedp.SendKeys(chromedp.ID("fq"), "rendez-vous encombrants"),
		chromedp.Click(chromedp.CSS(`#fiches-recherche button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#fiches-resultats .origine`)),
	}
	if err := chromedp.Do(agent, steps...); err != nil {
		t.Fatalf("agent, searching: %v", err)
	}
	testkit.Eventually(t, 5*time.Second, "the question's results", func() bool {
		said, err := chromedp.Run(agent, chromedp.Text(chromedp.ID("fiches-etat")))
		return err == nil && strings.Contains(said, "1 réponse type pour votre question")
	})
	summary, err := chromedp.Run(agent, chromedp.Value(chromedp.ID("resume")))
	if err != nil || summary != "Bonjour, je voudrais me débarrasser d'un vieux canapé" {
		t.Errorf("the summary became %q %v", summary, err)
	}
	browser.AssertAccessible(t, agent, "console with the knowledge panel")
	browser.AssertReflows(t, agent, "console with the knowledge panel", 640)
	steps = []chromedp.Action[chromedp.Void]{
		chromedp.Click(chromedp.CSS(`#fiches-resultats form[action$="/reponse"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`#fiches .succes`)),
	}
	if err := chromedp.Do(agent, steps...); err != nil {
		t.Fatalf("agent, answering from the entry: %v", err)
	}
	notice, err := chromedp.Run(agent, chromedp.Text(chromedp.CSS(`#fiches .succes`)))
	if err != nil || !strings.Contains(notice, "« Collecte des encombrants »") {
		t.Errorf("notice %q %v", notice, err)
	}
	testkit.Eventually(t, 5*time.Second, "the use counted", func() bool {
		e, err := d.kb.Get(context.Background(), es[0].ID)
		return err == nil && e.Uses == 1
	})
	if n := testkit.Count(t, d.st.DBURL, `SELECT count(*) FROM requests`); n != 0 {
		t.Errorf("%d requests after a call answered from an entry", n)
	}
	// The supervisor sees it counted.
	if err := chromedp.Do(sup, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`table.fiches`))); err != nil {
		t.Fatal(err)
	}
	count, err := chromedp.Run(sup, chromedp.Text(chromedp.CSS(`table.fiches td.nombre`)))
	if err != nil || strings.TrimSpace(count) != "1" {
		t.Errorf("uses shown %q %v", count, err)
	}
}
