package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/deadline"
	"github.com/ampmetropole/guichet/services/cases/personaldata"
	"github.com/ampmetropole/guichet/services/platform/frtime"
	"github.com/ampmetropole/guichet/services/staff/auth"
	"github.com/ampmetropole/guichet/services/testkit/stack"
)

// rgpdRun runs `guichet rgpd …` and returns its exit code and outputs.
func rgpdRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(append([]string{"rgpd"}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

// The commands of the DPO, end to end on a real database and bus: the
// export of everything held about a person, an erasure refused while a
// case is open, legal holds, the erasure once every case is closed, the
// retention schedule seen at a future date then applied, and the register;
// mistakes on the command line are usage errors (exit 2), refusals say why
// on stderr (exit 1); every act is in the audit log as cli:<user>.
func TestRGPDCommand(t *testing.T) {
	ctx := context.Background()
	st := stack.New(t, stack.Options{Router: true})
	data := t.TempDir()
	t.Setenv("DATABASE_URL", st.DBURL)
	t.Setenv("NATS_URL", st.NATS.ClientURL())
	t.Setenv("GUICHET_DATA", data)
	t.Setenv("GUICHET_SMTP_URL", "")
	const email, name = "zephyrin.quenouille@example.net", "Zéphyrin Quenouille-Arbogast"
	who := &schemas.Citizen{Name: name, Email: email, Phone: "+33756123456"}
	closed, _ := st.Route(t, schemas.Request{Channel: schemas.ChannelWeb, Subject: "Nid-de-poule", Body: "Devant le 37 impasse des Tamaris-Bleus.",
		Citizen: who, Hints: &schemas.Hints{Competence: "voirie"}})
	open, _ := st.Route(t, schemas.Request{Channel: schemas.ChannelPhone, Subject: "Bac cassé", Body: "Le bac jaune est fendu.",
		Citizen: &schemas.Citizen{Name: name, Phone: "+33756123456"}, Hints: &schemas.Hints{Competence: "dechets"}})
	other, _ := st.Route(t, schemas.Request{Channel: schemas.ChannelWeb, Subject: "Lampadaire", Body: "Éteint rue Paradis.",
		Citizen: &schemas.Citizen{Name: "Léa Martin", Email: "lea.martin@example.org"}, Hints: &schemas.Hints{Competence: "eclairage"}})
	reject := func(ref string) {
		t.Helper()
		if _, err := st.Store.Transition(ctx, casestore.TransitionRequest{Ref: ref, To: "rejected", Role: auth.RoleTeam,
			Change: casestore.Change{Actor: "julie", Reason: "hors sujet"}}, deadline.New(frtime.Paris())); err != nil {
			t.Fatal(err)
		}
	}
	reject(closed)
	reject(other)

	// Usage errors.
	for _, args := range [][]string{{}, {"nimporte"}, {"export"}, {"export", "--email", email, "--phone", "0756123456"},
		{"export", "--email", "pas une adresse"}, {"export", "--email", email, "--format", "pdf"}, {"erase", "--email", email},
		{"hold", "--reason", "x"}, {"hold", "pas-une-ref", "--reason", "x"}, {"retention", "--now", "demain"},
		{"registre", "--format", "html"}, {"export", "--email", email, "en trop"}} {
		if code, _, stderr := rgpdRun(t, args...); code != 2 || stderr == "" {
			t.Errorf("rgpd %q: exit %d, want 2 with a reason on stderr", args, code)
		}
	}

	// Export: JSON and the French document.
	code, out, stderr := rgpdRun(t, "export", "--email", "Zephyrin.Quenouille@Example.net")
	if code != 0 {
		t.Fatalf("export: %d %s", code, stderr)
	}
	var e personaldata.Export
	if err := json.Unmarshal([]byte(out), &e); err != nil || e.Schema != personaldata.SchemaV1 || len(e.Requests) != 2 || len(e.Cases) != 2 {
		t.Fatalf("export: %v\n%s", err, out)
	}
	if strings.Contains(out, "Léa Martin") || strings.Contains(out, other) {
		t.Error("the export shows someone else's data")
	}
	file := filepath.Join(t.TempDir(), "export.txt")
	if code, out, stderr := rgpdRun(t, "export", "--name", "zephyrin quenouille arbogast", "--format", "texte", "--out", file); code != 0 || !strings.Contains(out, "2 demande(s)") {
		t.Fatalf("export to a file: %d %s %s", code, out, stderr)
	}
	text, err := os.ReadFile(file)
	if err != nil || !strings.Contains(string(text), "Données personnelles détenues par la Métropole Aix-Marseille-Provence") || !strings.Contains(string(text), "Devant le 37 impasse des Tamaris-Bleus.") {
		t.Errorf("the French document: %v\n%s", err, text)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the export file is readable by others: %v", fi.Mode())
	}

	// An erasure is refused while a case is open, saying which.
	code, _, stderr = rgpdRun(t, "erase", "--email", email, "--reason", "demande de la personne du 3 mars")
	if code != 1 || !strings.Contains(stderr, "effacement refusé") || !strings.Contains(stderr, open) {
		t.Errorf("erase with an open case: exit %d, %s", code, stderr)
	}

	// Legal holds.
	if code, out, stderr := rgpdRun(t, "hold", strings.ToLower(closed), "--reason", "contentieux n° 27-0042"); code != 0 || !strings.Contains(out, "gelé") {
		t.Errorf("hold: %d %s %s", code, out, stderr)
	}
	if code, _, stderr := rgpdRun(t, "hold", closed, "--reason", "encore"); code != 1 || !strings.Contains(stderr, "déjà") {
		t.Errorf("hold twice: %d %s", code, stderr)
	}
	reject(open)
	if code, _, stderr := rgpdRun(t, "erase", "--phone", "07 56 12 34 56", "--reason", "demande de la personne"); code != 1 || !strings.Contains(stderr, closed) {
		t.Errorf("erase with a case on hold: exit %d, %s", code, stderr)
	}
	if code, out, stderr := rgpdRun(t, "release", closed, "--reason", "contentieux clos"); code != 0 || !strings.Contains(out, "levé") {
		t.Errorf("release: %d %s %s", code, out, stderr)
	}

	// The retention schedule seen at a future date changes nothing.
	code, out, stderr = rgpdRun(t, "retention", "--now", "2040-01-01", "--dry-run")
	if code != 0 || !strings.Contains(out, "seraient effacés") || !strings.Contains(out, other) {
		t.Errorf("dry run: %d %s %s", code, out, stderr)
	}
	if c, err := st.Store.Case(ctx, other); err != nil || len(c.Events) == 0 {
		t.Fatalf("after the dry run: %v", err)
	}

	// The erasure, once every case is closed and none held.
	code, out, stderr = rgpdRun(t, "erase", "--email", email, "--reason", "demande de la personne du 3 mars")
	if code != 0 || !strings.Contains(out, "2 dossier(s)") {
		t.Fatalf("erase: %d %s %s", code, out, stderr)
	}
	_, out, _ = rgpdRun(t, "export", "--email", email)
	if err := json.Unmarshal([]byte(out), &e); err != nil || len(e.People) != 0 || len(e.Requests) != 0 {
		t.Errorf("after the erasure the export still finds %d people, %d requests", len(e.People), len(e.Requests))
	}
	if strings.Contains(strings.Replace(out, `"email": "`+email+`"`, "", 1), email) || strings.Contains(out, "Tamaris") || strings.Contains(out, "Quenouille") {
		t.Errorf("after the erasure the export still holds the person's data:\n%s", out)
	}

	// The schedule applied at a future date purges the other case; NATS
	// is found in the data folder like the database.
	t.Setenv("NATS_URL", "")
	if code, _, stderr := rgpdRun(t, "retention", "--now", "2040-01-01"); code != 2 || !strings.Contains(stderr, "nats-url") {
		t.Errorf("retention without NATS: %d %s", code, stderr)
	}
	if err := os.WriteFile(filepath.Join(data, "nats-url"), []byte(st.NATS.ClientURL()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, stderr := rgpdRun(t, "retention", "--now", "2040-01-01"); code != 0 || !strings.Contains(out, other) || strings.Contains(out, "seraient") {
		t.Errorf("retention: %d %s %s", code, out, stderr)
	}

	// Every act is audited, in the name of the command's user.
	entries, err := st.Auth.AuditLog(ctx, auth.AuditFilter{Actor: cliActor()}, 100)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, a := range entries {
		seen[a.Action] = true
	}
	for _, action := range []string{personaldata.ActionExport, personaldata.ActionEraseRefused, personaldata.ActionRetention, "rgpd.hold", "rgpd.release", "rgpd.erase", "rgpd.purge"} {
		if !seen[action] {
			t.Errorf("no %s in the audit log (%v)", action, seen)
		}
	}

	// The register, from the catalogue and the configuration.
	t.Setenv("GUICHET_SMTP_URL", "smtps://guichet:motdepasse@smtp.example.net:465")
	code, out, _ = rgpdRun(t, "registre")
	if code != 0 || !strings.Contains(out, "# Registre des activités de traitement") || !strings.Contains(out, "smtp.example.net:465") ||
		strings.Contains(out, "motdepasse") || !strings.Contains(out, "Délégué à la protection des données") {
		t.Errorf("registre: %d\n%s", code, out)
	}
	code, out, _ = rgpdRun(t, "registre", "--format", "json")
	var reg personaldata.Register
	if err := json.Unmarshal([]byte(out), &reg); code != 0 || err != nil || len(reg.Purposes) < 14 || len(reg.Retention) != 7 {
		t.Errorf("registre json: %d %v", code, err)
	}
}
