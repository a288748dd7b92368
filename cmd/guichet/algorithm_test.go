package main

import (
	"context"
	"net/http"
	"slices"
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
	// Public and read-only: nothing of anyone's request on it; a POST
	// finds no page (as on every citizen page), a malformed query string
	// is refused.
	if strings.Contains(text, "nid-de-poule profond") || strings.Contains(text, pothole) {
		t.Errorf("/algorithme shows a request or a case")
	}
	for _, tc := range []struct {
		method, path string
		want         int
	}{{"POST", "/algorithme", http.StatusNotFound}, {"GET", "/algorithme?q=%00%ff", http.StatusBadRequest}, {"GET", "/algorithme/x", http.StatusNotFound}} {
		req, _ := http.NewRequest(tc.method, w.base+tc.path, strings.NewReader("a=b"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, resp.StatusCode, tc.want)
		}
	}
	testbrowser.AssertAccessible(t, b, "/algorithme")
	testbrowser.AssertReflows(t, b, "/algorithme", 640)
}

// TestStatusPageExplainsAndAsksReview: a citizen's status page says that a
// program chose the team, with reasons a person understands, and offers «
// Demander un réexamen par un agent »: asked with their words, the case
// goes to the triage queue with their message, the page says so, and the
// button is gone. In Chromium, without a WCAG violation.
func TestStatusPageExplainsAndAsksReview(t *testing.T) {
	w := startWalk(t)
	ctx := context.Background()
	rc, err := w.a.Intake.Submit(ctx, schemas.Request{Channel: "web", Source: schemas.Source{Adapter: "test"},
		Subject: "Nid-de-poule", Body: "Un nid-de-poule profond sur la chaussée rue Paradis, devant le 112 : la chaussée est défoncée.",
		Citizen: &schemas.Citizen{Name: "Rosalie Fabre", Email: "rosalie.fabre@example.net"}, Location: &schemas.Location{PostalCode: "13006"}})
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
	b := testbrowser.Start(t, 1280, 900)
	if err := chromedp.Do(b, chromedp.Navigate(w.base+"/suivi/"+rc.TrackingCode), chromedp.WaitVisible(chromedp.ID("pourquoi"))); err != nil {
		t.Fatal(err)
	}
	why, err := chromedp.Run(b, chromedp.Text(chromedp.ID("pourquoi")))
	if err != nil || !strings.Contains(why, "automatiquement, par un programme") || !strings.Contains(why, "Voirie") ||
		!strings.Contains(why, "territoire Marseille-Provence") {
		t.Fatalf("the explanation: %v\n%s", err, why)
	}
	testbrowser.AssertAccessible(t, b, "status page with its explanation")
	// Empty: refused with its reason; then asked.
	if err := chromedp.Do(b, chromedp.Click(chromedp.CSS(`form.reexamen button`)), chromedp.WaitVisible(chromedp.CSS(`#reexamen[aria-invalid=true]`))); err != nil {
		t.Fatalf("empty review: %v", err)
	}
	testbrowser.AssertAccessible(t, b, "review asked without a word")
	if err := chromedp.Do(b, chromedp.SendKeys(chromedp.ID("reexamen"), "Ce trou est dans le parking de la résidence, pas sur la route."),
		chromedp.Click(chromedp.CSS(`form.reexamen button`)), chromedp.WaitVisible(chromedp.ID("reexamen-demande"))); err != nil {
		t.Fatalf("review: %v", err)
	}
	text, err := chromedp.Run(b, chromedp.Text(chromedp.CSS("main")))
	if err != nil || !strings.Contains(text, "Votre demande de réexamen est transmise") || !strings.Contains(text, "parking de la résidence") ||
		strings.Contains(text, "Demander un réexamen par un agent") {
		t.Fatalf("after the review: %v\n%s", err, text)
	}
	f, err := w.a.Store.CaseFile(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	last := f.Events[len(f.Events)-1]
	if f.Competence != "triage" || !slices.ContainsFunc(f.Events, func(e schemas.CaseEvent) bool {
		return e.Type == schemas.EventRerouted && e.Actor.Kind == "citizen" && e.Data["to"] == "triage"
	}) {
		t.Errorf("the case after the review: competence %s, last event %+v", f.Competence, last)
	}
	testbrowser.AssertAccessible(t, b, "status page after the review")
}
