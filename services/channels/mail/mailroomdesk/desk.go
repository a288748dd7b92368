// Package mailroomdesk is the mailroom's console: the letters and e-mails
// received, newest first, one line each (a corrected letter on the line of
// its correction), with their text and where each was routed, the failures
// with what to do about them, the original scans, a form to upload a scan
// by hand through the same pipeline as the mailbox, and a page to correct a
// letter's text beside the image of its pages.
package mailroomdesk

import (
	"context"
	"embed"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/catalogue"
	"github.com/ampmetropole/guichet/services/channels/mail/mailroom"
	"github.com/ampmetropole/guichet/services/channels/mail/scan"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/platform/frtime"
	"github.com/ampmetropole/guichet/services/platform/htmlpage"
	"github.com/ampmetropole/guichet/services/platform/staffshell"
)

//go:embed templates/*.html
var templateFiles embed.FS

// Letters lists what came by post or e-mail.
type Letters interface {
	Letters(ctx context.Context, limit int) ([]casestore.Letter, error)
}

// Scans serves stored scans.
type Scans interface {
	Get(ctx context.Context, key string) ([]byte, error)
}

// Mail reads uploaded scans, waiting for the reading only as long as ctx
// allows (mailroom.Pipeline.Upload).
type Mail interface {
	Upload(ctx context.Context, data []byte, name string, o mailroom.Origin) (mailroom.Upload, error)
}

// uploadAnswerWithin bounds the time from upload's start to its answer, the
// file's upload included: the HTTP server's WriteTimeout (30 s) counts from
// the end of the request's headers.
const uploadAnswerWithin = 25 * time.Second

// Requests reads the request being corrected.
type Requests interface {
	Request(ctx context.Context, id string) (schemas.Request, error)
}

// Corrector resubmits a letter with its text corrected; it refuses a text
// that was not changed (mailroom.ErrUnchanged).
type Corrector interface {
	Correct(ctx context.Context, requestID, text, operator string) (mailroom.Result, error)
}

// Tasks are the replies by post waiting to be printed and posted.
type Tasks interface {
	ReplyTasks(ctx context.Context, channel string, limit int) ([]casestore.ReplyTask, error)
	ReplyTaskDone(ctx context.Context, eventID string, ch casestore.Change) ([]casestore.OutboxMsg, error)
}

// Deps are the desk's collaborators.
type Deps struct {
	Letters  Letters
	Scans    Scans
	Mail     Mail      // nil when the OCR tools are missing: no upload
	Requests Requests  // with Correct: OCR corrections
	Correct  Corrector // nil: no corrections
	// Pages shows a scan's pages as images beside the text being corrected
	// (mailroom.Pipeline.Pages); nil: a link to the scan instead.
	Pages Pages
	// CSRF gives a form's anti-forgery field for the signed-in operator
	// (auth.Service.CSRFField); nil: none.
	CSRF func(r *http.Request) template.HTML
	// Tasks: the replies to post; nil (or Who nil): not shown.
	Tasks Tasks
	// Who is the signed-in operator's login: who uploaded a scan,
	// corrected a text, posted a letter.
	Who func(r *http.Request) string
	// Holders says which requests carry a file: a scan is shown only when
	// a letter or an e-mail carries it.
	Holders Holders
	// Notices and Print: the letters owed to citizens who wrote by post
	// (acknowledgements, status notices), printed in batches at
	// /courrier/accuses; nil: not shown.
	Notices Notices
	Print   Printer
	// Audit writes to the audit log in the name of the signed-in operator
	// (auth.Service.AuditCaller): the list of letters read, every scan
	// shown, uploaded and corrected; nil: nothing written.
	Audit func(ctx context.Context, action, target string, details map[string]any)
	// Viewer is the signed-in person as the staff frame shows them
	// (auth.Service.Viewer); nil: a frame without menu.
	Viewer func(r *http.Request) staffshell.Viewer
	Log    *slog.Logger
}

// Pages renders the pages of a scan as images.
type Pages interface {
	PageCount(ctx context.Context, data []byte) (int, error)
	PageImage(ctx context.Context, data []byte, n int) (scan.Page, error)
}

// Holders finds the requests that carry a file.
type Holders interface {
	FileHolders(ctx context.Context, sha string) ([]casestore.Holder, error)
}

// audit writes to the audit log, when the desk has one.
func (h *Handler) audit(ctx context.Context, action, target string, details map[string]any) {
	if h.deps.Audit != nil {
		h.deps.Audit(ctx, action, target, details)
	}
}

// who is the signed-in operator's login; empty without Deps.Who.
func (h *Handler) who(r *http.Request) string {
	if h.deps.Who == nil {
		return ""
	}
	return h.deps.Who(r)
}

// Handler serves /courrier.
type Handler struct {
	deps       Deps
	shell      *staffshell.Shell
	page       *template.Template
	correction *template.Template
	notices    *template.Template
	mux        *http.ServeMux
	// protected is mux behind the staff pages' security headers.
	protected http.Handler
}

// New builds the desk.
func New(deps Deps) (*Handler, error) {
	funcs := template.FuncMap{"date": frtime.DateTime, "state": catalogue.StateLabel, "short": shortDate,
		"percent": func(f *float64) string {
			if f == nil {
				return "—"
			}
			return fmt.Sprintf("%.0f %%", *f*100)
		},
		"low":    func(f *float64) bool { return f != nil && *f < lowConfidence },
		"scanID": func(key string) string { return strings.TrimPrefix(key, "sha256/") },
		"deref":  func(s *string) string { return *s },
	}
	shell, err := staffshell.New(deps.Log)
	if err != nil {
		return nil, fmt.Errorf("mailroomdesk: %w", err)
	}
	t, err := shell.Parse("desk.html", funcs, templateFiles, "templates/desk.html")
	if err != nil {
		return nil, fmt.Errorf("mailroomdesk: %w", err)
	}
	c, err := shell.Parse("correction.html", funcs, templateFiles, "templates/correction.html")
	if err != nil {
		return nil, fmt.Errorf("mailroomdesk: %w", err)
	}
	nt, err := shell.Parse("notices.html", funcs, templateFiles, "templates/notices.html")
	if err != nil {
		return nil, fmt.Errorf("mailroomdesk: %w", err)
	}
	if deps.Requests == nil {
		deps.Correct = nil
	}
	h := &Handler{deps: deps, shell: shell, page: t, correction: c, notices: nt, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /courrier", h.show)
	h.mux.HandleFunc("GET /courrier/scans/{sha}", h.scan)
	h.mux.HandleFunc("GET /courrier/scans/{sha}/pages/{page}", h.scanPage)
	h.mux.HandleFunc("POST /courrier/scans", h.upload)
	if deps.Tasks != nil && deps.Who != nil {
		h.mux.HandleFunc("POST /courrier/reponses/{id}/poste", h.posted)
	}
	if deps.Notices != nil && deps.Print != nil && deps.Who != nil {
		h.mux.HandleFunc("GET /courrier/accuses", h.showNotices)
		h.mux.HandleFunc("GET /courrier/accuses/lot.pdf", h.batchPDF)
		h.mux.HandleFunc("GET /courrier/accuses/{id}", h.noticePDF)
		h.mux.HandleFunc("POST /courrier/accuses/postes", h.noticesPosted)
	}
	if deps.Correct != nil {
		h.mux.HandleFunc("GET /courrier/lettres/{id}/correction", h.correctForm)
		h.mux.HandleFunc("POST /courrier/lettres/{id}/correction", h.correct)
	}
	h.mux.HandleFunc("/courrier/", func(w http.ResponseWriter, r *http.Request) { h.notFound(w, r, "") })
	h.protected = shell.Recover(htmlpage.Protect(h.mux, htmlpage.StaffCSP), h.viewer)
	return h, nil
}

// ServeHTTP serves the desk with strict headers; cross-site posts refused.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.protected.ServeHTTP(w, r) }

// viewer is the signed-in person for the frame.
func (h *Handler) viewer(r *http.Request) staffshell.Viewer {
	if h.deps.Viewer == nil {
		return staffshell.Viewer{}
	}
	return h.deps.Viewer(r)
}

// frame is the frame's part of a page of the desk.
func (h *Handler) frame(r *http.Request, title string) staffshell.Page {
	return staffshell.Page{Title: title, Shell: h.viewer(r), Sheet: "courrier.css"}
}

// notFound answers the French 404 page in the frame.
func (h *Handler) notFound(w http.ResponseWriter, r *http.Request, text string) {
	h.shell.Error(w, h.viewer(r), http.StatusNotFound, text)
}

// unavailable answers the French 503 page in the frame.
func (h *Handler) unavailable(w http.ResponseWriter, r *http.Request, text string) {
	h.shell.Error(w, h.viewer(r), http.StatusServiceUnavailable, text)
}

type page struct {
	staffshell.Page
	Letters   []row
	Failed    int
	Uploaded  string // a scan just read: its request's id
	Reading   string // a scan still being read: its request's id
	Corrected string // a correction just sent: its request's id
	Error     string // the list could not be read, or a letter not posted
	// UploadError says, next to the upload form, why a scan was refused.
	UploadError string
	Upload      bool
	Correct     bool
	Today       string
	CSRF        template.HTML
	ToPost      []casestore.ReplyTask
	Posted      bool
	// Owed counts the acknowledgements and notices waiting to be posted;
	// -1 when the desk does not print them.
	Owed int
}

func (h *Handler) show(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p := page{Uploaded: q.Get("envoye"), Reading: q.Get("en_lecture"), Corrected: q.Get("corrige"), Posted: q.Get("poste") != ""}
	h.render(w, r, http.StatusOK, p)
}

// row is one letter of the list: a letter as read, or the latest
// correction of its text.
type row struct {
	casestore.Letter
	// First is the letter as first read, when its text was corrected
	// (nil when that reading is no longer in the list).
	First *casestore.Letter
	// Replaced: this letter's text was corrected, but the correction is
	// not in the list (beyond its end).
	Replaced bool
	// Explain says what to do about a rejected or failed item.
	Explain string
	// Just: the letter the notice at the top of the page speaks of.
	Just bool
}

// Failed says whether the item needs the mailroom: rejected, or not routed.
func (r row) Failed() bool { return r.Status == "failed" || r.Status == "rejected" }

// rows folds the corrections of a text into one line per letter: a letter
// whose correction is listed gives way to it, and the correction shows the
// first reading.
func rows(letters []casestore.Letter, just ...string) []row {
	byID := make(map[string]int, len(letters))
	for i, l := range letters {
		if l.RequestID != nil {
			byID[*l.RequestID] = i
		}
	}
	out := make([]row, 0, len(letters))
	for _, l := range letters {
		var rw row
		if l.CorrectedBy != nil {
			if _, listed := byID[*l.CorrectedBy]; listed {
				continue
			}
			rw.Replaced = true
		}
		rw.Letter = l
		// A correction of a correction: the first reading is at the end
		// of the chain (bounded, should the data loop).
		for cur, hops := l, 0; cur.Supersedes != "" && hops < 50; hops++ {
			i, ok := byID[cur.Supersedes]
			if !ok {
				break
			}
			cur = letters[i]
			rw.First = &letters[i]
		}
		if rw.Failed() {
			rw.Explain = explain(l.Status, deref(l.Reason))
		}
		rw.Just = l.RequestID != nil && slices.Contains(just, *l.RequestID)
		out = append(out, rw)
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// shortDate is a date and time in the list: « 27/11/2026 09:14 », Paris
// time.
func shortDate(t time.Time) string { return t.In(frtime.Paris()).Format("02/01/2006 15:04") }

// JustListed is the letter the notice at the top speaks of, when listed.
func (p page) JustListed() *row {
	for i := range p.Letters {
		if p.Letters[i].Just {
			return &p.Letters[i]
		}
	}
	return nil
}

func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, p page) {
	letters, err := h.deps.Letters.Letters(r.Context(), 200)
	if err != nil {
		h.deps.Log.Error("mailroom letters", "err", err)
		p.Error = "La liste des courriers est momentanément indisponible."
	}
	p.Letters = rows(letters, p.Uploaded, p.Corrected)
	if err == nil {
		h.audit(r.Context(), "mail.list", "courrier", map[string]any{"letters": len(letters)})
	}
	for _, l := range p.Letters {
		if l.Failed() {
			p.Failed++
		}
	}
	p.Today = frtime.DateTime(time.Now())
	p.Upload = h.deps.Mail != nil
	p.Correct = h.deps.Correct != nil
	if h.deps.Tasks != nil && h.deps.Who != nil {
		tasks, err := h.deps.Tasks.ReplyTasks(r.Context(), casestore.ReplyLetter, 100)
		if err != nil {
			h.deps.Log.Error("letters to post", "err", err)
		}
		p.ToPost = tasks
	}
	p.Owed = -1
	if h.deps.Notices != nil && h.deps.Print != nil && h.deps.Who != nil {
		if owed, err := h.deps.Notices.PendingPostalNotices(r.Context(), batchSize+1); err == nil {
			p.Owed = len(owed)
		}
	}
	if h.deps.CSRF != nil {
		p.CSRF = h.deps.CSRF(r)
	}
	p.Page = h.frame(r, "Courrier entrant")
	if p.Error != "" || p.UploadError != "" {
		p.Title = "Erreur – Courrier entrant"
	}
	htmlpage.Render(w, h.page, status, p, h.deps.Log)
}

// upload takes a scan from the page through the mail pipeline. A scan not
// read within the pipeline's wait is announced as being read; a refusal
// then shows in the list, with its reason.
func (h *Handler) upload(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if h.deps.Mail == nil {
		h.render(w, r, http.StatusServiceUnavailable, page{UploadError: "La lecture des scans n'est pas disponible sur ce serveur (poppler et tesseract manquants) : prévenez l'administrateur de Guichet."})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 21<<20)
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		h.render(w, r, http.StatusRequestEntityTooLarge, page{UploadError: "Le fichier est trop volumineux (20 Mio au plus) ou l'envoi est incomplet : numérisez le courrier en noir et blanc, à 300 dpi, ou en plusieurs fichiers."})
		return
	}
	defer r.MultipartForm.RemoveAll()
	file, header, err := r.FormFile("scan")
	if err != nil {
		h.render(w, r, http.StatusBadRequest, page{UploadError: "Choisissez le fichier du scan (PDF, TIFF, JPEG ou PNG)."})
		return
	}
	data, err := io.ReadAll(file)
	file.Close()
	if err != nil {
		h.render(w, r, http.StatusBadRequest, page{UploadError: "Le fichier n'a pas pu être lu : déposez-le de nouveau."})
		return
	}
	wait, cancel := context.WithDeadline(r.Context(), start.Add(uploadAnswerWithin))
	defer cancel()
	up, err := h.deps.Mail.Upload(wait, data, header.Filename, mailroom.Origin{Adapter: "mail-upload",
		OperatorID: h.who(r), ReceivedAt: time.Now()})
	if err != nil {
		switch fault.KindOf(err) {
		case fault.Invalid, fault.TooLarge:
			// The page says what to do; the log keeps the technical reason.
			h.deps.Log.Info("mailroom upload refused", "name", header.Filename, "err", err)
			h.render(w, r, http.StatusUnprocessableEntity, page{UploadError: "Scan refusé. " + explain("rejected", err.Error())})
		case fault.TooMany:
			w.Header().Set("Retry-After", "60")
			h.render(w, r, http.StatusTooManyRequests, page{UploadError: "Trop de scans en cours de lecture : déposez celui-ci de nouveau dans une minute."})
		default:
			h.deps.Log.Error("mailroom upload", "err", err)
			h.render(w, r, http.StatusServiceUnavailable, page{UploadError: "Le scan n'a pas pu être traité (incident technique) : déposez-le de nouveau dans quelques instants."})
		}
		return
	}
	h.audit(r.Context(), "mail.upload", up.ID, map[string]any{"name": header.Filename, "pending": up.Pending, "bytes": len(data)})
	if up.Pending {
		http.Redirect(w, r, "/courrier?en_lecture="+url.QueryEscape(up.ID), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/courrier?envoye="+url.QueryEscape(up.ID), http.StatusSeeOther)
}

// posted records that a reply letter was printed and posted.
func (h *Handler) posted(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !uuidPattern.MatchString(id) {
		h.notFound(w, r, "")
		return
	}
	_, err := h.deps.Tasks.ReplyTaskDone(r.Context(), id, casestore.Change{Actor: h.who(r)})
	if fault.KindOf(err) == fault.NotFound {
		h.notFound(w, r, "")
		return
	}
	if err != nil {
		h.deps.Log.Error("letter posted", "err", err)
		h.render(w, r, http.StatusServiceUnavailable, page{Error: "L'envoi n'a pas pu être enregistré : réessayez dans quelques instants."})
		return
	}
	http.Redirect(w, r, "/courrier?poste=1", http.StatusSeeOther)
}

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
