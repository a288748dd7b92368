package casestore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/scope"
)

// The triage queue shows each case's first contact: the body, else what
// the caller said (not the agent), cut to TriageTextMax, with the place as
// given; only triage cases, in the scope, the oldest first.
func TestTriageQueue(t *testing.T) {
	s, _ := setup(t)
	ctx := context.Background()
	due := time.Now().Add(time.Hour)
	web := file(t, s, schemas.CompetenceTriage, "pays-d-aix", "web", strings.Repeat("é", 700), due)
	call, _ := newRequest(t)
	call.Channel, call.Body = "phone", ""
	call.Transcript = []schemas.Turn{{Speaker: "agent", Text: "Métropole bonjour"}, {Speaker: "caller", Text: "je voudrais parler à quelqu'un"}}
	call.Location = &schemas.Location{Address: "3 cours Foch", PostalCode: "13400"}
	phone := routeNew(t, s, call, schemas.CompetenceTriage, "pays-d-aubagne-etoile", due)
	file(t, s, "voirie", "pays-d-aix", "web", "nid-de-poule", due)

	list, total, err := s.TriageQueue(ctx, scope.Everything(), 10)
	if err != nil || total != 2 || len(list) != 2 || list[0].Ref != web || list[1].Ref != phone {
		t.Fatalf("triage queue %d %+v %v", total, list, err)
	}
	if w := list[0]; len([]rune(w.Text)) != 600 || !w.Cut || w.Channel != "web" || w.Territory != "pays-d-aix" || w.Location != nil {
		t.Errorf("web case: %d runes, cut %v, %+v", len([]rune(w.Text)), w.Cut, w)
	}
	if c := list[1]; c.Text != "je voudrais parler à quelqu'un" || c.Cut || c.Location == nil || c.Location.Address != "3 cours Foch" || c.Channel != "phone" {
		t.Errorf("call: %+v", c)
	}
	list, total, err = s.TriageQueue(ctx, scope.Scope{AllCompetences: true, Territories: []string{"pays-d-aubagne-etoile"}}, 10)
	if err != nil || total != 1 || len(list) != 1 || list[0].Ref != phone {
		t.Errorf("a territory's triage: %d %+v %v", total, list, err)
	}
	if list, total, err := s.TriageQueue(ctx, scope.Scope{Competences: []string{"voirie"}}, 10); err != nil || total != 0 || len(list) != 0 {
		t.Errorf("a scope without triage: %d %+v %v", total, list, err)
	}
	if list, total, err := s.TriageQueue(ctx, scope.Scope{}, 10); err != nil || total != 0 || len(list) != 0 {
		t.Errorf("the zero scope: %d %+v %v", total, list, err)
	}
}
