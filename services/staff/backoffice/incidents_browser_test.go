package backoffice_test

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/staff/auth"
	"github.com/ampmetropole/guichet/services/testkit"
	"github.com/ampmetropole/guichet/services/testkit/browser"
)

// The incident page and the case page with its incident and a suggestion
// pass axe and reflow at 640 px.
func TestBrowserIncidentPage(t *testing.T) {
	st, srv := serve(t)
	ctx := context.Background()
	if _, err := st.Auth.CreateAccount(ctx, "julie", "Julie", auth.RoleTeam, "mot-de-passe-julie", []string{"voirie"}, nil); err != nil {
		t.Fatal(err)
	}
	var refs []string
	for _, body := range []string{"Un trou profond devant le 112 rue Paradis.", "Trottoir défoncé au 40 boulevard Baille."} {
		rc, err := st.Intake.Submit(ctx, schemas.Request{Channel: "web", Subject: "Voirie", Body: body, Source: schemas.Source{Adapter: "test"},
			Location: &schemas.Location{PostalCode: "13006"}, Citizen: &schemas.Citizen{Name: "Léa Martinez", Email: "lea@example.net"},
			Hints: &schemas.Hints{Competence: "voirie"}})
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, st.CaseRef(t, rc.ID))
	}
	testkit.Exec(t, st.DBURL, `UPDATE cases SET incident_id = NULL`)
	makeIncident(t, st, "INC-2026-900001", "voirie", "rue Paradis, Marseille 6e", "nid-de-poule", refs[0])
	testkit.Exec(t, st.DBURL, `INSERT INTO incident_suggestions (case_id, incident_id, confidence, reasons)
		SELECT c.id, i.id, 0.55, '[]' FROM cases c, incidents i WHERE c.ref = $1 AND i.ref = 'INC-2026-900001'`, refs[1])
	b := browser.Start(t, 1280, 900)
	signInBrowser(t, b, srv.URL, "julie")
	for _, p := range []struct{ path, wait, name string }{
		{"/bo/incidents/INC-2026-900001", "dossiers-incident", "page d'incident"},
		{"/bo/dossiers/" + refs[0], "incident", "dossier rattaché à un incident"},
		{"/bo/dossiers/" + refs[1], "suggestions-incident", "dossier avec une suggestion d'incident"},
	} {
		if err := chromedp.Do(b, chromedp.Navigate(srv.URL+p.path), chromedp.WaitVisible(chromedp.ID(p.wait))); err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		browser.AssertAccessible(t, b, p.name)
		browser.AssertReflows(t, b, p.name, 640)
	}
}
