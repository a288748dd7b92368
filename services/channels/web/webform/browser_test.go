package webform_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/testkit"
	testbrowser "github.com/ampmetropole/guichet/services/testkit/browser"
)

// browser starts a headless Chromium for the test, phone-sized.
func browser(t *testing.T) context.Context {
	t.Helper()
	return testbrowser.Start(t, 412, 915)
}

// text reads the text of the element with that id.
func text(t *testing.T, ctx context.Context, id string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID(id)))
	if err != nil {
		t.Fatalf("text of #%s: %v", id, err)
	}
	return strings.TrimSpace(s)
}

// TestBrowserSubmitFollowAndAddMessage is what a citizen does: fill in the
// form on a phone-sized screen, attach a photo, send, read the tracking code,
// follow the request to its case and team, and add a message to it.
func TestBrowserSubmitFollowAndAddMessage(t *testing.T) {
	b := setup(t, options{})
	ctx := browser(t)
	photoPath := filepath.Join(t.TempDir(), "nid-de-poule.jpg")
	if err := os.WriteFile(photoPath, jpegPhoto(t), 0o644); err != nil {
		t.Fatal(err)
	}

	err := chromedp.Do(ctx,
		chromedp.Navigate(b.srv.URL+"/demande"),
		chromedp.WaitVisible(chromedp.ID("objet")),
		chromedp.SetValue(chromedp.ID("competence"), "voirie"),
		chromedp.SendKeys(chromedp.ID("objet"), "Nid-de-poule rue Paradis"),
		chromedp.SendKeys(chromedp.ID("description"), "Un trou profond devant le 112 rue Paradis."),
		chromedp.SendKeys(chromedp.ID("adresse"), "112 rue Paradis"),
		chromedp.SendKeys(chromedp.ID("code_postal"), "13600"), // La Ciotat and Ceyreste: the script narrows the list
	)
	if err != nil {
		t.Fatal(err)
	}
	visible, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll('#commune option')).filter(o => o.value && !o.disabled).map(o => o.textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(visible, ",") != "Ceyreste,La Ciotat" {
		t.Errorf("communes offered for 13600: %v", visible)
	}
	err = chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("commune"), "13028"), // La Ciotat
		chromedp.SendKeys(chromedp.ID("nom"), "Léa Martinez"),
		chromedp.SendKeys(chromedp.ID("email"), "lea.martinez@example.net"),
		chromedp.Click(chromedp.ID("reponse-email")),
		chromedp.SetUploadFiles(chromedp.ID("fichiers"), []string{photoPath}),
		chromedp.Click(chromedp.CSS(`form[action="/demande"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("code-suivi")),
	)
	if err != nil {
		t.Fatal(err)
	}
	code := text(t, ctx, "code-suivi")
	if !codeInLocation.MatchString("/demande/accuse/" + code) {
		t.Fatalf("tracking code on the receipt: %q", code)
	}

	tr := waitCase(t, b, code)
	if len(tr.Request.Attachments) != 1 || tr.Request.Attachments[0].Name != "nid-de-poule.jpg" {
		t.Fatalf("attachments %+v", tr.Request.Attachments)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`a[href="/suivi/`+code+`"]`)),
		chromedp.WaitVisible(chromedp.ID("reference")),
	); err != nil {
		t.Fatal(err)
	}
	if ref, team := text(t, ctx, "reference"), text(t, ctx, "equipe"); ref != tr.Case.Ref || team != "Direction de la voirie" {
		t.Fatalf("status page shows case %q team %q, want %q and the road service", ref, team, tr.Case.Ref)
	}

	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("message"), "Le trou s'est agrandi depuis hier."),
		chromedp.Click(chromedp.CSS(`form[action="/suivi/`+code+`"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".succes")),
	); err != nil {
		t.Fatal(err)
	}
	confirmation, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".succes")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(confirmation, "ajouté à votre dossier") {
		t.Errorf("confirmation: %q", confirmation)
	}
	var c casestore.Case
	testkit.Eventually(t, 10*time.Second, "follow-up in the same case", func() bool {
		c, _ = b.store.Case(context.Background(), tr.Case.Ref)
		return len(c.Events) == 2
	})
}

// TestBrowserErrorSummaryTakesFocus checks the keyboard path of a mistake:
// the summary gets the focus and its link leads to the field.
func TestBrowserErrorSummaryTakesFocus(t *testing.T) {
	b := setup(t, options{})
	ctx := browser(t)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(b.srv.URL+"/demande"),
		chromedp.WaitVisible(chromedp.ID("objet")),
		chromedp.SendKeys(chromedp.ID("objet"), "Lampadaire éteint"),
		chromedp.Click(chromedp.CSS(`form[action="/demande"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("erreurs")),
	); err != nil {
		t.Fatal(err)
	}
	focused, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.id`))
	if err != nil {
		t.Fatal(err)
	}
	if focused != "erreurs" {
		t.Errorf("focus after a failed submit is on %q, want the error summary", focused)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#erreurs a[href="#description"]`))); err != nil {
		t.Fatal(err)
	}
	afterLink, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.id`))
	if err != nil {
		t.Fatal(err)
	}
	if afterLink != "description" {
		t.Errorf("the summary link led the focus to %q", afterLink)
	}
	if kept, _ := chromedp.Run(ctx, chromedp.Value(chromedp.ID("objet"))); kept != "Lampadaire éteint" {
		t.Errorf("the subject typed was not kept: %q", kept)
	}
}
