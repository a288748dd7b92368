package console_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ampmetropole/guichet/services/staff/auth"
	"github.com/ampmetropole/guichet/services/testkit"
	"github.com/ampmetropole/guichet/services/testkit/browser"
)

// TestBrowserAgentJoinsAnIncident: while a new caller's report is logged,
// the console shows « déjà signalé près d'ici » as soon as the agent gives
// the domain and the commune — what and where, since when, how many
// reports, nobody's name or contact —; another domain shows nothing; the
// agent chooses the incident and logs the call, which gets its own case in
// that incident. axe-core finds nothing with the list shown, at 1280 px as
// at 640 px.
func TestBrowserAgentJoinsAnIncident(t *testing.T) {
	st, srv := serve(t)
	account(t, st, "camille", "Camille Roux", auth.RoleAgent)
	inc, reporters := lampIncident(t, st)

	b := browser.Start(t, 1280, 900)
	eval := func(js string) string {
		t.Helper()
		v, err := chromedp.Run(b, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return v
	}
	waitFor := func(what, js string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for eval(js) != "oui" {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 15 s (%s)", what, strings.Join(strings.Fields(eval(`(document.querySelector(".resume-erreurs") || document.body).textContent`)), " "))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if err := chromedp.Do(b,
		chromedp.Navigate(srv.URL+"/agent?caller=0756123456&appel=pbx-9001"),
		chromedp.WaitVisible(chromedp.ID("identifiant")),
		chromedp.SendKeys(chromedp.ID("identifiant"), "camille"),
		chromedp.SendKeys(chromedp.ID("mot-de-passe"), "mot-de-passe-camille"),
		browser.Press("\r"),
		chromedp.WaitVisible(chromedp.ID("lieu")),
		chromedp.Click(chromedp.ID("cible-nouvelle")),
		chromedp.SetValue(chromedp.ID("competence"), "eclairage"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("competence").dispatchEvent(new Event("change"))`),
		chromedp.Click(chromedp.ID("lieu")),
		browser.Press("13001"),
	); err != nil {
		t.Fatal(err)
	}
	// The list comes without pressing anything.
	waitFor("the list", `document.getElementById("incident-`+inc+`") ? "oui" : "non"`)
	list := strings.Join(strings.Fields(eval(`document.getElementById("proches-bloc").textContent`)), " ")
	for _, want := range []string{"Déjà signalé près d'ici", "éclairage éteint", "rue sainte", "2 signalement(s)", "Non, c'est un autre problème"} {
		if !strings.Contains(list, want) {
			t.Errorf("the list %q does not say %q", list, want)
		}
	}
	page := eval(`document.body.textContent`)
	for _, secret := range append([]string{"Martinez", "Ferri", "lea.martinez", "hugo.ferri", "87 65 43 21", "12 34 56 78"}, reporters...) {
		if strings.Contains(page, secret) {
			t.Errorf("the console shows %q, a reporter's", secret)
		}
	}
	if got := eval(`document.getElementById("proches-statut").textContent`); got != "1 problème déjà signalé près d'ici dans ce domaine" {
		t.Errorf("announced %q", got)
	}
	browser.AssertAccessible(t, b, "console, déjà signalé")
	browser.AssertReflows(t, b, "console, déjà signalé", 640)
	if err := chromedp.Do(b, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		return t.Call(ctx, "Emulation.clearDeviceMetricsOverride", map[string]any{}, nil)
	})); err != nil {
		t.Fatal(err)
	}

	// Another domain: nothing; back to the street lamps: the list again.
	if err := chromedp.Do(b, chromedp.SetValue(chromedp.ID("competence"), "voirie"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("competence").dispatchEvent(new Event("change"))`)); err != nil {
		t.Fatal(err)
	}
	waitFor("the list emptied", `document.getElementById("incident") ? "non" : "oui"`)
	if err := chromedp.Do(b, chromedp.SetValue(chromedp.ID("competence"), "eclairage"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("competence").dispatchEvent(new Event("change"))`)); err != nil {
		t.Fatal(err)
	}
	waitFor("the list again", `document.getElementById("incident-`+inc+`") ? "oui" : "non"`)

	// Joined: the caller's own case, in the incident.
	if err := chromedp.Do(b,
		chromedp.Click(chromedp.ID("incident-"+inc)),
		chromedp.SendKeys(chromedp.ID("resume"), "Le lampadaire de la rue Sainte est toujours éteint."),
		chromedp.Click(chromedp.ID("dir-in")),
		chromedp.Evaluate[chromedp.Void](`window.avant = true`),
		chromedp.Click(chromedp.CSS(`#journal button[type=submit]:not([name])`)),
	); err != nil {
		t.Fatal(err)
	}
	waitFor("the call logged", `!window.avant && document.getElementById("code-appel") ? "oui" : "non"`)
	waitFor("its case", `document.getElementById("dossier-appel") && /^AMP-/.test(document.getElementById("dossier-appel").textContent) ? "oui" : "non"`)
	ref := eval(`document.getElementById("dossier-appel").textContent`)
	var joined, comp string
	testkit.QueryRow(t, st.DBURL, `SELECT COALESCE(i.ref, ''), c.competence FROM cases c LEFT JOIN incidents i ON i.id = c.incident_id WHERE c.ref = $1`,
		[]any{ref}, &joined, &comp)
	if joined != inc || comp != "eclairage" || ref == reporters[0] || ref == reporters[1] {
		t.Errorf("the call's case %s is in %q (%s), want its own case in %s", ref, joined, comp, inc)
	}
}
