package backoffice_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/deadline"
	"github.com/ampmetropole/guichet/services/intake/attachment"
	"github.com/ampmetropole/guichet/services/platform/frtime"
	"github.com/ampmetropole/guichet/services/platform/staffshell"
	"github.com/ampmetropole/guichet/services/staff/auth"
	"github.com/ampmetropole/guichet/services/staff/backoffice"
	"github.com/ampmetropole/guichet/services/testkit"
	"github.com/ampmetropole/guichet/services/testkit/stack"
)

// desk is a back office on a test server, with the staff assets (so that
// Chromium renders pages styled and runs their script) and the attachment
// store.
type desk struct {
	st    stack.Stack
	srv   *httptest.Server
	files *attachment.Store
}

func serveDesk(t *testing.T) desk {
	t.Helper()
	st := stack.New(t, stack.Options{Router: true})
	files, err := attachment.NewStore(context.Background(), st.Conn.JS)
	if err != nil {
		t.Fatal(err)
	}
	bo, err := backoffice.New(backoffice.Deps{Guard: st.Auth, Store: st.Store, Files: files, Catalogue: st.Catalogue,
		Clock: deadline.New(frtime.Paris()), Log: testkit.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	st.Auth.Register(mux)
	mux.Handle("GET "+staffshell.AssetsPath, staffshell.Assets())
	mux.Handle("/bo/", bo)
	srv := httptest.NewServer(st.Auth.Middleware(mux))
	t.Cleanup(srv.Close)
	return desk{st: st, srv: srv, files: files}
}

// account creates a signed-in-able account whose password is "mot-de-passe-"+login.
func (d desk) account(t *testing.T, login, name, role string, competences, territories []string) {
	t.Helper()
	if _, err := d.st.Auth.CreateAccount(context.Background(), login, name, role, "mot-de-passe-"+login, competences, territories); err != nil {
		t.Fatal(err)
	}
}

// submit sends a request through intake and returns its case's reference.
func (d desk) submit(t *testing.T, req schemas.Request) string {
	t.Helper()
	if req.Source.Adapter == "" {
		req.Source = schemas.Source{Adapter: "test"}
	}
	rc, err := d.st.Intake.Submit(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return d.st.CaseRef(t, rc.ID)
}

// photo stores a small PNG of w × h pixels as a citizen's photo.
func (d desk) photo(t *testing.T, name string, w, h int, shade uint8) schemas.Attachment {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		for y := range h {
			img.Set(x, y, color.RGBA{shade, uint8(x), uint8(y), 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return d.store(t, name, "image/png", buf.Bytes())
}

func (d desk) store(t *testing.T, name, contentType string, data []byte) schemas.Attachment {
	t.Helper()
	sum := sha256.Sum256(data)
	a, err := d.files.Put(context.Background(), attachment.File{Name: name, ContentType: contentType, Data: data, SHA256: hex.EncodeToString(sum[:])})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

const minimalPDF = "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"

// cases are the three kinds of case a road team sees: a web report with
// its place and photos, a call (with its transcript), a letter (with its
// scan and the text read on it).
type cases struct{ web, call, letter, otherTeam string }

func (d desk) roadCases(t *testing.T) cases {
	t.Helper()
	lat, lon := 43.29208, 5.38316
	var c cases
	c.web = d.submit(t, schemas.Request{Channel: schemas.ChannelWeb, Subject: "Nid-de-poule devant le 112",
		Body:     "Un trou profond s'est formé sur la chaussée devant le 112 rue Paradis ; deux scooters ont failli tomber.",
		Location: &schemas.Location{Address: "112 rue Paradis", PostalCode: "13006", CommuneINSEE: "13206", Lat: &lat, Lon: &lon},
		Citizen:  &schemas.Citizen{Name: "Hélène Durand", Email: "helene.durand@example.org", Phone: "+33687654321"},
		Attachments: []schemas.Attachment{d.photo(t, "trou-de-face.png", 400, 300, 90), d.photo(t, "trou-de-pres.png", 300, 400, 160),
			d.store(t, "constat.pdf", "application/pdf", []byte(minimalPDF))},
		Hints: &schemas.Hints{Competence: "voirie"}})
	c.call = d.submit(t, schemas.Request{Channel: schemas.ChannelPhone, Source: schemas.Source{Adapter: "telephony", ExternalID: "appel-1"},
		Body:       "Appel : plaque d'égout descellée avenue du Prado.",
		Location:   &schemas.Location{Address: "avenue du Prado", PostalCode: "13008"},
		Citizen:    &schemas.Citizen{Name: "Karim Benali", Phone: "+33612345678"},
		Transcript: []schemas.Turn{{Speaker: "agent", Text: "Métropole, bonjour."}, {Speaker: "caller", Text: "Une plaque d'égout bouge avenue du Prado."}},
		Hints:      &schemas.Hints{Competence: "voirie"}})
	scan := d.photo(t, "courrier-1.png", 620, 877, 240)
	scan.ExtractedText = "Madame, Monsieur,\nLe trottoir du boulevard Baille est défoncé.\nJean Martin\n3 boulevard Baille\n13005 Marseille"
	c.letter = d.submit(t, schemas.Request{Channel: schemas.ChannelMail, Source: schemas.Source{Adapter: "mail-upload", ExternalID: "scan-1"},
		Subject: "Trottoir défoncé", Body: "Le trottoir du boulevard Baille est défoncé.",
		Citizen:     &schemas.Citizen{Name: "Jean Martin", Address: &schemas.PostalAddress{Lines: []string{"3 boulevard Baille"}, PostalCode: "13005", City: "Marseille"}},
		Attachments: []schemas.Attachment{scan}, Hints: &schemas.Hints{Competence: "voirie"}})
	c.otherTeam = d.submit(t, schemas.Request{Channel: schemas.ChannelWeb, Body: "Bac jaune cassé.", Location: &schemas.Location{PostalCode: "13006"},
		Hints: &schemas.Hints{Competence: "dechets"}})
	return c
}

// The case page shows the place as the citizen gave it near the top, the
// photos as thumbnails opening the file, other files as links with their
// type and size, a letter's scan beside its text, a call's transcript only
// when there is one, and the actions folded in one panel.
func TestCasePageShowsThePlaceAndTheFiles(t *testing.T) {
	d := serveDesk(t)
	d.account(t, "voirie", "Paul Voirie", auth.RoleTeam, []string{"voirie"}, nil)
	c := d.roadCases(t)
	silent := d.submit(t, schemas.Request{Channel: schemas.ChannelPhone, Body: "Appel : lampadaire à terre.", Citizen: &schemas.Citizen{Phone: "+33756123456"},
		Hints: &schemas.Hints{Competence: "voirie"}})
	paul := signIn(t, d.srv.URL, "voirie", "mot-de-passe-voirie")

	code, page := paul.get("/bo/dossiers/" + c.web)
	if code != 200 {
		t.Fatalf("web case: %d\n%s", code, page)
	}
	if !strings.Contains(page, "<br>06 87 65 43 21</p>") {
		t.Error("the citizen's number is not written the French way")
	}
	place := regexp.MustCompile(`(?s)<dd id="lieu">(.*?)</dd>`).FindStringSubmatch(page)
	if place == nil || !strings.Contains(place[1], "112 rue Paradis<br>13006 Marseille") || !strings.Contains(place[1], "latitude 43,29208, longitude 5,38316") ||
		!strings.Contains(place[1], `href="https://www.openstreetmap.org/?mlat=43.29208&amp;mlon=5.38316#map=18/43.29208/5.38316"`) {
		t.Errorf("the place is not shown as given:\n%s", page)
	}
	if strings.Index(page, `id="lieu"`) > strings.Index(page, "Chronologie") {
		t.Error("the place comes after the history")
	}
	f, err := d.st.Store.CaseFile(context.Background(), c.web)
	if err != nil {
		t.Fatal(err)
	}
	atts := f.Requests[0].Attachments
	for _, a := range atts[:2] {
		thumb := `<a class="vignette" href="/bo/pieces/` + a.SHA256 + `" target="_blank" rel="noopener"><img src="/bo/pieces/` + a.SHA256 + `" alt="Photo ` + a.Name + ` (ouvrir en grand, nouvel onglet)" loading="lazy"></a>`
		if !strings.Contains(page, thumb) {
			t.Errorf("no thumbnail for %s:\n%s", a.Name, page)
		}
		if code, img := paul.get("/bo/pieces/" + a.SHA256); code != 200 || !strings.HasPrefix(img, "\x89PNG") {
			t.Errorf("the photo %s: %d", a.Name, code)
		}
	}
	if !strings.Contains(page, `constat.pdf<span class="sr"> (nouvel onglet)</span></a> <span class="meta">(document PDF, `+fmt.Sprint(len(minimalPDF))+` octets)</span>`) ||
		strings.Contains(page, `<img src="/bo/pieces/`+atts[2].SHA256) {
		t.Errorf("the PDF is not a link with its type and size:\n%s", page)
	}
	if strings.Contains(page, "Transcription") {
		t.Error("a web case shows a transcript fold")
	}
	// One panel of folds: a received case opens on its state; the others
	// are one click away.
	for _, want := range []string{`<details id="agir-etat" name="agir" open>`, `<details id="agir-reponse" name="agir">`, `<details id="agir-note" name="agir">`,
		`<details id="agir-attribution" name="agir">`, `<details id="agir-fusion" name="agir">`, `<details id="agir-orientation" name="agir">`} {
		if !strings.Contains(page, want) {
			t.Errorf("no %s", want)
		}
	}
	if strings.Count(page, "<details") != 6 {
		t.Errorf("%d folds on a web case", strings.Count(page, "<details"))
	}

	_, page = paul.get("/bo/dossiers/" + c.call)
	if !strings.Contains(page, "Transcription de l'appel (2 tours de parole)") || !strings.Contains(page, "Une plaque d&#39;égout bouge avenue du Prado.") ||
		!strings.Contains(page, "avenue du Prado<br>13008 Marseille") {
		t.Errorf("call case:\n%s", page)
	}
	if _, page = paul.get("/bo/dossiers/" + silent); strings.Contains(page, "Transcription") || !strings.Contains(page, `<dd id="lieu">non indiqué</dd>`) {
		t.Errorf("a call without transcript shows an empty fold, or a place:\n%s", page)
	}
	_, page = paul.get("/bo/dossiers/" + c.letter)
	lf, err := d.st.Store.CaseFile(context.Background(), c.letter)
	if err != nil {
		t.Fatal(err)
	}
	scan := lf.Requests[0].Attachments[0].SHA256
	if !strings.Contains(page, `<img src="/bo/pieces/`+scan+`" alt="Courrier numérisé courrier-1.png (ouvrir en grand, nouvel onglet)"`) ||
		!strings.Contains(page, "Le trottoir du boulevard Baille est défoncé.\nJean Martin") {
		t.Errorf("letter case: the scan is not beside its text:\n%s", page)
	}
}

// replyForm is the reply form as a browser without script sends it.
func replyForm(message, template string) url.Values {
	return url.Values{"canal": {"email"}, "destinataire": {"helene.durand@example.org"}, "demande": {""}, "objet": {"Votre demande"},
		"message": {message}, "modele": {template}}
}

// textarea returns the text of a page's textarea.
func textarea(t *testing.T, page, id string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<textarea id="` + id + `"[^>]*>(.*?)</textarea>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no textarea #%s:\n%s", id, page)
	}
	return html.UnescapeString(strings.TrimPrefix(m[1], "\n"))
}

// Without script, "Insérer le modèle" posts the form and gets it back with
// what was typed, then the template — greeting by name, the service with
// its article — and nothing is sent; then the reply goes as written.
func TestReplyTemplateWithoutScript(t *testing.T) {
	d := serveDesk(t)
	d.account(t, "voirie", "Paul Voirie", auth.RoleTeam, []string{"voirie"}, nil)
	d.account(t, "dechets", "Julie Déchets", auth.RoleTeam, []string{"dechets"}, nil)
	d.account(t, "agent", "Agent", auth.RoleAgent, nil, nil)
	c := d.roadCases(t)
	paul := signIn(t, d.srv.URL, "voirie", "mot-de-passe-voirie")
	_, page := paul.get("/bo/dossiers/" + c.web)
	// dossier.js reads the templates written out for this case.
	if !strings.Contains(page, `data-texte="Bonjour Hélène Durand,

Votre demande `+c.web+` a été examinée par la Direction de la voirie.`) {
		t.Errorf("the templates are not written out for the case:\n%s", page)
	}
	typed := "Le trou sera rebouché mardi par l'équipe de nuit."
	code, back := paul.post(page, "/bo/dossiers/"+c.web+"/modele", replyForm(typed, "prise-en-charge"))
	if code != 200 {
		t.Fatalf("insert a template: %d\n%s", code, back)
	}
	msg := textarea(t, back, "message")
	want := typed + "\n\nBonjour Hélène Durand,\n\nVotre demande " + c.web + " a été examinée par la Direction de la voirie. Elle est prise en charge"
	if !strings.HasPrefix(msg, want) || !strings.HasSuffix(msg, "Cordialement,\nDirection de la voirie") {
		t.Errorf("message after the template:\n%q\nwant it to start with\n%q", msg, want)
	}
	if !strings.Contains(back, `<details id="agir-reponse" name="agir" open>`) || !strings.Contains(back, `required autofocus>`) ||
		!strings.Contains(back, "Modèle « Prise en charge » ajouté à la fin du message : relisez-le") {
		t.Errorf("the reply form does not come back open, focused and explained:\n%s", back)
	}
	if !strings.Contains(back, `value="Votre demande"`) || !strings.Contains(back, `>helene.durand@example.org</textarea>`) {
		t.Error("the subject or the recipient typed was lost")
	}
	// An empty message takes the template alone; the default subject
	// gives way to the template's.
	form := replyForm("", "demande-inconnue")
	code, back = paul.post(back, "/bo/dossiers/"+c.web+"/modele", form)
	if code != 422 || !strings.Contains(back, "Choisissez un modèle dans la liste") {
		t.Errorf("unknown template: %d", code)
	}
	form = replyForm(" \n", "precisions")
	form.Set("objet", "Votre demande "+c.web)
	_, back = paul.post(back, "/bo/dossiers/"+c.web+"/modele", form)
	if msg := textarea(t, back, "message"); !strings.HasPrefix(msg, "Bonjour Hélène Durand,\n\nPour traiter votre demande "+c.web) ||
		!strings.Contains(back, `value="Demande de précisions — dossier `+c.web+`"`) {
		t.Errorf("template into an empty message:\n%q", msg)
	}
	if ev := events(t, d, c.web); strings.Contains(ev, "replied") {
		t.Fatalf("inserting a template sent something: %s", ev)
	}
	// The abuses: nobody, a role that may not answer, another team, too
	// big, unreadable — each refused in French, nothing sent.
	noRedirect := testkit.NoRedirect()
	resp, err := noRedirect.PostForm(d.srv.URL+"/bo/dossiers/"+c.web+"/modele", replyForm(typed, "prise-en-charge"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 303 || !strings.HasPrefix(resp.Header.Get("Location"), "/bo/connexion") {
		t.Errorf("without a session: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	agent := signIn(t, d.srv.URL, "agent", "mot-de-passe-agent")
	_, home := agent.get("/bo/")
	if code, _ := agent.post(home, "/bo/dossiers/"+c.web+"/modele", replyForm(typed, "prise-en-charge")); code != 403 {
		t.Errorf("an agent: %d", code)
	}
	julie := signIn(t, d.srv.URL, "dechets", "mot-de-passe-dechets")
	_, home = julie.get("/bo/")
	if code, body := julie.post(home, "/bo/dossiers/"+c.web+"/modele", replyForm(typed, "prise-en-charge")); code != 404 || !strings.Contains(body, "Page introuvable") {
		t.Errorf("another team: %d", code)
	}
	if code, body := paul.post(page, "/bo/dossiers/"+c.web+"/modele", replyForm(strings.Repeat("x", 130<<10), "prise-en-charge")); code != 413 || !strings.Contains(body, "Formulaire trop volumineux") {
		t.Errorf("oversized: %d", code)
	}
	if code, body := paul.post(page, "/bo/dossiers/"+c.web+"/modele", replyForm("nul\x00", "prise-en-charge")); code != 400 || !strings.Contains(body, "caractère non permis") {
		t.Errorf("malformed: %d", code)
	}
	if ev := events(t, d, c.web); strings.Contains(ev, "replied") {
		t.Fatalf("an abuse sent something: %s", ev)
	}
	// The reply as written goes to the history.
	code, page = paul.post(back, "/bo/dossiers/"+c.web+"/reponse", replyForm(typed+"\n\n"+msg, ""))
	if code != 200 || !strings.Contains(page, "Réponse enregistrée") || !strings.Contains(page, html.EscapeString(typed)) {
		t.Fatalf("reply: %d\n%s", code, page)
	}
	if ev := events(t, d, c.web); !strings.HasSuffix(ev, "replied") {
		t.Errorf("history %s", ev)
	}
}

// events lists a case's event types.
func events(t *testing.T, d desk, ref string) string {
	t.Helper()
	c, err := d.st.Store.Case(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range c.Events {
		types = append(types, e.Type)
	}
	return strings.Join(types, ",")
}

// A case is given to someone chosen in the list of the people who can work
// it; anyone else is refused, even when typed into the form.
func TestAssignFromTheTeamList(t *testing.T) {
	d := serveDesk(t)
	d.account(t, "paul", "Paul Martin", auth.RoleTeam, []string{"voirie"}, nil)
	d.account(t, "camille", "Camille Roux", auth.RoleTeam, []string{"voirie"}, []string{"marseille-provence"})
	d.account(t, "aix", "Inès Aix", auth.RoleTeam, []string{"voirie"}, []string{"pays-d-aix"})
	d.account(t, "julie", "Julie Déchets", auth.RoleTeam, []string{"dechets"}, nil)
	d.account(t, "chef", "Nadia Chef", auth.RoleSupervisor, nil, nil)
	d.account(t, "admin", "Admin", auth.RoleAdmin, nil, nil)
	c := d.roadCases(t)
	paul := signIn(t, d.srv.URL, "paul", "mot-de-passe-paul")
	_, page := paul.get("/bo/dossiers/" + c.web)
	sel := regexp.MustCompile(`(?s)<select id="a" name="a">(.*?)</select>`).FindStringSubmatch(page)
	if sel == nil {
		t.Fatalf("no list of people:\n%s", page)
	}
	var logins []string
	for _, m := range regexp.MustCompile(`<option value="([^"]*)"`).FindAllStringSubmatch(sel[1], -1) {
		logins = append(logins, m[1])
	}
	// Nobody has the case: the person signed in is proposed.
	if strings.Join(logins, ",") != ",camille,chef,paul" || !strings.Contains(sel[1], `<option value="paul" selected>Paul Martin (paul)</option>`) ||
		!strings.Contains(sel[1], `>Nadia Chef (chef), encadrement</option>`) {
		t.Errorf("people offered: %v\n%s", logins, sel[1])
	}
	for _, who := range []string{"julie", "aix", "admin", "personne"} {
		code, body := paul.post(page, "/bo/dossiers/"+c.web+"/attribution", url.Values{"a": {who}})
		if code != 422 || !strings.Contains(body, "ne fait pas partie des personnes qui traitent ce dossier") || !strings.Contains(body, `<details id="agir-attribution" name="agir" open>`) {
			t.Errorf("assign to %s: %d", who, code)
		}
	}
	if ev := events(t, d, c.web); strings.Contains(ev, "assigned") {
		t.Fatalf("refused assignments recorded: %s", ev)
	}
	code, page := paul.post(page, "/bo/dossiers/"+c.web+"/attribution", url.Values{"a": {"camille"}})
	if code != 200 || !strings.Contains(page, `<dd id="attribue">Camille Roux (camille)</dd>`) || !strings.Contains(page, `<option value="camille" selected>`) ||
		!strings.Contains(page, "attribution : attribué à camille") {
		t.Fatalf("assign to camille: %d\n%s", code, page)
	}
	code, page = paul.post(page, "/bo/dossiers/"+c.web+"/attribution", url.Values{"a": {""}})
	if code != 200 || !strings.Contains(page, `<dd id="attribue">personne</dd>`) || !strings.Contains(page, "attribution : attribution retirée") {
		t.Fatalf("unassign: %d", code)
	}
}

// Another team's case is the French 404 page in the frame, the same page as
// a reference that does not exist.
func TestOutOfScopeCaseIsNotFound(t *testing.T) {
	d := serveDesk(t)
	d.account(t, "voirie", "Paul Voirie", auth.RoleTeam, []string{"voirie"}, nil)
	c := d.roadCases(t)
	paul := signIn(t, d.srv.URL, "voirie", "mot-de-passe-voirie")
	code, other := paul.get("/bo/dossiers/" + c.otherTeam)
	if code != 404 || !strings.Contains(other, `<html lang="fr">`) || !strings.Contains(other, "<h1>Page introuvable</h1>") ||
		!strings.Contains(other, `<nav aria-label="Menu principal">`) || !strings.Contains(other, "Se déconnecter") || strings.Contains(other, "Bac jaune") {
		t.Fatalf("another team's case: %d\n%s", code, other)
	}
	code, none := paul.get("/bo/dossiers/AMP-2026-999999")
	if code != 404 || none != other {
		t.Errorf("a reference that does not exist answers differently (%d):\n%s", code, none)
	}
	for _, p := range []string{"/bo/dossiers/" + c.otherTeam + "/courriers/x.pdf"} {
		if code, body := paul.get(p); code != 404 || body != other {
			t.Errorf("%s: %d", p, code)
		}
	}
}
