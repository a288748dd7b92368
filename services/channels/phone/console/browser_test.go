package console_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/channels/phone/console"
	"github.com/ampmetropole/guichet/services/staff/auth"
	"github.com/ampmetropole/guichet/services/testkit"
	"github.com/ampmetropole/guichet/services/testkit/browser"
)

// Modifier keys held during a chord, as the DevTools protocol numbers them.
const (
	alt  = 1
	ctrl = 2
)

// chord presses key (a DOM key value and its code, as "Enter", "Enter" or
// "r", "KeyR") with modifiers held, as a keyboard does: nothing is typed.
func chord(modifiers int, key, code string, keyCode int) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for _, typ := range []string{"rawKeyDown", "keyUp"} {
			if err := t.Call(ctx, "Input.dispatchKeyEvent", map[string]any{"type": typ, "key": key, "code": code,
				"windowsVirtualKeyCode": keyCode, "nativeVirtualKeyCode": keyCode, "modifiers": modifiers}, nil); err != nil {
				return fmt.Errorf("chord %s: %w", code, err)
			}
		}
		return nil
	})
}

var (
	ctrlEnter = chord(ctrl, "Enter", "Enter", 13)
	altR      = chord(alt, "r", "KeyR", 82)
	altJ      = chord(alt, "j", "KeyJ", 74)
	altN      = chord(alt, "n", "KeyN", 78)
	altL      = chord(alt, "l", "KeyL", 76)
)

// TestBrowserAgentLogsThreeCallsByKeyboard is a call-centre agent's
// morning in a real Chromium, without the mouse: signed in, the telephony
// pops the console for a caller whose one open case is preselected, the
// summary field has the focus, and three calls are logged with Ctrl +
// Entrée — after a first try with nothing typed, refused next to the
// field —, each time with the case reference and the tracking code on the
// screen to read back. The three calls are in the open case; no case was
// opened. axe-core finds nothing in any state, at 1280 × 900 as at 640 px.
func TestBrowserAgentLogsThreeCallsByKeyboard(t *testing.T) {
	st, srv := serve(t)
	ctx := context.Background()
	account(t, st, "camille", "Camille Roux", auth.RoleAgent)
	karim := &schemas.Citizen{Name: "Karim Benali", Email: "karim@example.org", Phone: "+33687654321"}
	old, _ := st.Route(t, schemas.Request{Channel: "web", Subject: "Dépôt sauvage", Body: "Des gravats au coin de la rue.",
		Hints: &schemas.Hints{Competence: "proprete"}, Citizen: karim})
	testkit.Exec(t, st.DBURL, `UPDATE cases SET state = 'closed' WHERE ref = $1`, old)
	sha := strings.Repeat("ab", 32)
	ref, _ := st.Route(t, schemas.Request{Channel: "web", Subject: "Lampadaire éteint", Body: "Le lampadaire devant le 4 avenue des Goums est éteint depuis une semaine.",
		Location:    &schemas.Location{Address: "4 avenue des Goums", PostalCode: "13400"},
		Attachments: []schemas.Attachment{{Name: "lampadaire.jpg", ContentType: "image/jpeg", Size: 1000, SHA256: sha, ObjectKey: "sha256/" + sha}},
		Hints:       &schemas.Hints{Competence: "eclairage"}, Citizen: karim})

	b := browser.Start(t, 1280, 900)
	eval := func(js string) string {
		t.Helper()
		v, err := chromedp.Run(b, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return v
	}
	focused := func() string { return eval(`document.activeElement ? document.activeElement.id : ""`) }
	// next waits for the page that an action loads in place of this one.
	next := func(action chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(b, chromedp.Evaluate[chromedp.Void](`window.avant = true`), action); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			done, err := chromedp.Run(b, chromedp.Evaluate[bool](`!window.avant && document.readyState === "complete"`))
			if err == nil && done {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("no new page: %v", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	checkPage := func(state string) {
		t.Helper()
		// The button to log stays on the screen at 1280 × 900.
		if v := eval(`(() => { const r = document.querySelector("#journal button[type=submit]").getBoundingClientRect();
			return r.top >= 0 && r.bottom <= window.innerHeight ? "oui" : r.top + " " + r.bottom + " / " + window.innerWidth + "×" + window.innerHeight; })()`); v != "oui" {
			t.Errorf("%s: the log button is out of sight: %s", state, v)
		}
		browser.AssertAccessible(t, b, "console ("+state+")")
		browser.AssertReflows(t, b, "console ("+state+")", 640)
		// The check leaves its 640-pixel viewport behind: back to the window.
		if err := chromedp.Do(b, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			return t.Call(ctx, "Emulation.clearDeviceMetricsOverride", map[string]any{}, nil)
		})); err != nil {
			t.Fatal(err)
		}
	}

	// The screen-pop, through the sign-in.
	if err := chromedp.Do(b,
		chromedp.Navigate(srv.URL+"/agent?caller=0687654321&appel=pbx-4711&agent=autre"),
		chromedp.WaitVisible(chromedp.ID("identifiant")),
		chromedp.SendKeys(chromedp.ID("identifiant"), "camille"),
		chromedp.SendKeys(chromedp.ID("mot-de-passe"), "mot-de-passe-camille"),
	); err != nil {
		t.Fatal(err)
	}
	next(browser.Press("\r"))
	if got := focused(); got != "resume" {
		t.Fatalf("the page opens on %q, not the summary", got)
	}
	for js, want := range map[string]string{
		`document.querySelector("h2#appelant-titre").textContent`:                        "Appel du 06 87 65 43 21",
		`document.querySelector("input[name=cible]:checked").value`:                      ref,
		`String(document.querySelectorAll("input[name=cible]").length)`:                  "2", // the open case, a new request
		`document.querySelector(".par").textContent`:                                     "Appel journalisé par Camille Roux",
		`String(document.querySelector(".raccourcis").hidden)`:                           "false",
		`document.querySelector("a[href='/bo/dossiers/` + ref + `']").textContent`:       ref,
		`document.querySelector(".lieu").textContent`:                                    "Lieu : 4 avenue des Goums, 13400 Aubagne",
		`document.querySelector(".photos img").getAttribute("alt")`:                      "Photo jointe : lampadaire.jpg",
		`document.querySelector("input[name=call_id]").value`:                            "pbx-4711",
		`String(!!document.querySelector("details.details-dossier[open] .description"))`: "true",
	} {
		if got := strings.TrimSpace(strings.Join(strings.Fields(eval(js)), " ")); got != want {
			t.Errorf("%s: %q, want %q", js, got, want)
		}
	}
	checkPage("à l'ouverture")

	// Ctrl + Entrée with nothing typed: refused, next to the field.
	next(ctrlEnter)
	if got := focused(); got != "resume" {
		t.Errorf("after the error the focus is on %q", got)
	}
	for js, want := range map[string]string{
		`document.querySelector(".resume-erreurs a[href='#resume']").textContent`: "Indiquez le résumé de l'appel ou collez sa transcription.",
		`document.getElementById("resume").getAttribute("aria-describedby")`:      "resume-erreur",
		`document.getElementById("resume-erreur").textContent`:                    "Indiquez le résumé de l'appel ou collez sa transcription.",
		`document.querySelector("input[name=cible]:checked").value`:               ref,
	} {
		if got := eval(js); got != want {
			t.Errorf("error: %s: %q, want %q", js, got, want)
		}
	}
	checkPage("avec une erreur")

	codePattern := regexp.MustCompile(`^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$`)
	codes := map[string]bool{}
	logCall := func(n int, summary string) {
		t.Helper()
		if err := chromedp.Do(b, browser.Press(summary)); err != nil {
			t.Fatal(err)
		}
		next(ctrlEnter)
		shown, code := eval(`document.getElementById("dossier-appel").textContent`), eval(`document.getElementById("code-appel").textContent`)
		if shown != ref || !codePattern.MatchString(code) || codes[code] {
			t.Fatalf("call %d: the page shows %q and %q to read back", n, shown, code)
		}
		codes[code] = true
		if got := focused(); got != "resume" {
			t.Errorf("call %d: the next call starts on %q", n, got)
		}
		if got := eval(`document.querySelector("input[name=cible]:checked").value`); got != ref {
			t.Errorf("call %d: the next call would go to %q", n, got)
		}
	}
	logCall(1, "Le lampadaire est toujours éteint, il rappelle.")
	checkPage("après un appel journalisé")
	logCall(2, "Demande quand l'équipe passera.")

	// The shortcuts: to the search and back, a new request, then the
	// case again with the arrows — and the third call goes to the case.
	for _, step := range []struct {
		keys  chromedp.Action[chromedp.Void]
		focus string
	}{{altR, "q"}, {altJ, "resume"}, {altN, "competence"}, {altL, "cible-nouvelle"}, {browser.Press(kb.ArrowUp), "cible-" + ref}, {altJ, "resume"}} {
		if err := chromedp.Do(b, step.keys); err != nil {
			t.Fatal(err)
		}
		if got := focused(); got != step.focus {
			t.Errorf("focus on %q, want %q", got, step.focus)
		}
	}
	logCall(3, "Signale que le lampadaire clignote maintenant.")

	// Three calls in the one open case; no case was opened.
	cards, err := st.Store.FindCitizens(ctx, casestore.CitizenQuery{Phone: "+33687654321"}, 10, 10)
	if err != nil || len(cards) != 1 || len(cards[0].Cases) != 2 {
		t.Fatalf("Karim's cases: %+v %v", cards, err)
	}
	c, err := st.Store.Case(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	var phone int
	for _, e := range c.Events {
		if e.Type == schemas.EventRequestLinked && e.Channel == schemas.ChannelPhone {
			phone++
		}
	}
	if phone != 3 {
		t.Errorf("%d calls in %s, want 3: %+v", phone, ref, c.Events)
	}
	for code := range codes {
		tr, err := st.Store.Tracking(ctx, code)
		if err != nil || tr.Case == nil || tr.Case.Ref != ref || tr.Request.Source.OperatorID != "camille" {
			t.Errorf("code %s: %+v %v", code, tr.Case, err)
		}
	}
}

// slowRouter is the store as it is when the router takes its time: a
// request's case, and the cases it opened, show only hide after arrival.
type slowRouter struct {
	console.Store
	hide time.Duration
}

func (s slowRouter) recent(t time.Time) bool { return time.Since(t) < s.hide }

func (s slowRouter) RequestStatus(ctx context.Context, id string) (casestore.RequestStatus, error) {
	st, err := s.Store.RequestStatus(ctx, id)
	if s.recent(st.ReceivedAt) {
		st.Status, st.CaseRef = "received", nil
	}
	return st, err
}

func (s slowRouter) Tracking(ctx context.Context, code string) (casestore.Tracking, error) {
	tr, err := s.Store.Tracking(ctx, code)
	if s.recent(tr.ReceivedAt) {
		tr.Status, tr.Case = "received", nil
	}
	return tr, err
}

func (s slowRouter) FindCitizens(ctx context.Context, q casestore.CitizenQuery, limit, perCitizen int) ([]casestore.CitizenCard, error) {
	cards, err := s.Store.FindCitizens(ctx, q, limit, perCitizen)
	var out []casestore.CitizenCard
	for _, c := range cards {
		var cases []casestore.CaseSummary
		for _, k := range c.Cases {
			if !s.recent(k.OpenedAt) {
				cases = append(cases, k)
			}
		}
		if c.Cases = cases; len(cases) > 0 {
			out = append(out, c)
		}
	}
	return out, err
}

// TestBrowserNewCallerCaseArrives: a new caller's request is logged while
// the router is slow; the page shows the caller and the code at once, the
// case "being created", and console.js shows its reference as soon as it
// exists, the page then on the caller's new case.
func TestBrowserNewCallerCaseArrives(t *testing.T) {
	st, srv := serveWith(t, func(d *console.Deps) {
		d.Store, d.CaseWait = slowRouter{Store: d.Store, hide: 3 * time.Second}, 200*time.Millisecond
	})
	account(t, st, "camille", "Camille Roux", auth.RoleAgent)
	b := browser.Start(t, 1280, 900)
	if err := chromedp.Do(b,
		chromedp.Navigate(srv.URL+"/agent?caller=0756123456"),
		chromedp.WaitVisible(chromedp.ID("identifiant")),
		chromedp.SendKeys(chromedp.ID("identifiant"), "camille"),
		chromedp.SendKeys(chromedp.ID("mot-de-passe"), "mot-de-passe-camille\r"),
		chromedp.WaitVisible(chromedp.CSS(`#cible-nouvelle:checked`)),
		browser.Press("Demande de bac jaune, nouvel habitant."),
		ctrlEnter,
		chromedp.WaitVisible(chromedp.CSS(`span#dossier-appel[data-suivi]`)),
	); err != nil {
		t.Fatal(err)
	}
	said, err := chromedp.Run(b, chromedp.Text(chromedp.CSS(`#appelant-titre + article`)))
	if err != nil || !strings.Contains(said, "Nouvel appelant") || !strings.Contains(said, "dossier est en cours de création") {
		t.Errorf("the new caller: %q %v", said, err)
	}
	code, _ := chromedp.Run(b, chromedp.Text(chromedp.ID("code-appel")))
	browser.AssertAccessible(t, b, "console (dossier en cours de création)")
	// console.js asks until the case exists, then shows it.
	if err := chromedp.Do(b, chromedp.WaitVisible(chromedp.CSS(`a#dossier-appel`)), chromedp.WaitVisible(chromedp.CSS(`.carte .dossier-titre a`))); err != nil {
		t.Fatal(err)
	}
	tr, err := st.Store.Tracking(context.Background(), strings.TrimSpace(code))
	if err != nil || tr.Case == nil {
		t.Fatalf("code %q: %v", code, err)
	}
	for sel, want := range map[string]string{`#dossier-appel`: tr.Case.Ref, `.carte .dossier-titre a`: tr.Case.Ref} {
		if got, _ := chromedp.Run(b, chromedp.Text(chromedp.CSS(sel))); got != want {
			t.Errorf("%s: %q, want %s", sel, got, want)
		}
	}
	if got, _ := chromedp.Run(b, chromedp.Evaluate[string](`document.querySelector("input[name=cible]:checked").value`)); got != tr.Case.Ref {
		t.Errorf("the next call would go to %q", got)
	}
}
