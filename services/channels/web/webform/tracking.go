package webform

import (
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/catalogue"
	"github.com/ampmetropole/guichet/services/intake"
	"github.com/ampmetropole/guichet/services/intake/attachment"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

// receiptPage is the acknowledgement of receipt.
type receiptPage struct {
	Title string
	Code  string
	Found bool
	T     casestore.Tracking
	Hint  string
	Org   catalogue.Organisation
}

func (h *Handler) showReceipt(w http.ResponseWriter, r *http.Request) {
	code, ok := intake.NormalizeTrackingCode(r.PathValue("code"))
	if !ok {
		h.notFound(w, r)
		return
	}
	page := receiptPage{Title: "Accusé de réception", Code: code, Org: h.deps.Catalogue.Organisation}
	t, err := h.deps.Store.Tracking(r.Context(), code)
	switch {
	case err == nil:
		page.Found, page.T = true, t
		if t.Request.Hints != nil {
			page.Hint = t.Request.Hints.Competence
		}
	case fault.KindOf(err) == fault.NotFound:
		// Published but not yet recorded: the page says so and still shows
		// the code, which is valid.
	default:
		h.unavailable(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "receipt", page)
}

func (h *Handler) unavailable(w http.ResponseWriter, r *http.Request, err error) {
	h.deps.Log.Error("page unavailable", "path", r.URL.Path, "err", err)
	w.Header().Set("Retry-After", "10")
	h.render(w, r, http.StatusServiceUnavailable, "message", messagePage{Title: "Service momentanément indisponible",
		Text: "Cette page ne peut pas être affichée pour le moment. Réessayez dans quelques instants.", Back: r.URL.Path})
}

// findTracking is the "follow a request" entry: a form, or a redirect to
// the code typed in it.
func (h *Handler) findTracking(w http.ResponseWriter, r *http.Request) {
	typed := r.URL.Query().Get("code")
	if typed == "" {
		h.render(w, r, http.StatusOK, "find", findPage{Title: "Suivre une demande"})
		return
	}
	code, ok := intake.NormalizeTrackingCode(typed)
	if !ok {
		h.render(w, r, http.StatusUnprocessableEntity, "find", findPage{Title: "Suivre une demande", Code: typed,
			Error: "Ce code n'a pas la bonne forme : 12 caractères, par exemple 7KQ4-M2XD-9HPA."})
		return
	}
	http.Redirect(w, r, "/suivi/"+code, http.StatusSeeOther)
}

type findPage struct {
	Title string
	Code  string
	Error string
}

// trackingPage is the status page of a request.
type trackingPage struct {
	Title    string
	T        casestore.Tracking
	Sent     string // tracking code of a follow-up just sent
	Message  string
	Kept     []schemas.Attachment
	Errors   formErrors
	Failure  string
	Accept   string
	MaxFiles int
	Org      catalogue.Organisation
}

func (h *Handler) trackingPage(t casestore.Tracking) trackingPage {
	return trackingPage{Title: "Suivi de votre demande", T: t, Accept: attachment.AcceptedTypes, MaxFiles: attachment.MaxFiles, Org: h.deps.Catalogue.Organisation}
}

// loadTracking finds the request of the code in the path, answering 404 or
// 503 itself when it cannot.
func (h *Handler) loadTracking(w http.ResponseWriter, r *http.Request) (casestore.Tracking, bool) {
	code, ok := intake.NormalizeTrackingCode(r.PathValue("code"))
	if !ok {
		h.trackingNotFound(w, r)
		return casestore.Tracking{}, false
	}
	t, err := h.deps.Store.Tracking(r.Context(), code)
	if fault.KindOf(err) == fault.NotFound {
		h.trackingNotFound(w, r)
		return t, false
	}
	if err != nil {
		h.unavailable(w, r, err)
		return t, false
	}
	return t, true
}

func (h *Handler) trackingNotFound(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusNotFound, "find", findPage{Title: "Suivre une demande",
		Error: "Aucune demande ne correspond à ce code. Vérifiez-le sur votre accusé de réception ; une demande envoyée à l'instant peut mettre quelques secondes à apparaître."})
}

func (h *Handler) showTracking(w http.ResponseWriter, r *http.Request) {
	if code, ok := intake.NormalizeTrackingCode(r.PathValue("code")); ok && code != r.PathValue("code") {
		http.Redirect(w, r, "/suivi/"+code, http.StatusMovedPermanently)
		return
	}
	t, ok := h.loadTracking(w, r)
	if !ok {
		return
	}
	page := h.trackingPage(t)
	if sent, ok := intake.NormalizeTrackingCode(r.URL.Query().Get("envoye")); ok {
		page.Sent = sent
	}
	h.render(w, r, http.StatusOK, "tracking", page)
}

// submitFollowUp adds a message to the case of a request: a new request of
// the web channel that cites the case, from the same citizen.
func (h *Handler) submitFollowUp(w http.ResponseWriter, r *http.Request) {
	t, ok := h.loadTracking(w, r)
	if !ok {
		return
	}
	if !h.parseForm(w, r) {
		return
	}
	if r.MultipartForm != nil {
		defer r.MultipartForm.RemoveAll()
	}
	page := h.trackingPage(t)
	page.Message = strings.TrimSpace(r.PostFormValue("message"))
	if r.PostFormValue("site_web") != "" {
		page.Failure = honeypotMessage
		h.render(w, r, http.StatusUnprocessableEntity, "tracking", page)
		return
	}
	if t.Case == nil {
		page.Failure = "Votre demande est en cours d'orientation : vous pourrez ajouter un message dans quelques instants. Votre texte est conservé ci-dessous."
		h.render(w, r, http.StatusConflict, "tracking", page)
		return
	}
	switch n := utf8.RuneCountInString(page.Message); {
	case n == 0:
		page.Errors.add("message", "Écrivez votre message.")
	case n > 10000:
		page.Errors.add("message", "Le message est trop long : 10 000 caractères au plus (%d saisis).", n)
	}
	page.Kept = h.readFiles(r, "fichiers", &page.Errors)
	if len(page.Errors) > 0 {
		h.render(w, r, http.StatusUnprocessableEntity, "tracking", page)
		return
	}
	req := schemas.Request{
		Channel:     schemas.ChannelWeb,
		Source:      schemas.Source{Adapter: "webform", ExternalID: "suivi:" + t.Code},
		Citizen:     t.Request.Citizen,
		Subject:     "Message complémentaire — " + t.Case.Ref,
		Body:        page.Message,
		Attachments: page.Kept,
		// Written from this code's page: the same thread, the same case.
		Link:     &schemas.Link{CaseRef: t.Case.Ref, By: schemas.LinkByTrackingCode, RequestID: t.Request.ID},
		CaseRefs: []string{t.Case.Ref},
	}
	receipt, err := h.deps.Intake.Submit(r.Context(), req)
	if err != nil {
		h.deps.Log.Error("follow-up not published", "err", err)
		page.Failure = "Votre message n'a pas pu être enregistré pour le moment (incident technique). Il est conservé ci-dessous : renvoyez-le dans quelques instants."
		h.render(w, r, http.StatusServiceUnavailable, "tracking", page)
		return
	}
	http.Redirect(w, r, "/suivi/"+t.Code+"?envoye="+url.QueryEscape(receipt.TrackingCode), http.StatusSeeOther)
}
