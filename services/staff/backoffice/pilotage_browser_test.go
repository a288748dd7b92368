package backoffice_test

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/deadline"
	"github.com/ampmetropole/guichet/services/cases/footprint"
	"github.com/ampmetropole/guichet/services/platform/frtime"
	"github.com/ampmetropole/guichet/services/staff/auth"
	"github.com/ampmetropole/guichet/services/testkit/browser"
)

// pilotBrowserSignIn signs login in through the sign-in page, which leads
// back to path.
func pilotBrowserSignIn(t *testing.T, b context.Context, base, login, path string) {
	t.Helper()
	if err := chromedp.Do(b, chromedp.Navigate(base+path), chromedp.WaitVisible(chromedp.ID("identifiant")),
		chromedp.SendKeys(chromedp.ID("identifiant"), login), chromedp.SendKeys(chromedp.ID("mot-de-passe"), "mot-de-passe-"+login),
		chromedp.Submit(chromedp.ID("mot-de-passe")), chromedp.WaitVisible(chromedp.CSS(`form[action="/bo/deconnexion"]`))); err != nil {
		t.Fatalf("sign in as %s: %v", login, err)
	}
}

func pilotBrowserSignOut(t *testing.T, b context.Context) {
	t.Helper()
	if err := chromedp.Do(b, chromedp.Click(chromedp.CSS(`form[action="/bo/deconnexion"] button`)), chromedp.WaitVisible(chromedp.ID("identifiant"))); err != nil {
		t.Fatalf("sign out: %v", err)
	}
}

// until polls a script's truth in the page for up to timeout.
func until(t *testing.T, b context.Context, what, script string, timeout time.Duration) {
	t.Helper()
	end := time.Now().Add(timeout)
	for {
		ok, err := chromedp.Run(b, chromedp.Evaluate[bool](script))
		if err == nil && ok {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("timed out after %s waiting for %s (%v)", timeout, what, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// shot saves a screenshot when GUICHET_SCREENSHOTS names a folder.
func shot(b context.Context, name string) {
	if dir := os.Getenv("GUICHET_SCREENSHOTS"); dir != "" {
		if png, err := chromedp.Run(b, chromedp.FullScreenshot(100)); err == nil {
			_ = os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
		}
	}
}

// TestBrowserSupervisorEmptiesTriage is the walk: three requests
// the router could not place; a supervisor reads each one's text and
// place, is told to choose when she forgets to, routes them one by one
// from /bo/tri until the page says the queue is empty, and is told,
// without the page reloading, when a new one arrives.
func TestBrowserSupervisorEmptiesTriage(t *testing.T) {
	p := servePilot(t, true)
	p.account(t, "superviseur", auth.RoleSupervisor, nil, nil)
	refs := []string{
		p.submit(t, vague("Bonjour, je voudrais parler à quelqu'un au sujet de ma rue s'il vous plaît.", "3 cours Foch", "13400")),
		p.submit(t, vague("Pouvez-vous me rappeler ? C'est urgent, merci.", "12 rue Paradis", "13006")),
		p.submit(t, vague("Bonjour, j'ai une question, pouvez-vous m'aider ?", "", "13100")),
	}
	for _, ref := range refs {
		if c := p.competenceOf(t, ref); c != schemas.CompetenceTriage {
			t.Fatalf("%s went to %s", ref, c)
		}
	}
	b := browser.Start(t, 1280, 900)
	pilotBrowserSignIn(t, b, p.srv.URL, "superviseur", "/bo/tri")
	if err := chromedp.Do(b, chromedp.WaitVisible(chromedp.CSS(`section.fiche-tri`))); err != nil {
		t.Fatal(err)
	}
	n, err := chromedp.Run(b, chromedp.Evaluate[int](`document.querySelectorAll("section.fiche-tri").length`))
	if err != nil || n != 3 {
		t.Fatalf("%d cases to triage, %v", n, err)
	}
	text, err := chromedp.Run(b, chromedp.Text(chromedp.CSS(`section.fiche-tri`)))
	if err != nil || !strings.Contains(text, "je voudrais parler à quelqu'un au sujet de ma rue") || !strings.Contains(text, "3 cours Foch, 13400 Aubagne") {
		t.Errorf("the first case reads %q (%v)", text, err)
	}
	shot(b, "tri")
	browser.AssertAccessible(t, b, "/bo/tri with cases")
	browser.AssertReflows(t, b, "/bo/tri with cases", 640)

	// Orienter without a choice (as a browser that does not check
	// required fields would send it): the error is next to the list, the
	// summary links to it.
	sel := `#c-` + refs[0]
	if err := chromedp.Do(b,
		chromedp.Evaluate[chromedp.Void](`document.querySelector("`+sel+`").removeAttribute("required")`),
		chromedp.Click(chromedp.CSS(`section.fiche-tri form.autre button`)),
		chromedp.WaitVisible(chromedp.CSS(`#`+`c-`+refs[0]+`-erreur`)),
	); err != nil {
		t.Fatalf("sending without a choice: %v", err)
	}
	invalid, err := chromedp.Run(b, chromedp.AttributeValue(chromedp.CSS(sel), "aria-invalid"))
	if err != nil || invalid.Value != "true" {
		t.Errorf("the list is not marked invalid: %+v %v", invalid, err)
	}
	shot(b, "tri-erreur")
	browser.AssertAccessible(t, b, "/bo/tri with an error")
	browser.AssertReflows(t, b, "/bo/tri with an error", 640)
	if c := p.competenceOf(t, refs[0]); c != schemas.CompetenceTriage {
		t.Fatalf("the refused form changed the case: %s", c)
	}

	// One by one, the oldest first: a guess of the router when it has
	// one, else a competence from the list.
	for i := range refs {
		first, err := chromedp.Run(b, chromedp.Evaluate[string](`document.querySelector("section.fiche-tri h2").id.slice(2)`))
		if err != nil {
			t.Fatal(err)
		}
		guesses, _ := chromedp.Run(b, chromedp.Evaluate[int](`document.querySelectorAll("section.fiche-tri:first-of-type .hypotheses button").length`))
		if guesses > 0 && i%2 == 0 {
			err = chromedp.Do(b, chromedp.Click(chromedp.CSS(`section.fiche-tri:first-of-type .hypotheses button`)))
		} else {
			err = chromedp.Do(b, chromedp.SetValue(chromedp.ID("c-"+first), "voirie"),
				chromedp.SendKeys(chromedp.ID("m-"+first), "nid-de-poule signalé"),
				chromedp.Click(chromedp.CSS(`section.fiche-tri:first-of-type form.autre button`)))
		}
		if err != nil {
			t.Fatalf("routing %s: %v", first, err)
		}
		until(t, b, first+" routed", `(document.getElementById("resultat") || {textContent: ""}).textContent.includes("Dossier `+first+` orienté")`, 15*time.Second)
		if c := p.competenceOf(t, first); c == schemas.CompetenceTriage {
			t.Errorf("%s still in triage", first)
		}
	}
	empty, err := chromedp.Run(b, chromedp.Text(chromedp.CSS(`p.vide`)))
	if err != nil || !strings.Contains(empty, "La file de tri est vide") {
		t.Fatalf("the page does not say the queue is empty: %q %v", empty, err)
	}
	shot(b, "tri-vide")
	browser.AssertAccessible(t, b, "/bo/tri empty")
	browser.AssertReflows(t, b, "/bo/tri empty", 640)

	// A new request arrives while she looks: the page says so, keeps her
	// focus, and shows it on "Actualiser".
	until(t, b, "the live stream", `document.querySelector(".direct").dataset.etat === "connecte"`, 10*time.Second)
	if err := chromedp.Do(b, chromedp.Focus(chromedp.ID("contenu"))); err != nil {
		t.Fatal(err)
	}
	late := p.submit(t, vague("Bonjour, je souhaite un rendez-vous, merci.", "1 place de la Mairie", "13400"))
	until(t, b, "the live notice", `document.querySelector(".direct").textContent.includes("1\u00a0nouveau dossier")`, 15*time.Second)
	focus, _ := chromedp.Run(b, chromedp.Evaluate[string](`document.activeElement.id`))
	if focus != "contenu" {
		t.Errorf("the notice moved the focus to %q", focus)
	}
	shot(b, "tri-direct")
	browser.AssertAccessible(t, b, "/bo/tri with the live notice")
	if err := chromedp.Do(b, chromedp.Click(chromedp.CSS(`.direct button`)), chromedp.WaitVisible(chromedp.ID("t-"+late))); err != nil {
		t.Fatalf("refreshing: %v", err)
	}
}

// TestBrowserDashboardExportAndPages: a supervisor's dashboard with
// figures, its teams table downloaded as a file a spreadsheet opens; the
// queue of a supervisor and of a team; the audit log — each accessible and
// without sideways scrolling at 640 px.
func TestBrowserDashboardExportAndPages(t *testing.T) {
	p := servePilot(t, true)
	ctx := context.Background()
	p.account(t, "superviseur", auth.RoleSupervisor, nil, nil)
	p.account(t, "voirie-mp", auth.RoleTeam, []string{"voirie"}, []string{"marseille-provence"})
	p.account(t, "admin", auth.RoleAdmin, nil, nil)
	req := func(competence, text, postal string) schemas.Request {
		return schemas.Request{Channel: schemas.ChannelWeb, Subject: text, Body: text, Location: &schemas.Location{Address: "112 rue Paradis", PostalCode: postal},
			Citizen: &schemas.Citizen{Name: "Léa Martinez", Email: "lea@example.net"}, Hints: &schemas.Hints{Competence: competence}}
	}
	roads := p.submit(t, req("voirie", "Nid-de-poule profond sur la chaussée devant le 112.", "13006"))
	p.submit(t, req("voirie", "Chaussée effondrée, nid-de-poule dangereux à Aubagne.", "13400"))
	p.submit(t, req("dechets", "Bac jaune cassé, couvercle arraché.", "13006"))
	p.submit(t, vague("Bonjour, je voudrais parler à quelqu'un.", "", "13006"))
	for _, to := range []string{"qualified", "in_progress", "resolved"} {
		if _, err := p.st.Store.Transition(ctx, casestore.TransitionRequest{Ref: roads, To: to, Role: auth.RoleTeam,
			Change: casestore.Change{Actor: "voirie-mp", Reason: "test"}}, deadline.New(frtime.Paris())); err != nil {
			t.Fatal(err)
		}
	}

	if _, err := footprint.Record(ctx, p.st.Store.DB(), sampleFootprint(time.Now())); err != nil { // the footprint panel in full
		t.Fatal(err)
	}

	b := browser.Start(t, 1280, 900)
	pilotBrowserSignIn(t, b, p.srv.URL, "superviseur", "/bo/tableau")
	if err := chromedp.Do(b, chromedp.WaitVisible(chromedp.ID("delais-equipes"))); err != nil {
		t.Fatal(err)
	}
	label, err := chromedp.Run(b, chromedp.Text(chromedp.CSS(`#ouverts-territoires`)))
	if err != nil || !strings.Contains(label, "Pays d'Aubagne et de l'Étoile") {
		t.Errorf("territories: %q %v", label, err)
	}
	shot(b, "tableau")
	browser.AssertAccessible(t, b, "/bo/tableau with figures")
	browser.AssertReflows(t, b, "/bo/tableau", 640)

	// The teams' table, downloaded.
	dir := t.TempDir()
	if err := chromedp.Do(b, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.CallBrowser(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
			Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir})
		return err
	}), chromedp.Click(chromedp.CSS(`a.export[href^="/bo/tableau.csv?table=equipes"]`))); err != nil {
		t.Fatalf("download: %v", err)
	}
	name := "tableau-de-bord-equipes-30-jours-" + time.Now().In(frtime.Paris()).Format("2006-01-02") + ".csv"
	var data []byte
	end := time.Now().Add(15 * time.Second)
	for {
		data, err = os.ReadFile(filepath.Join(dir, name))
		if err == nil && len(data) > 0 {
			break
		}
		if time.Now().After(end) {
			files, _ := os.ReadDir(dir)
			t.Fatalf("no %s downloaded: %v", name, files)
		}
		time.Sleep(100 * time.Millisecond)
	}
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(data), "\ufeff")))
	r.Comma = ';'
	rows, err := r.ReadAll()
	if err != nil || !strings.HasPrefix(string(data), "\ufeff") || rows[0][0] != "Équipe" {
		t.Fatalf("the file: %v %q", err, data)
	}
	found := false
	for _, row := range rows {
		found = found || row[0] == "Voirie · Marseille-Provence" && row[len(row)-3] == "1" && row[len(row)-2] == "1"
	}
	if !found {
		t.Errorf("the teams file lacks Voirie · Marseille-Provence resolved on time: %v", rows)
	}

	for _, path := range []string{"/bo/dossiers", "/bo/tri"} {
		if err := chromedp.Do(b, chromedp.Navigate(p.srv.URL+path), chromedp.WaitVisible(chromedp.CSS(`h1`))); err != nil {
			t.Fatal(err)
		}
		browser.AssertAccessible(t, b, path+" (supervisor)")
		browser.AssertReflows(t, b, path+" (supervisor)", 640)
	}
	pilotBrowserSignOut(t, b)

	// A team member's queue, at 1280 and 640 px.
	pilotBrowserSignIn(t, b, p.srv.URL, "voirie-mp", "/bo/dossiers")
	until(t, b, "the team's live stream", `(document.querySelector(".direct") || {dataset: {}}).dataset.etat === "connecte"`, 10*time.Second)
	shot(b, "dossiers-equipe")
	browser.AssertAccessible(t, b, "/bo/dossiers (team)")
	browser.AssertReflows(t, b, "/bo/dossiers (team)", 640)
	states, err := chromedp.Run(b, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#state option")).map(o => o.textContent)`))
	if err != nil || strings.Count(strings.Join(states, "|"), "à traiter") != 1 {
		t.Errorf("the state filter: %q %v", states, err)
	}
	pilotBrowserSignOut(t, b)

	// The audit log, in words, stacked at 640 px.
	pilotBrowserSignIn(t, b, p.srv.URL, "admin", "/bo/audit")
	if err := chromedp.Do(b, chromedp.WaitVisible(chromedp.CSS(`table.journal`))); err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(b, chromedp.Text(chromedp.CSS(`table.journal`)))
	if err != nil || !strings.Contains(text, "Export d'un tableau du tableau de bord (CSV)") || !strings.Contains(text, "méthode : mot de passe") ||
		regexp.MustCompile(`\bcase\.view\b|method : password`).MatchString(text) {
		t.Errorf("the audit log reads %q (%v)", text, err)
	}
	shot(b, "audit")
	browser.AssertAccessible(t, b, "/bo/audit")
	browser.AssertReflows(t, b, "/bo/audit", 640)
	if err := chromedp.Do(b, chromedp.EmulateViewport(640, 900)); err != nil {
		t.Fatal(err)
	}
	shot(b, "audit-640")
	stacked, err := chromedp.Run(b, chromedp.Evaluate[string](`getComputedStyle(document.querySelector("table.journal td")).display`))
	if err != nil || stacked != "block" {
		t.Errorf("the audit log is not stacked at 640 px: %q %v", stacked, err)
	}
}
