package router_test

import (
	"context"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/testkit"
	"github.com/ampmetropole/guichet/services/testkit/stack"
)

func pothole(name, email, subject, body string, lat, lon float64) schemas.Request {
	return schemas.Request{
		Channel:  schemas.ChannelWeb,
		Source:   schemas.Source{Adapter: "test"},
		Citizen:  &schemas.Citizen{Name: name, Email: email},
		Subject:  subject,
		Body:     body,
		Location: &schemas.Location{PostalCode: "13006", Lat: &lat, Lon: &lon},
		Hints:    &schemas.Hints{Competence: "voirie"},
	}
}

// routed waits for a request's case.
func routed(t *testing.T, st stack.Stack, id string) casestore.Case {
	t.Helper()
	var rs casestore.RequestStatus
	testkit.Eventually(t, 15*time.Second, "request "+id+" routed", func() bool {
		var err error
		rs, err = st.Store.RequestStatus(context.Background(), id)
		return err == nil && rs.Status == "routed"
	})
	c, err := st.Store.Case(context.Background(), *rs.CaseRef)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// submitter submits requests through the stack's intake and waits for
// each one's case.
func submitter(t *testing.T, st stack.Stack) func(schemas.Request) casestore.Case {
	return func(r schemas.Request) casestore.Case {
		t.Helper()
		rc, err := st.Intake.Submit(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		return routed(t, st, rc.ID)
	}
}

func incidentOf(t *testing.T, st stack.Stack, ref string) string {
	t.Helper()
	var inc string
	testkit.QueryRow(t, st.DBURL, `SELECT COALESCE(i.ref, '') FROM cases c LEFT JOIN incidents i ON i.id = c.incident_id WHERE c.ref = $1`, []any{ref}, &inc)
	return inc
}

// TestTwoCitizensOnePothole: two citizens report one pothole through the
// bus and PostgreSQL; each keeps their own case, both cases share one
// incident, each records incident_linked with reasons; a pothole on
// another street stays apart; a request naming the incident joins it.
func TestTwoCitizensOnePothole(t *testing.T) {
	st := stack.New(t, stack.Options{Router: true})
	ctx := context.Background()
	submit := submitter(t, st)
	a := submit(pothole("Léa Martinez", "lea.martinez@example.net", "Nid-de-poule rue Paradis",
		"Un trou profond dans la chaussée devant le 112 rue Paradis, deux scooters sont tombés.", 43.2881, 5.3791))
	b := submit(pothole("Hugo Ferri", "hugo.ferri@example.org", "Trou dans la chaussée",
		"Il y a un énorme nid-de-poule au 110 rue Paradis, une voiture y a crevé ce matin.", 43.2883, 5.3793))
	other := submit(pothole("Inès Roux", "ines.roux@example.com", "Nid-de-poule rue Breteuil",
		"Un nid-de-poule dangereux devant le 40 rue Breteuil, juste avant le passage piéton.", 43.2850, 5.3760))
	if a.Ref == b.Ref || a.Ref == other.Ref {
		t.Fatalf("cases %s %s %s: each citizen keeps their own", a.Ref, b.Ref, other.Ref)
	}
	inc := incidentOf(t, st, a.Ref)
	if inc == "" || incidentOf(t, st, b.Ref) != inc {
		t.Fatalf("incidents %q and %q, want one", inc, incidentOf(t, st, b.Ref))
	}
	if got := incidentOf(t, st, other.Ref); got != "" {
		t.Errorf("the pothole of rue Breteuil joined %s", got)
	}
	in, refs, err := st.Store.Incident(ctx, inc)
	if err != nil || len(refs) != 2 || in.Reporters != 2 || in.Competence != "voirie" || in.State != "open" {
		t.Fatalf("incident %+v %v %v", in, refs, err)
	}
	// Both cases say why, as any decision.
	for _, ref := range []string{a.Ref, b.Ref} {
		c, err := st.Store.Case(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		var ev *schemas.CaseEvent
		for i := range c.Events {
			if c.Events[i].Type == schemas.EventIncidentLinked {
				ev = &c.Events[i]
			}
		}
		if ev == nil || ev.Data["incident"] != inc || ev.Data["reasons"] == nil || ev.Data["confidence"] == nil {
			t.Errorf("case %s events %+v", ref, c.Events)
		}
	}
	near, err := st.Store.OpenIncidentsNear(ctx, "voirie", "", ptr(43.2882), ptr(5.3792), time.Now().Add(-time.Hour), 5)
	if err != nil || len(near) == 0 || near[0].Ref != inc {
		t.Errorf("open incidents near: %+v %v", near, err)
	}
	// Joining by hints.incident: no decision, linked as chosen.
	r := pothole("Zoé Blanc", "zoe.blanc@example.net", "Signalement", "Je signale moi aussi ce problème.", 43.30, 5.40)
	r.Hints.Incident, r.Hints.Competence = inc, "proprete"
	joined := submit(r)
	if got := incidentOf(t, st, joined.Ref); got != inc {
		t.Errorf("hints.incident: joined %q, want %s", got, inc)
	}
	// It takes the incident's competence, whatever the request said, so
	// that the team resolving the incident may resolve it.
	if joined.Competence != "voirie" {
		t.Errorf("hints.incident: the case went to %s, not the incident's voirie", joined.Competence)
	}
}

func ptr(f float64) *float64 { return &f }

// TestTriageCaseJoins: a report the classifier left to triage takes the
// competence of the incident a later, confident report of the same place
// and object opens with it; the case says why (rerouted by the router).
func TestTriageCaseJoins(t *testing.T) {
	st := stack.New(t, stack.Options{Router: true, Model: true})
	ctx := context.Background()
	submit := submitter(t, st)
	web := func(name, email, subject, body string) schemas.Request {
		return schemas.Request{Channel: schemas.ChannelWeb, Source: schemas.Source{Adapter: "test"},
			Citizen: &schemas.Citizen{Name: name, Email: email}, Subject: subject, Body: body}
	}
	first := submit(web("Marc Olivier", "marc.olivier@example.net", "",
		"Devant la boulangerie avenue des Pins à Istres, au carrefour, c'est tout noir depuis hier soir, on n'y voit rien."))
	if first.Competence != schemas.CompetenceTriage {
		t.Fatalf("precondition: the first report went to %s, not triage (the model changed: choose a text it hesitates on)", first.Competence)
	}
	second := submit(web("Nora Bensaïd", "nora.bensaid@example.org", "Feux tricolores en panne",
		"Devant la boulangerie avenue des Pins à Istres, au carrefour, les feux sont éteints dans tous les sens."))
	inc := incidentOf(t, st, second.Ref)
	if inc == "" || incidentOf(t, st, first.Ref) != inc {
		t.Fatalf("incidents %q and %q, want one", incidentOf(t, st, first.Ref), inc)
	}
	c, err := st.Store.Case(ctx, first.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if c.Competence != second.Competence {
		t.Errorf("the triage case kept %s, want %s", c.Competence, second.Competence)
	}
	rerouted := false
	for _, ev := range c.Events {
		if ev.Type == schemas.EventRerouted && ev.Actor.Kind == "router" && ev.Data["to"] == second.Competence {
			rerouted = true
		}
	}
	if !rerouted {
		t.Errorf("no rerouted event by the router on %s: %+v", first.Ref, c.Events)
	}
}

// TestLocatedOnly: two reports that name no street but carry coordinates
// 25 m apart are found by their coordinates and grouped.
func TestLocatedOnly(t *testing.T) {
	st := stack.New(t, stack.Options{Router: true})
	submit := submitter(t, st)
	a := submit(pothole("Léa Martinez", "lea.martinez@example.net", "Trou", "Un trou énorme dans la chaussée, très dangereux pour les scooters.", 43.2881, 5.3791))
	b := submit(pothole("Hugo Ferri", "hugo.ferri@example.org", "Nid-de-poule", "Gros nid-de-poule ici, une voiture y a crevé.", 43.2883, 5.3793))
	inc := incidentOf(t, st, a.Ref)
	if inc == "" || incidentOf(t, st, b.Ref) != inc {
		t.Fatalf("located reports: incidents %q and %q, want one", inc, incidentOf(t, st, b.Ref))
	}
}
