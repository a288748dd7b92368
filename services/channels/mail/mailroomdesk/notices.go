package mailroomdesk

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/platform/frtime"
	"github.com/ampmetropole/guichet/services/platform/htmlpage"
	"github.com/ampmetropole/guichet/services/platform/staffshell"
)

// Notices are the letters Guichet owes citizens who wrote by post —
// acknowledgements of receipt, status notices — waiting to be posted.
type Notices interface {
	PendingPostalNotices(ctx context.Context, limit int) ([]casestore.PostalNotice, error)
	PostalNotice(ctx context.Context, id string) (casestore.PostalNotice, error)
	MarkPostalPosted(ctx context.Context, ids []string, by string) (int, error)
}

// Printer lays letters out as one PDF to print (the notifier's letters,
// notify.PrintNotices).
type Printer func(title string, ns []casestore.PostalNotice) ([]byte, error)

// batchSize is how many letters one batch holds at most: a day's post, and
// a PDF a printer takes in one go.
const batchSize = 200

// noticesPage is /courrier/accuses.
type noticesPage struct {
	staffshell.Page
	Notices []casestore.PostalNotice
	Before  string // the batch: letters queued up to this instant (RFC 3339)
	More    bool   // more than one batch is waiting
	Posted  int    // letters just marked as posted; -1: none
	Error   string
	Today   string
	CSRF    template.HTML
}

// batch reads the letters waiting, queued up to before (the instant the
// page was shown, so that the PDF prints what the page listed).
func (h *Handler) batch(ctx context.Context, before time.Time) ([]casestore.PostalNotice, bool, error) {
	all, err := h.deps.Notices.PendingPostalNotices(ctx, batchSize+1)
	if err != nil {
		return nil, false, err
	}
	var out []casestore.PostalNotice
	for _, n := range all {
		if !n.CreatedAt.After(before) {
			out = append(out, n)
		}
	}
	more := len(out) > batchSize
	if more {
		out = out[:batchSize]
	}
	return out, more, nil
}

// showNotices lists the letters to post, with the PDF of the batch and of
// each letter, and the form that says the batch was posted.
func (h *Handler) showNotices(w http.ResponseWriter, r *http.Request) {
	p := noticesPage{Page: h.frame(r, "Courriers à poster"), Posted: -1, Today: frtime.DateTime(time.Now())}
	if n, err := strconv.Atoi(r.URL.Query().Get("postes")); err == nil && n >= 0 && n <= batchSize {
		p.Posted = n
	}
	now := time.Now().UTC()
	p.Before = now.Format(time.RFC3339Nano)
	ns, more, err := h.batch(r.Context(), now)
	status := http.StatusOK
	if err != nil {
		h.deps.Log.Error("letters owed", "err", err)
		p.Error, status = "La liste des courriers à poster est momentanément indisponible : réessayez dans quelques instants.", http.StatusServiceUnavailable
	}
	p.Notices, p.More = ns, more
	if h.deps.CSRF != nil {
		p.CSRF = h.deps.CSRF(r)
	}
	h.audit(r.Context(), "mail.notices", "courrier", map[string]any{"letters": len(ns)})
	htmlpage.Render(w, h.notices, status, p, h.deps.Log)
}

// parseBefore reads the batch's instant from a link or a form.
func parseBefore(s string) (time.Time, bool) {
	if len(s) > 40 {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}

// batchPDF prints the batch the page listed, as one PDF.
func (h *Handler) batchPDF(w http.ResponseWriter, r *http.Request) {
	before, ok := parseBefore(r.URL.Query().Get("avant"))
	if !ok {
		http.Error(w, "Lot inconnu : rouvrez la page des courriers à poster.", http.StatusBadRequest)
		return
	}
	ns, _, err := h.batch(r.Context(), before)
	if err != nil {
		h.deps.Log.Error("letters owed", "err", err)
		h.unavailable(w, r, "Le lot n'a pas pu être préparé : réessayez dans quelques instants.")
		return
	}
	if len(ns) == 0 {
		http.Error(w, "Aucun courrier à imprimer : tous ont été postés.", http.StatusNotFound)
		return
	}
	h.sendPDF(w, r, "Courriers à poster du "+frtime.Date(before), "lot-"+before.In(frtime.Paris()).Format("2006-01-02-1504")+".pdf", ns)
}

// noticePDF prints one letter, posted or not.
func (h *Handler) noticePDF(w http.ResponseWriter, r *http.Request) {
	n, err := h.deps.Notices.PostalNotice(r.Context(), strings.TrimSuffix(r.PathValue("id"), ".pdf"))
	if fault.KindOf(err) == fault.NotFound {
		h.notFound(w, r, "")
		return
	}
	if err != nil {
		h.deps.Log.Error("letter owed", "err", err)
		h.unavailable(w, r, "Le courrier n'a pas pu être préparé : réessayez dans quelques instants.")
		return
	}
	h.sendPDF(w, r, n.Subject, "courrier-"+n.TrackingCode+".pdf", []casestore.PostalNotice{n})
}

func (h *Handler) sendPDF(w http.ResponseWriter, r *http.Request, title, name string, ns []casestore.PostalNotice) {
	pdf, err := h.deps.Print(title, ns)
	if err != nil {
		h.deps.Log.Error("letters laid out", "err", err)
		http.Error(w, "Le courrier n'a pas pu être mis en page.", http.StatusInternalServerError)
		return
	}
	ids := make([]string, len(ns))
	for i, n := range ns {
		ids[i] = n.ID
	}
	h.audit(r.Context(), "mail.notices.print", "courrier", map[string]any{"letters": ids})
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", `inline; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(pdf)
}

// noticesPosted records that the letters the page listed were posted.
func (h *Handler) noticesPosted(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "Formulaire trop volumineux ou illisible.", http.StatusRequestEntityTooLarge)
		return
	}
	ids := r.PostForm["id"]
	if len(ids) == 0 || len(ids) > batchSize {
		http.Error(w, fmt.Sprintf("Indiquez de 1 à %d courriers postés.", batchSize), http.StatusBadRequest)
		return
	}
	n, err := h.deps.Notices.MarkPostalPosted(r.Context(), ids, h.deps.Who(r))
	if err != nil {
		h.deps.Log.Error("letters posted", "err", err)
		h.unavailable(w, r, "L'envoi n'a pas pu être enregistré : réessayez dans quelques instants.")
		return
	}
	h.audit(r.Context(), "mail.notices.posted", "courrier", map[string]any{"letters": n})
	http.Redirect(w, r, "/courrier/accuses?"+url.Values{"postes": {strconv.Itoa(n)}}.Encode(), http.StatusSeeOther)
}
