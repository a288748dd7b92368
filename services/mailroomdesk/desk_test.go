package mailroomdesk_test

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/services/attachment"
	"github.com/ampmetropole/guichet/services/extract"
	"github.com/ampmetropole/guichet/services/mailroom"
	"github.com/ampmetropole/guichet/services/mailroomdesk"
	"github.com/ampmetropole/guichet/services/scan"
	"github.com/ampmetropole/guichet/services/testkit"
	"github.com/ampmetropole/guichet/services/testkit/stack"
)

func TestMain(m *testing.M) { testkit.Main(m) }

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 30 * time.Second}

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
	h, err := mailroomdesk.New(mailroomdesk.Deps{Letters: st.Store, Scans: files,
		Mail: mailroom.New(reader, files, st.Intake, extract.New(st.Places)), Log: testkit.Logger(t)})
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
}
