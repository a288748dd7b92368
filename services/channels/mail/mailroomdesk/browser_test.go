package mailroomdesk_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/outbound/notify"
	"github.com/ampmetropole/guichet/services/testkit"
	"github.com/ampmetropole/guichet/services/testkit/browser"
)

// do runs browser actions or fails the test, saying what it was doing.
func do(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		t.Fatalf("%s: %v (at %s)", what, err, loc)
	}
}

// eval evaluates a script expression in the page, or fails the test.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// TestBrowserMailroomCorrectsBesideTheScan is the mailroom's day in a real
// Chromium: courrier-01 signs in on a styled desk, uploads a letter as the
// scanner made it (an image, read by OCR), opens its correction page, sees
// the page's image beside the text (beside it on a wide screen, above it on
// a narrow one), corrects the text and sends it; the list then shows the
// letter on one line, with its correction. Every page is held to axe-core
// and to no sideways scroll at 640 px: the desk with a rejected item and an
// upload error, the correction page, the letters to post.
func TestBrowserMailroomCorrectsBesideTheScan(t *testing.T) {
	d := newDesk(t)
	ctx := context.Background()
	dir := t.TempDir()
	scanFile, junkFile := filepath.Join(dir, "lettre.pdf"), filepath.Join(dir, "note.pdf")
	letter := scannedLetter(t, "PAUL ROUX", "8 AVENUE DE LA GARE", "13400 AUBAGNE", "", "OBJET : LAMPADAIRE ETEINT", "",
		"MADAME, MONSIEUR,", "LE LAMPADAIRE DEVANT CHEZ MOI", "EST ETEINT DEPUIS DIX JOURS.")
	if err := os.WriteFile(scanFile, letter, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(junkFile, []byte("pas un scan"), 0o600); err != nil {
		t.Fatal(err)
	}
	b := browser.Start(t, 1280, 900)

	// Signed in from the desk's address, back on a styled desk.
	do(t, b, "sign in",
		chromedp.Navigate(d.srv.URL+"/courrier"),
		chromedp.WaitVisible(chromedp.ID("identifiant")),
		chromedp.SendKeys(chromedp.ID("identifiant"), "courrier-01"),
		chromedp.SendKeys(chromedp.ID("mot-de-passe"), mailroomPassword),
		chromedp.Submit(chromedp.ID("mot-de-passe")),
		chromedp.WaitVisible(chromedp.ID("scan")))
	if bg := eval[string](t, b, `getComputedStyle(document.querySelector("header.cadre")).backgroundColor`); bg != "rgb(0, 59, 111)" {
		t.Errorf("the frame is not styled: header background %q", bg)
	}
	if rules := eval[int](t, b, `Array.from(document.styleSheets).filter(s => s.href && s.href.endsWith("/courrier.css")).reduce((n, s) => n + s.cssRules.length, 0)`); rules == 0 {
		t.Error("the mailroom's style sheet is not loaded")
	}
	if eval[bool](t, b, `!!document.getElementById("operateur")`) {
		t.Error("the desk asks for the operator's id")
	}

	// The scan, uploaded through the form.
	do(t, b, "upload the scan",
		chromedp.SetUploadFiles(chromedp.ID("scan"), []string{scanFile}),
		chromedp.Click(chromedp.CSS(`form[action="/courrier/scans"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.succes`)))
	var correction string
	testkit.Eventually(t, 60*time.Second, "the letter routed, ready to correct", func() bool {
		if err := chromedp.Do(b, chromedp.Navigate(d.srv.URL+"/courrier"), chromedp.WaitVisible(chromedp.ID("liste-titre"))); err != nil {
			return false
		}
		correction, _ = chromedp.Run(b, chromedp.Evaluate[string](
			`(a => a && a.closest("tbody").querySelector('a[href^="/bo/dossiers/"]') ? a.getAttribute("href") : "")(document.querySelector('a[href$="/correction"]'))`))
		return correction != ""
	})

	// The correction page: the page's image beside the text.
	do(t, b, "open the correction page",
		chromedp.Click(chromedp.CSS(`a[href="`+correction+`"]`)),
		chromedp.WaitVisible(chromedp.ID("texte")),
		chromedp.WaitVisible(chromedp.CSS(`.scan-pages img`)))
	loaded := `(i => i.complete && i.naturalWidth > 0)(document.querySelector('.scan-pages img'))`
	if _, err := chromedp.Run(b, chromedp.Poll[bool](loaded, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("the page's image did not load: %v", err)
	}
	if alt := eval[string](t, b, `document.querySelector(".scan-pages img").alt`); alt != "Page 1 du courrier scanné" {
		t.Errorf("alt %q", alt)
	}
	if w := eval[int](t, b, `document.querySelector(".scan-pages img").naturalWidth`); w <= 0 {
		t.Errorf("the image is %d pixels wide", w)
	}
	// [image left, right, top, bottom, text left, right, top, bottom]
	boxes := `(() => { const i = document.querySelector(".scan-pages img").getBoundingClientRect(), x = document.getElementById("texte").getBoundingClientRect();
		return [i.left, i.right, i.top, i.bottom, x.left, x.right, x.top, x.bottom]; })()`
	if r := eval[[]float64](t, b, boxes); !(r[1] <= r[4] && r[2] < r[7] && r[6] < r[3]) {
		t.Errorf("at 1280 px the image %v is not beside the text %v", r[:4], r[4:])
	}
	browser.AssertAccessible(t, b, "la page de correction")
	browser.AssertReflows(t, b, "la page de correction", 640)
	do(t, b, "a narrow screen", chromedp.EmulateViewport(640, 900))
	if r := eval[[]float64](t, b, boxes); !(r[3] <= r[6]) {
		t.Errorf("at 640 px the image %v is not above the text %v", r[:4], r[4:])
	}
	// chromedp.ResetViewport (which AssertReflows ends with) leaves the page
	// 640 pixels wide here: the width is set back by hand.
	do(t, b, "back to a wide screen", chromedp.EmulateViewport(1280, 900))

	// Corrected and sent: the list shows the letter once, corrected.
	fixed := "PAUL ROUX\n8 AVENUE DE LA GARE\n13400 AUBAGNE\n\nOBJET : LAMPADAIRE ÉTEINT\n\nMadame, Monsieur,\nle lampadaire devant chez moi est éteint depuis dix jours."
	do(t, b, "correct the text and send it",
		chromedp.SetValue(chromedp.ID("texte"), fixed),
		chromedp.Click(chromedp.CSS(`.texte-courrier button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.succes`)))
	if got := eval[string](t, b, `location.pathname`); got != "/courrier" {
		t.Fatalf("after the correction: %s", got)
	}
	var line string
	testkit.Eventually(t, 20*time.Second, "the correction on the letter's line", func() bool {
		if err := chromedp.Do(b, chromedp.Navigate(d.srv.URL+"/courrier"), chromedp.WaitVisible(chromedp.ID("liste-titre"))); err != nil {
			return false
		}
		line, _ = chromedp.Run(b, chromedp.Evaluate[string](`Array.from(document.querySelectorAll("tbody.lettre")).map(t => t.innerText).join("\n---\n")`))
		return strings.Contains(line, "texte corrigé le") && strings.Contains(line, "LAMPADAIRE ÉTEINT")
	})
	if n := eval[int](t, b, `document.querySelectorAll("tbody.lettre").length`); n != 1 || !strings.Contains(line, "par courrier-01") {
		t.Errorf("%d lines for the letter, want 1 saying who corrected it:\n%s", n, line)
	}

	// A rejected item and a refused upload, on the desk.
	if err := d.st.Store.RecordMailRejection(ctx, casestore.MailRejection{MessageKey: "imap:INBOX:9:4", Sender: "scanner@ampmetropole.fr",
		Subject: "Scan 0004", Reason: "mailroom: scan: PDF chiffré", ReceivedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	do(t, b, "upload a file that is no scan",
		chromedp.Navigate(d.srv.URL+"/courrier"),
		chromedp.WaitVisible(chromedp.ID("scan")),
		chromedp.SetUploadFiles(chromedp.ID("scan"), []string{junkFile}),
		chromedp.Click(chromedp.CSS(`form[action="/courrier/scans"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("scan-erreur")))
	if got := eval[string](t, b, `document.getElementById("scan").getAttribute("aria-invalid") + " " + document.getElementById("scan").getAttribute("aria-describedby")`); got != "true scan-aide scan-erreur" {
		t.Errorf("the file field: %s", got)
	}
	if !eval[bool](t, b, `document.querySelector(".motif").innerText.includes("protégé par un mot de passe")`) {
		t.Error("the rejected item does not say what to do")
	}
	browser.AssertAccessible(t, b, "/courrier (un rejet, une erreur de dépôt)")
	browser.AssertReflows(t, b, "/courrier (un rejet, une erreur de dépôt)", 640)

	// The letter's acknowledgement, in the day's batch to post.
	id := strings.TrimSuffix(strings.TrimPrefix(correction, "/courrier/lettres/"), "/correction")
	req, err := d.st.Store.Request(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.st.Store.QueuePostalNotice(ctx, casestore.PostalNotice{RequestID: id, Kind: notify.KindAcknowledgement,
		Recipient: "M. Paul Roux\n8 avenue de la Gare\n13400 AUBAGNE", Subject: "Accusé de réception de votre courrier",
		Body: "Bonjour,\n\nNous avons bien reçu votre courrier.", TrackingCode: req.TrackingCode}); err != nil {
		t.Fatal(err)
	}
	do(t, b, "the letters to post",
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(d.srv.URL+"/courrier"),
		chromedp.Click(chromedp.CSS(`a[href="/courrier/accuses"]`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href^="/courrier/accuses/lot.pdf"]`)))
	browser.AssertAccessible(t, b, "/courrier/accuses")
	browser.AssertReflows(t, b, "/courrier/accuses", 640)
}
