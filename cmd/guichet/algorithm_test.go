package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/routing/classify"
	"github.com/ampmetropole/guichet/services/testkit"
	testbrowser "github.com/ampmetropole/guichet/services/testkit/browser"
)

// TestAlgorithmPage: /algorithme describes the router from the running
// system — the model in service, the evaluation shipped with it, and the
// live share of its decisions people changed (here one request routed
// automatically then re-routed by a person, one left to triage) — in
// French, without a WCAG violation, at 200 % zoom.
func TestAlgorithmPage(t *testing.T) {
	w := startWalk(t)
	ctx := context.Background()
	route := func(body string) string {
		t.Helper()
		rc, err := w.a.Intake.Submit(ctx, schemas.Request{Channel: "web", Source: schemas.Source{Adapter: "test"}, Body: body,
			Location: &schemas.Location{PostalCode: "13006"}})
		if err != nil {
			t.Fatal(err)
		}
		var ref string
		testkit.Eventually(t, 10*time.Second, "routed", func() bool {
			st, err := w.a.Store.RequestStatus(ctx, rc.ID)
			if err == nil && st.CaseRef != nil {
				ref = *st.CaseRef
			}
			return ref != ""
		})
		return ref
	}
	pothole := route("Un nid-de-poule profond sur la chaussée rue Paradis, devant le 112 : deux scooters sont tombés, la chaussée est défoncée.")
	route("Bonjour, je voudrais parler à quelqu'un s'il vous plaît.")
	if _, err := w.a.Store.Reroute(ctx, pothole, "eclairage", "", casestore.Change{Actor: "julie", Reason: "le trou est celui d'un candélabre arraché"}); err != nil {
		t.Fatal(err)
	}

	b := testbrowser.Start(t, 1280, 900)
	if err := chromedp.Do(b, chromedp.Navigate(w.base+"/algorithme"), chromedp.WaitVisible(chromedp.ID("controle"))); err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(b, chromedp.Text(chromedp.CSS("main")))
	if err != nil {
		t.Fatal(err)
	}
	m, err := classify.DefaultModel()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"router-v1/" + m.Version, // the model in service
		"Il ne lit jamais qui vous êtes",
		"60,0 % : en dessous, une personne décide", // the triage threshold
		"demandes vues par le programme : 2", "confiées d'emblée à une personne : 1 (50,0 %)",
		"orientées par le programme : 1, dont 1 (100,0 %) confiées ensuite par un agent",
		"Téléphone", "Courrier", "Formulaire en ligne", // the evaluation per channel
		"Voirie",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/algorithme lacks %q:\n%s", want, text)
		}
	}
	testbrowser.AssertAccessible(t, b, "/algorithme")
	testbrowser.AssertReflows(t, b, "/algorithme", 640)
}
