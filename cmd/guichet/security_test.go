package main

// The security suite: each attack of issue #13, replayed as an outsider
// would, over HTTP against the whole of Guichet as `guichet serve` runs it
// (intake, router, notifier, citizen pages, back office, agent console,
// mailroom) on an embedded NATS and a throwaway PostgreSQL. Each subtest
// names the attack it replays and says what must hold.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/cmd/guichet/compose"

	"github.com/ampmetropole/guichet/services/platform/mailer"
	"github.com/ampmetropole/guichet/services/staff/auth"
	"github.com/ampmetropole/guichet/services/testkit"
	"github.com/ampmetropole/guichet/services/testkit/scanimg"
)

// guichet is a running Guichet and what the suite knows of it.
type guichet struct {
	base     string
	a        *compose.App
	outbox   *mailer.Outbox
	devToken string
}

const securityPassword = "mot-de-passe-de-test-1"

func startGuichet(t *testing.T) *guichet {
	t.Helper()
	nats := testkit.NATS(t)
	dbURL := testkit.Database(t)
	g := &guichet{devToken: "jeton-admin-de-la-suite-securite"}
	t.Setenv("GUICHET_SECRET", "secret-de-la-suite-de-securite-0123456789")
	t.Setenv("GUICHET_DEV_TOKEN", g.devToken)
	t.Setenv("GUICHET_PUBLIC_URL", "http://127.0.0.1")
	t.Setenv("GUICHET_TRUSTED_PROXIES", "127.0.0.1") // the suite says which address it comes from
	t.Setenv("GUICHET_WEB_RATE", "1000")
	t.Setenv("GUICHET_API_RATE", "20")
	t.Setenv("GUICHET_SMTP_URL", "")
	t.Setenv("GUICHET_DRAIN", "0s")
	cfg, _, err := parseConfig("serve", []string{"--addr", "127.0.0.1:0"}, io.Discard, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.CheckEvents = true // every event the code builds is checked against case-event.v1
	if g.outbox, err = mailer.NewOutbox(t.TempDir(), cfg.Mail.From); err != nil {
		t.Fatal(err)
	}
	g.a, err = compose.Start(context.Background(), cfg, compose.Deps{NATSURL: nats.ClientURL(), DatabaseURL: dbURL, Outbox: g.outbox},
		[]string{"api", "web", "agent", "router", "notifier"}, testkit.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.a.Stop)
	g.base = "http://" + g.a.Addr
	for _, acc := range []struct {
		login, role              string
		competences, territories []string
	}{
		{"voirie-mp", auth.RoleTeam, []string{"voirie"}, []string{"marseille-provence"}},
		{"dechets", auth.RoleTeam, []string{"dechets", "proprete"}, nil},
		{"sup-aix", auth.RoleSupervisor, nil, []string{"pays-d-aix"}},
		{"superviseur", auth.RoleSupervisor, nil, nil},
		{"agent-01", auth.RoleAgent, nil, nil},
		{"courrier-01", auth.RoleMailroom, nil, nil},
		{"admin", auth.RoleAdmin, nil, nil},
	} {
		if _, err := g.a.Auth.CreateAccount(context.Background(), acc.login, acc.login, acc.role, securityPassword, acc.competences, acc.territories); err != nil {
			t.Fatal(err)
		}
	}
	return g
}

// token creates an API token of a role for the suite.
func (g *guichet) token(t *testing.T, name, role string) string {
	t.Helper()
	tok, err := g.a.Auth.CreateToken(context.Background(), name, role, nil, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// api calls the JSON API with a bearer token ("" for none).
func (g *guichet) api(t *testing.T, method, path, token, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, g.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{Timeout: 40 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	if m == nil {
		m = map[string]any{"raw": string(raw)}
	}
	return resp.StatusCode, m
}

// upload is a file of a multipart form.
type upload struct {
	field, name string
	data        []byte
}

// form posts a multipart form as a browser would, without following a
// redirect; from sets the client's address (X-Forwarded-For).
func (g *guichet) form(t *testing.T, client *http.Client, path string, fields url.Values, files []upload) (*http.Response, string) {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	// The CSRF token comes first, as the pages put it.
	for _, v := range fields[auth.CSRFField] {
		w.WriteField(auth.CSRFField, v)
	}
	for k, vs := range fields {
		for _, v := range vs {
			if k != auth.CSRFField {
				w.WriteField(k, v)
			}
		}
	}
	for _, f := range files {
		part, _ := w.CreateFormFile(f.field, f.name)
		part.Write(f.data)
	}
	w.Close()
	req, _ := http.NewRequest("POST", g.base+path, &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Origin", g.base)
	if client == nil {
		client = noFollow()
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, string(raw)
}

func noFollow() *http.Client { return testkit.NoRedirect() }

// citizen fills in the request form and returns the tracking code.
func (g *guichet) citizen(t *testing.T, email, competence, subject, description, postalCode string, files ...upload) string {
	t.Helper()
	fields := url.Values{"competence": {competence}, "objet": {subject}, "description": {description}, "code_postal": {postalCode},
		"nom": {"Citoyen " + strings.Split(email, "@")[0]}, "email": {email}, "reponse": {"email"}}
	resp, page := g.form(t, nil, "/demande", fields, files)
	code, ok := strings.CutPrefix(resp.Header.Get("Location"), "/demande/accuse/")
	if resp.StatusCode != http.StatusSeeOther || !ok {
		t.Fatalf("the form was not accepted: %d\n%s", resp.StatusCode, page)
	}
	return code
}

var caseRef = regexp.MustCompile(`id="reference">(AMP-\d{4}-\d{6,})<`)

// status reads a status page.
func (g *guichet) status(t *testing.T, code string) string {
	t.Helper()
	resp, err := http.Get(g.base + "/suivi/" + code)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return string(raw)
}

// routed waits for the request of a tracking code to be in a case, and
// returns the case's reference.
func (g *guichet) routed(t *testing.T, code string) string {
	t.Helper()
	var ref string
	testkit.Eventually(t, 15*time.Second, "request "+code+" routed", func() bool {
		if m := caseRef.FindStringSubmatch(g.status(t, code)); m != nil {
			ref = m[1]
		}
		return ref != ""
	})
	return ref
}

// staff is a person signed in to the back office from an address.
type staff struct {
	t      *testing.T
	g      *guichet
	client *http.Client
}

var csrfInput = regexp.MustCompile(`name="` + auth.CSRFField + `" value="([^"]+)"`)

// signIn signs login in from address ip; ok says whether it worked.
func (g *guichet) signIn(t *testing.T, login, password, ip string) (staff, bool) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 40 * time.Second, Transport: fromAddress{ip}}
	resp, err := c.PostForm(g.base+"/bo/connexion", url.Values{"identifiant": {login}, "mot_de_passe": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// Signed in: sent on to the role's first page; refused: the form again.
	return staff{t: t, g: g, client: c}, resp.StatusCode == http.StatusOK && resp.Request.URL.Path != "/bo/connexion"
}

func (g *guichet) as(t *testing.T, login string) staff {
	t.Helper()
	s, ok := g.signIn(t, login, securityPassword, "192.0.2.10")
	if !ok {
		t.Fatalf("%s cannot sign in", login)
	}
	return s
}

// fromAddress is a transport that says the client's address, as the
// trusted reverse proxy would.
type fromAddress struct{ ip string }

func (f fromAddress) RoundTrip(r *http.Request) (*http.Response, error) {
	r.Header.Set("X-Forwarded-For", f.ip)
	return http.DefaultTransport.RoundTrip(r)
}

func (s staff) get(path string) (int, string) {
	s.t.Helper()
	resp, err := s.client.Get(s.g.base + path)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

// post sends a form of the page at from (its CSRF token) to path, without
// following a redirect.
func (s staff) post(from, path string, form url.Values) (int, string) {
	s.t.Helper()
	_, page := s.get(from)
	m := csrfInput.FindStringSubmatch(page)
	if m == nil {
		s.t.Fatalf("no CSRF token on %s", from)
	}
	form.Set(auth.CSRFField, m[1])
	req, _ := http.NewRequest("POST", s.g.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", s.g.base)
	c := *s.client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

// audited says whether the audit log holds an action by actor.
func (g *guichet) audited(t *testing.T, action, actor string) bool {
	t.Helper()
	code, body := g.api(t, "GET", "/api/v1/audit?action="+url.QueryEscape(action)+"&actor="+url.QueryEscape(actor), g.devToken, "")
	if code != 200 {
		t.Fatalf("audit log: %d %v", code, body)
	}
	entries, _ := body["entries"].([]any)
	return len(entries) > 0
}

// mailsTo lists the e-mails the notifier sent to an address.
func (g *guichet) mailsTo(t *testing.T, addr string) []mailer.Stored {
	t.Helper()
	all, err := g.outbox.List(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []mailer.Stored
	for _, m := range all {
		if strings.Contains(m.To, addr) {
			out = append(out, m)
		}
	}
	return out
}

func photo(t *testing.T, shade uint8) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 16, 16))
	for i := range img.Pix {
		img.Pix[i] = shade
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestSecurityAttacksOfIssue13(t *testing.T) {
	g := startGuichet(t)

	t.Run("1 citing another citizen's case shows none of their messages or replies", func(t *testing.T) {
		lea := g.citizen(t, "lea@example.net", "voirie", "Trou devant chez moi", "Trou profond devant le 12 rue Paradis ; j'habite au 3e étage, digicode 4521.", "13006")
		ref := g.routed(t, lea)
		voirie := g.as(t, "voirie-mp")
		if code, page := voirie.post("/bo/dossiers/"+ref, "/bo/dossiers/"+ref+"/reponse", url.Values{"canal": {"email"},
			"destinataire": {"lea@example.net"}, "objet": {"Votre trou"}, "message": {"Réponse pour Léa : nous passerons jeudi, digicode 4521."}}); code != http.StatusSeeOther {
			t.Fatalf("the team's reply: %d\n%s", code, page)
		}
		// A stranger cites Léa's reference (they follow each other).
		stranger := g.citizen(t, "curieux@example.org", "voirie", "Au sujet d'un dossier", "Je suis concerné par le dossier "+ref+", où en est-il ?", "13006")
		g.routed(t, stranger)
		// Another one types Léa's e-mail address, which proves nothing.
		impostor := g.citizen(t, "lea@example.net", "voirie", "Suite", "Quoi de neuf sur le dossier "+ref+" ?", "13006")
		g.routed(t, impostor)
		for who, code := range map[string]string{"the stranger": stranger, "the impostor with Léa's address": impostor} {
			page := g.status(t, code)
			for _, secret := range []string{"Réponse pour Léa", "digicode 4521", "3e étage"} {
				if strings.Contains(page, secret) {
					t.Errorf("%s's status page shows %q of Léa's", who, secret)
				}
			}
		}
		if page := g.status(t, lea); !strings.Contains(page, "Réponse pour Léa") || !strings.Contains(page, "digicode 4521") {
			t.Errorf("Léa no longer sees her own message and reply:\n%s", page)
		}
	})

	t.Run("2 attachments are served within the case's scope and audited; a kept file is not confirmed to others", func(t *testing.T) {
		img := photo(t, 90)
		sum := sha256.Sum256(img)
		sha := hex.EncodeToString(sum[:])
		code := g.citizen(t, "paul@example.org", "voirie", "Trottoir défoncé", "Le trottoir est défoncé devant le 40 rue de Rome.", "13001",
			upload{"fichiers", "photo-paul-rue-de-rome.jpg", img})
		g.routed(t, code)
		if got, _ := g.as(t, "dechets").get("/bo/pieces/" + sha); got != http.StatusNotFound {
			t.Errorf("another team downloads the attachment: %d", got)
		}
		if got, body := g.as(t, "voirie-mp").get("/bo/pieces/" + sha); got != http.StatusOK || !bytes.Equal([]byte(body), img) {
			t.Fatalf("the team that holds the case: %d", got)
		}
		if !g.audited(t, "attachment.view", "voirie-mp") {
			t.Error("the download is not in the audit log")
		}
		// Naming the hash in the form's "keep this file" field.
		resp, page := g.form(t, nil, "/demande", url.Values{"objet": {"x"}, "nom": {"X"}, "email": {"x@example.org"}, "deja": {sha}}, nil)
		if strings.Contains(page, "photo-paul-rue-de-rome.jpg") || resp.StatusCode == http.StatusSeeOther {
			t.Errorf("the form confirms another person's file and its name (%d)", resp.StatusCode)
		}
	})

	t.Run("3 a tracking code goes only to whoever created the request", func(t *testing.T) {
		partner := g.token(t, "partenaire-a", "partner")
		body := `{"id": "019ae000-0000-7000-8000-000000000013", "channel": "web", "body": "Lampadaire éteint, j'habite au 8 rue Sainte",
		          "citizen": {"email": "nina@example.net"}, "location": {"postal_code": "13001"}}`
		code, first := g.api(t, "POST", "/api/v1/requests", partner, body)
		if code != http.StatusAccepted || first["tracking_code"] == nil {
			t.Fatalf("the partner's request: %d %v", code, first)
		}
		for who, tok := range map[string]string{"without a credential": "", "another partner": g.token(t, "partenaire-b", "partner")} {
			if code, got := g.api(t, "POST", "/api/v1/requests", tok, body); got["tracking_code"] == first["tracking_code"] || code == http.StatusAccepted {
				t.Errorf("posting the same id %s: %d %v", who, code, got)
			}
		}
		call := func(id, says string) string {
			return `{"call_id": "` + id + `", "caller_number": "06 39 98 00 13", "agent_id": "agent-01", "direction": "inbound",
			  "started_at": "2026-12-01T09:00:00+01:00", "ended_at": "2026-12-01T09:03:00+01:00", "summary": "` + says + `"}`
		}
		if code, got := g.api(t, "POST", "/api/v1/calls", "", call("pbx-2026-12-01-0042", "Appel inventé")); code != http.StatusUnauthorized {
			t.Errorf("a call posted without a credential: %d %v", code, got)
		}
		pbx := g.token(t, "standard", "telephony")
		code, real := g.api(t, "POST", "/api/v1/calls", pbx, call("pbx-2026-12-01-0042", "Fuite d'eau au 5 rue Fort Notre-Dame"))
		if code != http.StatusAccepted || real["duplicate"] != false {
			t.Fatalf("the telephony's real call after someone posted its id: %d %v (its content must not be lost as a duplicate)", code, real)
		}
		if code, got := g.api(t, "POST", "/api/v1/calls", g.token(t, "autre-standard", "telephony"), call("pbx-2026-12-01-0042", "Fuite d'eau au 5 rue Fort Notre-Dame")); code == http.StatusAccepted && got["tracking_code"] == real["tracking_code"] {
			t.Errorf("another system re-posting the call id got the caller's code: %v", got)
		}
		if code, _ := g.api(t, "GET", "/api/v1/requests/"+fmt.Sprint(real["request_id"]), "", ""); code == http.StatusOK {
			t.Error("the call's status is read without a credential")
		}
	})

	t.Run("4 system intake needs a credential, is rate-limited, and acknowledgements are limited per address", func(t *testing.T) {
		if code, got := g.api(t, "POST", "/api/v1/requests", "", `{"channel": "web", "body": "spam", "citizen": {"email": "cible@example.org"}}`); code != http.StatusUnauthorized {
			t.Errorf("a request without a credential: %d %v", code, got)
		}
		flood := g.token(t, "partenaire-bavard", "partner")
		limited := 0
		for i := range 25 {
			if code, _ := g.api(t, "POST", "/api/v1/requests", flood, fmt.Sprintf(`{"channel": "web", "body": "envoi %d"}`, i)); code == http.StatusTooManyRequests {
				limited++
			}
		}
		if limited == 0 {
			t.Error("25 posts in a row with a limit of 20 a minute: none refused")
		}
		acks := g.token(t, "partenaire-poli", "partner")
		for i := range 8 {
			if code, got := g.api(t, "POST", "/api/v1/requests", acks, fmt.Sprintf(`{"channel": "web", "body": "Lien piégé http://example.com/%d", "citizen": {"email": "victime@example.org"}}`, i)); code != http.StatusAccepted {
				t.Fatalf("post %d: %d %v", i, code, got)
			}
		}
		testkit.Eventually(t, 15*time.Second, "acknowledgements handled", func() bool { return len(g.mailsTo(t, "victime@example.org")) >= 5 })
		time.Sleep(2 * time.Second) // what three more would need
		if n := len(g.mailsTo(t, "victime@example.org")); n > 5 {
			t.Errorf("%d acknowledgements sent to one address in a minute", n)
		}
	})

	t.Run("5 a territorial supervisor neither reads nor re-routes another territory's triage", func(t *testing.T) {
		code, got := g.api(t, "POST", "/api/v1/requests", g.devToken, `{"channel": "web", "body": "Bonjour, pouvez-vous me rappeler ?", "location": {"postal_code": "13001"}}`)
		if code != http.StatusAccepted {
			t.Fatalf("%d %v", code, got)
		}
		var ref string
		testkit.Eventually(t, 15*time.Second, "triaged", func() bool {
			_, st := g.api(t, "GET", "/api/v1/requests/"+fmt.Sprint(got["id"]), g.devToken, "")
			ref, _ = st["case_ref"].(string)
			return ref != ""
		})
		sup := g.as(t, "sup-aix")
		if code, _ := sup.get("/bo/dossiers/" + ref); code != http.StatusNotFound {
			t.Errorf("the Pays d'Aix supervisor reads a Marseille triage case: %d", code)
		}
		if _, page := sup.get("/bo/tri"); strings.Contains(page, ref) {
			t.Error("the triage list shows another territory's case")
		}
		if code, _ := sup.post("/bo/tri", "/bo/dossiers/"+ref+"/orienter", url.Values{"competence": {"voirie"}, "motif": {"essai"}}); code == http.StatusSeeOther {
			t.Error("the Pays d'Aix supervisor re-routed a Marseille triage case")
		}
	})

	t.Run("6 text the store or the mailer would refuse is refused at the door", func(t *testing.T) {
		if code, got := g.api(t, "POST", "/api/v1/requests", g.devToken, `{"channel": "web", "body": "trou\u0000rue"}`); code != http.StatusBadRequest || got["tracking_code"] != nil {
			t.Errorf("a NUL in a request: %d %v, want 400 and no code", code, got)
		}
		resp, _ := g.form(t, nil, "/demande", url.Values{"competence": {"voirie"}, "objet": {"Trou"}, "description": {"trou\x00rue"}, "code_postal": {"13001"},
			"nom": {"N"}, "email": {"n@example.org"}, "reponse": {"email"}}, nil)
		if resp.StatusCode == http.StatusSeeOther || resp.StatusCode >= 500 {
			t.Errorf("a NUL in the web form: %d (acknowledged, or an error of ours)", resp.StatusCode)
		}
		ref := g.routed(t, g.citizen(t, "olga@example.org", "voirie", "Trou", "Un trou boulevard Longchamp.", "13001"))
		for name, reply := range map[string]string{
			"a subject on two lines": `{"channel": "email", "to": "olga@example.org", "subject": "Objet\r\nBcc: x@example.org", "message": "Bonjour"}`,
			"two addresses":          `{"channel": "email", "to": "olga@example.org, x@example.org", "message": "Bonjour"}`,
		} {
			if code, got := g.api(t, "POST", "/api/v1/cases/"+ref+"/replies", g.devToken, reply); code < 400 || code >= 500 {
				t.Errorf("a reply with %s: %d (error %v), want a 4xx refusal", name, code, got["error"])
			}
		}
		voirie := g.as(t, "voirie-mp")
		if code, page := voirie.get("/bo/dossiers?q=%00"); code != http.StatusBadRequest {
			t.Errorf("a NUL in the search: %d %s", code, page[:min(len(page), 200)])
		}
		if code, got := g.api(t, "GET", "/api/v1/audit?actor=%FF%00", g.devToken, ""); code != http.StatusBadRequest {
			t.Errorf("bad text in the API's audit filter: %d %v", code, got)
		}
		if code, page := g.as(t, "admin").get("/bo/audit?acteur=%00"); code != http.StatusBadRequest ||
			strings.Contains(page, "SQLSTATE") || strings.Contains(page, "invalid byte sequence") {
			t.Errorf("a NUL in the audit page's filter: %d, %s", code, page[:min(len(page), 300)])
		}
	})

	t.Run("7 a PDF bomb is answered within the HTTP deadline", func(t *testing.T) {
		mailroom := g.token(t, "scanner", "mailroom")
		var body bytes.Buffer
		w := multipart.NewWriter(&body)
		part, _ := w.CreateFormFile("scan", "bombe.pdf")
		part.Write(scanimg.ArrayBomb(900 << 20))
		w.Close()
		req, _ := http.NewRequest("POST", g.base+"/api/v1/mail/scans", &body)
		req.Header.Set("Content-Type", w.FormDataContentType())
		req.Header.Set("Authorization", "Bearer "+mailroom)
		start := time.Now()
		resp, err := (&http.Client{Timeout: 40 * time.Second}).Do(req)
		if err != nil {
			t.Fatalf("no answer to a PDF bomb after %s: %v", time.Since(start).Round(time.Second), err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if took := time.Since(start); took > 30*time.Second || resp.StatusCode >= 500 || len(raw) == 0 {
			t.Errorf("a PDF bomb: %d after %s, %q", resp.StatusCode, took.Round(time.Second), raw)
		}
	})

	t.Run("8 a merge shows no one the other's replies and tells the merged citizen; look-ups and uploads are audited", func(t *testing.T) {
		a := g.citizen(t, "anne@example.org", "voirie", "Nid-de-poule", "Nid-de-poule devant le 3 rue Breteuil, je suis au 2e étage.", "13006")
		refA := g.routed(t, a)
		b := g.citizen(t, "bruno@example.org", "voirie", "Nid-de-poule", "Un nid-de-poule rue Breteuil, au niveau du 5.", "13006")
		refB := g.routed(t, b)
		voirie := g.as(t, "voirie-mp")
		if code, _ := voirie.post("/bo/dossiers/"+refA, "/bo/dossiers/"+refA+"/reponse", url.Values{"canal": {"email"}, "destinataire": {"anne@example.org"},
			"objet": {"Votre nid-de-poule"}, "message": {"Pour Anne : l'équipe sonnera au 2e étage, 06 11 22 33 44."}}); code != http.StatusSeeOther {
			t.Fatalf("the reply to Anne: %d", code)
		}
		if code, page := g.as(t, "superviseur").post("/bo/dossiers/"+refB, "/bo/dossiers/"+refB+"/fusionner", url.Values{"dans": {refA}, "motif": {"même nid-de-poule"}}); code != http.StatusSeeOther {
			t.Fatalf("merge: %d\n%s", code, page)
		}
		page := g.status(t, b)
		if strings.Contains(page, "Pour Anne") || strings.Contains(page, "06 11 22 33 44") || strings.Contains(page, "2e étage") {
			t.Error("after the merge, Bruno's status page shows what was written to or by Anne")
		}
		if !strings.Contains(page, refA) || !strings.Contains(page, refB) {
			t.Error("Bruno's status page does not say his case went from " + refB + " to " + refA)
		}
		testkit.Eventually(t, 15*time.Second, "Bruno told of the merge", func() bool {
			for _, m := range g.mailsTo(t, "bruno@example.org") {
				if strings.Contains(m.Body, refA) && strings.Contains(m.Body, refB) {
					return true
				}
			}
			return false
		})

		if code, _ := g.as(t, "agent-01").get("/agent?q=" + url.QueryEscape("anne@example.org")); code != http.StatusOK {
			t.Fatalf("agent look-up: %d", code)
		}
		if !g.audited(t, "personal_data.search", "agent-01") {
			t.Error("the agent's look-up of a person is not in the audit log")
		}
		mailroom := g.as(t, "courrier-01")
		_, desk := mailroom.get("/courrier")
		m := csrfInput.FindStringSubmatch(desk)
		if m == nil {
			t.Fatal("no CSRF token on the mailroom page")
		}
		pdf := testkit.TextPDF([]string{"Marcel Giraud", "3 rue Jean Jaures", "13120 Gardanne", "", "Objet : Bac casse", "", "Mon bac est casse, merci de le remplacer."})
		resp, body := g.form(t, &http.Client{Jar: mailroom.client.Jar, Transport: mailroom.client.Transport, Timeout: 40 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
			"/courrier/scans", url.Values{auth.CSRFField: {m[1]}, "operateur": {"courrier-01"}}, []upload{{"scan", "lettre.pdf", pdf}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("the mailroom's upload: %d\n%s", resp.StatusCode, body)
		}
		if !g.audited(t, "mail.upload", "courrier-01") {
			t.Error("the mailroom's upload is not in the audit log")
		}
	})

	t.Run("9 a case page lists only the citizen's other cases its reader may see", func(t *testing.T) {
		road := g.routed(t, g.citizen(t, "carla@example.org", "voirie", "Chaussée", "La chaussée est effondrée devant le 7 rue d'Italie.", "13006"))
		bins := g.routed(t, g.citizen(t, "carla@example.org", "dechets", "Bac non collecté", "Mon bac d'ordures ménagères n'a pas été collecté depuis une semaine.", "13006"))
		if road == bins {
			t.Fatal("two matters in one case")
		}
		if _, page := g.as(t, "voirie-mp").get("/bo/dossiers/" + road); strings.Contains(page, bins) {
			t.Errorf("the roads team sees the waste case %s on %s's page", bins, road)
		}
	})

	t.Run("10 wrong passwords from elsewhere do not lock the account out", func(t *testing.T) {
		for range 6 {
			if _, ok := g.signIn(t, "agent-01", "pas-le-bon", "203.0.113.9"); ok {
				t.Fatal("a wrong password signed in")
			}
		}
		if _, ok := g.signIn(t, "agent-01", securityPassword, "198.51.100.4"); !ok {
			t.Error("the agent at her own desk is locked out by guesses from another address")
		}
	})
}
