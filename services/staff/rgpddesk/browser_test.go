package rgpddesk_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/deadline"
	"github.com/ampmetropole/guichet/services/platform/frtime"
	"github.com/ampmetropole/guichet/services/staff/auth"
	"github.com/ampmetropole/guichet/services/testkit/browser"
)

// TestBrowserDPOPages, in a real Chromium and by the keyboard's forms: the
// DPO finds the person by e-mail, reads their data, asks to erase them
// (refused while the case is open: the form's errors first), holds and
// releases the case, simulates the schedule and reads the register. Every
// page — with its errors too — has no WCAG 2.1 A/AA violation (axe-core)
// and does not scroll sideways at 640 px.
func TestBrowserDPOPages(t *testing.T) {
	d := serve(t)
	b := browser.Start(t, 1280, 900)
	check := func(what string) {
		t.Helper()
		browser.AssertAccessible(t, b, what)
		browser.AssertReflows(t, b, what, 640)
	}
	if err := chromedp.Do(b, chromedp.Navigate(d.srv.URL+auth.LoginPath+"?retour="+url.QueryEscape("/bo/rgpd")), chromedp.WaitVisible(chromedp.ID("identifiant")),
		chromedp.SendKeys(chromedp.ID("identifiant"), "dpd"), chromedp.SendKeys(chromedp.ID("mot-de-passe"), password("dpd")),
		chromedp.Submit(chromedp.ID("mot-de-passe")), chromedp.WaitVisible(chromedp.ID("valeur"))); err != nil {
		t.Fatalf("sign in: %v", err)
	}
	check("DPO desk")

	// A search refused, then the person found.
	if err := chromedp.Do(b, chromedp.Click(chromedp.CSS(`form.recherche button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`#valeur[aria-invalid=true]`))); err != nil {
		t.Fatalf("empty search: %v", err)
	}
	check("DPO desk, search with an error")
	if err := chromedp.Do(b, chromedp.SendKeys(chromedp.ID("valeur"), email), chromedp.Click(chromedp.CSS(`form.recherche button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/bo/rgpd/effacement"]`))); err != nil {
		t.Fatalf("search: %v", err)
	}
	text, err := chromedp.Run(b, chromedp.Text(chromedp.CSS("main")))
	if err != nil || !strings.Contains(text, "Devant le 37 impasse des Tamaris-Bleus.") || !strings.Contains(text, d.open) {
		t.Fatalf("the person's page: %v\n%s", err, text)
	}
	check("a person's data")

	// The erasure: its errors, then refused.
	if err := chromedp.Do(b, chromedp.Click(chromedp.CSS(`form[action="/bo/rgpd/effacement"] button`)), chromedp.WaitVisible(chromedp.ID("motif")),
		chromedp.Click(chromedp.CSS(`form[action="/bo/rgpd/effacer"] button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`#motif[aria-invalid=true]`))); err != nil {
		t.Fatalf("erasure form: %v", err)
	}
	check("erasure confirmation with errors")
	if err := chromedp.Do(b, chromedp.SendKeys(chromedp.ID("motif"), "demande du 3 mars"), chromedp.Click(chromedp.ID("confirmation")),
		chromedp.Click(chromedp.CSS(`form[action="/bo/rgpd/effacer"] button[type=submit]`)), chromedp.WaitNotPresent(chromedp.ID("confirmation"))); err != nil {
		t.Fatalf("erasure refused: %v", err)
	}
	if h1, err := chromedp.Run(b, chromedp.Text(chromedp.CSS("h1"))); err != nil || h1 != "Effacement refusé" {
		t.Fatalf("after the erasure: %q %v", h1, err)
	}
	check("erasure refused")

	// A hold and its release.
	if err := chromedp.Do(b, chromedp.Navigate(d.srv.URL+"/bo/rgpd"), chromedp.WaitVisible(chromedp.ID("gel-dossier")),
		chromedp.SendKeys(chromedp.ID("gel-dossier"), d.open), chromedp.SendKeys(chromedp.ID("gel-motif"), "recours n° 27-0042"),
		chromedp.Submit(chromedp.ID("gel-motif")), chromedp.WaitVisible(chromedp.ID("lever-"+d.open))); err != nil {
		t.Fatalf("hold: %v", err)
	}
	check("DPO desk with a hold")
	if err := chromedp.Do(b, chromedp.Submit(chromedp.ID("lever-"+d.open)), chromedp.WaitVisible(chromedp.CSS(`#lever-`+d.open+`[aria-invalid=true]`))); err != nil {
		t.Fatalf("release without a reason: %v", err)
	}
	check("DPO desk, release with an error")

	// The simulation and the register.
	if _, err := d.st.Store.Transition(context.Background(), casestore.TransitionRequest{Ref: d.open, To: "rejected", Role: auth.RoleTeam,
		Change: casestore.Change{Actor: "julie", Reason: "hors sujet"}}, deadline.New(frtime.Paris())); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(b, chromedp.SendKeys(chromedp.ID("lever-"+d.open), "recours rejeté"), chromedp.Submit(chromedp.ID("lever-"+d.open)),
		chromedp.WaitVisible(chromedp.CSS(`.succes`)), chromedp.SetValue(chromedp.ID("simulation-date"), "2040-01-01"),
		chromedp.Submit(chromedp.ID("simulation-date")), chromedp.WaitVisible(chromedp.CSS(`ul.references`))); err != nil {
		t.Fatalf("simulation: %v", err)
	}
	check("retention simulation")
	if err := chromedp.Do(b, chromedp.Navigate(d.srv.URL+"/bo/rgpd/registre"), chromedp.WaitVisible(chromedp.CSS(`details`))); err != nil {
		t.Fatalf("register: %v", err)
	}
	check("register of processing")
}
