package webhookdesk_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/outbound/webhook"
	"github.com/ampmetropole/guichet/services/staff/auth"
	"github.com/ampmetropole/guichet/services/staff/webhookdesk"
	"github.com/ampmetropole/guichet/services/testkit"
	"github.com/ampmetropole/guichet/services/testkit/browser"
)

// TestBrowserWebhookPages, in a real Chromium and without JavaScript of
// ours: an admin opens the empty list, sends the form empty (its errors
// first), subscribes the partner, reads the secret once, sees the
// delivery die while the partner is away and the list say so. Every page
// has no WCAG 2.1 A/AA violation (axe-core) and does not scroll sideways
// at 640 px (200 % zoom of a 1280 px window).
func TestBrowserWebhookPages(t *testing.T) {
	d := serve(t)
	b := browser.Start(t, 1280, 900)
	check := func(what string) {
		t.Helper()
		browser.AssertAccessible(t, b, what)
		browser.AssertReflows(t, b, what, 640)
	}
	if err := chromedp.Do(b, chromedp.Navigate(d.srv.URL+auth.LoginPath+"?retour="+url.QueryEscape(webhookdesk.Base)), chromedp.WaitVisible(chromedp.ID("identifiant")),
		chromedp.SendKeys(chromedp.ID("identifiant"), "root"), chromedp.SendKeys(chromedp.ID("mot-de-passe"), password("root")),
		chromedp.Submit(chromedp.ID("mot-de-passe")), chromedp.WaitVisible(chromedp.CSS(`a[href="/bo/webhooks/nouveau"]`))); err != nil {
		t.Fatalf("sign in: %v", err)
	}
	check("the empty list")

	if err := chromedp.Do(b, chromedp.Click(chromedp.CSS(`a[href="/bo/webhooks/nouveau"]`)), chromedp.WaitVisible(chromedp.ID("nom"))); err != nil {
		t.Fatalf("the form: %v", err)
	}
	check("the form")
	if err := chromedp.Do(b, chromedp.SendKeys(chromedp.ID("url"), "http://partenaire.example.fr/"), chromedp.SendKeys(chromedp.ID("communes"), "Lyon"),
		chromedp.Click(chromedp.CSS(`form.formulaire-fiche button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`#url[aria-invalid=true]`))); err != nil {
		t.Fatalf("the form with errors: %v", err)
	}
	check("the form with errors")

	if err := chromedp.Do(b, chromedp.SendKeys(chromedp.ID("nom"), "Mairie d'Aix – voirie"), chromedp.SetValue(chromedp.ID("url"), d.partner.srv.URL+"/guichet"),
		chromedp.SetValue(chromedp.ID("communes"), "Aix-en-Provence"), chromedp.Click(chromedp.ID("competence-voirie")), chromedp.Click(chromedp.ID("evenement-created")),
		chromedp.Click(chromedp.CSS(`form.formulaire-fiche button[type=submit]`)), chromedp.WaitVisible(chromedp.ID("secret"))); err != nil {
		t.Fatalf("creation: %v", err)
	}
	secret, err := chromedp.Run(b, chromedp.Value(chromedp.ID("secret")))
	if err != nil || !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("the secret: %q %v", secret, err)
	}
	check("the secret, shown once")

	ref, _ := d.st.Route(t, schemas.Request{Channel: schemas.ChannelWeb, Subject: "Nid-de-poule", Body: "Rue Espariat.",
		Hints: &schemas.Hints{Competence: "voirie"}, Location: &schemas.Location{CommuneINSEE: "13001"}})
	subs, err := d.store.Subscriptions(context.Background())
	if err != nil || len(subs) != 1 {
		t.Fatalf("%v %v", subs, err)
	}
	testkit.Eventually(t, 20*time.Second, "the delivery dead", func() bool {
		ds, err := d.store.Deliveries(context.Background(), subs[0].ID, webhook.StatusDead, 10)
		return err == nil && len(ds) == 1
	})
	if err := chromedp.Do(b, chromedp.Click(chromedp.CSS(`a.bouton[href^="/bo/webhooks/"]`)), chromedp.WaitVisible(chromedp.ID("abandonnes")),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/relancer"] button`))); err != nil {
		t.Fatalf("the subscription: %v", err)
	}
	text, err := chromedp.Run(b, chromedp.Text(chromedp.CSS("main")))
	if err != nil || !strings.Contains(text, ref) || strings.Contains(text, secret) {
		t.Fatalf("the subscription's page: %v\n%s", err, text)
	}
	check("a subscription with a dead delivery")

	d.partner.mu.Lock()
	d.partner.secret = secret
	d.partner.mu.Unlock()
	d.partner.up.Store(true)
	if err := chromedp.Do(b, chromedp.Click(chromedp.CSS(`form[action$="/relancer"] button`)), chromedp.WaitVisible(chromedp.CSS(`.succes`))); err != nil {
		t.Fatalf("« Relancer »: %v", err)
	}
	check("after « Relancer »")
	testkit.Eventually(t, 10*time.Second, "the delivery sent again", func() bool { return len(d.partner.received()) == 1 })

	if err := chromedp.Do(b, chromedp.Navigate(d.srv.URL+webhookdesk.Base), chromedp.WaitVisible(chromedp.CSS(`table`))); err != nil {
		t.Fatalf("the list: %v", err)
	}
	check("the list")
}
