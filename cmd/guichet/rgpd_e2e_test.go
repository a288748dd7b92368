package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/cmd/guichet/compose"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/deadline"
	"github.com/ampmetropole/guichet/services/cases/lifecycle"
	"github.com/ampmetropole/guichet/services/cases/scope"
	"github.com/ampmetropole/guichet/services/platform/bus"
	"github.com/ampmetropole/guichet/services/platform/frtime"
	"github.com/ampmetropole/guichet/services/platform/mailer"
	"github.com/ampmetropole/guichet/services/platform/pgcluster"
	"github.com/ampmetropole/guichet/services/platform/sms"
	"github.com/ampmetropole/guichet/services/staff/auth"
	"github.com/ampmetropole/guichet/services/testkit"
)

// The test citizen of issue 17: strings found nowhere else.
const (
	rgpdName   = "Zéphyrin Quenouille-Arbogast"
	rgpdEmail  = "zephyrin.quenouille@example.net"
	rgpdMobile = "+33756123456"
	rgpdStreet = "37 impasse des Tamaris-Bleus"
)

// rgpdNeedles are the forms of the citizen's details that must vanish:
// as typed, as stored, as printed.
var rgpdNeedles = []string{"Quenouille", "Arbogast", "zephyrin.quenouille", "756123456", "7 56 12 34 56", "Tamaris-Bleus", "Tamaris"}

// TestRGPDErasureLeavesNoTraceAndKeepsTheFigures is issue 17's proof: one
// citizen with a unique name, e-mail, mobile and street writes by the web
// form with a photo, calls (a transcript), and writes a letter (a scan);
// the cases are closed; `guichet rgpd export` finds everything; the
// retention applied with a future date then erases them everywhere — a
// pg_dump of the database, the JetStream store files (streams and object
// store), the mail and SMS outboxes, the logs of the whole run — while the
// counts by competence, territory, channel and month and the deadline
// figures stay the same.
func TestRGPDErasureLeavesNoTraceAndKeepsTheFigures(t *testing.T) {
	ctx := context.Background()
	storeDir := t.TempDir()
	nats, err := bus.StartEmbedded(bus.EmbeddedConfig{StoreDir: storeDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nats.Shutdown)
	dbURL := testkit.Database(t)
	logs := &syncBuffer{}
	t.Setenv("GUICHET_SECRET", "secret-de-la-suite-rgpd-0123456789")
	t.Setenv("GUICHET_DEV_TOKEN", "jeton-admin-de-la-suite-rgpd")
	t.Setenv("GUICHET_PUBLIC_URL", "http://127.0.0.1")
	t.Setenv("GUICHET_WEB_RATE", "1000")
	t.Setenv("GUICHET_SMTP_URL", "")
	t.Setenv("GUICHET_SMPP_ADDR", "")
	t.Setenv("GUICHET_DRAIN", "0s")
	t.Setenv("GUICHET_TRUSTED_PROXIES", "")
	cfg, _, err := parseConfig("serve", []string{"--addr", "127.0.0.1:0"}, io.Discard, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.CheckEvents = true // every event the code builds is checked against case-event.v1
	// The outboxes where `guichet dev` keeps them, under its data folder,
	// where `guichet rgpd` looks for them (GUICHET_DATA).
	data := t.TempDir()
	mailDir, smsDir := filepath.Join(data, "outbox"), filepath.Join(data, "sms")
	t.Setenv("GUICHET_DATA", data)
	outbox, err := mailer.NewOutbox(mailDir, cfg.Mail.From)
	if err != nil {
		t.Fatal(err)
	}
	texts, err := sms.NewOutbox(smsDir)
	if err != nil {
		t.Fatal(err)
	}
	// The product's own logger (redaction included), written where the
	// test can read every line.
	log := newLogger(compose.LogConfig{Level: slog.LevelDebug}, logs)
	a, err := compose.Start(ctx, cfg, compose.Deps{NATSURL: nats.ClientURL(), DatabaseURL: dbURL, Outbox: outbox, SMSOutbox: texts},
		[]string{"api", "web", "agent", "router", "notifier"}, log)
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			a.Stop()
		}
	}
	t.Cleanup(stop)
	base := "http://" + a.Addr
	client := &http.Client{Timeout: 60 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	token := func(role string) string {
		tok, err := a.Auth.CreateToken(ctx, "rgpd-"+role, role, nil, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}

	// 1. The web form, with a photo.
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range map[string]string{"competence": "voirie", "objet": "Chaussée effondrée impasse des Tamaris-Bleus",
		"description": "Devant le " + rgpdStreet + ", la chaussée s'est effondrée. " + rgpdName + ", voisin.",
		"adresse":     rgpdStreet, "code_postal": "13007", "commune": "13055", "nom": rgpdName, "email": rgpdEmail, "telephone": "07 56 12 34 56"} {
		mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("photos", "chaussee.png")
	fw.Write(photo(t, 40))
	mw.Close()
	req, _ := http.NewRequest("POST", base+"/demande", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("web form: %d", resp.StatusCode)
	}

	// 2. A call with its transcript.
	now := time.Now().UTC()
	call, _ := json.Marshal(map[string]any{"call_id": "rgpd-appel-1", "caller_number": rgpdMobile, "agent_id": "agent-01", "direction": "inbound",
		"started_at": now.Add(-3 * time.Minute).Format(time.RFC3339), "ended_at": now.Format(time.RFC3339), "competence": "voirie",
		"summary": "Rappel au sujet de la chaussée effondrée.",
		"transcript": map[string]any{"format": "text", "content": "Agent : Métropole, bonjour.\nAppelant : Bonjour, ici " + rgpdName +
			", j'habite au " + rgpdStreet + " à Marseille. La chaussée est toujours effondrée.\nAgent : Je note."}})
	req, _ = http.NewRequest("POST", base+"/api/v1/calls", bytes.NewReader(call))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token(auth.RoleTelephony))
	if resp, err = client.Do(req); err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("call: %d %s", resp.StatusCode, raw)
	}

	// 3. A scanned letter (a PDF with a text layer: the strings are in its bytes).
	body.Reset()
	mw = multipart.NewWriter(&body)
	mw.WriteField("operator_id", "courrier-01")
	fw, _ = mw.CreateFormFile("scan", "lettre.pdf")
	fw.Write(testkit.TextPDF([]string{rgpdName, rgpdStreet, "13007 Marseille", "", "Objet : chaussée effondrée", "",
		"Madame, Monsieur,", "La chaussée devant chez moi est effondrée depuis un mois.", "Mon courriel : " + rgpdEmail, "", rgpdName}))
	mw.Close()
	req, _ = http.NewRequest("POST", base+"/api/v1/mail/scans", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token(auth.RoleAdmin))
	if resp, err = client.Do(req); err != nil {
		t.Fatal(err)
	}
	raw, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("letter: %d %s", resp.StatusCode, raw)
	}

	// Every request routed; the receipts sent (e-mail, SMS, letter owed).
	var refs []string
	testkit.Eventually(t, 60*time.Second, "three requests routed", func() bool {
		var n int
		if err := a.Store.DB().QueryRow(ctx, `SELECT count(*) FROM requests WHERE status = 'routed'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 3
	})
	rows, err := a.Store.DB().Query(ctx, `SELECT DISTINCT c.ref FROM cases c JOIN requests r ON r.case_id = c.id ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var ref string
		rows.Scan(&ref)
		refs = append(refs, ref)
	}
	rows.Close()
	testkit.Eventually(t, 20*time.Second, "the e-mail and SMS receipts", func() bool {
		m, _ := outbox.List(ctx, 50)
		s, _ := texts.List(ctx, 50)
		return len(m) >= 1 && len(s) >= 1
	})

	// Closed: each case resolved, then closed.
	cal := deadline.New(frtime.Paris())
	for _, ref := range refs {
		for _, to := range []string{lifecycle.Qualified, lifecycle.InProgress, lifecycle.Resolved, lifecycle.Closed} {
			if _, err := a.Store.Transition(ctx, casestore.TransitionRequest{Ref: ref, To: to, Role: lifecycle.RoleSupervisor,
				Change: casestore.Change{Actor: "superviseur"}}, cal); err != nil {
				t.Fatalf("%s → %s: %v", ref, to, err)
			}
		}
	}
	// The figures as of one instant, before and after.
	asOf := time.Now().Add(time.Minute)
	figures := func() string {
		d, err := a.Store.Dashboard(ctx, scope.Everything(), 90, asOf)
		if err != nil {
			t.Fatal(err)
		}
		p, err := a.Store.Performance(ctx, scope.Everything(), 90, asOf)
		if err != nil {
			t.Fatal(err)
		}
		var months []string
		rows, err := a.Store.DB().Query(ctx, `SELECT c.competence, coalesce(c.territory, ''), r.channel, to_char(r.received_at, 'YYYY-MM'), count(*)
			FROM requests r JOIN cases c ON c.id = r.case_id GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var c, te, ch, m string
			var n int
			rows.Scan(&c, &te, &ch, &m, &n)
			months = append(months, fmt.Sprintf("%s/%s/%s/%s=%d", c, te, ch, m, n))
		}
		rows.Close()
		out, _ := json.Marshal(map[string]any{"dashboard": d, "performance": p, "counts": months})
		return string(out)
	}
	before := figures()

	// Access: the export finds everything.
	rgpd := func(args ...string) (string, string, error) {
		var stdout, stderr bytes.Buffer
		t.Setenv("DATABASE_URL", dbURL)
		t.Setenv("NATS_URL", nats.ClientURL())
		err := runRGPD(ctx, args, &stdout, &stderr)
		return stdout.String(), stderr.String(), err
	}
	export, stderr, err := rgpd("export", "--email", rgpdEmail)
	if err != nil {
		t.Fatalf("export: %v\n%s", err, stderr)
	}
	for _, want := range []string{rgpdName, rgpdEmail, rgpdStreet, "Tamaris-Bleus", refs[0]} {
		if !strings.Contains(export, want) {
			t.Errorf("the export lacks %q", want)
		}
	}

	// The retention, as of a date past every duration of the schedule.
	if out, stderr, err := rgpd("retention", "--now", time.Now().AddDate(5, 0, 0).Format("2006-01-02")); err != nil {
		t.Fatalf("retention: %v\n%s%s", err, out, stderr)
	}
	if after := figures(); after != before {
		t.Errorf("the figures changed with the purge:\nbefore %s\nafter  %s", before, after)
	}
	export, _, err = rgpd("export", "--email", rgpdEmail)
	if err != nil {
		t.Logf("export after the purge: %v (nobody found is an answer too)", err)
	}
	for _, n := range rgpdNeedles {
		if strings.Contains(export, n) {
			t.Errorf("the export after the purge still holds %q", n)
		}
	}

	// Nowhere: the database, the JetStream files, the outboxes, the logs.
	stop()
	nats.Shutdown()
	bin, err := pgcluster.FindBinaries("")
	if err != nil {
		t.Fatal(err)
	}
	dump, err := exec.Command(filepath.Join(bin, "pg_dump"), "--data-only", "--dbname", dbURL).Output()
	if err != nil {
		t.Fatalf("pg_dump: %v", err)
	}
	found := func(where string, data []byte) {
		t.Helper()
		for _, n := range rgpdNeedles {
			if bytes.Contains(data, []byte(n)) {
				i := bytes.Index(data, []byte(n))
				t.Errorf("%s still holds %q: …%q…", where, n, data[max(0, i-80):min(len(data), i+80)])
			}
		}
	}
	found("the database (pg_dump)", dump)
	for name, dir := range map[string]string{"the JetStream store": storeDir, "the mail outbox": mailDir, "the SMS outbox": smsDir} {
		filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			data, err := os.ReadFile(path)
			if err == nil {
				found(name+" ("+strings.TrimPrefix(path, dir)+")", data)
			}
			return nil
		})
	}
	found("the logs", []byte(logs.String()))
	if !strings.Contains(logs.String(), "request accepted") {
		t.Error("the logs were not captured")
	}
}
