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
	"strings"
	"time"

	"github.com/ampmetropole/guichet/services/htmlpage"

	"github.com/ampmetropole/guichet/services/casestore"
	"github.com/ampmetropole/guichet/services/catalogue"
	"github.com/ampmetropole/guichet/services/fault"
	"github.com/ampmetropole/guichet/services/frtime"
	"github.com/ampmetropole/guichet/services/mailroom"
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

// Mail reads uploaded scans.
type Mail interface {
	Letter(ctx context.Context, data []byte, name string, o mailroom.Origin) (mailroom.Result, error)
}

// Deps are the desk's collaborators.
type Deps struct {
	Letters Letters
	Scans   Scans
	Mail    Mail // nil when the OCR tools are missing: no upload
	Log     *slog.Logger
}

// Handler serves /courrier.
type Handler struct {
	deps Deps
	page *template.Template
	mux  *http.ServeMux
	// protected is mux behind the staff pages' security headers.
	protected http.Handler
}

// New builds the desk.
func New(deps Deps) (*Handler, error) {
	t, err := template.New("desk.html").Funcs(template.FuncMap{"date": frtime.DateTime, "state": catalogue.StateLabel,
		"percent": func(f *float64) string {
			if f == nil {
				return "—"
			}
			return fmt.Sprintf("%.0f %%", *f*100)
		},
		"scanID": func(key string) string { return strings.TrimPrefix(key, "sha256/") },
	}).ParseFS(templateFiles, "templates/desk.html")
	if err != nil {
		return nil, fmt.Errorf("mailroomdesk: %w", err)
	}
	h := &Handler{deps: deps, page: t, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /courrier", h.show)
	h.mux.HandleFunc("GET /courrier/scans/{sha}", h.scan)
	h.mux.HandleFunc("POST /courrier/scans", h.upload)
	h.protected = htmlpage.Protect(h.mux, htmlpage.StaffCSP)
	return h, nil
}

// ServeHTTP serves the desk with strict headers; cross-site posts refused.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.protected.ServeHTTP(w, r) }

type page struct {
	Letters  []casestore.Letter
	Failed   int
	Uploaded string
	Error    string
	Upload   bool
	Today    string
}

func (h *Handler) show(w http.ResponseWriter, r *http.Request) {
	p := page{Uploaded: r.URL.Query().Get("envoye"), Upload: h.deps.Mail != nil}
	h.render(w, r, http.StatusOK, p)
}

func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, p page) {
	letters, err := h.deps.Letters.Letters(r.Context(), 200)
	if err != nil {
		h.deps.Log.Error("mailroom letters", "err", err)
		p.Error = "La liste des courriers est momentanément indisponible."
	}
	p.Letters = letters
	for _, l := range letters {
		if l.Status == "failed" {
			p.Failed++
		}
	}
	p.Today = frtime.DateTime(time.Now())
	p.Upload = h.deps.Mail != nil
	htmlpage.Render(w, h.page, status, p, h.deps.Log)
}

// scan shows an original scan in the browser.
func (h *Handler) scan(w http.ResponseWriter, r *http.Request) {
	sha := r.PathValue("sha")
	if len(sha) != 64 || strings.Trim(sha, "0123456789abcdef") != "" {
		http.NotFound(w, r)
		return
	}
	data, err := h.deps.Scans.Get(r.Context(), "sha256/"+sha)
	if fault.KindOf(err) == fault.NotFound {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		http.Error(w, "Scan momentanément indisponible.", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", http.DetectContentType(data))
	w.Header().Set("Content-Disposition", "inline")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; sandbox")
	_, _ = w.Write(data)
}

// upload takes a scan from the page through the mail pipeline.
func (h *Handler) upload(w http.ResponseWriter, r *http.Request) {
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
	res, err := h.deps.Mail.Letter(r.Context(), data, header.Filename, mailroom.Origin{Adapter: "mail-upload",
		OperatorID: strings.TrimSpace(r.PostFormValue("operateur")), ReceivedAt: time.Now()})
	if err != nil {
		status, msg := http.StatusUnprocessableEntity, "Scan refusé : "+err.Error()
		if k := fault.KindOf(err); k != fault.Invalid && k != fault.TooLarge {
			h.deps.Log.Error("mailroom upload", "err", err)
			status, msg = http.StatusServiceUnavailable, "Le scan n'a pas pu être traité (incident technique) : réessayez dans quelques instants."
		}
		h.render(w, r, status, page{Error: msg})
		return
	}
	http.Redirect(w, r, "/courrier?envoye="+url.QueryEscape(res.Receipt.ID), http.StatusSeeOther)
}
