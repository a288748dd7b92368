package communedesk_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ampmetropole/guichet/services/staff/auth"
	"github.com/ampmetropole/guichet/services/testkit/browser"
)

// TestBrowserMairiePages, in a real Chromium: the front desk of Gardanne
// signs in, reads its dashboard, files a request for a citizen (the form's
// errors first), gets the receipt, and opens the case and the list. Every
// page has no WCAG 2.1 A/AA violation (axe-core) and does not scroll
// sideways at 640 px (a phone, or 200 % zoom).
func TestBrowserMairiePages(t *testing.T) {
	d := serve(t)
	_, _ = d.submit(t, gardanne, "13120", "Nid-de-poule", "Un nid-de-poule profond sur la chaussée avenue de la Libération.", "Hortense Valbonne")
	b := browser.Start(t, 1280, 900)
	check := func(what string) {
		t.Helper()
		browser.AssertAccessible(t, b, what)
		browser.AssertReflows(t, b, what, 640)
	}
	if err := chromedp.Do(b, chromedp.Navigate(d.srv.URL+auth.LoginPath+"?retour="+url.QueryEscape("/mairie")), chromedp.WaitVisible(chromedp.ID("identifiant")),
		chromedp.SendKeys(chromedp.ID("identifiant"), "gardanne"), chromedp.SendKeys(chromedp.ID("mot-de-passe"), password("gardanne")),
		chromedp.Submit(chromedp.ID("mot-de-passe")), chromedp.WaitVisible(chromedp.ID("chiffres"))); err != nil {
		t.Fatalf("sign in: %v", err)
	}
	check("mairie dashboard")

	if err := chromedp.Do(b, chromedp.Navigate(d.srv.URL+"/mairie/accueil"), chromedp.WaitVisible(chromedp.ID("description")),
		chromedp.Click(chromedp.CSS(`form.guichet button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`#description[aria-invalid=true]`))); err != nil {
		t.Fatalf("counter form with errors: %v", err)
	}
	check("counter form with errors")
	if err := chromedp.Do(b, chromedp.SendKeys(chromedp.ID("description"), "Dépôt sauvage de gravats au bout du chemin des Aires."),
		chromedp.SendKeys(chromedp.ID("nom"), "Marius Olive"), chromedp.SendKeys(chromedp.ID("courriel"), "marius.olive@example.net"),
		chromedp.Click(chromedp.CSS(`form.guichet button[type=submit]`)), chromedp.WaitVisible(chromedp.ID("recepisse-titre"))); err != nil {
		t.Fatalf("counter request: %v", err)
	}
	text, err := chromedp.Run(b, chromedp.Text(chromedp.CSS("main")))
	if err != nil || !strings.Contains(text, "Code de suivi") || !strings.Contains(text, "mairie de Gardanne") {
		t.Fatalf("receipt: %v\n%s", err, text)
	}
	check("counter receipt")

	if err := chromedp.Do(b, chromedp.Click(chromedp.CSS(`.recepisse a[href^="/mairie/dossiers/"]`)), chromedp.WaitVisible(chromedp.ID("historique"))); err != nil {
		t.Fatalf("case page: %v", err)
	}
	if text, err := chromedp.Run(b, chromedp.Text(chromedp.CSS("main"))); err != nil || !strings.Contains(text, "Marius Olive") {
		t.Fatalf("the counter request's case: %v\n%s", err, text)
	}
	check("mairie case page")
	if err := chromedp.Do(b, chromedp.Navigate(d.srv.URL+"/mairie/dossiers"), chromedp.WaitVisible(chromedp.CSS(`ul.filtres`))); err != nil {
		t.Fatalf("list: %v", err)
	}
	check("mairie case list")
}
