// Package mailroomdesk is the mailroom's console: the letters and e-mails
// received, newest first, with their OCR text and where each was routed, the
// failures with their reason, the original scans, and a form to upload a
// scan by hand through the same pipeline as the mailbox.
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
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/platform/frtime"
	"github.com/ampmetropole/guichet/services/platform/htmlpage"
	"github.com/ampmetropole/guichet/services/platform/staffshell"
	"github.com/ampmetropole/guichet/services/platform/textcheck"
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

// Corrector resubmits a letter with its text corrected.
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
	// CSRF gives a form's anti-forgery field for the signed-in operator
	// (auth.Service.CSRFField); nil: none.
	CSRF func(r *http.Request) template.HTML
	// Tasks and Who: the replies to post, and who says one was posted;
	// nil: not shown.
	Tasks Tasks
	Who   func(r *http.Request) string
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
	funcs := template.FuncMap{"date": frtime.DateTime, "state": catalogue.StateLabel,
		"percent": func(f *float64) string {
			if f == nil {
				return "—"
			}
			return fmt.Sprintf("%.0f %%", *f*100)
		},
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
	Letters   []casestore.Letter
	Failed    int
	Uploaded  string
	Reading   string // a scan still being read: its request's id
	Corrected string
	Error     string
	Upload    bool
	Correct   bool
	Today     string
	CSRF      template.HTML
	ToPost    []casestore.ReplyTask
	Posted    bool
	// Owed counts the acknowledgements and notices waiting to be posted;
	// -1 when the desk does not print them.
	Owed int
}

func (h *Handler) show(w http.ResponseWriter, r *http.Request) {
	p := page{Uploaded: r.URL.Query().Get("envoye"), Reading: r.URL.Query().Get("en_lecture"), Corrected: r.URL.Query().Get("corrige"), Posted: r.URL.Query().Get("poste") != ""}
	h.render(w, r, http.StatusOK, p)
}

func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, p page) {
	letters, err := h.deps.Letters.Letters(r.Context(), 200)
	if err != nil {
		h.deps.Log.Error("mailroom letters", "err", err)
		p.Error = "La liste des courriers est momentanément indisponible."
	}
	p.Letters = letters
	if err == nil {
		h.audit(r.Context(), "mail.list", "courrier", map[string]any{"letters": len(letters)})
	}
	for _, l := range letters {
		if l.Status == "failed" || l.Status == "rejected" {
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
	if p.Error != "" {
		p.Title = "Erreur – Courrier entrant"
	}
	htmlpage.Render(w, h.page, status, p, h.deps.Log)
}

// scan shows the original scan of a letter or a file of an e-mail in the
// browser; a file no letter or e-mail carries is not the mailroom's.
func (h *Handler) scan(w http.ResponseWriter, r *http.Request) {
	sha := r.PathValue("sha")
	if len(sha) != 64 || strings.Trim(sha, "0123456789abcdef") != "" || h.deps.Holders == nil {
		h.notFound(w, r, "")
		return
	}
	holders, err := h.deps.Holders.FileHolders(r.Context(), sha)
	if err != nil {
		h.deps.Log.Error("scan holders", "err", err)
		h.unavailable(w, r, "Scan momentanément indisponible.")
		return
	}
	i := slices.IndexFunc(holders, func(c casestore.Holder) bool {
		return c.Channel == schemas.ChannelMail || c.Channel == schemas.ChannelEmail
	})
	if i < 0 {
		h.notFound(w, r, "")
		return
	}
	h.audit(r.Context(), "mail.scan.view", holders[i].RequestID, map[string]any{"sha256": sha, "case": holders[i].CaseRef})
	data, err := h.deps.Scans.Get(r.Context(), "sha256/"+sha)
	if fault.KindOf(err) == fault.NotFound {
		h.notFound(w, r, "")
		return
	}
	if err != nil {
		h.unavailable(w, r, "Scan momentanément indisponible.")
		return
	}
	w.Header().Set("Content-Type", http.DetectContentType(data))
	w.Header().Set("Content-Disposition", "inline")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; sandbox")
	_, _ = w.Write(data)
}

// upload takes a scan from the page through the mail pipeline. A scan not
// read within the pipeline's wait is announced as being read; a refusal
// then shows in the list, with its reason.
func (h *Handler) upload(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if h.deps.Mail == nil {
		h.render(w, r, http.StatusServiceUnavailable, page{Error: "La lecture des scans n'est pas disponible sur ce serveur (poppler et tesseract manquants)."})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 21<<20)
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		h.render(w, r, http.StatusRequestEntityTooLarge, page{Error: "Envoi trop volumineux ou illisible : 20 Mio au plus."})
		return
	}
	defer r.MultipartForm.RemoveAll()
	file, header, err := r.FormFile("scan")
	if err != nil {
		h.render(w, r, http.StatusBadRequest, page{Error: "Choisissez le fichier du scan (PDF, TIFF, JPEG ou PNG)."})
		return
	}
	data, err := io.ReadAll(file)
	file.Close()
	if err != nil {
		h.render(w, r, http.StatusBadRequest, page{Error: "Le fichier n'a pas pu être lu."})
		return
	}
	wait, cancel := context.WithDeadline(r.Context(), start.Add(uploadAnswerWithin))
	defer cancel()
	up, err := h.deps.Mail.Upload(wait, data, header.Filename, mailroom.Origin{Adapter: "mail-upload",
		OperatorID: strings.TrimSpace(r.PostFormValue("operateur")), ReceivedAt: time.Now()})
	if err != nil {
		switch fault.KindOf(err) {
		case fault.Invalid, fault.TooLarge:
			h.render(w, r, http.StatusUnprocessableEntity, page{Error: "Scan refusé : " + err.Error()})
		case fault.TooMany:
			w.Header().Set("Retry-After", "60")
			h.render(w, r, http.StatusTooManyRequests, page{Error: "Trop de scans en cours de lecture : déposez celui-ci de nouveau dans une minute."})
		default:
			h.deps.Log.Error("mailroom upload", "err", err)
			h.render(w, r, http.StatusServiceUnavailable, page{Error: "Le scan n'a pas pu être traité (incident technique) : réessayez dans quelques instants."})
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
	_, err := h.deps.Tasks.ReplyTaskDone(r.Context(), id, casestore.Change{Actor: h.deps.Who(r)})
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

// correctionPage is the form to correct a letter's text.
type correctionPage struct {
	staffshell.Page
	RequestID, Subject, Text, ScanKey, Operator, Error string
	ReceivedAt                                         time.Time
	CSRF                                               template.HTML
}

// letterToCorrect loads the letter and fills the form from it; false when
// the answer was already written.
func (h *Handler) letterToCorrect(w http.ResponseWriter, r *http.Request) (correctionPage, bool) {
	id := r.PathValue("id")
	p := correctionPage{Page: h.frame(r, "Corriger le texte d'un courrier"), RequestID: id}
	if !uuidPattern.MatchString(id) {
		h.notFound(w, r, "")
		return p, false
	}
	req, err := h.deps.Requests.Request(r.Context(), id)
	if fault.KindOf(err) == fault.NotFound || (err == nil && (req.Channel != schemas.ChannelMail || len(req.Attachments) == 0)) {
		h.notFound(w, r, "")
		return p, false
	}
	if err != nil {
		h.deps.Log.Error("mailroom letter to correct", "err", err)
		h.unavailable(w, r, "Courrier momentanément indisponible : réessayez dans quelques instants.")
		return p, false
	}
	p.Subject, p.ReceivedAt, p.ScanKey = req.Subject, req.ReceivedAt, req.Attachments[0].ObjectKey
	p.Text = req.Attachments[0].ExtractedText
	h.audit(r.Context(), "mail.letter.view", id, nil)
	if h.deps.CSRF != nil {
		p.CSRF = h.deps.CSRF(r)
	}
	return p, true
}

func (h *Handler) correctForm(w http.ResponseWriter, r *http.Request) {
	if p, ok := h.letterToCorrect(w, r); ok {
		htmlpage.Render(w, h.correction, http.StatusOK, p, h.deps.Log)
	}
}

// correct sends the corrected text; on refusal the form comes back with the
// operator's text kept.
func (h *Handler) correct(w http.ResponseWriter, r *http.Request) {
	p, ok := h.letterToCorrect(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4*mailroom.MaxCorrectedText+4096)
	if err := r.ParseForm(); err != nil {
		p.Error = "Texte trop long ou envoi illisible."
		htmlpage.Render(w, h.correction, http.StatusRequestEntityTooLarge, p, h.deps.Log)
		return
	}
	p.Text, p.Operator = r.PostFormValue("texte"), strings.TrimSpace(r.PostFormValue("operateur"))
	if !textcheck.Valid(p.Text) || !textcheck.Valid(p.Operator) {
		p.Error = "Correction refusée : le texte contient un caractère non permis (caractère nul ou encodage invalide)."
		htmlpage.Render(w, h.correction, http.StatusBadRequest, p, h.deps.Log)
		return
	}
	res, err := h.deps.Correct.Correct(r.Context(), p.RequestID, p.Text, p.Operator)
	if err != nil {
		status := http.StatusUnprocessableEntity
		p.Error = "Correction refusée : " + strings.TrimPrefix(err.Error(), "mailroom: ")
		if k := fault.KindOf(err); k != fault.Invalid && k != fault.TooLarge {
			h.deps.Log.Error("mailroom correction", "err", err)
			status, p.Error = http.StatusServiceUnavailable, "La correction n'a pas pu être envoyée (incident technique) : réessayez dans quelques instants."
		}
		htmlpage.Render(w, h.correction, status, p, h.deps.Log)
		return
	}
	h.audit(r.Context(), "mail.correct", p.RequestID, map[string]any{"by": res.Receipt.ID})
	http.Redirect(w, r, "/courrier?corrige="+url.QueryEscape(res.Receipt.ID), http.StatusSeeOther)
}

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
