package backoffice_test

import (
	"context"
	"strings"
	"testing"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/staff/auth"
)

// TestDashboardShowsHumanControl: the supervisors' dashboard shows how the
// router's decisions of the week fared — one of three left to triage, one
// of the two it routed changed by a person —, by week, competence and
// channel, from the database.
func TestDashboardShowsHumanControl(t *testing.T) {
	st, srv := serve(t)
	ctx := context.Background()
	if _, err := st.Auth.CreateAccount(ctx, "nadia", "Nadia", auth.RoleSupervisor, "mot-de-passe-nadia", nil, nil); err != nil {
		t.Fatal(err)
	}
	route := func(hint string) string {
		req := schemas.Request{Channel: "web", Source: schemas.Source{Adapter: "test"}, Body: "Un trou dans la chaussée.",
			Location: &schemas.Location{PostalCode: "13006"}}
		if hint != "" {
			req.Hints = &schemas.Hints{Competence: hint}
		}
		ref, _ := st.Route(t, req)
		return ref
	}
	first := route("voirie")
	route("voirie")
	route("")
	if _, err := st.Store.Reroute(ctx, first, "eclairage", "", casestore.Change{Actor: "nadia", Reason: "un candélabre"}); err != nil {
		t.Fatal(err)
	}
	nadia := signIn(t, srv.URL, "nadia", "mot-de-passe-nadia")
	code, page := nadia.get("/bo/tableau")
	if code != 200 || !strings.Contains(page, "Contrôle humain du routage automatique") {
		t.Fatalf("dashboard %d", code)
	}
	i := strings.Index(page, `id="controle-semaines"`)
	if i < 0 {
		t.Fatalf("no weekly table:\n%s", page)
	}
	week := page[i:min(len(page), i+1200)]
	for _, want := range []string{">3<", "33 %", "50 %"} {
		if !strings.Contains(week, want) {
			t.Errorf("the week's row lacks %q:\n%s", want, week)
		}
	}
	if !strings.Contains(page, `id="controle-canaux"`) || !strings.Contains(page, "formulaire web") {
		t.Errorf("no table by channel")
	}
}
