package mailroomdesk

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/channels/mail/mailroom"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/platform/htmlpage"
	"github.com/ampmetropole/guichet/services/platform/staffshell"
	"github.com/ampmetropole/guichet/services/platform/textcheck"
)

// countWithin bounds the counting of a scan's pages when the correction
// page is shown; past it, the page shows the first page only.
const countWithin = 10 * time.Second

// unchangedText is what the form says of a text sent back as it was read.
const unchangedText = "Le texte n'a pas été modifié : corrigez-le avant de le renvoyer."

// correctionPage is the form to correct a letter's text, beside the
// images of its pages.
type correctionPage struct {
	staffshell.Page
	RequestID, Subject, Text, Error string
	// SHA names the scan; Pages are its page numbers, shown as images
	// (none: a link to the scan only).
	SHA        string
	Pages      []int
	ReceivedAt time.Time
	CSRF       template.HTML
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
	a := req.Attachments[0]
	p.Subject, p.ReceivedAt, p.Text = req.Subject, req.ReceivedAt, a.ExtractedText
	if sha := strings.TrimPrefix(a.ObjectKey, "sha256/"); shaPattern.MatchString(sha) {
		p.SHA = sha
	}
	h.audit(r.Context(), "mail.letter.view", id, nil)
	if h.deps.CSRF != nil {
		p.CSRF = h.deps.CSRF(r)
	}
	return p, true
}

// withPages numbers the pages of the letter's scan, for their images; a
// scan that cannot be counted in time shows its first page.
func (h *Handler) withPages(r *http.Request, p *correctionPage) {
	if h.deps.Pages == nil || p.SHA == "" {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), countWithin)
	defer cancel()
	n := 1
	data, err := h.deps.Scans.Get(ctx, "sha256/"+p.SHA)
	if err == nil {
		n, err = h.deps.Pages.PageCount(ctx, data)
	}
	if err != nil {
		h.deps.Log.Warn("scan pages not counted", "sha256", p.SHA, "err", err)
		n = 1
	}
	for i := range n {
		p.Pages = append(p.Pages, i+1)
	}
}

func (h *Handler) correctForm(w http.ResponseWriter, r *http.Request) {
	if p, ok := h.letterToCorrect(w, r); ok {
		h.withPages(r, &p)
		htmlpage.Render(w, h.correction, http.StatusOK, p, h.deps.Log)
	}
}

// correct sends the corrected text in the name of the signed-in operator;
// on refusal the form comes back with the operator's text kept.
func (h *Handler) correct(w http.ResponseWriter, r *http.Request) {
	p, ok := h.letterToCorrect(w, r)
	if !ok {
		return
	}
	again := func(status int, text string) {
		p.Error = text
		p.Title = "Erreur – " + p.Title
		h.withPages(r, &p)
		htmlpage.Render(w, h.correction, status, p, h.deps.Log)
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4*mailroom.MaxCorrectedText+4096)
	if err := r.ParseForm(); err != nil {
		again(http.StatusRequestEntityTooLarge, "Texte trop long ou envoi illisible : le texte corrigé compte au plus 200 000 caractères.")
		return
	}
	p.Text = r.PostFormValue("texte")
	if !textcheck.Valid(p.Text) {
		again(http.StatusBadRequest, "Le texte contient un caractère non permis (caractère nul ou encodage invalide) : retirez-le et renvoyez le texte.")
		return
	}
	res, err := h.deps.Correct.Correct(r.Context(), p.RequestID, p.Text, h.who(r))
	if err != nil {
		switch k := fault.KindOf(err); {
		case errors.Is(err, mailroom.ErrUnchanged):
			again(http.StatusUnprocessableEntity, unchangedText)
		case k == fault.Invalid || k == fault.TooLarge:
			msg := strings.TrimPrefix(err.Error(), "mailroom: ")
			again(http.StatusUnprocessableEntity, "Correction refusée : "+msg+".")
		default:
			h.deps.Log.Error("mailroom correction", "err", err)
			again(http.StatusServiceUnavailable, "La correction n'a pas pu être envoyée (incident technique) : réessayez dans quelques instants.")
		}
		return
	}
	h.audit(r.Context(), "mail.correct", p.RequestID, map[string]any{"by": res.Receipt.ID})
	http.Redirect(w, r, "/courrier?corrige="+url.QueryEscape(res.Receipt.ID), http.StatusSeeOther)
}
