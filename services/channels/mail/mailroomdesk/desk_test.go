package mailroomdesk_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/channels/mail/mailroom"
	"github.com/ampmetropole/guichet/services/channels/mail/mailroomdesk"
	"github.com/ampmetropole/guichet/services/channels/mail/scan"
	"github.com/ampmetropole/guichet/services/intake/attachment"
	"github.com/ampmetropole/guichet/services/language/extract"
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
	w.WriteField("operateur", "courrier-01")
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

func TestUploadListAndViewScan(t *testing.T) {
	st := stack.New(t, stack.Options{Router: true})
	ctx := context.Background()
	reader, err := scan.New(scan.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	files, _ := attachment.NewStore(ctx, st.Conn.JS)
	mail := mailroom.New(reader, files, st.Intake, extract.New(st.Places))
	var audited []string
	var mu sync.Mutex
	h, err := mailroomdesk.New(mailroomdesk.Deps{Letters: st.Store, Scans: files, Mail: mail, Holders: st.Store,
		Requests: st.Store, Correct: mailroom.NewCorrector(mail, st.Store), Log: testkit.Logger(t),
		Audit: func(_ context.Context, action, target string, _ map[string]any) {
			mu.Lock()
			defer mu.Unlock()
			audited = append(audited, action)
		}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	pdf := testkit.TextPDF([]string{"Marcel Giraud", "3 rue Jean Jaures", "13120 Gardanne", "", "Objet : Bac <jaune> casse", "", "Mon bac est casse."})
	if resp := upload(t, srv.URL, pdf); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("upload: %d", resp.StatusCode)
	}
	var page string
	testkit.Eventually(t, 10*time.Second, "letter routed on the page", func() bool {
		_, page = get(t, srv.URL+"/courrier")
		return strings.Contains(page, "Dossier AMP-")
	})
	if !strings.Contains(page, "Bac &lt;jaune&gt; casse") || !strings.Contains(page, "Mon bac est casse.") || !strings.Contains(page, "100 %") {
		t.Errorf("page lacks the letter:\n%s", page)
	}
	i := strings.Index(page, `href="/courrier/scans/`)
	if i < 0 {
		t.Fatal("no link to the scan")
	}
	link := page[i+6 : i+6+len("/courrier/scans/")+64]
	code, body := get(t, srv.URL+link)
	if code != 200 || !strings.HasPrefix(body, "%PDF-") {
		t.Fatalf("scan: %d", code)
	}
	if resp := upload(t, srv.URL, []byte("pas un scan")); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad scan: %d", resp.StatusCode)
	}
	if code, _ := get(t, srv.URL+"/courrier/scans/..%2f..%2fetc"); code != 404 {
		t.Fatalf("bad scan id: %d", code)
	}
	// A file in the store that no letter carries (a web upload, say) is not
	// the mailroom's to show.
	strayData := []byte("\x89PNG\r\n\x1a\nstray")
	straySum := sha256.Sum256(strayData)
	stray, err := files.Put(ctx, attachment.File{Name: "photo.png", ContentType: "image/png", Data: strayData, SHA256: hex.EncodeToString(straySum[:])})
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := get(t, srv.URL+"/courrier/scans/"+stray.SHA256); code != 404 {
		t.Fatalf("a file no letter carries: %d", code)
	}

	// Correct the text: the form shows what was read, the new text is sent.
	i = strings.Index(page, `href="/courrier/lettres/`)
	if i < 0 {
		t.Fatal("no correction link")
	}
	form := page[i+6 : i+6+strings.Index(page[i+6:], `"`)]
	code, body = get(t, srv.URL+form)
	if code != 200 || !strings.Contains(body, "Mon bac est casse.</textarea>") {
		t.Fatalf("correction form: %d\n%s", code, body)
	}
	post := func(text string) (*http.Response, string) {
		resp, err := noRedirect.PostForm(srv.URL+form, url.Values{"texte": {text}, "operateur": {"courrier-01"}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	if resp, body := post("   "); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "Correction refusée") || !strings.Contains(body, `aria-invalid="true"`) {
		t.Fatalf("empty correction: %d\n%s", resp.StatusCode, body)
	}
	resp, _ := post("Marcel Giraud\n3 rue Jean Jaurès\n13120 Gardanne\n\nObjet : Bac jaune cassé\n\nMon bac est cassé.")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/courrier?corrige=") {
		t.Fatalf("correction: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	testkit.Eventually(t, 10*time.Second, "correction routed on the page", func() bool {
		_, page = get(t, srv.URL+resp.Header.Get("Location"))
		return strings.Contains(page, "Texte corrigé renvoyé") && strings.Contains(page, "remplacé par la demande") &&
			strings.Count(page, "Dossier AMP-") == 2
	}) // Everything the operator saw and did is in the audit log.
	mu.Lock()
	for _, want := range []string{"mail.list", "mail.upload", "mail.scan.view", "mail.letter.view", "mail.correct"} {
		if !slices.Contains(audited, want) {
			t.Errorf("no %s in the audit log (%v)", want, audited)
		}
	}
	mu.Unlock()

	if code, _ := get(t, srv.URL+"/courrier/lettres/0190d3a8-0000-7000-8000-000000000000/correction"); code != 404 {
		t.Errorf("unknown letter: %d", code)
	}

	// A message rejected by the mailbox reader is listed with its reason.
	if err := st.Store.RecordMailRejection(ctx, casestore.MailRejection{MessageKey: "imap:INBOX:9:4", Sender: "scanner@ampmetropole.fr",
		Subject: "Scan 0004", Reason: "scan : PDF chiffré", ReceivedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	_, page = get(t, srv.URL+"/courrier")
	if !strings.Contains(page, "Motif : scan : PDF chiffré") || !strings.Contains(page, "message rejeté") || !strings.Contains(page, "en échec ou rejetés") {
		t.Errorf("rejection not shown:\n%s", page)
	}
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
	h, err := mailroomdesk.New(mailroomdesk.Deps{Letters: st.Store, Scans: files, Mail: mail, Log: testkit.Logger(t)})
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
	if _, page := get(t, srv.URL+loc); !strings.Contains(page, "Scan en cours de lecture (demande "+strings.TrimPrefix(loc, "/courrier?en_lecture=")+")") {
		t.Errorf("no notice:\n%s", page)
	}
	if resp := upload(t, srv.URL, testkit.TextPDF([]string{"Objet : Bac jaune casse"})); resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("upload beyond the uploads at work: %d", resp.StatusCode)
	}
	testkit.Eventually(t, 15*time.Second, "bomb refused on the page", func() bool {
		_, page := get(t, srv.URL+"/courrier")
		return strings.Contains(page, "Motif : Scan refusé : lecture interrompue, le fichier demande trop de calcul ou de mémoire") &&
			strings.Contains(page, "Scan déposé : lettre.pdf") && strings.Contains(page, "dépôt par courrier-01")
	})
}
