package main

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/scope"
	"github.com/ampmetropole/guichet/services/staff/auth"
	"github.com/ampmetropole/guichet/services/testkit"
	testbrowser "github.com/ampmetropole/guichet/services/testkit/browser"
)

// TestEveryStaffPageInTheFrame signs each role in, in its own Chromium,
// through the whole composition, and opens every page its menu offers plus
// the pages reached from them (a case, a refusal, an unknown address): each
// is styled by the staff frame (the mailroom included), names who is
// signed in, holds axe-core to zero WCAG 2.1 A/AA violations, does not
// scroll sideways at 640 px, and the day ends with sign-out.
func TestEveryStaffPageInTheFrame(t *testing.T) {
	w := startWalk(t)
	ctx := context.Background()
	for _, acc := range []struct {
		login, role string
		comp        []string
	}{
		{"voirie-mp", auth.RoleTeam, []string{"voirie"}},
		{"dechets-mp", auth.RoleTeam, []string{"dechets"}},
		{"superviseur", auth.RoleSupervisor, nil},
		{"admin", auth.RoleAdmin, nil},
	} {
		if _, err := w.a.Auth.CreateAccount(ctx, acc.login, acc.login, acc.role, walkPassword, acc.comp, nil); err != nil {
			t.Fatal(err)
		}
	}
	submit := func(competence, body, email string) string {
		rc, err := w.a.Intake.Submit(ctx, schemas.Request{Channel: "web", Source: schemas.Source{Adapter: "test"}, Subject: body, Body: body,
			Location: &schemas.Location{Address: "112 rue Paradis", PostalCode: "13006"},
			Citizen:  &schemas.Citizen{Name: "Léa Martinez", Email: email, Phone: "+33687654321"}, Hints: &schemas.Hints{Competence: competence}})
		if err != nil {
			t.Fatal(err)
		}
		var ref string
		testkit.Eventually(t, 20*time.Second, "the request routed", func() bool {
			tr, err := w.a.Store.Tracking(ctx, rc.TrackingCode)
			if err == nil && tr.Case != nil {
				ref = tr.Case.Ref
			}
			return ref != ""
		})
		return ref
	}
	roads := submit("voirie", "Nid-de-poule profond devant le 112 rue Paradis.", "lea.martinez@example.net")
	waste := submit("dechets", "Bac jaune non collecté depuis deux semaines.", "bruno@example.org")
	// One the router cannot place, for triage.
	if _, err := w.a.Intake.Submit(ctx, schemas.Request{Channel: "web", Source: schemas.Source{Adapter: "test"}, Body: "Bonjour, je voudrais un renseignement.",
		Citizen: &schemas.Citizen{Email: "anne@example.org"}}); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 20*time.Second, "a case in triage", func() bool {
		p, err := w.a.Store.Cases(ctx, casestore.Filter{Scope: scope.Everything(), Competence: schemas.CompetenceTriage, Limit: 1})
		return err == nil && len(p.Cases) == 1
	})

	for _, tc := range []struct {
		login string
		// extra pages beyond the menu, with the status each must answer.
		extra map[string]int
	}{
		{"agent-01", map[string]int{"/agent?caller=%2B33687654321": 200, "/bo/dossiers/" + roads: 200, "/bo/tri": 403, "/bo/inconnu": 404}},
		{"courrier-01", map[string]int{"/courrier/accuses": 200, "/agent": 403, "/courrier/inconnu": 404}},
		{"voirie-mp", map[string]int{"/bo/": 200, "/bo/dossiers/" + roads: 200, "/bo/dossiers/" + waste: 404, "/bo/tableau": 403}},
		{"superviseur", map[string]int{"/bo/dossiers/" + waste: 200, "/bo/audit": 403}},
		{"admin", map[string]int{"/bo/": 200, "/agent/inconnu": 404}},
	} {
		t.Run(tc.login, func(t *testing.T) {
			b := testbrowser.Start(t, 1280, 900)
			w.signIn(t, b, tc.login, "")
			home := value(t, b, "where sign-in leads", chromedp.Location())
			menu := value(t, b, "the menu", chromedp.Evaluate[[]string](
				`[...document.querySelectorAll('header nav a')].map(a => a.getAttribute('href'))`))
			if len(menu) == 0 {
				t.Fatalf("%s: no menu on %s", tc.login, home)
			}
			pages := map[string]int{}
			for _, p := range menu {
				pages[p] = 200
			}
			for p, s := range tc.extra {
				pages[p] = s
			}
			paths := make([]string, 0, len(pages))
			for p := range pages {
				paths = append(paths, p)
			}
			slices.Sort(paths)
			for _, p := range paths {
				status := statusOf(t, b, w.base+p)
				if status != pages[p] {
					t.Errorf("%s %s: %d, want %d", tc.login, p, status, pages[p])
				}
				do(t, b, "open "+p, chromedp.Navigate(w.base+p), chromedp.WaitReady(chromedp.CSS(`main`)))
				// Styled by the frame: the header's colour comes from personnel.css.
				if bg := value(t, b, "header style", chromedp.Evaluate[string](
					`getComputedStyle(document.querySelector('header.cadre')).backgroundColor`)); bg != "rgb(0, 59, 111)" {
					t.Errorf("%s %s: not styled by the staff frame (header %q)", tc.login, p, bg)
				}
				if who := textOf(t, b, "header .qui"); !strings.Contains(who, tc.login) {
					t.Errorf("%s %s: the header does not say who is signed in: %q", tc.login, p, who)
				}
				if lang := value(t, b, "lang", chromedp.Evaluate[string](`document.documentElement.lang`)); lang != "fr" {
					t.Errorf("%s %s: lang %q", tc.login, p, lang)
				}
				testbrowser.AssertAccessible(t, b, tc.login+" "+p)
				testbrowser.AssertReflows(t, b, tc.login+" "+p, 640)
			}
			do(t, b, "sign out", chromedp.Navigate(home), chromedp.WaitVisible(chromedp.CSS(`header .qui button`)),
				chromedp.Click(chromedp.CSS(`header .qui button`)), chromedp.WaitVisible(chromedp.CSS(`#identifiant`)))
			if said := textOf(t, b, "main"); !strings.Contains(said, "Vous êtes déconnecté") {
				t.Errorf("%s: after sign-out: %q", tc.login, said)
			}
			do(t, b, "back to "+home, chromedp.Navigate(home), chromedp.WaitVisible(chromedp.CSS(`main`)))
			if at := value(t, b, "where", chromedp.Location()); !strings.Contains(at, "/bo/connexion") {
				t.Errorf("%s: %s still open after sign-out (at %s)", tc.login, home, at)
			}
		})
	}
}

// statusOf loads url in the browser's session (its cookies) with fetch and
// answers the final status, redirects followed.
func statusOf(t *testing.T, b context.Context, u string) int {
	t.Helper()
	if _, err := url.Parse(u); err != nil {
		t.Fatal(err)
	}
	status, err := chromedp.Run(b, chromedp.Evaluate[int](`fetch(`+jsString(u)+`, {credentials: 'same-origin'}).then(r => r.status)`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("fetch %s: %v", u, err)
	}
	return status
}

func jsString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}
