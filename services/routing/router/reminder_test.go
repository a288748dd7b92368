package router

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/schemas"
)

func TestReminderWords(t *testing.T) {
	for _, tc := range []struct {
		text string
		want bool
	}{
		{"Je vous relance au sujet de ma demande", true},
		{"suite a mon appel de la semaine derniere, toujours rien", true},
		{"Suite à mon coup de fil du 3 mars", true},
		{"toujours pas de réponse", true},
		{"TOUJOURS AUCUNE NOUVELLE", true},
		{"j'ai déjà signalé ce problème en janvier", true},
		{"c'est la deuxième fois que je vous écris", true},
		{"oui bonjour je rappelle pour la fuite", true},
		{"mon précédent courrier est resté sans réponse", true},
		{"Un nid-de-poule devant le 12 rue Paradis", false},
		{"le rappel des règles de tri", false},
		{"une relancement de l'économie locale", false},
	} {
		if got := reminder(tc.text) != ""; got != tc.want {
			t.Errorf("reminder(%q) = %v, want %v", tc.text, got, tc.want)
		}
	}
}

// A reminder says too little of its matter to be compared with the first
// request. The citizen called first (the identity spoken, the call sent to
// triage), then writes from the web form: "toujours rien". It joins the
// caller's only open case; a citizen with two open cases gets a case of
// their own and a reason for the team; a reminder about something the
// classifier is sure is another matter does not join.
func TestReminderJoinsTheOnlyOpenCase(t *testing.T) {
	b := setup(t)
	startModelRouter(t, b)
	ctx := context.Background()
	at := time.Now().Add(-48 * time.Hour)
	submit := func(req schemas.Request) decisionRow {
		t.Helper()
		req.ReceivedAt = at
		req.Source = schemas.Source{Adapter: "test"}
		at = at.Add(6 * time.Hour)
		rc, err := b.intake.Submit(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return decisionOf(t, b.dbURL, rc.ID)
	}
	call := submit(schemas.Request{Channel: "phone", Body: "euh oui c'est au sujet de chez nous ça va plus du tout faudrait que quelqu'un passe voir",
		Transcript: []schemas.Turn{{Speaker: "caller", Text: "euh oui c'est au sujet de chez nous ça va plus du tout faudrait que quelqu'un passe voir"}},
		Citizen:    &schemas.Citizen{Name: "Paul Girard", Email: "paul.girard@example.org", Phone: "+33465710101"}})
	if call.Outcome != "new_case" {
		t.Fatalf("first call: %+v", call)
	}
	web := submit(schemas.Request{Channel: "web", Subject: "Relance", Body: "Bonjour, suite à mon appel d'avant-hier, toujours rien. Merci de me répondre.",
		Citizen: &schemas.Citizen{Name: "Paul Girard", Email: "paul.girard@example.org"}})
	if web.Outcome != "linked" || web.CaseRef != call.CaseRef || !strings.Contains(web.reason("reminder"), call.CaseRef) {
		t.Fatalf("reminder after the call: %+v, want linked to %s with a reminder reason", web, call.CaseRef)
	}

	// Two open cases: the router does not choose.
	who := &schemas.Citizen{Name: "Inès Bakir", Email: "ines.bakir@example.net"}
	a := submit(schemas.Request{Channel: "web", Subject: "Lampadaire", Body: "Le lampadaire devant le 4 rue des Lilas à Aubagne est éteint.", Citizen: who})
	bb := submit(schemas.Request{Channel: "web", Subject: "Bac", Body: "Mon bac jaune a été cassé par le camion de collecte.", Citizen: who})
	if a.CaseRef == bb.CaseRef {
		t.Fatalf("two matters in one case: %+v %+v", a, bb)
	}
	vague := submit(schemas.Request{Channel: "web", Body: "Je vous relance, toujours pas de réponse.", Citizen: who})
	if vague.Outcome == "linked" || vague.reason("reminder_unsure") == "" {
		t.Fatalf("reminder of a citizen with two open cases: %+v, want a case of its own and a reason for the team", vague)
	}

	// A "reminder" the classifier is sure is about another matter.
	lone := &schemas.Citizen{Name: "Marc Olive", Email: "marc.olive@example.com"}
	first := submit(schemas.Request{Channel: "web", Subject: "Lampadaire éteint", Body: "Le lampadaire de l'impasse des Pins à Gardanne ne s'allume plus.", Citizen: lone})
	other := submit(schemas.Request{Channel: "web", Subject: "Carte de stationnement résident", Body: "J'ai déjà fait une demande de carte de stationnement résident, toujours pas de réponse : où en est-elle ?", Citizen: lone})
	if other.CaseRef == first.CaseRef {
		t.Fatalf("a reminder about a parking card joined the street light's case: %+v", other)
	}
}
