package backoffice_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/outbound/notify"
	"github.com/ampmetropole/guichet/services/platform/mailer"
	"github.com/ampmetropole/guichet/services/platform/sms"
	"github.com/ampmetropole/guichet/services/staff/auth"
	"github.com/ampmetropole/guichet/services/testkit"
)

// End to end through NATS, PostgreSQL, the router and the notifier: three
// citizens report the same overflowing containers by web (with
// coordinates), phone and letter; the router groups the three in one
// incident from their words, each keeping their own case and code; a fourth report of the same kind
// on another street stays apart. The team detaches a case and undoes it
// (both audited), then resolves the incident once, and each of the three
// is told through their own channel: e-mail, SMS, letter.
func TestIncidentEndToEnd(t *testing.T) {
	st, srv := serve(t)
	ctx := context.Background()
	mail, err := mailer.NewOutbox(t.TempDir(), "Métropole <ne-pas-repondre@example.org>")
	if err != nil {
		t.Fatal(err)
	}
	texts, err := sms.NewOutbox(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	n, err := notify.New(notify.Config{PublicURL: "https://demarches.example.org", SMS: texts}, st.Conn, st.Store, mail, st.Catalogue, st.Validator, testkit.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Stop)
	if _, err := st.Auth.CreateAccount(ctx, "julie", "Julie", auth.RoleTeam, "mot-de-passe-julie", []string{"dechets"}, nil); err != nil {
		t.Fatal(err)
	}

	submit := func(req schemas.Request) (string, string) {
		t.Helper()
		req.Source = schemas.Source{Adapter: "test"}
		rc, err := st.Intake.Submit(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return rc.ID, st.CaseRef(t, rc.ID)
	}
	lat, lon := 43.30905, 5.38002
	webID, web := submit(schemas.Request{Channel: "web", Subject: "Conteneurs qui débordent bd National",
		Body:     "Bonjour, les conteneurs à ordures devant le 12 boulevard National n'ont pas été vidés depuis jeudi. Les sacs s'entassent sur le trottoir.",
		Location: &schemas.Location{Address: "12 boulevard National", PostalCode: "13003", Lat: &lat, Lon: &lon},
		Citizen:  &schemas.Citizen{Name: "Nassim Hamidou", Email: "nassim.hamidou@example.com"}, Hints: &schemas.Hints{Competence: "dechets"}})
	phoneID, phone := submit(schemas.Request{Channel: "phone", Body: "Les poubelles débordent devant le 12 boulevard National, ça n'a pas été ramassé depuis des jours.",
		Location:   &schemas.Location{Address: "12 boulevard National", PostalCode: "13003"},
		Transcript: []schemas.Turn{{Speaker: "caller", Text: "Les poubelles débordent devant le 12 boulevard National, ça n'a pas été ramassé depuis des jours."}},
		Citizen:    &schemas.Citizen{Name: "Marc Durand", Phone: "+33612345678"}, Hints: &schemas.Hints{Competence: "dechets"}})
	incidentOf := func(ref string) string {
		t.Helper()
		var inc string
		testkit.QueryRow(t, st.DBURL, `SELECT COALESCE(i.ref, '') FROM cases c LEFT JOIN incidents i ON i.id = c.incident_id WHERE c.ref = $1`, []any{ref}, &inc)
		return inc
	}
	// The letter as the mailroom reads it: the router groups it from its
	// words too, with no one choosing the incident.
	letterID, letter := submit(schemas.Request{Channel: "mail", Subject: "Conteneurs qui débordent",
		Body:     "Madame, Monsieur,\n\nLes conteneurs à ordures devant le 12 boulevard National débordent :\nles sacs ne sont plus ramassés depuis une semaine et les gabians les éventrent.\n\nVeuillez agréer, Madame, Monsieur, mes salutations distinguées.\n\nAnne Roux",
		Location: &schemas.Location{Address: "12 boulevard National", PostalCode: "13003"},
		Citizen:  &schemas.Citizen{Name: "Anne Roux", Address: &schemas.PostalAddress{Lines: []string{"3 rue Loubon"}, PostalCode: "13003", City: "Marseille"}},
		Hints:    &schemas.Hints{Competence: "dechets"}})
	_, apart := submit(schemas.Request{Channel: "web", Subject: "Conteneurs pleins rue Loubon",
		Body:     "Les conteneurs devant le 40 rue Loubon débordent, personne n'est passé.",
		Location: &schemas.Location{Address: "40 rue Loubon", PostalCode: "13003"},
		Citizen:  &schemas.Citizen{Name: "Jo Blanc", Email: "jo.blanc@example.net"}, Hints: &schemas.Hints{Competence: "dechets"}})

	inc := incidentOf(web)
	if inc == "" || incidentOf(phone) != inc || incidentOf(letter) != inc {
		var sugg string
		testkit.QueryRow(t, st.DBURL, `SELECT COALESCE(string_agg(g.confidence::text || ' ' || g.reasons::text, ' | '), '') FROM incident_suggestions g JOIN cases c ON c.id = g.case_id WHERE c.ref = $1`, []any{letter}, &sugg)
		var comp, state string
		testkit.QueryRow(t, st.DBURL, `SELECT competence, state FROM cases WHERE ref = $1`, []any{letter}, &comp, &state)
		t.Logf("letter case %s: %s %s", letter, comp, state)
		t.Fatalf("the three reports are not one incident: %q %q %q (suggestions for the letter: %s)", inc, incidentOf(phone), incidentOf(letter), sugg)
	}
	if web == phone || phone == letter || web == letter {
		t.Fatalf("each reporter keeps their own case: %s %s %s", web, phone, letter)
	}
	if got := incidentOf(apart); got == inc {
		t.Fatalf("the report on another street joined the incident %s", got)
	}

	julie := signIn(t, srv.URL, "julie", "mot-de-passe-julie")
	code, page := julie.get("/bo/incidents/" + inc)
	if code != 200 || !strings.Contains(page, `<dd id="demandeurs">3 (3 dossier(s))</dd>`) {
		t.Fatalf("incident page: %d\n%s", code, page)
	}
	// Detach, then undo: both are events of the case, naming julie, and
	// lines of the audit log.
	code, page = julie.post(page, "/bo/incidents/"+inc+"/detacher", url.Values{"dossier": {phone}, "motif": {"vérification"}})
	if code != 200 || incidentOf(phone) != "" {
		t.Fatalf("detach: %d %q\n%s", code, incidentOf(phone), page)
	}
	code, page = julie.post(page, "/bo/incidents/"+inc+"/rattacher", url.Values{"dossier": {phone}, "motif": {"annulation du détachement"}})
	if code != 200 || incidentOf(phone) != inc {
		t.Fatalf("undo: %d %q\n%s", code, incidentOf(phone), page)
	}
	if eventCount(t, st, phone, schemas.EventIncidentDetached, inc) != 1 {
		t.Errorf("no incident_detached event by a person on %s", phone)
	}
	var actor string
	testkit.QueryRow(t, st.DBURL, `SELECT e.payload->'actor'->>'id' FROM case_events e JOIN cases c ON c.id = e.case_id
		WHERE c.ref = $1 AND e.type = 'incident_linked' ORDER BY e.seq DESC LIMIT 1`, []any{phone}, &actor)
	if actor != "julie" {
		t.Errorf("the undo names %q", actor)
	}
	entries, err := st.Auth.AuditLog(ctx, auth.AuditFilter{}, 50)
	if err != nil {
		t.Fatal(err)
	}
	var audited []string
	for _, e := range entries {
		if strings.HasPrefix(e.Action, "incident.") {
			audited = append(audited, e.Action)
		}
	}
	if !strings.Contains(strings.Join(audited, ","), "incident.detach") || !strings.Contains(strings.Join(audited, ","), "incident.attach") {
		t.Errorf("audit log: %v", audited)
	}

	// Resolve once: each of the three is told by their own channel.
	code, page = julie.post(page, "/bo/incidents/"+inc+"/resoudre", url.Values{"message": {"Les conteneurs ont été vidés et nettoyés."}})
	if code != 200 || !strings.Contains(page, `<dd id="etat-incident">résolu</dd>`) {
		t.Fatalf("resolve: %d\n%s", code, page)
	}
	for _, r := range []struct{ id, by string }{{webID, "nassim.hamidou@example.com"}, {phoneID, "+33612345678"}, {letterID, "3 rue Loubon"}} {
		testkit.Eventually(t, 15*time.Second, "resolution notice of "+r.by, func() bool {
			var told int
			testkit.QueryRow(t, st.DBURL, `SELECT count(*) FROM notifications n JOIN requests q ON q.id = n.request_id
				JOIN case_events e ON e.case_id = q.case_id AND e.type = 'state_changed' AND e.payload->'data'->>'to' = 'resolved'
				WHERE q.id = $1 AND n.kind = 'status:' || (e.payload->>'id') AND n.recipient LIKE '%' || $2 || '%'`, []any{r.id, r.by}, &told)
			return told == 1
		})
	}
	// The team's words reach the reporters, and nothing of the others.
	stored, err := mail.List(ctx, 50)
	if err != nil {
		t.Fatal(err)
	}
	var resolved string
	for _, m := range stored {
		if strings.Contains(m.To, "nassim.hamidou@example.com") && strings.Contains(m.Subject, "est résolue") {
			resolved = m.Body
		}
	}
	if !strings.Contains(resolved, "Ce qui a été fait : Les conteneurs ont été vidés et nettoyés.") || strings.Contains(resolved, "Marc Durand") || strings.Contains(resolved, "Anne Roux") {
		t.Errorf("the resolution notice to the web reporter:\n%s", resolved)
	}
	if f, _ := st.Store.CaseFile(ctx, apart); f.State == "resolved" {
		t.Errorf("the case on another street was resolved with the incident")
	}
}
