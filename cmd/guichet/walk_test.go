package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ampmetropole/guichet/cmd/guichet/compose"
	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/deadline"
	"github.com/ampmetropole/guichet/services/cases/lifecycle"
	"github.com/ampmetropole/guichet/services/cases/scope"
	"github.com/ampmetropole/guichet/services/platform/frtime"
	"github.com/ampmetropole/guichet/services/platform/mailer"
	"github.com/ampmetropole/guichet/services/platform/sms"
	"github.com/ampmetropole/guichet/services/staff/auth"
	"github.com/ampmetropole/guichet/services/testkit"
	testbrowser "github.com/ampmetropole/guichet/services/testkit/browser"
)

// walk is a Guichet started as `guichet serve` would, on a known address
// (the links in its messages must lead back to it), with the development
// outboxes of e-mail and SMS, and a tile server of its own.
type walk struct {
	base string
	a    *compose.App
	mail *mailer.Outbox
	sms  *sms.Outbox
}

const walkPassword = "mot-de-passe-de-la-promenade"

func startWalk(t *testing.T) *walk {
	t.Helper()
	tile := func() []byte {
		img := image.NewRGBA(image.Rect(0, 0, 256, 256))
		for i := range img.Pix {
			img.Pix[i] = 0xee
		}
		img.Set(128, 128, color.Black)
		var b bytes.Buffer
		png.Encode(&b, img)
		return b.Bytes()
	}()
	tiles := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write(tile)
	}))
	t.Cleanup(tiles.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	w := &walk{base: fmt.Sprintf("http://127.0.0.1:%d", port)}
	for k, v := range map[string]string{"GUICHET_SECRET": "secret-de-la-promenade-0123456789", "GUICHET_PUBLIC_URL": w.base,
		"GUICHET_WEB_RATE": "1000", "GUICHET_SMTP_URL": "", "GUICHET_SMPP_ADDR": "", "GUICHET_DRAIN": "0s", "GUICHET_TRUSTED_PROXIES": "",
		"GUICHET_MAP_TILES": tiles.URL + "/{z}/{x}/{y}.png", "GUICHET_MAP_ATTRIBUTION": "Tuiles de test", "GUICHET_GEOCODER_URL": ""} {
		t.Setenv(k, v)
	}
	cfg, _, err := parseConfig("serve", []string{"--addr", "127.0.0.1:" + strconv.Itoa(port)}, io.Discard, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.CheckEvents = true // every event the code builds is checked against case-event.v1
	if w.mail, err = mailer.NewOutbox(t.TempDir(), cfg.Mail.From); err != nil {
		t.Fatal(err)
	}
	if w.sms, err = sms.NewOutbox(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	w.a, err = compose.Start(context.Background(), cfg, compose.Deps{NATSURL: testkit.NATS(t).ClientURL(), DatabaseURL: testkit.Database(t),
		Outbox: w.mail, SMSOutbox: w.sms}, []string{"api", "web", "agent", "router", "notifier"}, testkit.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.a.Stop)
	for _, acc := range []struct{ login, role string }{{"agent-01", auth.RoleAgent}, {"courrier-01", auth.RoleMailroom}} {
		if _, err := w.a.Auth.CreateAccount(context.Background(), acc.login, acc.login, acc.role, walkPassword, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// mails lists the e-mails to an address, oldest first.
func (w *walk) mails(t *testing.T, to string) []mailer.Stored {
	t.Helper()
	all, err := w.mail.List(context.Background(), 500)
	if err != nil {
		t.Fatal(err)
	}
	var out []mailer.Stored
	for _, m := range all {
		if m.To == to {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b mailer.Stored) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// texts lists the SMS to a mobile, oldest first.
func (w *walk) texts(t *testing.T, to string) []sms.Stored {
	t.Helper()
	all, err := w.sms.List(context.Background(), 500)
	if err != nil {
		t.Fatal(err)
	}
	var out []sms.Stored
	for _, m := range all {
		if m.To == to {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b sms.Stored) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// do does browser actions or fails the test, saying what it was doing.
func do(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		t.Fatalf("%s: %v (at %s)", what, err, loc)
	}
}

// value runs one browser action that answers, or fails the test.
func value[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// accessible holds a citizen page to zero axe-core violations and no
// sideways scroll on a 320 px screen.
func accessible(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	testbrowser.AssertAccessible(t, ctx, page)
	testbrowser.AssertReflows(t, ctx, page, 320)
}

func textOf(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return strings.TrimSpace(value(t, ctx, "read "+sel, chromedp.Text(chromedp.CSS(sel))))
}

// signIn signs a member of staff in, in their own browser.
func (w *walk) signIn(t *testing.T, ctx context.Context, login, retour string) {
	t.Helper()
	do(t, ctx, "sign in as "+login,
		chromedp.Navigate(w.base+"/bo/connexion?retour="+retour),
		chromedp.WaitVisible(chromedp.CSS(`#identifiant`)),
		chromedp.SendKeys(chromedp.CSS(`#identifiant`), login),
		chromedp.SendKeys(chromedp.CSS(`#mot-de-passe`), walkPassword),
		chromedp.Submit(chromedp.CSS(`#mot-de-passe`)),
		chromedp.WaitNotPresent(chromedp.CSS(`#mot-de-passe`)))
}

var linkIn = regexp.MustCompile(`https?://[^\s]+`)

// TestCitizenLoop walks the loop in real Chromium, each citizen
// page held to axe-core: Léa reports a pothole from her phone with a pin on
// the map; she calls about it from her mobile and the agent reads her the
// code, which she also gets by SMS; as the team moves the case she hears of
// each step by e-mail (her web request) and by SMS (her call); resolved, she
// answers the satisfaction question by the notice's link; her letter about
// it is scanned by the mailroom, whose batch prints its acknowledgement; and
// "Mes demandes", by one-time links to her address and her mobile, lists
// her web, phone and letter requests — and not Bruno's.
func TestCitizenLoop(t *testing.T) {
	w := startWalk(t)
	ctx := context.Background()
	const lea, leaMobile = "lea.martinez@example.net", "+33687654321"

	// Bruno, someone else, wrote about the same street.
	bruno, err := w.a.Intake.Submit(ctx, schemas.Request{Channel: "web", Source: schemas.Source{Adapter: "test"}, Body: "Trou rue Paradis.",
		Citizen: &schemas.Citizen{Name: "Bruno", Email: "bruno@example.org", Phone: "+33698765432"}, Hints: &schemas.Hints{Competence: "voirie"}})
	if err != nil {
		t.Fatal(err)
	}

	// 1. The web form on a phone, with a pin.
	phone := testbrowser.Start(t, 390, 844)
	do(t, phone, "open the form", chromedp.Navigate(w.base+"/demande"),
		chromedp.WaitVisible(chromedp.CSS(`#carte img.leaflet-tile-loaded`)))
	accessible(t, phone, "le formulaire et sa carte")
	do(t, phone, "fill the form",
		chromedp.SetValue(chromedp.CSS(`#competence`), "voirie"),
		chromedp.SendKeys(chromedp.CSS(`#objet`), "Nid-de-poule rue Paradis"),
		chromedp.SendKeys(chromedp.CSS(`#description`), "Un trou profond devant le 112 rue Paradis."),
		chromedp.Click(chromedp.CSS(`#carte`)),
		chromedp.Poll[chromedp.Void](`document.getElementById("lat").value !== ""`, chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.SendKeys(chromedp.CSS(`#adresse`), "112 rue Paradis"),
		chromedp.SendKeys(chromedp.CSS(`#code_postal`), "13006"),
		chromedp.SetValue(chromedp.CSS(`#commune`), "13055"),
		chromedp.SendKeys(chromedp.CSS(`#nom`), "Léa Martinez"),
		chromedp.SendKeys(chromedp.CSS(`#email`), lea),
		chromedp.SendKeys(chromedp.CSS(`#telephone`), "06 87 65 43 21"),
		chromedp.Click(chromedp.CSS(`form[action="/demande"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#code-suivi`)))
	webCode := textOf(t, phone, "#code-suivi")
	accessible(t, phone, "l'accusé de réception")
	var web casestore.Tracking
	testkit.Eventually(t, 20*time.Second, "the web request routed", func() bool {
		web, err = w.a.Store.Tracking(ctx, webCode)
		return err == nil && web.Case != nil
	})
	if l := web.Request.Location; l == nil || l.Lat == nil || l.Lon == nil {
		t.Fatalf("the pin is not in location.lat/lon: %+v", l)
	}
	ref := web.Case.Ref
	testkit.Eventually(t, 10*time.Second, "the e-mailed receipt", func() bool { return len(w.mails(t, lea)) == 1 })
	if r := w.mails(t, lea)[0]; !strings.Contains(r.Body, w.base+"/suivi/"+webCode) {
		t.Errorf("the receipt has no link to the status page:\n%s", r.Body)
	}

	// 2. Léa calls from her mobile; the agent logs the call onto her case.
	agent := testbrowser.Start(t, 1280, 900)
	w.signIn(t, agent, "agent-01", "/agent%3Fcaller%3D%252B33687654321%26agent%3Dagent-01")
	do(t, agent, "log the call",
		chromedp.WaitVisible(chromedp.CSS(`#cible-`+ref)),
		chromedp.Click(chromedp.CSS(`#cible-`+ref)),
		chromedp.SendKeys(chromedp.CSS(`#resume`), "Rappelle : le trou s'agrandit."),
		chromedp.Submit(chromedp.CSS(`#resume`)),
		chromedp.WaitVisible(chromedp.CSS(`.code-suivi`)))
	callCode := textOf(t, agent, ".code-suivi")
	if said := textOf(t, agent, ".succes"); !strings.Contains(said, "reçoit aussi le code par SMS") {
		t.Errorf("the agent is not told of the SMS: %q", said)
	}
	testkit.Eventually(t, 10*time.Second, "the SMS receipt", func() bool { return len(w.texts(t, leaMobile)) == 1 })
	if s := w.texts(t, leaMobile)[0]; !strings.Contains(s.Text, "Code de suivi : "+callCode) || !strings.Contains(s.Text, w.base+"/suivi/"+callCode) {
		t.Errorf("the SMS receipt: %q", s.Text)
	}
	testkit.Eventually(t, 20*time.Second, "the call in the case", func() bool {
		tr, err := w.a.Store.Tracking(ctx, callCode)
		return err == nil && tr.Case != nil && tr.Case.Ref == ref
	})

	// 3. The team moves the case: notices by e-mail and by SMS.
	cal := deadline.New(frtime.Paris())
	for i, to := range []string{lifecycle.Qualified, lifecycle.InProgress, lifecycle.Resolved} {
		if _, err := w.a.Store.Transition(ctx, casestore.TransitionRequest{Ref: ref, To: to, Role: lifecycle.RoleTeam,
			Change: casestore.Change{Actor: "camille"}}, cal); err != nil {
			t.Fatal(err)
		}
		testkit.Eventually(t, 20*time.Second, "the notices of "+to, func() bool {
			return len(w.mails(t, lea)) == 2+i && len(w.texts(t, leaMobile)) == 2+i
		})
	}
	mails, texts := w.mails(t, lea), w.texts(t, leaMobile)
	for i, want := range []string{"a été examinée", "est en cours de traitement", "est résolue"} {
		if !strings.Contains(mails[1+i].Subject, want) || !strings.Contains(texts[1+i].Text, strings.Fields(want)[len(strings.Fields(want))-1]) {
			t.Errorf("notice %d: %q / %q, want %q", i, mails[1+i].Subject, texts[1+i].Text, want)
		}
	}
	if !strings.Contains(texts[3].Text, "/suivi/"+callCode+"/avis") {
		t.Errorf("the SMS of resolution does not ask her opinion: %q", texts[3].Text)
	}

	// 4. The satisfaction question, by the e-mail's link.
	var avis string
	for _, l := range linkIn.FindAllString(mails[3].Body, -1) {
		if strings.HasSuffix(l, "/avis") {
			avis = l
		}
	}
	if avis != w.base+"/suivi/"+webCode+"/avis" {
		t.Fatalf("the resolved notice's link %q", avis)
	}
	do(t, phone, "open the question", chromedp.Navigate(avis), chromedp.WaitVisible(chromedp.CSS(`#note-4`)))
	accessible(t, phone, "la question de satisfaction")
	do(t, phone, "answer",
		chromedp.Click(chromedp.CSS(`#note-4`)),
		chromedp.SendKeys(chromedp.CSS(`#commentaire`), "Rapide, merci."),
		chromedp.Submit(chromedp.CSS(`#commentaire`)),
		chromedp.WaitVisible(chromedp.CSS(`#avis-donne`)))
	accessible(t, phone, "l'avis enregistré")
	if f, err := w.a.Store.Satisfaction(ctx, scope.Everything(), 30, time.Now()); err != nil || f.All.Answers != 1 || f.All.Scores[3] != 1 {
		t.Errorf("the dashboard's figures: %+v %v", f.All, err)
	}

	// 5. Her letter, scanned by the mailroom: its acknowledgement in the
	// day's batch, printed and posted.
	scan := filepath.Join(t.TempDir(), "lettre.pdf")
	if err := os.WriteFile(scan, testkit.TextPDF([]string{"Lea Martinez", "112 rue Paradis", "13006 Marseille", "",
		"Objet : Nid-de-poule rue Paradis", "", "Madame, Monsieur,", "Le trou devant chez moi est toujours la.",
		"Mon courriel : lea.martinez@example.net", "", "Lea Martinez"}), 0o600); err != nil {
		t.Fatal(err)
	}
	room := testbrowser.Start(t, 1280, 900)
	w.signIn(t, room, "courrier-01", "/courrier")
	do(t, room, "upload the scan", chromedp.WaitVisible(chromedp.CSS(`#scan`)),
		chromedp.SetUploadFiles(chromedp.CSS(`#scan`), []string{scan}),
		chromedp.Submit(chromedp.CSS(`#scan`)),
		chromedp.WaitVisible(chromedp.CSS(`.succes`)))
	var owed []casestore.PostalNotice
	testkit.Eventually(t, 60*time.Second, "the letter's acknowledgement queued", func() bool {
		owed, _ = w.a.Store.PendingPostalNotices(ctx, 10)
		return len(owed) == 1
	})
	letterCode := owed[0].TrackingCode
	do(t, room, "the letters to post", chromedp.Navigate(w.base+"/courrier"),
		chromedp.Click(chromedp.CSS(`a[href="/courrier/accuses"]`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href^="/courrier/accuses/lot.pdf"]`)))
	// The batch as the browser gets it (its session, its link).
	batch := value(t, room, "the batch's link", chromedp.AttributeValue(chromedp.CSS(`a[href^="/courrier/accuses/lot.pdf"]`), "href"))
	encoded := value(t, room, "fetch the batch", chromedp.Evaluate[string](`fetch(`+strconv.Quote(batch.Value)+`).then(r => {
		if (!r.ok || r.headers.get("Content-Type") !== "application/pdf") throw new Error("batch: " + r.status);
		return r.arrayBuffer();
	}).then(b => { let s = ""; for (const x of new Uint8Array(b)) s += String.fromCharCode(x); return btoa(s); })`, chromedp.EvalAwaitPromise))
	pdf, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("the batch is no PDF: %v %.100q", err, pdf)
	}
	cmd := exec.Command("pdftotext", "-layout", "-", "-")
	cmd.Stdin = bytes.NewReader(pdf)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Lea Martinez", "13006 MARSEILLE", "Accusé de réception de votre courrier", "code de suivi " + letterCode} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the printed acknowledgement lacks %q:\n%s", want, out)
		}
	}
	do(t, room, "say it is posted", chromedp.Submit(chromedp.CSS(`form[action="/courrier/accuses/postes"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`.succes`)))
	if owed, _ := w.a.Store.PendingPostalNotices(ctx, 10); len(owed) != 0 {
		t.Errorf("%d letters still to post", len(owed))
	}

	// 6. Mes demandes: by her address, then her mobile too.
	ask := func(address string) {
		t.Helper()
		do(t, phone, "ask a link for "+address, chromedp.Navigate(w.base+"/mes-demandes/connexion"),
			chromedp.WaitVisible(chromedp.CSS(`#adresse`)),
			chromedp.SendKeys(chromedp.CSS(`#adresse`), address),
			chromedp.Submit(chromedp.CSS(`#adresse`)),
			chromedp.WaitVisible(chromedp.CSS(`#lien-envoye`)))
	}
	follow := func(link string) {
		t.Helper()
		do(t, phone, "follow "+link, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(`#confirmer`)))
		accessible(t, phone, "la confirmation de connexion")
		do(t, phone, "confirm", chromedp.Click(chromedp.CSS(`#confirmer`)), chromedp.WaitVisible(chromedp.CSS(`#demandes`)))
	}
	listed := func() []string {
		t.Helper()
		hrefs := value(t, phone, "read the list", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('#demandes h3 a')).map(a => a.getAttribute('href').replace('/suivi/', ''))`))
		slices.Sort(hrefs)
		return hrefs
	}
	ask(lea)
	accessible(t, phone, "le lien envoyé")
	var link string
	testkit.Eventually(t, 10*time.Second, "the link e-mailed", func() bool {
		for _, m := range w.mails(t, lea) {
			if l := linkIn.FindString(m.Body); strings.Contains(l, "/mes-demandes/") {
				link = l
			}
		}
		return link != ""
	})
	follow(link)
	accessible(t, phone, "Mes demandes, par l'adresse e-mail")
	if got, want := listed(), sorted(webCode, letterCode); !slices.Equal(got, want) {
		t.Errorf("by her address the list shows %v, want %v", got, want)
	}
	do(t, phone, "add her mobile", chromedp.SendKeys(chromedp.CSS(`#ajout`), "06 87 65 43 21"),
		chromedp.Click(chromedp.CSS(`#ajouter`)), chromedp.WaitVisible(chromedp.CSS(`#lien-envoye`)))
	link = ""
	testkit.Eventually(t, 10*time.Second, "the link texted", func() bool {
		for _, m := range w.texts(t, leaMobile) {
			if l := linkIn.FindString(m.Text); strings.Contains(l, "/mes-demandes/") {
				link = l
			}
		}
		return link != ""
	})
	follow(link)
	accessible(t, phone, "Mes demandes, par l'adresse et le mobile")
	got := listed()
	if want := sorted(webCode, callCode, letterCode); !slices.Equal(got, want) || slices.Contains(got, bruno.TrackingCode) {
		t.Errorf("with both the list shows %v, want %v (and never Bruno's %s)", got, want, bruno.TrackingCode)
	}
}

func sorted(s ...string) []string {
	slices.Sort(s)
	return s
}
