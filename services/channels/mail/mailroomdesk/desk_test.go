package mailroomdesk_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"image"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/channels/mail/mailroom"
	"github.com/ampmetropole/guichet/services/channels/mail/mailroomdesk"
	"github.com/ampmetropole/guichet/services/channels/mail/scan"
	"github.com/ampmetropole/guichet/services/intake/attachment"
	"github.com/ampmetropole/guichet/services/language/extract"
	"github.com/ampmetropole/guichet/services/staff/auth"
	"github.com/ampmetropole/guichet/services/testkit"
	"github.com/ampmetropole/guichet/services/testkit/scanimg"
	"github.com/ampmetropole/guichet/services/testkit/stack"
)

func TestMain(m *testing.M) { testkit.Main(m) }

var noRedirect = testkit.NoRedirect()

func upload(t *testing.T, url string, data []byte) *http.Response {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	fw, _ := w.CreateFormFile("scan", "lettre.pdf")
	fw.Write(data)
	w.Close()
	resp, err := noRedirect.Post(url+"/courrier/scans", w.FormDataContentType(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := noRedirect.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestMailroomDesk is the mailroom's desk for a signed-in operator: a scan
// uploaded in their name, listed on one compact line without raw ids, its
// pages shown as images beside its text, an unchanged text refused, the
// correction on the letter's line, a refusal explained next to the upload
// form and next to its item.
func TestMailroomDesk(t *testing.T) {
	d := newDesk(t)
	ctx := context.Background()
	room := d.signIn(t, "courrier-01", mailroomPassword)

	_, page := room.get("/courrier")
	if strings.Contains(page, "Votre identifiant") || strings.Contains(page, `name="operateur"`) {
		t.Errorf("the upload form asks who the operator is:\n%s", page)
	}
	pdf := testkit.TextPDF([]string{"Marcel Giraud", "3 rue Jean Jaures", "13120 Gardanne", "", "Objet : Bac <jaune> casse", "", "Mon bac est casse."})
	resp, _ := room.upload("lettre.pdf", pdf)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/courrier?envoye=") {
		t.Fatalf("upload: %d %s", resp.StatusCode, loc)
	}
	id := strings.TrimPrefix(loc, "/courrier?envoye=")
	testkit.Eventually(t, 10*time.Second, "letter routed on the page", func() bool {
		_, page = room.get(loc)
		return strings.Contains(page, `<a href="/bo/dossiers/AMP-`)
	})
	req, err := d.st.Store.Request(ctx, id)
	if err != nil || req.Source.OperatorID != "courrier-01" {
		t.Errorf("uploaded in the name of %q (%v), want the signed-in operator", req.Source.OperatorID, err)
	}
	ref := d.st.CaseRef(t, id)
	// One line: date, sender, subject, state, case, reading, actions; no
	// raw id in what the page shows.
	if n := strings.Count(page, `<tbody role="rowgroup" class="lettre`); n != 1 {
		t.Errorf("%d lines for one letter", n)
	}
	line := page[strings.Index(page, `<tbody role="rowgroup" class="lettre`):]
	for _, want := range []string{"Marcel Giraud", "Bac &lt;jaune&gt; casse", "Orienté", `<a href="/bo/dossiers/` + ref + `">` + ref + `</a>`, "100 %",
		`href="/courrier/lettres/` + id + `/correction"`} {
		if !strings.Contains(line, want) {
			t.Errorf("the letter's line lacks %s:\n%s", want, line)
		}
	}
	if !strings.Contains(page, "Scan enregistré : « Bac &lt;jaune&gt; casse », dossier "+ref) {
		t.Errorf("no notice of the upload naming the letter:\n%s", page)
	}
	if ids := uuid.FindAllString(visible(page), -1); len(ids) > 0 || strings.Contains(visible(page), "upload:") {
		t.Errorf("raw ids shown on the page: %v", ids)
	}

	// The correction page: the scan's pages as images beside the text.
	form := "/courrier/lettres/" + id + "/correction"
	sha := strings.TrimPrefix(req.Attachments[0].ObjectKey, "sha256/")
	resp, body := room.get(form)
	if resp.StatusCode != 200 || !strings.Contains(body, "Mon bac est casse.</textarea>") ||
		!strings.Contains(body, `<img src="/courrier/scans/`+sha+`/pages/1.png" alt="Page 1 du courrier scanné">`) ||
		strings.Contains(body, `name="operateur"`) || strings.Contains(body, `target="_blank"`) {
		t.Fatalf("correction form: %d\n%s", resp.StatusCode, body)
	}
	resp, img := room.get("/courrier/scans/" + sha + "/pages/1.png")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("page image: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"))
	}
	if cfg, err := png.DecodeConfig(strings.NewReader(img)); err != nil || max(cfg.Width, cfg.Height) != scan.PreviewSide {
		t.Errorf("page image %+v %v", cfg, err)
	}
	if !d.wasAudited("courrier-01", "mail.scan.view", map[string]any{"sha256": sha, "page": 1}) {
		t.Error("the page image is not in the audit log")
	}

	// The text sent back as it was read, or with only its white space
	// changed, is refused next to the text, and nothing is sent.
	read := req.Attachments[0].ExtractedText
	for _, same := range []string{read, strings.ReplaceAll(read, "\n", "\r\n") + "\r\n  "} {
		resp, body := room.post(form, url.Values{"texte": {same}})
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "Le texte n&#39;a pas été modifié : corrigez-le avant de le renvoyer.") ||
			!strings.Contains(body, `aria-describedby="texte-aide texte-erreur" aria-invalid="true"`) || !strings.Contains(body, `<a href="#texte">`) {
			t.Fatalf("unchanged text: %d\n%s", resp.StatusCode, body)
		}
	}
	if resp, body := room.post(form, url.Values{"texte": {"   "}}); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "Correction refusée") {
		t.Fatalf("empty correction: %d\n%s", resp.StatusCode, body)
	}
	if _, page := room.get("/courrier"); strings.Contains(page, "texte corrigé") {
		t.Fatalf("a refused correction was sent:\n%s", page)
	}

	// The correction, in the operator's name, replaces the letter on its
	// line.
	resp, _ = room.post(form, url.Values{"texte": {"Marcel Giraud\n3 rue Jean Jaurès\n13120 Gardanne\n\nObjet : Bac jaune cassé\n\nMon bac est cassé."}})
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/courrier?corrige=") {
		t.Fatalf("correction: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	fixed := strings.TrimPrefix(resp.Header.Get("Location"), "/courrier?corrige=")
	testkit.Eventually(t, 10*time.Second, "correction routed on the page", func() bool {
		_, page = room.get(resp.Header.Get("Location"))
		return strings.Contains(page, "Texte corrigé renvoyé : « Bac jaune cassé », dossier "+ref) && strings.Contains(page, "texte corrigé le")
	})
	if n := strings.Count(page, `<tbody role="rowgroup" class="lettre`); n != 1 || !strings.Contains(page, `data-demande="`+fixed+`"`) || strings.Contains(page, `data-demande="`+id+`"`) {
		t.Errorf("%d lines after the correction, want the correction's only:\n%s", n, page)
	}
	if !regexp.MustCompile(`texte corrigé le \d\d/\d\d/\d{4} \d\d:\d\d par courrier-01`).MatchString(page) || !strings.Contains(page, "Texte lu à l'origine") {
		t.Errorf("the line does not say who corrected the text, and when:\n%s", page)
	}
	if req, err := d.st.Store.Request(ctx, fixed); err != nil || req.Source.OperatorID != "courrier-01" || req.Supersedes != id {
		t.Errorf("corrected request %+v %v", req.Source, err)
	}
	for _, action := range []string{"mail.list", "mail.upload", "mail.scan.view", "mail.letter.view", "mail.correct"} {
		if !d.wasAudited("courrier-01", action, nil) {
			t.Errorf("no %s by courrier-01 in the audit log", action)
		}
	}

	// A refused upload: what to do, next to the form, tied to the file
	// field, with a summary linking to it.
	resp, body = room.upload("note.pdf", []byte("pas un scan"))
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad scan: %d", resp.StatusCode)
	}
	form2 := section(body, "envoi-titre", "liste-titre")
	for _, want := range []string{"Le scan n'a pas été déposé", `<a href="#scan">Scan refusé. Ce fichier n&#39;est pas un scan`,
		`<p class="erreur" id="scan-erreur">`, `aria-describedby="scan-aide scan-erreur" aria-invalid="true"`} {
		if !strings.Contains(form2, want) {
			t.Errorf("the upload form lacks %s:\n%s", want, form2)
		}
	}

	// A message the mailbox rejected: why, in words that say what to do.
	if err := d.st.Store.RecordMailRejection(ctx, casestore.MailRejection{MessageKey: "imap:INBOX:9:4", Sender: "scanner@ampmetropole.fr",
		Subject: "Scan 0004", Reason: "mailroom: scan: PDF chiffré", ReceivedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	_, page = room.get("/courrier")
	if !strings.Contains(page, "Motif : </strong>Le PDF est protégé par un mot de passe") || !strings.Contains(page, "1 en échec ou rejeté") ||
		!strings.Contains(page, "<summary>Détail technique</summary><p>mailroom: scan: PDF chiffré") {
		t.Errorf("rejection not explained:\n%s", page)
	}
	if code, _ := room.get("/courrier/lettres/0190d3a8-0000-7000-8000-000000000000/correction"); code.StatusCode != 404 {
		t.Errorf("unknown letter: %d", code.StatusCode)
	}
}

// TestScanPageAbuse: the image of a scan's page is shown to the mailroom
// only, only for files a letter or an e-mail carries, only for pages the
// scan has.
func TestScanPageAbuse(t *testing.T) {
	d := newDesk(t)
	ctx := context.Background()
	room := d.signIn(t, "courrier-01", mailroomPassword)
	// A letter of two pages, as the scanner made it.
	first, err := scanimg.RenderLetter([]string{"OBJET : LAMPADAIRE ETEINT", "", "LE LAMPADAIRE EST ETEINT."}, 5, 0.4, 3)
	if err != nil {
		t.Fatal(err)
	}
	second, err := scanimg.RenderLetter([]string{"PIECE JOINTE", "PLAN DU QUARTIER"}, 5, -0.4, 5)
	if err != nil {
		t.Fatal(err)
	}
	resp, _ := room.upload("lettre.pdf", scanimg.ImagePDF([]*image.Gray{first, second}, 300))
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/courrier?envoye=") {
		t.Fatalf("upload: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	id := strings.TrimPrefix(resp.Header.Get("Location"), "/courrier?envoye=")
	req, err := d.st.Store.Request(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	sha := req.Attachments[0].SHA256
	_, form := room.get("/courrier/lettres/" + id + "/correction")
	for _, want := range []string{"Le courrier scanné (2 pages)", `<img src="/courrier/scans/` + sha + `/pages/1.png" alt="Page 1 du courrier scanné">`,
		`<img src="/courrier/scans/` + sha + `/pages/2.png" alt="Page 2 du courrier scanné" loading="lazy">`} {
		if !strings.Contains(form, want) {
			t.Errorf("the correction page lacks %s", want)
		}
	}
	page := "/courrier/scans/" + sha + "/pages/1.png"
	for _, p := range []string{page, "/courrier/scans/" + sha + "/pages/2.png"} {
		if resp, _ := room.get(p); resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" {
			t.Fatalf("the mailroom's page image %s: %d", p, resp.StatusCode)
		}
	}
	// A file in the store that no letter carries (a web upload, say) is
	// not the mailroom's to show.
	strayData := pngOf(t, 20, 20)
	straySum := sha256.Sum256(strayData)
	stray, err := d.files.Put(ctx, attachment.File{Name: "photo.png", ContentType: "image/png", Data: strayData, SHA256: hex.EncodeToString(straySum[:])})
	if err != nil {
		t.Fatal(err)
	}
	if resp, _ := d.anonymous(t).get(page); resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), auth.LoginPath) {
		t.Errorf("without a session: %d %s, want the sign-in page", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, body := d.signIn(t, "agent-01", agentPassword).get(page); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "Accès refusé") {
		t.Errorf("an agent: %d, want 403", resp.StatusCode)
	}
	for _, tc := range []struct {
		path string
		code int
	}{
		{"/courrier/scans/" + stray.SHA256 + "/pages/1.png", 404},
		{"/courrier/scans/" + strings.Repeat("0", 64) + "/pages/1.png", 404},
		{"/courrier/scans/" + strings.ToUpper(sha) + "/pages/1.png", 404},
		{"/courrier/scans/" + sha[:63] + "/pages/1.png", 404},
		{"/courrier/scans/..%2f..%2fetc/pages/1.png", 404},
		{"/courrier/scans/" + sha + "/pages/3.png", 404},
		{"/courrier/scans/" + sha + "/pages/999.png", 404},
		{"/courrier/scans/" + sha + "/pages/0.png", 400},
		{"/courrier/scans/" + sha + "/pages/01.png", 400},
		{"/courrier/scans/" + sha + "/pages/1000.png", 400},
		{"/courrier/scans/" + sha + "/pages/-1.png", 400},
		{"/courrier/scans/" + sha + "/pages/un.png", 400},
		{"/courrier/scans/" + sha + "/pages/1.jpg", 400},
		{"/courrier/scans/" + sha + "/pages/1", 400},
		{"/courrier/scans/" + sha + "/pages/" + strings.Repeat("9", 5000) + ".png", 400},
	} {
		resp, body := room.get(tc.path)
		if resp.StatusCode != tc.code || !strings.Contains(body, `lang="fr"`) {
			t.Errorf("%s: %d, want %d in French", tc.path, resp.StatusCode, tc.code)
		}
	}
	if d.wasAudited("courrier-01", "mail.scan.view", map[string]any{"sha256": stray.SHA256}) {
		t.Error("a file refused is in the audit log as shown")
	}
}

// pngOf is a blank PNG of w × h.
func pngOf(t *testing.T, w, h int) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// Replies by post wait on the mailroom's page until someone posts them.
func TestLettersToPost(t *testing.T) {
	st := stack.New(t, stack.Options{Router: true})
	ctx := context.Background()
	files, _ := attachment.NewStore(ctx, st.Conn.JS)
	h, err := mailroomdesk.New(mailroomdesk.Deps{Letters: st.Store, Scans: files, Tasks: st.Store,
		Who: func(*http.Request) string { return "courrier-01" }, Log: testkit.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	rc, err := st.Intake.Submit(ctx, schemas.Request{Channel: "mail", Source: schemas.Source{Adapter: "test"}, Body: "Bac cassé.", Hints: &schemas.Hints{Competence: "dechets"}})
	if err != nil {
		t.Fatal(err)
	}
	ref := st.CaseRef(t, rc.ID)
	if _, err := st.Store.Reply(ctx, ref, casestore.ReplyRequest{Channel: casestore.ReplyLetter, To: "M. Paul Roux\n8 avenue de la Gare\n13400 Aubagne",
		Subject: "Votre bac", Message: "Un bac neuf arrive jeudi."}, casestore.Change{Actor: "julie"}); err != nil {
		t.Fatal(err)
	}
	_, page := get(t, srv.URL+"/courrier")
	m := regexp.MustCompile(`action="(/courrier/reponses/[0-9a-f-]+/poste)"`).FindStringSubmatch(page)
	if m == nil || !strings.Contains(page, "Réponses à imprimer et poster (1)") || !strings.Contains(page, "/bo/dossiers/"+ref+"/courriers/") {
		t.Fatalf("letters to post:\n%s", page)
	}
	resp, err := noRedirect.PostForm(srv.URL+m[1], url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("posted: %d", resp.StatusCode)
	}
	if _, page = get(t, srv.URL+"/courrier?poste=1"); strings.Contains(page, "Réponses à imprimer") || !strings.Contains(page, "Envoi enregistré") {
		t.Errorf("after posting:\n%s", page)
	}
	c, err := st.Store.Case(ctx, ref)
	if err != nil || c.Events[len(c.Events)-1].Summary != "courrier de réponse posté" || c.Events[len(c.Events)-1].Actor.ID != "courrier-01" {
		t.Errorf("case history %+v %v", c.Events, err)
	}
	if code, _ := get(t, srv.URL+"/courrier"); code != 200 {
		t.Errorf("page %d", code)
	}
}

// TestSlowUploadAnnounced: a scan not read within the pipeline's wait (a
// 1 MB PDF of 400 MB of drawing operators, a wait of 500 ms, a reading
// budget of 3 s) sends the operator back to the page with a notice that it
// is being read; its refusal then shows in the list with the reason.
func TestSlowUploadAnnounced(t *testing.T) {
	st := stack.New(t, stack.Options{})
	ctx := context.Background()
	reader, err := scan.New(scan.Limits{Budget: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	files, _ := attachment.NewStore(ctx, st.Conn.JS)
	mail := mailroom.New(reader, files, st.Intake, extract.New(st.Places))
	mail.SetUploads(mailroom.UploadConfig{Wait: 500 * time.Millisecond, MaxInFlight: 1, Rejections: st.Store, Log: testkit.Logger(t)})
	t.Cleanup(mail.Stop)
	h, err := mailroomdesk.New(mailroomdesk.Deps{Letters: st.Store, Scans: files, Mail: mail, Log: testkit.Logger(t),
		Who: func(*http.Request) string { return "courrier-01" }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	start := time.Now()
	resp := upload(t, srv.URL, scanimg.DrawingBomb(400<<20))
	loc := resp.Header.Get("Location")
	if elapsed := time.Since(start); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/courrier?en_lecture=") || elapsed > 3*time.Second {
		t.Fatalf("bomb: %d %q after %v, want a redirect within the wait", resp.StatusCode, loc, elapsed)
	}
	if _, page := get(t, srv.URL+loc); !strings.Contains(page, "Scan en cours de lecture : il apparaîtra dans cette liste") {
		t.Errorf("no notice:\n%s", page)
	}
	if resp := upload(t, srv.URL, testkit.TextPDF([]string{"Objet : Bac jaune casse"})); resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("upload beyond the uploads at work: %d", resp.StatusCode)
	}
	testkit.Eventually(t, 15*time.Second, "bomb refused on the page", func() bool {
		_, page := get(t, srv.URL+"/courrier")
		return strings.Contains(page, "Motif : </strong>La lecture de ce fichier demandait trop de calcul") &&
			strings.Contains(page, "Scan refusé : lecture interrompue, le fichier demande trop de calcul ou de mémoire") &&
			strings.Contains(page, "Scan déposé : lettre.pdf") && strings.Contains(page, "dépôt par courrier-01")
	})
}
