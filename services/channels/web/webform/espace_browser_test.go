package webform_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserSpace is "Mes demandes" in a real Chromium, phone-sized, each
// page and state held to zero axe-core violations (WCAG 2.1 A and AA) and
// to no sideways scroll at 320 px: from the header's link to the sign-in
// page (with an error, then right), the "link sent" page, the link read
// from the development outbox at /courriels, the confirmation, the list of
// Léa's requests by her address; her mobile added by SMS in the same
// browser, which lists her web, phone and letter requests together and
// never Bruno's call in her case; a used link; signing out; and the empty
// list of an address nobody gave.
func TestBrowserSpace(t *testing.T) {
	s := espSetup(t, espOptions{})
	q := espScene(t, s.st)
	ctx := browser(t)
	h1 := chromedp.WaitVisible(chromedp.CSS("h1"))
	location := func() string {
		t.Helper()
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimPrefix(loc, s.url)
	}
	shown := func() []string {
		t.Helper()
		hrefs, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
			`Array.from(document.querySelectorAll('#demandes h3 a')).map(a => a.getAttribute('href').replace('/suivi/', ''))`))
		if err != nil {
			t.Fatal(err)
		}
		return hrefs
	}
	// mailedLink reads the newest link e-mailed to an address on the
	// development outbox's page, as a developer would.
	mailedLink := func(to string) string {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(s.url+"/courriels"), h1); err != nil {
			t.Fatal(err)
		}
		href, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
			const row = Array.from(document.querySelectorAll('tbody tr')).find(r => r.cells[1].textContent.trim() === `+"`"+to+"`"+`);
			return row ? row.querySelector('a').getAttribute('href') : '';
		})()`))
		if err != nil || href == "" {
			t.Fatalf("no e-mail to %s on /courriels: %v", to, err)
		}
		if err := chromedp.Do(ctx, chromedp.Navigate(s.url+href), chromedp.WaitVisible(chromedp.CSS("pre.courriel"))); err != nil {
			t.Fatal(err)
		}
		body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("pre.courriel")))
		if err != nil {
			t.Fatal(err)
		}
		link := espLinkPattern.FindString(body)
		if link == "" {
			t.Fatalf("no link in the e-mail: %s", body)
		}
		return link
	}

	// From the header to the sign-in page.
	if err := chromedp.Do(ctx, chromedp.Navigate(s.url+"/"), h1,
		chromedp.Click(chromedp.CSS(`nav[aria-label="Menu principal"] a[href="/mes-demandes"]`)),
		chromedp.WaitVisible(chromedp.ID("adresse"))); err != nil {
		t.Fatal(err)
	}
	if l := location(); l != "/mes-demandes/connexion" {
		t.Fatalf("the header's link led to %s", l)
	}
	checked(t, ctx, "la connexion à Mes demandes")
	submit := chromedp.Click(chromedp.CSS(`form[action="/mes-demandes/connexion"] button[type=submit]`))
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("adresse"), "04 91 91 91 91"), submit, chromedp.WaitVisible(chromedp.ID("erreurs"))); err != nil {
		t.Fatal(err)
	}
	checked(t, ctx, "la connexion avec un numéro fixe refusé")
	sent := chromedp.WaitVisible(chromedp.ID("lien-envoye"))
	if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.ID("adresse"), "lea.martinez@example.net"), submit, sent); err != nil {
		t.Fatal(err)
	}
	if l := location(); l != "/mes-demandes/connexion/envoye?par=courriel" {
		t.Fatalf("after asking: %s", l)
	}
	checked(t, ctx, "le lien envoyé")

	link := mailedLink("lea.martinez@example.net")
	confirm := chromedp.Click(chromedp.ID("confirmer"))
	if err := chromedp.Do(ctx, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("confirmer"))); err != nil {
		t.Fatal(err)
	}
	checked(t, ctx, "la confirmation de connexion")
	if err := chromedp.Do(ctx, confirm, chromedp.WaitVisible(chromedp.ID("demandes"))); err != nil {
		t.Fatal(err)
	}
	checked(t, ctx, "la liste (par adresse e-mail)")
	if got := shown(); !sameSet(got, []string{q.web, q.letter}) {
		t.Errorf("by e-mail the list shows %v, want %s and %s", got, q.web, q.letter)
	}

	// Her mobile, by SMS, in the same browser: everything together.
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("ajout"), "06 12 34 56 78"),
		chromedp.Click(chromedp.ID("ajouter")), sent); err != nil {
		t.Fatal(err)
	}
	if l := location(); l != "/mes-demandes/connexion/envoye?par=sms" {
		t.Fatalf("after asking by SMS: %s", l)
	}
	checked(t, ctx, "le lien envoyé par SMS")
	texted := s.textedLinks(t, "+33612345678")
	if len(texted) != 1 {
		t.Fatalf("SMS links: %v", texted)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(texted[0]), chromedp.WaitVisible(chromedp.ID("confirmer"))); err != nil {
		t.Fatal(err)
	}
	checked(t, ctx, "la confirmation, déjà connectée")
	if err := chromedp.Do(ctx, confirm, chromedp.WaitVisible(chromedp.ID("demandes"))); err != nil {
		t.Fatal(err)
	}
	checked(t, ctx, "la liste (adresse et mobile)")
	got := shown()
	if !sameSet(got, []string{q.web, q.call, q.letter}) || slices.Contains(got, q.bruno) {
		t.Errorf("with both the list shows %v, want web %s, call %s, letter %s", got, q.web, q.call, q.letter)
	}
	page, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("demandes")))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"formulaire en ligne", "téléphone", "courrier", q.webRef} {
		if !strings.Contains(page, want) {
			t.Errorf("the list lacks %q", want)
		}
	}
	if strings.Contains(page, "Bruno") {
		t.Errorf("the list shows Bruno's call")
	}
	// Following an item leads to its status page.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#demandes a[href="/suivi/`+q.call+`"]`)), chromedp.WaitVisible(chromedp.ID("code-suivi"))); err != nil {
		t.Fatal(err)
	}
	if code := text(t, ctx, "code-suivi"); code != q.call {
		t.Errorf("the call's item led to %s", code)
	}

	// A link used already.
	if err := chromedp.Do(ctx, chromedp.Navigate(link), h1); err != nil {
		t.Fatal(err)
	}
	checked(t, ctx, "un lien déjà utilisé")

	// Signing out.
	if err := chromedp.Do(ctx, chromedp.Navigate(s.url+"/mes-demandes"), chromedp.WaitVisible(chromedp.ID("deconnexion")),
		chromedp.Click(chromedp.ID("deconnexion")), chromedp.WaitVisible(chromedp.ID("message-espace"))); err != nil {
		t.Fatal(err)
	}
	if l := location(); l != "/mes-demandes/deconnecte" {
		t.Fatalf("after signing out: %s", l)
	}
	checked(t, ctx, "la déconnexion")

	// An address nobody gave: the same way in, an empty list.
	if err := chromedp.Do(ctx, chromedp.Navigate(s.url+"/mes-demandes/connexion"), chromedp.WaitVisible(chromedp.ID("adresse")),
		chromedp.SendKeys(chromedp.ID("adresse"), "personne@example.net"), submit, sent); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(mailedLink("personne@example.net")), chromedp.WaitVisible(chromedp.ID("confirmer")),
		confirm, chromedp.WaitVisible(chromedp.ID("aucune"))); err != nil {
		t.Fatal(err)
	}
	checked(t, ctx, "la liste vide")
	if got := shown(); len(got) != 0 {
		t.Errorf("the empty list shows %v", got)
	}
}
