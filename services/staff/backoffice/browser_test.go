package backoffice_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/staff/auth"
	"github.com/ampmetropole/guichet/services/testkit/browser"
)

// TestBrowserTeamMemberWorksACase is a team member's day in a real
// Chromium: sign in, find the case in the queue, open it, qualify it,
// answer the citizen with a template, start work and resolve it.
func TestBrowserTeamMemberWorksACase(t *testing.T) {
	st, srv := serve(t)
	ctx := context.Background()
	if _, err := st.Auth.CreateAccount(ctx, "camille", "Camille Roux", auth.RoleTeam, "mot-de-passe-camille", []string{"eclairage"}, nil); err != nil {
		t.Fatal(err)
	}
	rc, err := st.Intake.Submit(ctx, schemas.Request{Channel: "web", Source: schemas.Source{Adapter: "test"}, Subject: "Lampadaire éteint",
		Body: "Le lampadaire devant le 4 avenue Jeanne d'Arc est éteint depuis une semaine.", Location: &schemas.Location{PostalCode: "13400"},
		Citizen: &schemas.Citizen{Name: "Karim Benali", Email: "karim@example.org"}, Hints: &schemas.Hints{Competence: "eclairage"}})
	if err != nil {
		t.Fatal(err)
	}
	ref := st.CaseRef(t, rc.ID)

	b := browser.Start(t, 1280, 900)
	var state string
	// shows waits until the case page says the case is in state (French).
	// shows waits for the case page of the next state (after the post).
	shows := func(state string) chromedp.Action[chromedp.Void] {
		return chromedp.WaitVisible(chromedp.CSS(`#etat[data-etat="` + state + `"]`))
	}
	// move changes the state from the "Changer l'état" fold, opened first
	// when the page shows another one.
	move := func(to string) []chromedp.Action[chromedp.Void] {
		return []chromedp.Action[chromedp.Void]{
			chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
				open, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("agir-etat").open`))
				if err != nil || open {
					return err
				}
				return chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#agir-etat > summary`)))
			}),
			chromedp.SetValue(chromedp.ID("vers"), to),
			chromedp.Click(chromedp.CSS(`form[action$="/etat"] button`)),
			shows(to),
		}
	}
	steps := []chromedp.Action[chromedp.Void]{
		chromedp.Navigate(srv.URL + "/bo/dossiers"), // not signed in: the sign-in page, then back here
		chromedp.WaitVisible(chromedp.ID("identifiant")),
		chromedp.SendKeys(chromedp.ID("identifiant"), "camille"),
		chromedp.SendKeys(chromedp.ID("mot-de-passe"), "mot-de-passe-camille"),
		chromedp.Submit(chromedp.ID("mot-de-passe")),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/bo/dossiers/` + ref + `"]`)),
		chromedp.Click(chromedp.CSS(`a[href="/bo/dossiers/` + ref + `"]`)),
		shows("received"),
	}
	steps = append(steps, move("qualified")...)
	steps = append(steps,
		// Answer with the "prise en charge" template (the fold is open on a
		// qualified case).
		chromedp.WaitVisible(chromedp.CSS(`#message`)),
		chromedp.SetValue(chromedp.ID("modele"), "prise-en-charge"),
		chromedp.Click(chromedp.CSS(`button[data-inserer]`)),
		chromedp.Click(chromedp.CSS(`form[action$="/reponse"] button:not([data-inserer])`)),
		chromedp.WaitVisible(chromedp.CSS(`.succes`)),
	)
	steps = append(steps, move("in_progress")...)
	steps = append(steps, move("resolved")...)
	if err := chromedp.Do(b, steps...); err != nil {
		t.Fatalf("browsing: %v", err)
	}
	state, err = chromedp.Run(b, chromedp.Text(chromedp.CSS(`.fiche dd`)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(strings.TrimSpace(state), "résolu") {
		t.Errorf("state shown %q", state)
	}
	c, err := st.Store.Case(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range c.Events {
		types = append(types, e.Type)
	}
	if c.State != "resolved" || strings.Join(types, ",") != "created,state_changed,replied,state_changed,state_changed" {
		t.Errorf("case %s, history %v", c.State, types)
	}
	tr, err := st.Store.Tracking(ctx, rc.TrackingCode)
	if err != nil || len(tr.Replies) != 1 || !strings.Contains(tr.Replies[0].Message, ref) {
		t.Errorf("the citizen does not see the answer: %+v %v", tr.Replies, err)
	}
}
