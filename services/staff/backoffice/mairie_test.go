package backoffice_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/staff/auth"
)

// TestTeamHandsACaseOverToAMairie: from the case page, the team of what
// is outside the Métropole's remit redirects a case to the mairie of a
// commune (a communal matter the catalogue does not list, so the router
// left it to people); the case names the commune, whose desk
// then lists it, and the change is in the history. A mairie is only for
// the redirected state, and only one of the communes.
func TestTeamHandsACaseOverToAMairie(t *testing.T) {
	st, srv := serve(t)
	ctx := context.Background()
	if _, err := st.Auth.CreateAccount(ctx, "anne", "Anne", auth.RoleTeam, "mot-de-passe-anne", []string{schemas.CompetenceHorsCompetence}, nil); err != nil {
		t.Fatal(err)
	}
	ref, _ := st.Route(t, schemas.Request{Channel: "web", Source: schemas.Source{Adapter: "test"}, Subject: "Marché de Noël",
		Body: "Je voudrais un emplacement pour mon stand au marché de Noël de la place Baragnon.", Location: &schemas.Location{PostalCode: "13260"},
		Citizen: &schemas.Citizen{Name: "Rose Pons", Email: "rose@example.net"}, Hints: &schemas.Hints{Competence: schemas.CompetenceHorsCompetence}})
	anne := signIn(t, srv.URL, "anne", "mot-de-passe-anne")
	code, page := anne.get("/bo/dossiers/" + ref)
	if code != 200 || !strings.Contains(page, `<option value="13022">Cassis</option>`) {
		t.Fatalf("case page %d: no mairie to choose\n%s", code, page)
	}
	for _, bad := range []url.Values{
		{"vers": {"rejected"}, "mairie": {"13022"}, "motif": {"pas pour nous"}},
		{"vers": {"redirected"}, "mairie": {"75056"}, "motif": {"cantine"}},
		{"vers": {"redirected"}, "mairie": {"13201"}, "motif": {"un arrondissement n'est pas une commune"}},
	} {
		if code, _ := anne.post(page, "/bo/dossiers/"+ref+"/etat", bad); code != 422 {
			t.Errorf("%v: %d, want 422", bad, code)
		}
	}
	code, page = anne.post(page, "/bo/dossiers/"+ref+"/etat", url.Values{"vers": {"redirected"}, "mairie": {"13022"}, "motif": {"marchés : compétence communale"}})
	if code != 200 || !strings.Contains(page, "orienté vers la mairie de Cassis") {
		t.Fatalf("handover: %d\n%s", code, page)
	}
	d, err := st.Store.CommuneCaseByRef(ctx, []string{"13022"}, ref)
	if err != nil || d.RedirectedCommune != "13022" || d.State != "redirected" || len(d.Requests) != 1 {
		t.Fatalf("Cassis's view of the case: %+v %v", d, err)
	}
	if _, err := st.Store.CommuneCaseByRef(ctx, []string{"13041"}, ref); err == nil {
		t.Error("Gardanne sees Cassis's case")
	}
	f, err := st.Store.CaseFile(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	last := f.Events[len(f.Events)-1]
	if last.Type != schemas.EventStateChanged || last.Data["redirected_commune"] != "13022" || last.Actor.ID != "anne" {
		t.Errorf("history's last event %+v", last)
	}
}
