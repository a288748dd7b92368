package mailroomdesk_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/channels/mail/mailroomdesk"
	"github.com/ampmetropole/guichet/services/outbound/notify"
	"github.com/ampmetropole/guichet/services/testkit"
	"github.com/ampmetropole/guichet/services/testkit/stack"
)

// pdfText reads a PDF back through poppler's pdftotext.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	cmd := exec.Command("pdftotext", "-layout", "-", "-")
	cmd.Stdin = bytes.NewReader(pdf)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

// The mailroom sees the letters owed to citizens who wrote by post, prints
// the batch the page listed (one PDF) or one letter, and says the batch was
// posted: it leaves the list, and a letter queued after the page was shown
// is neither printed nor marked with it.
func TestNoticesToPost(t *testing.T) {
	st := stack.New(t, stack.Options{})
	ctx := context.Background()
	var audited []string
	h, err := mailroomdesk.New(mailroomdesk.Deps{Letters: st.Store, Notices: st.Store, Print: notify.PrintNotices(st.Catalogue),
		Who: func(*http.Request) string { return "courrier-01" }, Log: testkit.Logger(t),
		Audit: func(_ context.Context, action, _ string, _ map[string]any) { audited = append(audited, action) }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	queue := func(name, city string) casestore.PostalNotice {
		t.Helper()
		rc, err := st.Intake.Submit(ctx, schemas.Request{Channel: "mail", Source: schemas.Source{Adapter: "test"}, Body: "Lettre de " + name})
		if err != nil {
			t.Fatal(err)
		}
		n := casestore.PostalNotice{RequestID: rc.ID, Kind: notify.KindAcknowledgement, Recipient: name + "\n1 rue de la Paix\n" + city,
			Subject: "Accusé de réception de votre courrier", Body: "Bonjour " + name + ",\n\nNous avons bien reçu votre courrier.", TrackingCode: rc.TrackingCode}
		if _, err := st.Store.QueuePostalNotice(ctx, n); err != nil {
			t.Fatal(err)
		}
		if again, err := st.Store.QueuePostalNotice(ctx, n); err != nil || again {
			t.Fatalf("queued twice: %v %v", again, err)
		}
		return n
	}
	queue("Simone Aubert", "13300 SALON-DE-PROVENCE")
	queue("Paul Roux", "13400 AUBAGNE")

	code, page := get(t, srv.URL+"/courrier/accuses")
	if code != 200 || !strings.Contains(page, "Lot à imprimer (2 courriers)") || !strings.Contains(page, "Simone Aubert") || !strings.Contains(page, "13400 AUBAGNE") {
		t.Fatalf("page %d:\n%s", code, page)
	}
	batch := regexp.MustCompile(`href="(/courrier/accuses/lot\.pdf\?avant=[^"]+)"`).FindStringSubmatch(page)
	ids := regexp.MustCompile(`name="id" value="([0-9a-f-]{36})"`).FindAllStringSubmatch(page, -1)
	one := regexp.MustCompile(`href="(/courrier/accuses/[0-9a-f-]{36}\.pdf)"`).FindStringSubmatch(page)
	if batch == nil || len(ids) != 2 || one == nil {
		t.Fatalf("links and form: %v %v %v", batch, ids, one)
	}
	// Queued after the page was shown: the next batch's.
	queue("Nadia Belkacem", "13600 LA CIOTAT")

	resp, err := http.Get(srv.URL + strings.ReplaceAll(batch[1], "&amp;", "&"))
	if err != nil {
		t.Fatal(err)
	}
	pdf, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/pdf" {
		t.Fatalf("batch: %d %s", resp.StatusCode, pdf)
	}
	text := pdfText(t, pdf)
	if !strings.Contains(text, "Simone Aubert") || !strings.Contains(text, "Paul Roux") || strings.Contains(text, "Nadia") ||
		!strings.Contains(text, "Nous avons bien reçu votre courrier") || strings.Count(text, "\f") != 2 {
		t.Errorf("batch PDF:\n%s", text)
	}
	if _, body := get(t, srv.URL+one[1]); !strings.HasPrefix(body, "%PDF-") {
		t.Error("one letter's PDF is no PDF")
	}

	form := url.Values{"id": {ids[0][1], ids[1][1]}}
	resp = postForm(t, srv.URL+"/courrier/accuses/postes", form)
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "postes=2") {
		t.Fatalf("posted: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, page = get(t, srv.URL+"/courrier/accuses?postes=2")
	if !strings.Contains(page, "2 courriers marqués comme postés") || !strings.Contains(page, "Lot à imprimer (1 courrier)") || !strings.Contains(page, "Nadia Belkacem") || strings.Contains(page, "Paul Roux") {
		t.Errorf("after posting:\n%s", page)
	}
	// Posting again marks nothing more; the letter posted still prints.
	if resp := postForm(t, srv.URL+"/courrier/accuses/postes", form); !strings.Contains(resp.Header.Get("Location"), "postes=0") {
		t.Errorf("posted twice: %s", resp.Header.Get("Location"))
	}
	if code, _ := get(t, srv.URL+one[1]); code != 200 {
		t.Errorf("a posted letter's PDF: %d", code)
	}
	_, desk := get(t, srv.URL+"/courrier")
	if !strings.Contains(desk, "1 courrier à imprimer et poster") {
		t.Error("the desk does not say a letter is owed")
	}
	for _, a := range []string{"mail.notices", "mail.notices.print", "mail.notices.posted"} {
		if !strings.Contains(strings.Join(audited, " "), a) {
			t.Errorf("%s not in the audit log: %v", a, audited)
		}
	}
}

// Malformed, unknown and oversized input gets a clear answer and changes
// nothing.
func TestNoticesToPostRefusals(t *testing.T) {
	st := stack.New(t, stack.Options{})
	h, err := mailroomdesk.New(mailroomdesk.Deps{Letters: st.Store, Notices: st.Store, Print: notify.PrintNotices(st.Catalogue),
		Who: func(*http.Request) string { return "courrier-01" }, Log: testkit.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	for _, tt := range []struct {
		path string
		code int
	}{
		{"/courrier/accuses/lot.pdf", 400},
		{"/courrier/accuses/lot.pdf?avant=hier", 400},
		{"/courrier/accuses/lot.pdf?avant=" + url.QueryEscape(strings.Repeat("9", 100)), 400},
		{"/courrier/accuses/lot.pdf?avant=2026-01-01T00:00:00Z", 404}, // nothing owed then
		{"/courrier/accuses/01a24fb3-3279-7019-a52e-1d06c4404402.pdf", 404},
		{"/courrier/accuses/..%2F..%2Fetc%2Fpasswd", 404},
		{"/courrier/accuses/pas-un-uuid.pdf", 404},
	} {
		if code, _ := get(t, srv.URL+tt.path); code != tt.code {
			t.Errorf("%s: %d, want %d", tt.path, code, tt.code)
		}
	}
	if resp := postForm(t, srv.URL+"/courrier/accuses/postes", url.Values{}); resp.StatusCode != 400 {
		t.Errorf("posted nothing: %d", resp.StatusCode)
	}
	many := url.Values{}
	for range 201 {
		many.Add("id", "01a24fb3-3279-7019-a52e-1d06c4404402")
	}
	if resp := postForm(t, srv.URL+"/courrier/accuses/postes", many); resp.StatusCode != 400 {
		t.Errorf("201 letters: %d", resp.StatusCode)
	}
	big := url.Values{"id": {strings.Repeat("a", 100<<10)}}
	if resp := postForm(t, srv.URL+"/courrier/accuses/postes", big); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized form: %d", resp.StatusCode)
	}
	if resp := postForm(t, srv.URL+"/courrier/accuses/postes", url.Values{"id": {"'; DROP TABLE postal_notices; --"}}); resp.StatusCode != http.StatusSeeOther ||
		!strings.Contains(resp.Header.Get("Location"), "postes=0") {
		t.Errorf("a malformed id: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func postForm(t *testing.T, u string, v url.Values) *http.Response {
	t.Helper()
	resp, err := noRedirect.PostForm(u, v)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}
