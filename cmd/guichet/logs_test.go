package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/cmd/guichet/compose"
	"github.com/ampmetropole/guichet/services/platform/mailer"
	"github.com/ampmetropole/guichet/services/platform/sms"
	"github.com/ampmetropole/guichet/services/staff/auth"
	"github.com/ampmetropole/guichet/services/testkit"
)

// lockedBuffer is a log destination many goroutines write to.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// One citizen goes through every way in and out that logs — the web form
// with a photo, a partner's request, a telephone call, the notifier's
// acknowledgements by e-mail and SMS, a reply, « Mes demandes » by e-mail
// and by SMS — on a Guichet whose logger is the one `guichet serve` makes
// (newLogger), at the debug level; then none of the citizen's details is in
// what was logged, while the request ids and case references are.
func TestLogsCarryNoPersonalData(t *testing.T) {
	const (
		name    = "Zéphyrin Quenouille-Arbogast"
		email   = "zephyrin.quenouille@example.net"
		mobile  = "+33756123456"
		street  = "37 impasse des Tamaris-Bleus"
		devTok  = "jeton-admin-de-la-suite-des-journaux"
		subject = "Ornithorynque renversé sur le trottoir"
	)
	secrets := []string{"Zéphyrin", "Zephyrin", "Quenouille", "Arbogast", email, mobile, "0756123456", "07 56 12 34 56",
		"Tamaris", "Ornithorynque", "Pétunia-Cramoisie", "Hippocampe-Lavande", "Salamandre-Indigo", "photo-quenouille", "courrier-quenouille"}

	for k, v := range map[string]string{"GUICHET_SECRET": "secret-de-la-suite-des-journaux-0123456789", "GUICHET_DEV_TOKEN": devTok,
		"GUICHET_PUBLIC_URL": "http://127.0.0.1", "GUICHET_WEB_RATE": "1000", "GUICHET_SMTP_URL": "", "GUICHET_SMPP_ADDR": "",
		"GUICHET_DRAIN": "0s", "GUICHET_TRUSTED_PROXIES": "", "GUICHET_GEOCODER_URL": ""} {
		t.Setenv(k, v)
	}
	cfg, _, err := parseConfig("serve", []string{"--addr", "127.0.0.1:0"}, io.Discard, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.CheckEvents = true // every event the code builds is checked against case-event.v1
	mail, err := mailer.NewOutbox(t.TempDir(), cfg.Mail.From)
	if err != nil {
		t.Fatal(err)
	}
	texts, err := sms.NewOutbox(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	log := newLogger(compose.LogConfig{Level: slog.LevelDebug, Format: "json"}, &logs)
	a, err := compose.Start(context.Background(), cfg, compose.Deps{NATSURL: testkit.NATS(t).ClientURL(), DatabaseURL: testkit.Database(t),
		Outbox: mail, SMSOutbox: texts}, []string{"api", "web", "agent", "router", "notifier"}, log)
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
	g := &guichet{base: "http://" + a.Addr, a: a, outbox: mail, devToken: devTok}

	// The web form, with a photo named after the citizen.
	form := url.Values{
		"competence":  {"voirie"},
		"objet":       {subject},
		"description": {"Bonjour, je suis " + name + " (" + email + ", " + mobile + "), au " + street + " : le Pétunia-Cramoisie est tombé."},
		"adresse":     {street},
		"code_postal": {"13007"},
		"commune":     {"13055"},
		"nom":         {name},
		"email":       {email},
		"telephone":   {"07 56 12 34 56"},
		"reponse":     {"telephone"},
	}
	resp, page := g.form(t, nil, "/demande", form, []upload{{"fichiers", "photo-quenouille.jpg", photo(t, 90)}})
	code, ok := strings.CutPrefix(resp.Header.Get("Location"), "/demande/accuse/")
	if resp.StatusCode != http.StatusSeeOther || !ok {
		t.Fatalf("the form was not accepted: %d\n%s", resp.StatusCode, page)
	}
	// The same form refused (an address that is not one): the refusal is not logged with it.
	if resp, _ := g.form(t, nil, "/demande", url.Values{"objet": {subject}, "nom": {name}, "email": {"zephyrin.quenouille@"}, "reponse": {"email"}}, nil); resp.StatusCode == http.StatusSeeOther {
		t.Fatal("a wrong address was accepted")
	}
	// A partner's request.
	partner := g.token(t, "partenaire-journaux", "partner")
	st, body := g.api(t, "POST", "/api/v1/requests", partner, `{"channel": "web", "subject": "Hippocampe-Lavande", "body": "Signalé par `+name+` au `+street+`",
		"citizen": {"name": "`+name+`", "email": "`+email+`", "phone": "`+mobile+`"}, "location": {"address": "`+street+`", "postal_code": "13007"}}`)
	if st != http.StatusAccepted {
		t.Fatalf("partner request: %d %v", st, body)
	}
	// A telephone call, with its transcript.
	pbx := g.token(t, "standard-journaux", "telephony")
	st, call := g.api(t, "POST", "/api/v1/calls", pbx, `{"call_id": "pbx-journaux-1", "caller_number": "07 56 12 34 56", "agent_id": "agent-01",
		"direction": "inbound", "started_at": "2026-12-01T09:00:00+01:00", "ended_at": "2026-12-01T09:03:00+01:00",
		"summary": "`+name+` appelle pour le Salamandre-Indigo au `+street+`", "competence": "voirie",
		"transcript": {"format": "text", "content": "Agent: Bonjour.\nAppelant: Je suis `+name+`, `+street+`, mon numéro est le 07 56 12 34 56."}}`)
	if st != http.StatusAccepted {
		t.Fatalf("call: %d %v", st, call)
	}
	// Acknowledgements by SMS and e-mail, routed cases.
	testkit.Eventually(t, 20*time.Second, "acknowledgements sent", func() bool {
		m, _ := mail.List(context.Background(), 50)
		s, _ := texts.List(context.Background(), 50)
		return len(m) >= 1 && len(s) >= 2
	})
	ref := g.routed(t, code)
	// A reply to the citizen, by e-mail.
	if st, got := g.api(t, "POST", "/api/v1/cases/"+ref+"/replies", devTok, `{"channel": "email", "to": "`+email+`",
		"subject": "Votre signalement", "message": "Bonjour `+name+`, l'équipe passe au `+street+`."}`); st != http.StatusCreated {
		t.Fatalf("reply: %d %v", st, got)
	}
	testkit.Eventually(t, 20*time.Second, "the reply sent", func() bool {
		return strings.Contains(logs.String(), `"msg":"reply sent"`)
	})
	// « Mes demandes »: a link by e-mail and one by SMS.
	for _, who := range []string{email, "07 56 12 34 56"} {
		resp, err := noFollow().PostForm(g.base+"/mes-demandes/connexion", url.Values{"adresse": {who}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("a link to %s: %d", who, resp.StatusCode)
		}
	}
	// The mailroom: a letter scanned, and a file that is not a scan, both
	// named after the citizen; the agent looks the citizen up.
	for _, acc := range []struct{ login, role string }{{"courrier-01", auth.RoleMailroom}, {"agent-01", auth.RoleAgent}} {
		if _, err := a.Auth.CreateAccount(context.Background(), acc.login, acc.login, acc.role, securityPassword, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	mailroom := g.as(t, "courrier-01")
	for _, f := range []upload{
		{"scan", "courrier-quenouille.pdf", testkit.TextPDF([]string{name, street, "13007 Marseille", "", "Objet : Salamandre-Indigo", "", "Le trottoir est cassé."})},
		{"scan", "courrier-quenouille.txt", []byte("Ceci n'est pas un scan de " + name)},
	} {
		_, desk := mailroom.get("/courrier")
		m := csrfInput.FindStringSubmatch(desk)
		if m == nil {
			t.Fatal("no CSRF token on the mailroom page")
		}
		g.form(t, &http.Client{Jar: mailroom.client.Jar, Transport: mailroom.client.Transport, Timeout: 40 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
			"/courrier/scans", url.Values{auth.CSRFField: {m[1]}, "operateur": {"courrier-01"}}, []upload{f})
	}
	if code, _ := g.as(t, "agent-01").get("/agent?q=" + url.QueryEscape(email)); code != http.StatusOK {
		t.Fatalf("agent look-up: %d", code)
	}
	testkit.Eventually(t, 20*time.Second, "the letter read", func() bool {
		return strings.Count(logs.String(), `"msg":"request accepted"`) >= 4
	})
	stop()

	out := logs.String()
	lower := strings.ToLower(out)
	for _, s := range secrets {
		if strings.Contains(lower, strings.ToLower(s)) {
			i := strings.Index(lower, strings.ToLower(s))
			t.Errorf("the logs hold %q: …%s…", s, out[max(0, i-300):min(len(out), i+100)])
		}
	}
	// What the logs are for is still there.
	for _, want := range []string{`"msg":"request accepted"`, `"msg":"acknowledgement sent"`, `"msg":"reply sent"`, `"case":"` + ref + `"`,
		`"msg":"mes demandes: link sent"`} {
		if !strings.Contains(out, want) {
			t.Errorf("the logs lack %s", want)
		}
	}
	lines := 0
	for l := range strings.SplitSeq(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not a JSON line: %q", l)
		}
		lines++
	}
	t.Logf("%d log lines, none with the citizen's details", lines)
}
