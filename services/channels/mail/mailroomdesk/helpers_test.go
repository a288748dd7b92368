package mailroomdesk_test

import (
	"bytes"
	"context"
	"image"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/services/channels/mail/mailroom"
	"github.com/ampmetropole/guichet/services/channels/mail/mailroomdesk"
	"github.com/ampmetropole/guichet/services/channels/mail/scan"
	"github.com/ampmetropole/guichet/services/intake/attachment"
	"github.com/ampmetropole/guichet/services/language/extract"
	"github.com/ampmetropole/guichet/services/outbound/notify"
	"github.com/ampmetropole/guichet/services/platform/staffshell"
	"github.com/ampmetropole/guichet/services/staff/auth"
	"github.com/ampmetropole/guichet/services/testkit"
	"github.com/ampmetropole/guichet/services/testkit/scanimg"
	"github.com/ampmetropole/guichet/services/testkit/stack"
)

// desk is the mailroom's desk as Guichet serves it (cmd/guichet/compose
// agentPages): behind the sign-in, the mailroom's permission and the staff
// frame's assets, with the real scan reader, pipeline and corrector.
type desk struct {
	st    stack.Stack
	srv   *httptest.Server
	files *attachment.Store
	mail  *mailroom.Pipeline

	mu      sync.Mutex
	audited []audited
}

// audited is one line of the audit log, with who wrote it.
type audited struct {
	actor, action, target string
	details               map[string]any
}

// passwords of the test accounts.
const (
	mailroomPassword = "mot-de-passe-courrier"
	agentPassword    = "mot-de-passe-agent"
)

// newDesk starts the desk with a mailroom account (courrier-01) and an
// agent's (agent-01).
func newDesk(t *testing.T) *desk {
	t.Helper()
	ctx := context.Background()
	d := &desk{st: stack.New(t, stack.Options{Router: true})}
	reader, err := scan.New(scan.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if d.files, err = attachment.NewStore(ctx, d.st.Conn.JS); err != nil {
		t.Fatal(err)
	}
	d.mail = mailroom.New(reader, d.files, d.st.Intake, extract.New(d.st.Places))
	d.mail.SetUploads(mailroom.UploadConfig{Rejections: d.st.Store, Log: testkit.Logger(t)})
	t.Cleanup(d.mail.Stop)
	who := func(r *http.Request) string { p, _ := auth.FromContext(r.Context()); return p.Name }
	h, err := mailroomdesk.New(mailroomdesk.Deps{Letters: d.st.Store, Scans: d.files, Mail: d.mail, Holders: d.st.Store,
		Requests: d.st.Store, Correct: mailroom.NewCorrector(d.mail, d.st.Store), Pages: d.mail.Pages(),
		CSRF: d.st.Auth.CSRFField, Tasks: d.st.Store, Notices: d.st.Store, Print: notify.PrintNotices(d.st.Catalogue),
		Who: who, Viewer: d.st.Auth.Viewer, Log: testkit.Logger(t),
		Audit: func(ctx context.Context, action, target string, details map[string]any) {
			p, _ := auth.FromContext(ctx)
			d.mu.Lock()
			defer d.mu.Unlock()
			d.audited = append(d.audited, audited{p.Name, action, target, details})
		}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	d.st.Auth.Register(mux)
	mux.Handle("GET "+staffshell.AssetsPath, staffshell.Assets())
	mailroomOnly := d.st.Auth.RequirePage(auth.PermMailroom)
	mux.Handle("/courrier", mailroomOnly(h))
	mux.Handle("/courrier/", mailroomOnly(h))
	d.srv = httptest.NewServer(d.st.Auth.Middleware(mux))
	t.Cleanup(d.srv.Close)
	for _, a := range []struct{ login, name, role, password string }{
		{"courrier-01", "Chantal Ferri", auth.RoleMailroom, mailroomPassword},
		{"agent-01", "Karim Haddad", auth.RoleAgent, agentPassword},
	} {
		if _, err := d.st.Auth.CreateAccount(ctx, a.login, a.name, a.role, a.password, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// wasAudited says whether the audit log has action by actor, with the
// details given (when any).
func (d *desk) wasAudited(actor, action string, details map[string]any) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.ContainsFunc(d.audited, func(a audited) bool {
		if a.actor != actor || a.action != action {
			return false
		}
		for k, v := range details {
			if a.details[k] != v {
				return false
			}
		}
		return true
	})
}

// person is someone signed in, with their session.
type person struct {
	t      *testing.T
	base   string
	client *http.Client
}

// signIn signs login in; the client follows no redirect.
func (d *desk) signIn(t *testing.T, login, password string) person {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 40 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(d.srv.URL+auth.LoginPath, url.Values{"identifiant": {login}, "mot_de_passe": {password}, "retour": {"/courrier"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound {
		t.Fatalf("%s not signed in: %d", login, resp.StatusCode)
	}
	return person{t: t, base: d.srv.URL, client: c}
}

// anonymous is nobody signed in.
func (d *desk) anonymous(t *testing.T) person {
	return person{t: t, base: d.srv.URL, client: testkit.NoRedirect()}
}

func (p person) get(path string) (*http.Response, string) {
	p.t.Helper()
	resp, err := p.client.Get(p.base + path)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var csrfInput = regexp.MustCompile(`name="` + auth.CSRFField + `" value="([^"]+)"`)

// csrf is the anti-forgery token of the person's session, from the desk.
func (p person) csrf() string {
	p.t.Helper()
	_, page := p.get("/courrier")
	m := csrfInput.FindStringSubmatch(page)
	if m == nil {
		p.t.Fatalf("no CSRF token on the desk:\n%s", page)
	}
	return m[1]
}

// post sends a form, with the session's CSRF token.
func (p person) post(path string, form url.Values) (*http.Response, string) {
	p.t.Helper()
	form.Set(auth.CSRFField, p.csrf())
	resp, err := p.client.PostForm(p.base+path, form)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// upload sends a scan through the desk's form.
func (p person) upload(name string, data []byte) (*http.Response, string) {
	p.t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	w.WriteField(auth.CSRFField, p.csrf())
	fw, _ := w.CreateFormFile("scan", name)
	fw.Write(data)
	w.Close()
	resp, err := p.client.Post(p.base+"/courrier/scans", w.FormDataContentType(), &buf)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// scannedLetter is a letter as a scanner makes it: an image of the page
// in a PDF without text, that only OCR reads.
func scannedLetter(t testing.TB, lines ...string) []byte {
	t.Helper()
	img, err := scanimg.RenderLetter(lines, 5, 0.6, 7)
	if err != nil {
		t.Fatal(err)
	}
	return scanimg.ImagePDF([]*image.Gray{img}, 300)
}

var (
	tags = regexp.MustCompile(`(?s)<[^>]*>`)
	uuid = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
)

// visible is the text of a page without its tags (what a reader sees,
// folds and all).
func visible(page string) string { return tags.ReplaceAllString(page, " ") }

// section is the part of page from the element with id from to the one
// with id to.
func section(page, from, to string) string {
	i, j := strings.Index(page, `id="`+from+`"`), strings.Index(page, `id="`+to+`"`)
	if i < 0 || j < i {
		return ""
	}
	return page[i:j]
}
