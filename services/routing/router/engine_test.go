package router

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/catalogue"
	"github.com/ampmetropole/guichet/services/cases/deadline"
	"github.com/ampmetropole/guichet/services/platform/bus"
	"github.com/ampmetropole/guichet/services/routing/classify"
	"github.com/ampmetropole/guichet/services/testkit"
)

// decision reads the routing decision of a request once it is routed.
type decisionRow struct {
	CaseRef, Outcome, Competence, Territory, Model string
	Confidence                                     *float64
	Reasons                                        []map[string]string
}

func decisionOf(t *testing.T, dbURL, requestID string) decisionRow {
	t.Helper()
	var d decisionRow
	testkit.Eventually(t, 10*time.Second, "request routed", func() bool {
		return testkit.Count(t, dbURL, `SELECT count(*) FROM routing_decisions WHERE request_id = '`+requestID+`'`) == 1
	})
	var reasons []byte
	var conf *float32
	testkit.QueryRow(t, dbURL, `
		SELECT c.ref, d.outcome, d.competence, COALESCE(d.territory, ''), d.model_version, d.confidence, d.reasons
		FROM routing_decisions d JOIN cases c ON c.id = d.case_id WHERE d.request_id = $1`, []any{requestID},
		&d.CaseRef, &d.Outcome, &d.Competence, &d.Territory, &d.Model, &conf, &reasons)
	if conf != nil {
		f := float64(*conf)
		d.Confidence = &f
	}
	if err := json.Unmarshal(reasons, &d.Reasons); err != nil {
		t.Fatal(err)
	}
	return d
}

func (d decisionRow) reason(code string) string {
	for _, r := range d.Reasons {
		if r["code"] == code {
			return r["detail"]
		}
	}
	return ""
}

// startModelRouter starts a router with the shipped classifier model.
func startModelRouter(t *testing.T, b testBundle) {
	t.Helper()
	m, err := classify.DefaultModel()
	if err != nil {
		t.Fatal(err)
	}
	r := newRouterWith(t, b.conn, b.store, Config{Classifier: classify.New(m, nil)})
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
}

// A web form, a call and a letter from the same person: the router
// classifies the first, joins the call about the same pothole to its case,
// and opens another case for the letter about something else; an unclear
// message goes to triage with the router's guesses.
func TestClassifiedAndLinkedAcrossChannels(t *testing.T) {
	b := setup(t)
	startModelRouter(t, b)
	ctx := context.Background()
	at := time.Now().Add(-time.Hour)
	submit := func(req schemas.Request) string {
		t.Helper()
		req.ReceivedAt = at
		req.Source = schemas.Source{Adapter: "test"}
		at = at.Add(10 * time.Minute)
		rc, err := b.intake.Submit(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return rc.ID
	}
	web := submit(schemas.Request{Channel: "web", Subject: "Nid-de-poule", Body: "Un nid-de-poule énorme sur la chaussée devant le 12 rue Paradis, 13006 Marseille.",
		Citizen: &schemas.Citizen{Name: "Léa Martinez", Email: "lea.martinez@example.net", Phone: "+33639981427"}})
	d1 := decisionOf(t, b.dbURL, web)
	if d1.Outcome != "new_case" || d1.Competence != "voirie" || d1.Territory != "marseille-provence" || d1.Confidence == nil ||
		!strings.HasPrefix(d1.Model, "router-v1/clf-") || !strings.Contains(d1.reason("classifier"), "voirie à") {
		t.Fatalf("web decision %+v", d1)
	}
	call := submit(schemas.Request{Channel: "phone", Body: "je rappelle pour le nid de poule de la rue paradis il est toujours là sur la chaussée",
		Transcript: []schemas.Turn{{Speaker: "caller", Text: "je rappelle pour le nid de poule de la rue paradis il est toujours là sur la chaussée"}},
		Citizen:    &schemas.Citizen{Phone: "+33639981427"}})
	d2 := decisionOf(t, b.dbURL, call)
	if d2.Outcome != "linked" || d2.CaseRef != d1.CaseRef || !strings.Contains(d2.reason("same_matter"), "même demandeur") ||
		!strings.Contains(d2.reason("territory"), "territoire du dossier "+d1.CaseRef) {
		t.Fatalf("call decision %+v, want linked to %s", d2, d1.CaseRef)
	}
	letter := submit(schemas.Request{Channel: "mail", Subject: "Bac jaune cassé", Body: "Madame, Monsieur,\nmon bac jaune a été cassé par le camion de collecte, merci de le remplacer.",
		Citizen: &schemas.Citizen{Name: "Léa Martinez", Email: "lea.martinez@example.net"}})
	d3 := decisionOf(t, b.dbURL, letter)
	if d3.Outcome != "new_case" || d3.CaseRef == d1.CaseRef || d3.Competence != "dechets" {
		t.Fatalf("letter decision %+v", d3)
	}
	vague := submit(schemas.Request{Channel: "web", Body: "Bonjour, pouvez-vous me rappeler ? Merci.", Citizen: &schemas.Citizen{Email: "x@example.org"}})
	d4 := decisionOf(t, b.dbURL, vague)
	if d4.Competence != schemas.CompetenceTriage || !strings.Contains(d4.reason("triage"), "hypothèses") {
		t.Fatalf("vague decision %+v", d4)
	}
}

// A request citing a finished case opens a new case that follows it; one
// citing a merged case joins the case it was merged into.
func TestCitedCaseFinishedOrMerged(t *testing.T) {
	b := setup(t)
	startRouter(t, b)
	ctx := context.Background()
	submit := func(body string) string {
		t.Helper()
		req := webRequest()
		req.Body = body
		rc, err := b.intake.Submit(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return rc.ID
	}
	first := decisionOf(t, b.dbURL, submit("Un trou dans la chaussée."))
	second := decisionOf(t, b.dbURL, submit("Un autre trou, ailleurs."))
	testkit.Exec(t, b.dbURL, `UPDATE cases SET state = 'closed' WHERE ref = $1`, first.CaseRef)
	again := decisionOf(t, b.dbURL, submit("Le trou du dossier "+first.CaseRef+" est revenu."))
	if again.Outcome != "new_case" || again.CaseRef == first.CaseRef || !strings.Contains(again.reason("case_ref_closed"), first.CaseRef) {
		t.Fatalf("citing a closed case: %+v", again)
	}
	var follows string
	testkit.QueryRow(t, b.dbURL, `SELECT e.payload->'data'->>'follows' FROM case_events e JOIN cases c ON c.id = e.case_id WHERE c.ref = $1 AND e.seq = 1`,
		[]any{again.CaseRef}, &follows)
	if follows != first.CaseRef {
		t.Errorf("new case follows %q, want %s", follows, first.CaseRef)
	}
	if _, err := b.store.Merge(ctx, second.CaseRef, again.CaseRef, casestore.Change{Actor: "sup-01", Reason: "même trou"}); err != nil {
		t.Fatal(err)
	}
	merged := decisionOf(t, b.dbURL, submit("Où en est le dossier "+second.CaseRef+" ?"))
	if merged.Outcome != "linked" || merged.CaseRef != again.CaseRef || merged.reason("case_merged") == "" {
		t.Fatalf("citing a merged case: %+v, want linked to %s", merged, again.CaseRef)
	}
}

// New cases are due after their competence's budget of business hours.
func TestNewCasesGetTheirDeadline(t *testing.T) {
	b := setup(t)
	cat, err := catalogue.Default()
	if err != nil {
		t.Fatal(err)
	}
	loc, _ := time.LoadLocation("Europe/Paris")
	cal := deadline.New(loc)
	r := newRouterWith(t, b.conn, b.store, Config{Budgets: cat, Clock: cal})
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	req := webRequest()
	req.ReceivedAt = time.Date(2026, 11, 27, 16, 0, 0, 0, loc) // a Friday afternoon
	rc, err := b.intake.Submit(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	d := decisionOf(t, b.dbURL, rc.ID)
	var due time.Time
	testkit.QueryRow(t, b.dbURL, `SELECT deadline FROM cases WHERE ref = $1`, []any{d.CaseRef}, &due)
	if want := cal.Due(req.ReceivedAt, cat.Budget(d.Competence, "normal")); !due.Equal(want) {
		t.Errorf("deadline %s, want %s (%s, %v)", due.In(loc), want.In(loc), d.Competence, cat.Budget(d.Competence, "normal"))
	}
}

// A deadline that passes while no router runs is marked when one starts
// again, once, however many restarts follow.
func TestBreachSurvivesRestarts(t *testing.T) {
	b := setup(t)
	r := startRouter(t, b)
	rc, err := b.intake.Submit(context.Background(), webRequest())
	if err != nil {
		t.Fatal(err)
	}
	d := decisionOf(t, b.dbURL, rc.ID)
	r.Stop()
	testkit.Exec(t, b.dbURL, `UPDATE cases SET deadline = now() - interval '1 hour' WHERE ref = $1`, d.CaseRef)
	for i := range 3 {
		r := startRouter(t, b)
		testkit.Eventually(t, 10*time.Second, "breach marked", func() bool {
			return testkit.Count(t, b.dbURL, `SELECT count(*) FROM case_events WHERE type = 'deadline_breached'`) == 1
		})
		time.Sleep(500 * time.Millisecond) // a few relay ticks (200 ms)
		r.Stop()
		if n := testkit.Count(t, b.dbURL, `SELECT count(*) FROM case_events WHERE type = 'deadline_breached'`); n != 1 {
			t.Fatalf("start %d: %d breach events", i+1, n)
		}
	}
	if n := testkit.StreamMsgs(t, b.conn, bus.StreamCases); n != 2 {
		t.Errorf("%d messages on CASES, want the creation and one breach", n)
	}
}

// A cited reference is not a credential. A request citing another
// citizen's case opens a case of its own, with the cited one proposed to the
// team; citing one's own case, or a case of nobody known, joins it; the case
// an agent or the holder of a tracking code chose is joined whoever asks;
// and only the mailroom's own corrections follow the request they correct.
func TestCitingAnotherCitizensCaseDoesNotJoinIt(t *testing.T) {
	b := setup(t)
	startRouter(t, b)
	ctx := context.Background()
	submit := func(req schemas.Request) string {
		t.Helper()
		if req.Source.Adapter == "" {
			req.Source.Adapter = "test"
		}
		req.Channel = "web"
		req.Hints = &schemas.Hints{Competence: "voirie"}
		rc, err := b.intake.Submit(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return rc.ID
	}
	lea := &schemas.Citizen{Name: "Léa Martinez", Email: "lea@example.net"}
	stranger := &schemas.Citizen{Name: "Inconnu", Email: "curieux@example.org"}
	victim := decisionOf(t, b.dbURL, submit(schemas.Request{Body: "Trou devant chez moi, 12 rue Paradis.", Citizen: lea}))

	cites := decisionOf(t, b.dbURL, submit(schemas.Request{Body: "Où en est le dossier " + victim.CaseRef + " ?", Citizen: stranger}))
	if cites.Outcome != "new_case" || cites.CaseRef == victim.CaseRef || !strings.Contains(cites.reason("case_ref_other_citizen"), victim.CaseRef) {
		t.Fatalf("a stranger citing Léa's case: %+v, want a case of its own proposing %s", cites, victim.CaseRef)
	}
	var proposed string
	testkit.QueryRow(t, b.dbURL, `SELECT e.payload->'data'->>'proposed_case' FROM case_events e JOIN cases c ON c.id = e.case_id WHERE c.ref = $1 AND e.seq = 1`,
		[]any{cites.CaseRef}, &proposed)
	if proposed != victim.CaseRef {
		t.Errorf("proposed case %q, want %s", proposed, victim.CaseRef)
	}
	own := decisionOf(t, b.dbURL, submit(schemas.Request{Body: "Le trou du dossier " + victim.CaseRef + " s'agrandit.", Citizen: lea}))
	if own.Outcome != "linked" || own.CaseRef != victim.CaseRef || own.reason("case_ref") == "" {
		t.Fatalf("Léa citing her own case: %+v", own)
	}
	anonymous := decisionOf(t, b.dbURL, submit(schemas.Request{Body: "Un lampadaire éteint."}))
	joins := decisionOf(t, b.dbURL, submit(schemas.Request{Body: "Au sujet du dossier " + anonymous.CaseRef + ", toujours éteint.", Citizen: stranger}))
	if joins.CaseRef != anonymous.CaseRef {
		t.Fatalf("citing a case of nobody known: %+v, want %s", joins, anonymous.CaseRef)
	}
	byAgent := decisionOf(t, b.dbURL, submit(schemas.Request{Body: "Appel de Léa depuis son travail.",
		Citizen: &schemas.Citizen{Phone: "+33491000000"}, Link: &schemas.Link{CaseRef: victim.CaseRef, By: schemas.LinkByAgent}}))
	if byAgent.CaseRef != victim.CaseRef || !strings.Contains(byAgent.reason("link"), "agent") {
		t.Fatalf("an agent's choice: %+v", byAgent)
	}
	// A correction claimed by another system is not the mailroom's.
	forged := schemas.Request{Body: "Texte corrigé", Citizen: stranger, Supersedes: firstRequestOf(t, b.dbURL, victim.CaseRef)}
	forged.Source = schemas.Source{Adapter: "api", System: "partenaire"}
	corr := decisionOf(t, b.dbURL, submit(forged))
	if corr.CaseRef == victim.CaseRef {
		t.Fatalf("another system's claimed correction joined Léa's case: %+v", corr)
	}
}

// firstRequestOf returns the id of the first request of a case.
func firstRequestOf(t *testing.T, dbURL, ref string) string {
	t.Helper()
	var id string
	testkit.QueryRow(t, dbURL, `SELECT r.id::text FROM requests r JOIN cases c ON c.id = r.case_id WHERE c.ref = $1 ORDER BY r.received_at LIMIT 1`, []any{ref}, &id)
	return id
}
