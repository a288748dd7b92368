package backoffice_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/ampmetropole/guichet/services/staff/auth"
	"github.com/ampmetropole/guichet/services/testkit/browser"
)

// signInBrowser signs login in through the sign-in page.
func signInBrowser(t *testing.T, b context.Context, base, login string) {
	t.Helper()
	if err := chromedp.Do(b, chromedp.Navigate(base+"/bo/"), chromedp.WaitVisible(chromedp.ID("identifiant")),
		chromedp.SendKeys(chromedp.ID("identifiant"), login), chromedp.SendKeys(chromedp.ID("mot-de-passe"), "mot-de-passe-"+login),
		chromedp.Submit(chromedp.ID("mot-de-passe")), chromedp.WaitVisible(chromedp.CSS(`form[action="/bo/deconnexion"]`))); err != nil {
		t.Fatalf("sign in as %s: %v", login, err)
	}
}

// TestBrowserAnswerFromATemplate is the walk: a team member opens
// a case, starts typing an answer, chooses a template — it goes in where
// the cursor is, without reloading the page, and what was typed stays —
// and sends it; the answer is in the case's history.
func TestBrowserAnswerFromATemplate(t *testing.T) {
	d := serveDesk(t)
	d.account(t, "voirie", "Paul Voirie", auth.RoleTeam, []string{"voirie"}, nil)
	c := d.roadCases(t)
	b := browser.Start(t, 1280, 900)
	signInBrowser(t, b, d.srv.URL, "voirie")
	typed := "Une équipe passera mardi matin."
	if err := chromedp.Do(b,
		chromedp.Navigate(d.srv.URL+"/bo/dossiers/"+c.web),
		chromedp.WaitVisible(chromedp.ID("etat")),
		// The reply fold is one click away on a case just received.
		chromedp.Click(chromedp.CSS(`#agir-reponse > summary`)),
		chromedp.WaitVisible(chromedp.ID("message")),
		chromedp.SendKeys(chromedp.ID("message"), typed),
		chromedp.Evaluate[chromedp.Void](`window.memePage = true`),
		chromedp.SetValue(chromedp.ID("modele"), "prise-en-charge"),
		chromedp.Click(chromedp.CSS(`button[data-inserer]`)),
	); err != nil {
		t.Fatalf("browsing: %v", err)
	}
	type state struct {
		Message, Subject, Status string
		SamePage                 bool
		Focused                  string
	}
	st, err := chromedp.Run(b, chromedp.Evaluate[state](`({message: document.getElementById("message").value, subject: document.getElementById("objet").value,
		status: document.getElementById("modele-statut").textContent, samePage: window.memePage === true, focused: document.activeElement.id})`))
	if err != nil {
		t.Fatal(err)
	}
	template := "Bonjour Hélène Durand,\n\nVotre demande " + c.web + " a été examinée par la Direction de la voirie. Elle est prise en charge"
	if !st.SamePage {
		t.Error("inserting the template reloaded the page")
	}
	if !strings.HasPrefix(st.Message, typed+"\n\n"+template) || !strings.HasSuffix(st.Message, "Cordialement,\nDirection de la voirie") {
		t.Errorf("message after the template:\n%q", st.Message)
	}
	if st.Subject != "Prise en charge — dossier "+c.web || !strings.Contains(st.Status, "Modèle « Prise en charge » inséré") || st.Focused != "message" {
		t.Errorf("after the template: %+v", st)
	}
	if dir := os.Getenv("GUICHET_SCREENSHOTS"); dir != "" {
		if png, err := chromedp.Run(b, chromedp.FullScreenshot(100)); err == nil {
			_ = os.WriteFile(dir+"/dossier-reponse.png", png, 0o644)
		}
	}
	// The cursor sits after the template: what is typed next follows it.
	if err := chromedp.Do(b, browser.Press(" Merci.")); err != nil {
		t.Fatal(err)
	}
	if got, _ := chromedp.Run(b, chromedp.Value(chromedp.ID("message"))); !strings.HasSuffix(got, "Direction de la voirie Merci.") {
		t.Errorf("the cursor is not after the template: %q", got)
	}
	if err := chromedp.Do(b,
		chromedp.Click(chromedp.CSS(`#form-reponse button:not([data-inserer])`)),
		chromedp.WaitVisible(chromedp.CSS(`.succes`)),
	); err != nil {
		t.Fatalf("send: %v", err)
	}
	history, err := chromedp.Run(b, chromedp.TextContent(chromedp.CSS(`ol.chrono`)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(history, "réponse au demandeur") || !strings.Contains(history, typed) || !strings.Contains(history, "examinée par la Direction de la voirie") {
		t.Errorf("the answer is not in the history:\n%s", history)
	}
	cs, err := d.st.Store.Case(context.Background(), c.web)
	if err != nil {
		t.Fatal(err)
	}
	last := cs.Events[len(cs.Events)-1]
	if msg, _ := last.Data["message"].(string); last.Type != "replied" || !strings.HasPrefix(msg, typed+"\n\n"+template) {
		t.Errorf("last event %s: %q", last.Type, msg)
	}

	// Another action does not throw a reply being typed away: leaving the
	// page asks first, and staying keeps the text.
	dctx, cancel := context.WithCancel(b)
	defer cancel()
	asked := make(chan page.DialogType, 1)
	go func() {
		for e, err := range chromedp.Events(dctx, page.JavascriptDialogOpening) {
			if err != nil {
				return
			}
			select {
			case asked <- e.Type:
			default:
			}
			go func() {
				_, _ = chromedp.Call(b, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
			}()
		}
	}()
	draft := "Brouillon à ne pas perdre."
	if err := chromedp.Do(b,
		chromedp.Click(chromedp.CSS(`#agir-reponse > summary`)),
		chromedp.WaitVisible(chromedp.ID("message")),
		chromedp.SendKeys(chromedp.ID("message"), draft),
		chromedp.Click(chromedp.CSS(`#agir-etat > summary`)),
		chromedp.WaitVisible(chromedp.ID("vers")),
		chromedp.Click(chromedp.CSS(`form[action$="/etat"] button`)),
	); err != nil {
		t.Fatalf("change the state with a reply typed: %v", err)
	}
	select {
	case kind := <-asked:
		if kind != page.DialogTypeBeforeunload {
			t.Errorf("dialog %s", kind)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("leaving the page with a reply typed did not ask")
	}
	kept, err := chromedp.Run(b, chromedp.Evaluate[string](`document.getElementById("message").value + "|" + document.getElementById("etat").dataset.etat`))
	if err != nil || kept != draft+"|received" {
		t.Errorf("after staying: %q %v", kept, err)
	}
	_ = chromedp.Do(b, chromedp.Evaluate[chromedp.Void](`document.getElementById("message").value = ""`))
}

// TestBrowserCasePages holds the case page of a web report (place, photos,
// a PDF), a call (transcript) and a letter (scan beside its text) to
// axe-core's WCAG 2.1 A/AA rules with every fold open, to no sideways
// scrolling at 640 px, and to one screen's height or so at 1280 × 900.
func TestBrowserCasePages(t *testing.T) {
	d := serveDesk(t)
	d.account(t, "voirie", "Paul Voirie", auth.RoleTeam, []string{"voirie"}, nil)
	c := d.roadCases(t)
	b := browser.Start(t, 1280, 900)
	signInBrowser(t, b, d.srv.URL, "voirie")
	for _, tc := range []struct {
		name, ref string
		photos    int
		maxHeight int
	}{
		{"web case", c.web, 2, 1300},
		{"call", c.call, 0, 1300},
		{"letter", c.letter, 1, 1300},
	} {
		if err := chromedp.Do(b, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(d.srv.URL+"/bo/dossiers/"+tc.ref), chromedp.WaitVisible(chromedp.ID("etat"))); err != nil {
			t.Fatal(err)
		}
		// Thumbnails are shown, not just linked.
		deadline := time.Now().Add(10 * time.Second)
		for {
			n, err := chromedp.Run(b, chromedp.Evaluate[int](`Array.from(document.querySelectorAll("a.vignette img")).filter(i => i.complete && i.naturalWidth > 0).length`))
			if err != nil {
				t.Fatal(err)
			}
			if n == tc.photos {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d thumbnails shown, want %d", tc.name, n, tc.photos)
			}
			time.Sleep(100 * time.Millisecond)
		}
		height, err := chromedp.Run(b, chromedp.Evaluate[int](`document.documentElement.scrollHeight`))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d px high at 1280 × 900", tc.name, height)
		if height > tc.maxHeight {
			t.Errorf("%s: %d px high at 1280 × 900, want at most %d", tc.name, height, tc.maxHeight)
		}
		if dir := os.Getenv("GUICHET_SCREENSHOTS"); dir != "" {
			if png, err := chromedp.Run(b, chromedp.FullScreenshot(100)); err == nil {
				_ = os.WriteFile(dir+"/dossier-"+strings.ReplaceAll(tc.name, " ", "-")+".png", png, 0o644)
			}
		}
		browser.AssertReflows(t, b, tc.name, 640)
		// Every fold open, so that every form is checked.
		if err := chromedp.Do(b, chromedp.Evaluate[chromedp.Void](`document.querySelectorAll("details").forEach(d => { d.removeAttribute("name"); d.open = true; })`)); err != nil {
			t.Fatal(err)
		}
		browser.AssertAccessible(t, b, tc.name)
		browser.AssertReflows(t, b, tc.name+", every fold open", 640)
	}
}
