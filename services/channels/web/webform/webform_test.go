package webform_test

import (
	"bytes"
	"context"
	"html"
	"image"
	"image/jpeg"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/opendata"
	"github.com/ampmetropole/guichet/services/channels/web/webform"
	"github.com/ampmetropole/guichet/services/intake/attachment"
	"github.com/ampmetropole/guichet/services/outbound/notify"
	"github.com/ampmetropole/guichet/services/platform/bus"
	"github.com/ampmetropole/guichet/services/platform/mailer"
	"github.com/ampmetropole/guichet/services/testkit"
	"github.com/ampmetropole/guichet/services/testkit/stack"
)

func TestMain(m *testing.M) { testkit.Main(m) }

type testBundle struct {
	srv       *httptest.Server
	conn      *bus.Conn
	store     *casestore.Store
	files     *attachment.Store
	outbox    *mailer.Outbox
	dbURL     string
	validator *schemas.Validator
}

type options struct {
	rate     int
	notifier bool
	noRouter bool // requests are recorded, not routed: the test routes them (routeByHand)
	mapCfg   webform.MapConfig
	geocoder webform.Geocoder // nil: none
	openData bool             // /donnees from the database
}

// setup serves the web channel over the real bus, database and router.
func setup(t *testing.T, opts options) testBundle {
	t.Helper()
	ctx := context.Background()
	st := stack.New(t, stack.Options{Router: !opts.noRouter})
	outbox, err := mailer.NewOutbox(t.TempDir(), "Métropole <ne-pas-repondre@example.org>")
	if err != nil {
		t.Fatal(err)
	}
	if opts.notifier {
		n, err := notify.New(notify.Config{PublicURL: "https://demarches.example.org"}, st.Conn, st.Store, outbox, st.Catalogue, st.Validator, testkit.Logger(t))
		if err != nil {
			t.Fatal(err)
		}
		if err := n.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(n.Stop)
	}
	files, err := attachment.NewStore(ctx, st.Conn.JS)
	if err != nil {
		t.Fatal(err)
	}
	deps := webform.Deps{Intake: st.Intake, Store: st.Store, Files: files,
		Catalogue: st.Catalogue, Places: st.Places, Outbox: outbox, Log: testkit.Logger(t), Geocoder: opts.geocoder}
	if opts.openData {
		deps.OpenData = opendata.NewPublisher(opendata.Source{DB: st.Store.DB(), Catalogue: st.Catalogue, Places: st.Places,
			Threshold: opendata.DefaultThreshold, PublicPage: "https://demarches.example.org/donnees"})
	}
	h, err := webform.New(webform.Config{Secret: string(stack.Secret), RatePerMinute: opts.rate, Map: opts.mapCfg}, deps)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return testBundle{srv: srv, conn: st.Conn, store: st.Store, files: files, outbox: outbox, dbURL: st.DBURL, validator: st.Validator}
}

// noRedirect lets tests see the 303 answers.
var noRedirect = testkit.NoRedirect()

type upload struct {
	field, name string
	data        []byte
}

func multipartBody(t *testing.T, fields url.Values, files []upload) (io.Reader, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, vs := range fields {
		for _, v := range vs {
			w.WriteField(k, v)
		}
	}
	for _, f := range files {
		fw, err := w.CreateFormFile(f.field, f.name)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(f.data)
	}
	w.Close()
	return &b, w.FormDataContentType()
}

func post(t *testing.T, target string, fields url.Values, files []upload, header http.Header) (*http.Response, string) {
	t.Helper()
	body, ct := multipartBody(t, fields, files)
	req, err := http.NewRequest("POST", target, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, string(raw)
}

func get(t *testing.T, target string) (*http.Response, string) {
	t.Helper()
	resp, err := noRedirect.Get(target)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, string(raw)
}

func validFields() url.Values {
	return url.Values{
		"competence": {"voirie"}, "objet": {"Nid-de-poule rue Paradis"},
		"description": {"Un trou profond devant le 112 rue Paradis.\nDeux scooters sont tombés."},
		"adresse":     {"112 rue Paradis"}, "code_postal": {"13006"}, "commune": {"13055"},
		"nom": {"Léa Martinez"}, "email": {"lea.martinez@example.net"}, "telephone": {"06 39 98 14 27"}, "reponse": {"email"},
	}
}

func jpegPhoto(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewRGBA(image.Rect(0, 0, 8, 8)), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

const minimalPDF = "%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"

var codeInLocation = regexp.MustCompile(`^/demande/accuse/([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})$`)

// submit posts a valid form and returns the tracking code.
func submit(t *testing.T, b testBundle, fields url.Values, files []upload) string {
	t.Helper()
	resp, body := post(t, b.srv.URL+"/demande", fields, files, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /demande: %d\n%s", resp.StatusCode, body)
	}
	m := codeInLocation.FindStringSubmatch(resp.Header.Get("Location"))
	if m == nil {
		t.Fatalf("redirected to %q", resp.Header.Get("Location"))
	}
	return m[1]
}

func waitCase(t *testing.T, b testBundle, code string) casestore.Tracking {
	t.Helper()
	var tr casestore.Tracking
	testkit.Eventually(t, 10*time.Second, "request routed", func() bool {
		var err error
		tr, err = b.store.Tracking(context.Background(), code)
		return err == nil && tr.Case != nil
	})
	return tr
}

func TestFormPage(t *testing.T) {
	b := setup(t, options{})
	resp, body := get(t, b.srv.URL+"/demande")
	if resp.StatusCode != 200 {
		t.Fatalf("GET /demande: %d", resp.StatusCode)
	}
	for _, want := range []string{
		`<html lang="fr">`, `<label for="objet">`, `<label for="description">`, `<label for="commune">`,
		`<label for="email">`, `<label for="telephone">`, `<label for="fichiers">`, `value="eau_assainissement"`,
		`>Je ne sais pas<`, `data-cp="13001 13002`, `Vos données personnelles`, `name="site_web"`, `enctype="multipart/form-data"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("form lacks %s", want)
		}
	}
	if n := strings.Count(body, `<option value="13`) + strings.Count(body, `<option value="8`); n != 92 {
		t.Errorf("%d communes offered, want 92", n)
	}
	if regexp.MustCompile(`<script>|<script [^>]*>[^<]`).MatchString(body) || strings.Contains(body, " style=") || strings.Contains(body, "onclick") {
		t.Error("inline script or style in the page")
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || resp.Header.Get("X-Frame-Options") != "DENY" ||
		resp.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("security headers: %v", resp.Header)
	}
	if resp, _ := get(t, b.srv.URL+"/static/guichet.css"); resp.StatusCode != 200 {
		t.Errorf("stylesheet: %d", resp.StatusCode)
	}
}

func TestSubmitPublishesAndAcknowledges(t *testing.T) {
	b := setup(t, options{})
	code := submit(t, b, validFields(), []upload{{"fichiers", "trou.jpg", jpegPhoto(t)}, {"fichiers", "plan.pdf", []byte(minimalPDF)}})

	resp, body := get(t, b.srv.URL+"/demande/accuse/"+code)
	if resp.StatusCode != 200 {
		t.Fatalf("receipt: %d", resp.StatusCode)
	}
	for _, want := range []string{code, "Date de réception", "Direction de la voirie", `href="/suivi/` + code + `"`, "04 65 71 00 00", "Le Pharo"} {
		if !strings.Contains(body, want) {
			t.Errorf("receipt lacks %q", want)
		}
	}
	if !regexp.MustCompile(`\d{1,2}(er)? [a-zéû]+ 20\d\d à \d\d h \d\d`).MatchString(body) {
		t.Error("receipt lacks a date in French")
	}

	tr := waitCase(t, b, code)
	req := tr.Request
	if req.Channel != "web" || req.Citizen.Phone != "+33639981427" || req.Citizen.Email != "lea.martinez@example.net" ||
		req.Location.CommuneINSEE != "13055" || req.Hints.Competence != "voirie" || len(req.Attachments) != 2 {
		t.Fatalf("published request %+v", req)
	}
	for _, a := range req.Attachments {
		data, err := b.files.Get(context.Background(), a.ObjectKey)
		if err != nil || int64(len(data)) != a.Size {
			t.Errorf("attachment %s not stored: %v", a.Name, err)
		}
	}
	if req.Attachments[0].ContentType != "image/jpeg" || req.Attachments[1].ContentType != "application/pdf" {
		t.Errorf("types %s %s", req.Attachments[0].ContentType, req.Attachments[1].ContentType)
	}
	if tr.Case.Competence != "voirie" || tr.Case.Territory != "marseille-provence" {
		t.Errorf("case %+v", tr.Case)
	}
}

func TestInvalidFormComesBackWithValuesAndErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(url.Values)
		files  []upload
		field  string
		says   string
	}{
		{"missing description", func(v url.Values) { v.Del("description") }, nil, "description", "Décrivez votre demande"},
		{"missing subject", func(v url.Values) { v.Set("objet", "  ") }, nil, "objet", "objet de votre demande"},
		{"missing name", func(v url.Values) { v.Del("nom") }, nil, "nom", "nom et prénom"},
		{"e-mail without @", func(v url.Values) { v.Set("email", "lea.example.net") }, nil, "email", "doit contenir un @"},
		{"no way to reply", func(v url.Values) { v.Del("email"); v.Del("telephone"); v.Del("reponse") }, nil, "email", "au moins une adresse e-mail ou un numéro"},
		{"bad phone", func(v url.Values) { v.Set("telephone", "12") }, nil, "telephone", "numéro de téléphone n'est pas valide"},
		{"reply by phone without phone", func(v url.Values) { v.Del("telephone"); v.Set("reponse", "telephone") }, nil, "reponse", "indiquez votre numéro"},
		{"postal code outside the Métropole", func(v url.Values) { v.Set("code_postal", "75001"); v.Del("commune") }, nil, "code_postal", "n'est pas dans la Métropole"},
		{"postal code malformed", func(v url.Values) { v.Set("code_postal", "13O06"); v.Del("commune") }, nil, "code_postal", "5 chiffres"},
		{"commune and postal code disagree", func(v url.Values) { v.Set("commune", "13001") }, nil, "commune", "ne correspond pas au code postal 13006"},
		{"unknown commune", func(v url.Values) { v.Set("commune", "75056") }, nil, "commune", "Choisissez une commune"},
		{"unknown competence", func(v url.Values) { v.Set("competence", "police") }, nil, "competence", "Choisissez un domaine"},
		{"text file as photo", func(url.Values) {}, []upload{{"fichiers", "photo.jpg", []byte("ceci n'est pas une image")}}, "fichiers", "ni une photo"},
		{"PDF that is not a PDF", func(url.Values) {}, []upload{{"fichiers", "lettre.pdf", []byte("bonjour")}}, "fichiers", "n'est pas un PDF"},
		{"six files", func(url.Values) {}, []upload{
			{"fichiers", "1.pdf", []byte(minimalPDF)}, {"fichiers", "2.pdf", []byte(minimalPDF + " ")}, {"fichiers", "3.pdf", []byte(minimalPDF + "  ")},
			{"fichiers", "4.pdf", []byte(minimalPDF + "   ")}, {"fichiers", "5.pdf", []byte(minimalPDF + "    ")}, {"fichiers", "6.pdf", []byte(minimalPDF + "     ")},
		}, "fichiers", "5 fichiers au plus"},
	}
	b := setup(t, options{rate: 1000})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fields := validFields()
			tt.change(fields)
			resp, body := post(t, b.srv.URL+"/demande", fields, tt.files, nil)
			if resp.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422", resp.StatusCode)
			}
			if !strings.Contains(body, `<a href="#`+tt.field+`">`) {
				t.Errorf("the error summary does not link to #%s", tt.field)
			}
			if !strings.Contains(body, `id="`+tt.field+`-erreur"`) || !strings.Contains(body, html.EscapeString(tt.says)) {
				t.Errorf("no error %q next to %s", tt.says, tt.field)
			}
			if subject := strings.TrimSpace(fields.Get("objet")); subject != "" && !strings.Contains(body, `value="`+subject+`"`) {
				t.Error("the subject typed was not kept")
			}
			if d := fields.Get("description"); d != "" && !strings.Contains(body, "Deux scooters sont tombés.</textarea>") {
				t.Error("the description typed was not kept")
			}
		})
	}
	if n := testkit.StreamMsgs(t, b.conn, bus.StreamRequests); n != 0 {
		t.Fatalf("%d requests published from invalid forms", n)
	}
}

func TestKeptFilesAreSentOnCorrection(t *testing.T) {
	b := setup(t, options{})
	fields := validFields()
	fields.Del("description")
	resp, body := post(t, b.srv.URL+"/demande", fields, []upload{{"fichiers", "trou.jpg", jpegPhoto(t)}}, nil)
	if resp.StatusCode != 422 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	m := regexp.MustCompile(`name="deja" value="(([0-9a-f]{64})\.[0-9a-z]+\.[0-9a-f]+)"`).FindStringSubmatch(body)
	if m == nil || !strings.Contains(body, "trou.jpg") {
		t.Fatalf("the photo is not kept on the corrected form:\n%s", body)
	}
	// Another form naming the file by its bare hash, or with a token
	// altered, neither keeps it nor learns its name.
	for _, forged := range []string{m[2], m[2] + ".zzzzzz." + strings.Repeat("0", 32), strings.Replace(m[1], m[2][:8], "00000000", 1)} {
		other := validFields()
		other.Del("description")
		other.Add("deja", forged)
		if _, page := post(t, b.srv.URL+"/demande", other, nil, nil); strings.Contains(page, "trou.jpg") {
			t.Fatalf("a form naming the file by %q sees it:\n%s", forged, page)
		}
	}
	fields = validFields()
	fields.Add("deja", m[1])
	fields.Add("deja", strings.Repeat("0", 64)) // forged: ignored
	code := submit(t, b, fields, nil)
	tr := waitCase(t, b, code)
	if len(tr.Request.Attachments) != 1 || tr.Request.Attachments[0].Name != "trou.jpg" || tr.Request.Attachments[0].ContentType != "image/jpeg" {
		t.Fatalf("attachments %+v", tr.Request.Attachments)
	}
}

func TestTooLargeHoneypotRateLimitAndCrossOrigin(t *testing.T) {
	b := setup(t, options{rate: 2})
	// Too large: a clear page, 413.
	resp, body := post(t, b.srv.URL+"/demande", validFields(), []upload{{"fichiers", "huge.pdf", make([]byte, webform.MaxFormBody)}}, nil)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, "trop volumineux") {
		t.Fatalf("too large: %d", resp.StatusCode)
	}
	// Honeypot: refused, values kept, nothing published.
	fields := validFields()
	fields.Set("site_web", "http://spam.example")
	resp, body = post(t, b.srv.URL+"/demande", fields, nil, nil)
	if resp.StatusCode != 422 || !strings.Contains(body, "robot") || strings.Contains(body, "spam.example") {
		t.Fatalf("honeypot: %d", resp.StatusCode)
	}
	// Cross-site POST (CSRF): refused.
	for _, h := range []http.Header{{"Sec-Fetch-Site": {"cross-site"}}, {"Origin": {"https://attaquant.example"}}} {
		if resp, _ := post(t, b.srv.URL+"/demande", validFields(), nil, h); resp.StatusCode != http.StatusForbidden {
			t.Errorf("cross-origin POST with %v: %d", h, resp.StatusCode)
		}
	}
	// The limit (2 a minute) was spent above (cross-origin POSTs are refused
	// before it counts): the next POST is refused.
	if resp, body := post(t, b.srv.URL+"/demande", validFields(), nil, nil); resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "Patientez") {
		t.Fatalf("rate limit: %d", resp.StatusCode)
	}
	if n := testkit.StreamMsgs(t, b.conn, bus.StreamRequests); n != 0 {
		t.Fatalf("%d requests published", n)
	}
}

func TestScriptTypedIsShownAsText(t *testing.T) {
	b := setup(t, options{})
	fields := validFields()
	fields.Set("objet", `<script>alert("objet")</script>`)
	fields.Set("description", `<img src=x onerror=alert(1)> <b>gras</b>`)
	code := submit(t, b, fields, nil)
	waitCase(t, b, code)
	for page, shown := range map[string][]string{
		"/demande/accuse/" + code: {html.EscapeString(`<script>alert("objet")</script>`)},
		"/suivi/" + code:          {html.EscapeString(`<script>alert("objet")</script>`), html.EscapeString(`<img src=x onerror=alert(1)>`)},
	} {
		_, body := get(t, b.srv.URL+page)
		if strings.Contains(body, `<script>alert`) || strings.Contains(body, `<img src=x`) || strings.Contains(body, "<b>gras") {
			t.Errorf("%s renders typed HTML", page)
		}
		for _, want := range shown {
			if !strings.Contains(body, want) {
				t.Errorf("%s does not show the typed text %s", page, want)
			}
		}
	}
}

func TestTrackingFollowUpAndReplies(t *testing.T) {
	b := setup(t, options{})
	code := submit(t, b, validFields(), nil)
	tr := waitCase(t, b, code)

	resp, body := get(t, b.srv.URL+"/suivi/"+code)
	if resp.StatusCode != 200 || !strings.Contains(body, tr.Case.Ref) || !strings.Contains(body, "Direction de la voirie") ||
		!strings.Contains(body, "Marseille-Provence") || !strings.Contains(body, "reçue, en attente de prise en charge") {
		t.Fatalf("status page: %d\n%s", resp.StatusCode, body)
	}
	// A code typed in lower case without dashes finds the same page.
	loose := strings.ToLower(strings.ReplaceAll(code, "-", ""))
	if resp, _ := get(t, b.srv.URL+"/suivi?code="+loose); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/suivi/"+code {
		t.Errorf("loose code: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := get(t, b.srv.URL+"/suivi/ZZZZ-ZZZZ-ZZZZ"); resp.StatusCode != 404 {
		t.Errorf("unknown code: %d", resp.StatusCode)
	}
	if resp, _ := get(t, b.srv.URL+"/suivi/pas-un-code"); resp.StatusCode != 404 {
		t.Errorf("malformed code: %d", resp.StatusCode)
	}

	// Empty follow-up: named error.
	if resp, body := post(t, b.srv.URL+"/suivi/"+code, url.Values{"message": {" "}}, nil, nil); resp.StatusCode != 422 || !strings.Contains(body, `id="message-erreur"`) {
		t.Fatalf("empty message: %d", resp.StatusCode)
	}
	// A follow-up with a photo lands in the same case.
	resp, _ = post(t, b.srv.URL+"/suivi/"+code, url.Values{"message": {"Le trou s'est agrandi."}}, []upload{{"fichiers", "trou2.jpg", jpegPhoto(t)}}, nil)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/suivi/"+code+"?envoye=") {
		t.Fatalf("follow-up: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	var c casestore.Case
	testkit.Eventually(t, 10*time.Second, "follow-up in the case", func() bool {
		c, _ = b.store.Case(context.Background(), tr.Case.Ref)
		return len(c.Events) == 2
	})
	if c.Events[1].Type != schemas.EventRequestLinked || c.Events[1].Channel != "web" {
		t.Fatalf("events %+v", c.Events)
	}

	// A reply to the citizen shows; an internal note never does.
	if _, err := b.store.Reply(context.Background(), tr.Case.Ref, casestore.ReplyRequest{Channel: casestore.ReplyEmail,
		To: "lea.martinez@example.net", Message: "Une équipe passera jeudi."}, casestore.Change{Actor: "a1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.store.AddNote(context.Background(), tr.Case.Ref, "NOTE INTERNE confidentielle", casestore.Change{Actor: "a1"}); err != nil {
		t.Fatal(err)
	}
	_, body = get(t, b.srv.URL+"/suivi/"+code)
	if !strings.Contains(body, "Une équipe passera jeudi.") {
		t.Error("the reply is not shown")
	}
	if strings.Contains(body, "NOTE INTERNE") {
		t.Error("an internal note is shown to the citizen")
	}
	if !strings.Contains(body, "Le trou s&#39;est agrandi.") || !strings.Contains(body, "trou2.jpg") {
		t.Error("the follow-up is not among the citizen's messages")
	}
}

func TestAcknowledgementMailAndOutboxPage(t *testing.T) {
	b := setup(t, options{notifier: true})
	code := submit(t, b, validFields(), nil)
	var msgs []mailer.Stored
	testkit.Eventually(t, 10*time.Second, "acknowledgement written", func() bool {
		msgs, _ = b.outbox.List(context.Background(), 10)
		return len(msgs) == 1
	})
	m := msgs[0]
	if m.To != "lea.martinez@example.net" || !strings.Contains(m.Subject, code) || !strings.Contains(m.Body, "https://demarches.example.org/suivi/"+code) ||
		!strings.Contains(m.Body, "Direction de la voirie") {
		t.Fatalf("acknowledgement %+v", m)
	}
	_, body := get(t, b.srv.URL+"/courriels")
	if !strings.Contains(body, "lea.martinez@example.net") || !strings.Contains(body, `href="/courriels/`+m.ID+`"`) {
		t.Fatalf("outbox page:\n%s", body)
	}
	_, body = get(t, b.srv.URL+"/courriels/"+m.ID)
	if !strings.Contains(body, code) {
		t.Fatal("the message page lacks the code")
	}
	if resp, _ := get(t, b.srv.URL+"/courriels/..%2f..%2fetc%2fpasswd"); resp.StatusCode != 404 {
		t.Errorf("path traversal: %d", resp.StatusCode)
	}
	// Without an e-mail address, nothing is sent.
	fields := validFields()
	fields.Del("email")
	fields.Set("reponse", "telephone")
	code2 := submit(t, b, fields, nil)
	waitCase(t, b, code2)
	time.Sleep(300 * time.Millisecond)
	if msgs, _ := b.outbox.List(context.Background(), 10); len(msgs) != 1 {
		t.Fatalf("%d messages, want still 1", len(msgs))
	}
}

func newID(t *testing.T) string {
	t.Helper()
	id, err := uuid.NewV7()
	if err != nil {
		t.Fatal(err)
	}
	return id.String()
}
