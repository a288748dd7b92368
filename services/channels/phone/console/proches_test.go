package console_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/staff/auth"
	"github.com/ampmetropole/guichet/services/testkit"
	"github.com/ampmetropole/guichet/services/testkit/stack"
)

// lampIncident routes two citizens' reports of one dark street lamp (the
// router groups them) and returns the incident's reference.
func lampIncident(t *testing.T, st stack.Stack) (string, []string) {
	t.Helper()
	var refs []string
	for _, who := range []*schemas.Citizen{
		{Name: "Léa Martinez", Email: "lea.martinez@example.net", Phone: "+33687654321"},
		{Name: "Hugo Ferri", Email: "hugo.ferri@example.org", Phone: "+33612345678"},
	} {
		ref, _ := st.Route(t, schemas.Request{Channel: "web", Subject: "Lampadaire éteint",
			Body:     "Le lampadaire devant le 4 rue Sainte est éteint depuis trois soirs, la rue est dans le noir.",
			Location: &schemas.Location{Address: "4 rue Sainte", PostalCode: "13001"},
			Hints:    &schemas.Hints{Competence: "eclairage"}, Citizen: who})
		refs = append(refs, ref)
	}
	var inc string
	testkit.QueryRow(t, st.DBURL, `SELECT COALESCE(i.ref, '') FROM cases c LEFT JOIN incidents i ON i.id = c.incident_id WHERE c.ref = $1`, []any{refs[1]}, &inc)
	if inc == "" {
		t.Fatalf("precondition: the two reports of %v share no incident", refs)
	}
	return inc, refs
}

// TestNearbyAbuse: the console's « déjà signalé » list and joining an
// incident, behind the sign-in, bounded, and never with anyone's data.
func TestNearbyAbuse(t *testing.T) {
	st, srv := serve(t)
	account(t, st, "camille", "Camille Roux", auth.RoleAgent)
	account(t, st, "courrier", "Paul Courrier", auth.RoleMailroom)
	inc, _ := lampIncident(t, st)
	camille := signIn(t, srv.URL, "camille")

	for _, tt := range []struct {
		name, query string
		status      int
		refs        int
	}{
		{"the commune by postal code", "competence=eclairage&lieu=13001", 200, 1},
		{"the commune by name", "competence=eclairage&lieu=marseille", 200, 1},
		{"another domain", "competence=voirie&lieu=13001", 200, 0},
		{"another commune", "competence=eclairage&lieu=Aubagne", 200, 0},
		{"unknown domain", "competence=police&lieu=13001", 200, 0},
		{"no place", "competence=eclairage", 200, 0},
		{"malformed", "competence=%ZZ&lieu=%00%01", 200, 0},
		{"oversized", "competence=eclairage&lieu=" + strings.Repeat("x", 1000), http.StatusRequestURITooLong, -1},
	} {
		resp, body := camille.get("/agent/incidents-proches?" + tt.query)
		if resp.StatusCode != tt.status {
			t.Errorf("%s: %d %s", tt.name, resp.StatusCode, body)
			continue
		}
		if tt.refs < 0 {
			continue
		}
		var answer struct {
			Incidents []map[string]any `json:"incidents"`
		}
		if err := json.Unmarshal([]byte(body), &answer); err != nil || len(answer.Incidents) != tt.refs {
			t.Errorf("%s: %s (%v)", tt.name, body, err)
		}
		for _, p := range []string{"Martinez", "Ferri", "example", "+336", "AMP-"} {
			if strings.Contains(body, p) {
				t.Errorf("%s: %q in %s", tt.name, p, body)
			}
		}
		if tt.refs == 1 && len(answer.Incidents) == 1 && answer.Incidents[0]["ref"] != inc {
			t.Errorf("%s: %s, want %s", tt.name, body, inc)
		}
	}
	anonymous := person{t: t, base: srv.URL, client: noRedirect}
	if resp, _ := anonymous.get("/agent/incidents-proches?competence=eclairage&lieu=13001"); resp.StatusCode != http.StatusFound {
		t.Errorf("without a session: %d", resp.StatusCode)
	}
	if resp, _ := signIn(t, srv.URL, "courrier").get("/agent/incidents-proches?competence=eclairage&lieu=13001"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("as the mailroom: %d", resp.StatusCode)
	}

	// Without script: the button shows the list, and logs nothing.
	_, page := camille.get("/agent?caller=%2B33756123456")
	form := url.Values{"caller": {"07 56 12 34 56"}, "direction": {"inbound"}, "cible": {"nouvelle"}, "competence": {"eclairage"},
		"lieu": {"13001"}, "resume": {"Le lampadaire de la rue Sainte est éteint."}, "call_id": {"proches-1"}}
	with := func(k, v string) url.Values {
		f := url.Values{}
		for key, vs := range form {
			f[key] = vs
		}
		f.Set(k, v)
		return f
	}
	resp, body := camille.post(page, "/agent/appels", with("etape", "proches"))
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="incident-`+inc+`"`) || strings.Contains(body, "Martinez") {
		t.Fatalf("the list without script: %d", resp.StatusCode)
	}
	var calls int
	testkit.QueryRow(t, st.DBURL, `SELECT count(*) FROM requests WHERE channel = 'phone'`, nil, &calls)
	if calls != 0 {
		t.Fatalf("%d calls logged by showing the list", calls)
	}
	// An incident that is no open one, or with the caller's own case: refused.
	for _, tt := range []struct{ name, incident, target, says string }{
		{"unknown incident", "INC-2026-999999", "nouvelle", "plus ouvert"},
		{"malformed incident", "INC-<script>", "nouvelle", "plus ouvert"},
		{"with an existing case", inc, "AMP-2026-000001", "Nouvelle demande"},
	} {
		f := with("incident", tt.incident)
		f.Set("cible", tt.target)
		resp, body := camille.post(page, "/agent/appels", f)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, tt.says) {
			t.Errorf("%s: %d", tt.name, resp.StatusCode)
		}
	}
	testkit.QueryRow(t, st.DBURL, `SELECT count(*) FROM requests WHERE channel = 'phone'`, nil, &calls)
	if calls != 0 {
		t.Fatalf("%d calls logged by refused forms", calls)
	}
	// Joined: the call's own case, in the incident, in its domain.
	resp, _ = camille.post(page, "/agent/appels", with("incident", inc))
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("joining: %d", resp.StatusCode)
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	tr, err := st.Store.Tracking(context.Background(), loc.Query().Get("journalise"))
	if err != nil || tr.Request.Hints == nil || tr.Request.Hints.Incident != inc || tr.Request.Hints.Competence != "eclairage" {
		t.Fatalf("the call: %+v %v", tr.Request.Hints, err)
	}
}
