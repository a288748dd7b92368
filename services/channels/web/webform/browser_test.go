package webform_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/deadline"
	"github.com/ampmetropole/guichet/services/cases/lifecycle"
	"github.com/ampmetropole/guichet/services/platform/frtime"
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
	// The message is on the page at once, and the citizen still holds one
	// code: the page's is the one they had.
	if msgs := text(t, ctx, "messages"); !strings.Contains(msgs, "Le trou s'est agrandi depuis hier.") {
		t.Errorf("the message just sent is not among « Vos messages »: %q", msgs)
	}
	if shown := text(t, ctx, "code-suivi"); shown != code {
		t.Errorf("the page shows the code %q, want %q", shown, code)
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

// checked runs axe-core (WCAG 2.1 A and AA) on the page shown, and checks
// that it does not scroll sideways at 320 CSS pixels (a screen zoomed to
// 400 %).
func checked(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	testbrowser.AssertAccessible(t, ctx, page)
	testbrowser.AssertReflows(t, ctx, page, 320)
}

// TestBrowserEveryCitizenPageIsAccessible walks through every citizen page
// and state in a real Chromium, phone-sized, and holds each to zero axe-core
// violations: the footer pages, the 404, the form empty and with its
// errors, the acknowledgement, the find page with a wrong code, and the
// status page routed, with a reply, with a message refused then posted,
// after a merge, and waiting on the citizen.
func TestBrowserEveryCitizenPageIsAccessible(t *testing.T) {
	b := setup(t, options{rate: 1000})
	bg := context.Background()
	ctx := browser(t)
	photoPath, pdfPath := filepath.Join(t.TempDir(), "nid-de-poule.jpg"), filepath.Join(t.TempDir(), "plan.pdf")
	if err := os.WriteFile(photoPath, jpegPhoto(t), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pdfPath, []byte(minimalPDF), 0o644); err != nil {
		t.Fatal(err)
	}
	visit := func(path, page string, shown chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(b.srv.URL+path), shown); err != nil {
			t.Fatalf("%s: %v", page, err)
		}
		checked(t, ctx, page)
	}
	h1 := chromedp.WaitVisible(chromedp.CSS("h1"))

	visit("/", "l'accueil", h1)
	visit("/mentions-legales", "les mentions légales", h1)
	visit("/donnees-personnelles", "les données personnelles", h1)
	visit("/accessibilite", "la déclaration d'accessibilité", h1)
	visit("/nulle-part", "la page introuvable", h1)
	visit("/suivi", "la recherche d'une demande", chromedp.WaitVisible(chromedp.ID("code")))
	visit("/suivi?code=7KQ4-M2XD", "la recherche avec un code mal formé", chromedp.WaitVisible(chromedp.ID("erreurs")))
	visit("/suivi?code=ZZZZ-ZZZZ-ZZZY", "la recherche avec un code inconnu", chromedp.WaitVisible(chromedp.ID("erreurs")))

	submitForm := chromedp.Click(chromedp.CSS(`form[action="/demande"] button[type=submit]`))
	visit("/demande", "le formulaire vide", chromedp.WaitVisible(chromedp.ID("objet")))
	if err := chromedp.Do(ctx, submitForm, chromedp.WaitVisible(chromedp.ID("erreurs"))); err != nil {
		t.Fatal(err)
	}
	checked(t, ctx, "le formulaire avec ses erreurs")
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("competence"), "voirie"),
		chromedp.SendKeys(chromedp.ID("objet"), "Nid-de-poule rue Paradis"),
		chromedp.SendKeys(chromedp.ID("description"), "Un trou profond devant le 112 rue Paradis."),
		chromedp.SendKeys(chromedp.ID("adresse"), "112 rue Paradis"),
		chromedp.SendKeys(chromedp.ID("code_postal"), "13006"),
		chromedp.SendKeys(chromedp.ID("nom"), "Léa Martinez"),
		chromedp.SendKeys(chromedp.ID("email"), "lea.martinez@example.net"),
		chromedp.SetUploadFiles(chromedp.ID("fichiers"), []string{photoPath, pdfPath}),
		submitForm,
		chromedp.WaitVisible(chromedp.ID("code-suivi")),
	); err != nil {
		t.Fatal(err)
	}
	checked(t, ctx, "l'accusé de réception")
	code := text(t, ctx, "code-suivi")
	tr := waitCase(t, b, code)

	status := chromedp.WaitVisible(chromedp.ID("reference"))
	visit("/suivi/"+code, "la page de suivi (demande orientée, photo et PDF)", status)
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('.pieces img[alt="nid-de-poule.jpg"]').length`)); err != nil || n != 1 {
		t.Errorf("the photo's thumbnail: %d %v", n, err)
	}
	if _, err := b.store.Reply(bg, tr.Case.Ref, casestore.ReplyRequest{Channel: casestore.ReplyEmail, To: "lea.martinez@example.net",
		Message: "Une équipe passera jeudi.\nMerci de votre signalement."}, casestore.Change{Actor: "camille"}); err != nil {
		t.Fatal(err)
	}
	visit("/suivi/"+code, "la page de suivi avec une réponse", status)

	sendMessage := chromedp.Click(chromedp.CSS(`form[action="/suivi/` + code + `"] button[type=submit]`))
	if err := chromedp.Do(ctx, sendMessage, chromedp.WaitVisible(chromedp.ID("erreurs"))); err != nil {
		t.Fatal(err)
	}
	checked(t, ctx, "la page de suivi avec un message vide refusé")
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("message"), "Le trou s'est agrandi depuis hier."),
		sendMessage,
		chromedp.WaitVisible(chromedp.CSS(".succes")),
	); err != nil {
		t.Fatal(err)
	}
	checked(t, ctx, "la page de suivi après l'ajout d'un message")

	// Another citizen's case about the same hole, merged into Léa's: his
	// page tells him.
	other := validFields()
	other.Set("nom", "Bruno Roux")
	other.Set("email", "bruno.roux@example.org")
	other.Del("telephone")
	otherCode := submit(t, b, other, nil)
	otherRef := waitCase(t, b, otherCode).Case.Ref
	if otherRef == tr.Case.Ref {
		t.Fatal("the other citizen's request joined Léa's case: nothing to merge")
	}
	if _, err := b.store.Merge(bg, otherRef, tr.Case.Ref, casestore.Change{Actor: "camille", Reason: "même trou"}); err != nil {
		t.Fatal(err)
	}
	visit("/suivi/"+otherCode, "la page de suivi après un regroupement", chromedp.WaitVisible(chromedp.ID("regroupement")))

	cal := deadline.New(frtime.Paris())
	for _, to := range []struct{ state, on string }{{lifecycle.Qualified, ""}, {lifecycle.Waiting, "citizen"}} {
		if _, err := b.store.Transition(bg, casestore.TransitionRequest{Ref: tr.Case.Ref, To: to.state, Role: lifecycle.RoleTeam, WaitingOn: to.on,
			Change: casestore.Change{Actor: "camille", Reason: "photo de près demandée"}}, cal); err != nil {
			t.Fatal(err)
		}
	}
	visit("/suivi/"+code, "la page de suivi, délai suspendu", chromedp.WaitVisible(chromedp.ID("delai")))
	if s := text(t, ctx, "delai"); !strings.Contains(s, "nous attendons votre réponse") {
		t.Errorf("waiting on the citizen: %q", s)
	}
}

// TestBrowserKeyboardOnlyForm fills in and sends the form with the
// keyboard alone: Tab reaches every field and the submit button in reading
// order, a mistake brings the focus to the error summary, its link to the
// field, and the corrected form is sent with Enter.
func TestBrowserKeyboardOnlyForm(t *testing.T) {
	b := setup(t, options{})
	ctx := browser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(b.srv.URL+"/demande"), chromedp.WaitVisible(chromedp.ID("objet"))); err != nil {
		t.Fatal(err)
	}
	// focused names the focused element: its id, else a link's target,
	// else its tag (and type).
	focused := func() string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(e => !e ? "(rien)" : e.id || (e.getAttribute("href") ? "lien " + e.getAttribute("href") :
			e.tagName.toLowerCase() + (e.type ? " " + e.type : "")))(document.activeElement)`))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	press := func(keys string) string {
		t.Helper()
		if err := chromedp.Do(ctx, testbrowser.Press(keys)); err != nil {
			t.Fatal(err)
		}
		return focused()
	}
	// From the top of the page to the submit button.
	var order []string
	for range 40 {
		order = append(order, press(kb.Tab))
		if order[len(order)-1] == "button submit" {
			break
		}
	}
	want := []string{"lien #contenu", "lien /", "lien /demande", "lien /suivi", "lien /mes-demandes",
		"competence", "objet", "description", "adresse", "code_postal", "commune", "nom", "email", "telephone", "reponse-email", "fichiers",
		"lien mailto:dpd@ampmetropole.fr", "publication", "button submit"}
	if strings.Join(order, " → ") != strings.Join(want, " → ") {
		t.Fatalf("focus order:\n got  %s\n want %s", strings.Join(order, " → "), strings.Join(want, " → "))
	}

	// Sent empty with Enter: the summary takes the focus; its first link
	// leads to the subject.
	if err := chromedp.Do(ctx, testbrowser.Press(kb.Enter), chromedp.WaitVisible(chromedp.ID("erreurs"))); err != nil {
		t.Fatal(err)
	}
	if f := focused(); f != "erreurs" {
		t.Fatalf("after a failed submit the focus is on %q, want the error summary", f)
	}
	if f := press(kb.Tab); f != "lien #objet" {
		t.Fatalf("Tab from the summary: %q, want its first link", f)
	}
	if f := press(kb.Enter); f != "objet" {
		t.Fatalf("Enter on the summary's link: focus on %q, want the subject", f)
	}
	// Fill in the form, field after field.
	steps := []struct{ field, keys string }{
		{"objet", "Lampadaire éteint"},
		{"description", "Le lampadaire devant le 4 rue Paradis est éteint depuis lundi."},
		{"adresse", "4 rue Paradis"},
		{"code_postal", "13006"}, // narrows the communes to Marseille and picks it
		{"commune", ""},
		{"nom", "Léa Martinez"},
		{"email", "lea.martinez@example.net"},
		{"telephone", ""},
		{"reponse-email", ""}, // checked already
		{"fichiers", ""},
		{"lien mailto:dpd@ampmetropole.fr", ""},
		{"publication", ""}, // left unchecked: the description stays private
		{"button submit", ""},
	}
	for i, s := range steps {
		if i > 0 {
			if f := press(kb.Tab); f != s.field {
				t.Fatalf("Tab after %s: focus on %q, want %s", steps[i-1].field, f, s.field)
			}
		}
		if s.keys != "" {
			press(s.keys)
		}
	}
	// Back to the domain with Shift+Tab would take long: its select is
	// checked with the arrow keys from the top instead, after sending.
	if err := chromedp.Do(ctx, testbrowser.Press(kb.Enter), chromedp.WaitVisible(chromedp.ID("code-suivi"))); err != nil {
		t.Fatalf("sending with Enter: %v", err)
	}
	tr := waitCase(t, b, text(t, ctx, "code-suivi"))
	r := tr.Request
	if r.Subject != "Lampadaire éteint" || !strings.HasPrefix(r.Body, "Le lampadaire devant") || r.Location == nil ||
		r.Location.Address != "4 rue Paradis" || r.Location.CommuneINSEE != "13055" || r.Citizen.Name != "Léa Martinez" ||
		r.Citizen.Email != "lea.martinez@example.net" {
		t.Fatalf("request sent from the keyboard: %+v %+v %+v", r, r.Location, r.Citizen)
	}

	// A select is chosen with the arrow keys.
	if err := chromedp.Do(ctx, chromedp.Navigate(b.srv.URL+"/demande"), chromedp.WaitVisible(chromedp.ID("objet"))); err != nil {
		t.Fatal(err)
	}
	for range 6 { // the skip link, the header's four links, the domain
		press(kb.Tab)
	}
	if f := press(kb.ArrowDown); f != "competence" {
		t.Fatalf("focus on %q, want the domain", f)
	}
	if v, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("competence"))); err != nil || v == "" {
		t.Errorf("ArrowDown on the domain chose %q (%v)", v, err)
	}
}
