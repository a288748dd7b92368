package webform

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/catalogue"
	"github.com/ampmetropole/guichet/services/cases/lifecycle"
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
// the page of the code typed in it. A code that is malformed or unknown
// comes back in the field as typed, with the error, so that the typo shows.
func (h *Handler) findTracking(w http.ResponseWriter, r *http.Request) {
	typed := strings.TrimSpace(r.URL.Query().Get("code"))
	if typed == "" {
		page := findPage{Title: "Suivre une demande"}
		if _, asked := r.URL.Query()["code"]; asked {
			page.Error = "Indiquez votre code de suivi : 12 caractères, par exemple 7KQ4-M2XD-9HPA."
			page.Title = errorTitle(page.Title, 1)
			h.render(w, r, http.StatusUnprocessableEntity, "find", page)
			return
		}
		h.render(w, r, http.StatusOK, "find", page)
		return
	}
	if utf8.RuneCountInString(typed) > maxTypedCode {
		typed = string([]rune(typed)[:maxTypedCode])
	}
	code, ok := intake.NormalizeTrackingCode(typed)
	if !ok {
		h.render(w, r, http.StatusUnprocessableEntity, "find", findPage{Title: errorTitle("Suivre une demande", 1), Code: typed,
			Error: malformedCode(typed)})
		return
	}
	switch _, err := h.deps.Store.Tracking(r.Context(), code); {
	case fault.KindOf(err) == fault.NotFound:
		h.trackingNotFound(w, r, typed)
		return
	case err != nil:
		h.unavailable(w, r, err)
		return
	}
	http.Redirect(w, r, "/suivi/"+code, http.StatusSeeOther)
}

// malformedCode says what is wrong with a code that is no tracking code.
func malformedCode(typed string) string {
	n := 0
	for _, r := range strings.ToUpper(typed) {
		if (r >= '0' && r <= '9') || (r >= 'A' && r <= 'Z') {
			n++
		}
	}
	if n != 12 {
		return fmt.Sprintf("Un code de suivi compte 12 lettres ou chiffres, par exemple 7KQ4-M2XD-9HPA : vous en avez saisi %d. Vérifiez-le sur votre accusé de réception.", n)
	}
	return "Ce code contient la lettre U, qui n'est jamais utilisée dans les codes de suivi. Vérifiez-le sur votre accusé de réception (par exemple un V mal lu)."
}

// maxTypedCode bounds what the find page shows again of a code typed.
const maxTypedCode = 40

type findPage struct {
	Title string
	Code  string
	Error string
}

// trackingPage is the status page of a request.
type trackingPage struct {
	Title string
	T     casestore.Tracking
	Sent  bool // a follow-up was just added
	// NoticeChange says the status notices were just turned off or on.
	NoticeChange string
	// OpinionOpen: the case was resolved, the satisfaction question is
	// asked; OpinionGiven: this citizen answered it.
	OpinionOpen, OpinionGiven bool
	Late                      bool // the deadline has passed
	Message                   string
	Kept                      []schemas.Attachment
	Errors                    formErrors
	Failure                   string
	Accept                    string
	MaxFiles                  int
	Org                       catalogue.Organisation
	// How the team was chosen, in words: by the router (and why, two or
	// three reasons) or by a person; whether the citizen may ask a person
	// to look again, and the text of that request when refused.
	ByRouter   bool
	Why        []string
	CanReview  bool
	Review     string
	ReviewSent bool // a review was just asked
}

func (h *Handler) trackingPage(t casestore.Tracking) trackingPage {
	if t.ThreadCode == "" {
		t.ThreadCode = t.Code
	}
	p := trackingPage{Title: "Suivi de votre demande", T: t, Late: t.Deadline != nil && h.now().After(*t.Deadline),
		Accept: attachment.AcceptedTypes, MaxFiles: attachment.MaxFiles, Org: h.deps.Catalogue.Organisation}
	p.ByRouter, p.Why = h.explain(t)
	p.CanReview = p.ByRouter && t.Case != nil && !t.ReviewAsked && t.Case.Competence != schemas.CompetenceTriage &&
		!lifecycle.Final(t.Case.State) && t.Case.State != lifecycle.Resolved
	return p
}

// failed renders the status page again with its errors or its failure.
func (h *Handler) failed(w http.ResponseWriter, r *http.Request, status int, page trackingPage) {
	page.Title = errorTitle(page.Title, len(page.Errors))
	h.render(w, r, status, "tracking", page)
}

// loadTracking finds the request of the code in the path, answering 404 or
// 503 itself when it cannot.
func (h *Handler) loadTracking(w http.ResponseWriter, r *http.Request) (casestore.Tracking, bool) {
	typed := r.PathValue("code")
	if utf8.RuneCountInString(typed) > maxTypedCode {
		typed = string([]rune(typed)[:maxTypedCode])
	}
	code, ok := intake.NormalizeTrackingCode(typed)
	if !ok {
		h.trackingNotFound(w, r, typed)
		return casestore.Tracking{}, false
	}
	t, err := h.deps.Store.Tracking(r.Context(), code)
	if fault.KindOf(err) == fault.NotFound {
		h.trackingNotFound(w, r, typed)
		return t, false
	}
	if err != nil {
		h.unavailable(w, r, err)
		return t, false
	}
	return t, true
}

// trackingNotFound answers 404 with the find page, the code as typed in
// its field.
func (h *Handler) trackingNotFound(w http.ResponseWriter, r *http.Request, typed string) {
	h.render(w, r, http.StatusNotFound, "find", findPage{Title: errorTitle("Suivre une demande", 1), Code: typed,
		Error: "Aucune demande ne correspond au code «\u00a0" + typed + "\u00a0». Vérifiez chaque caractère sur votre accusé de réception ou dans l'e-mail de confirmation ; une demande envoyée à l'instant peut mettre quelques secondes à apparaître."})
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
	page.Sent = r.URL.Query().Get("envoye") != ""
	page.ReviewSent = r.URL.Query().Get("reexamen") != "" && t.ReviewAsked
	switch r.URL.Query().Get("avis") {
	case "non":
		page.NoticeChange = "Vous ne recevrez plus d'avis de suivi pour cette demande."
	case "oui":
		page.NoticeChange = "Vous recevrez de nouveau un avis à chaque étape de cette demande."
	}
	if t.Case != nil {
		open, given, err := h.deps.Store.OpinionAsked(r.Context(), t.Code)
		if err != nil && fault.KindOf(err) != fault.NotFound {
			h.deps.Log.Warn("status page: satisfaction not read", "err", err)
		}
		page.OpinionOpen, page.OpinionGiven = open, given != nil
	}
	h.render(w, r, http.StatusOK, "tracking", page)
}

// submitFollowUp adds a message to the case of a request: a new request of
// the web channel that cites the case, from the same citizen.
func (h *Handler) submitFollowUp(w http.ResponseWriter, r *http.Request) { h.followUp(w, r, false) }

// maxReviewBody bounds a review request's form: its words (10 000
// characters at most, escaped) and the form's few fields.
const maxReviewBody = 128 << 10

// submitReview is « Demander un réexamen par un agent »: the citizen's
// words go as a message of the thread, and the case to the triage queue.
func (h *Handler) submitReview(w http.ResponseWriter, r *http.Request) { h.followUp(w, r, true) }

// followUp adds a message to the thread, and with review sends the case
// back to people.
func (h *Handler) followUp(w http.ResponseWriter, r *http.Request, review bool) {
	t, ok := h.loadTracking(w, r)
	if !ok {
		return
	}
	if review {
		// A few words, no file: far below the form's bound for photos.
		r.Body = http.MaxBytesReader(w, r.Body, maxReviewBody)
	}
	if !h.parseForm(w, r) {
		return
	}
	if r.MultipartForm != nil {
		defer r.MultipartForm.RemoveAll()
	}
	page := h.trackingPage(t)
	t = page.T
	field := "message"
	page.Message = strings.TrimSpace(r.PostFormValue("message"))
	if review {
		field, page.Review, page.Message = "reexamen", page.Message, ""
		if !page.CanReview {
			page.Failure = "Un réexamen ne peut plus être demandé pour ce dossier (déjà demandé, confié à une personne, ou dossier terminé). Vous pouvez toujours écrire un message ci-dessous."
			h.failed(w, r, http.StatusConflict, page)
			return
		}
	}
	text := page.Message
	if review {
		text = page.Review
	}
	if r.PostFormValue("site_web") != "" {
		page.Failure = honeypotMessage
		h.failed(w, r, http.StatusUnprocessableEntity, page)
		return
	}
	if t.Case == nil {
		page.Failure = "Votre demande est en cours d'orientation : vous pourrez ajouter un message dans quelques instants. Votre texte est conservé ci-dessous."
		h.failed(w, r, http.StatusConflict, page)
		return
	}
	switch n := utf8.RuneCountInString(text); {
	case n == 0 && review:
		page.Errors.add(field, "Dites en quelques mots pourquoi votre demande vous semble mal orientée.")
	case n == 0:
		page.Errors.add(field, "Écrivez votre message.")
	case n > 10000:
		page.Errors.add(field, "Le message est trop long : 10 000 caractères au plus (%d saisis).", n)
	}
	page.Kept = h.readFiles(r, "fichiers", &page.Errors)
	if len(page.Errors) > 0 {
		h.failed(w, r, http.StatusUnprocessableEntity, page)
		return
	}
	subject := "Message complémentaire — " + t.Case.Ref
	if review {
		subject = "Demande de réexamen de l'orientation — " + t.Case.Ref
	}
	req := schemas.Request{
		Channel: schemas.ChannelWeb,
		// The thread's first code: the one code the citizen keeps, which
		// the acknowledgement of the message should name.
		Source:      schemas.Source{Adapter: "webform", ExternalID: "suivi:" + t.ThreadCode},
		Citizen:     t.Request.Citizen,
		Subject:     subject,
		Body:        text,
		Attachments: page.Kept,
		// Written from this code's page: the same thread, the same case.
		Link:     &schemas.Link{CaseRef: t.Case.Ref, By: schemas.LinkByTrackingCode, RequestID: t.Request.ID},
		CaseRefs: []string{t.Case.Ref},
	}
	receipt, err := h.deps.Intake.Submit(r.Context(), req)
	if err != nil {
		h.deps.Log.Error("follow-up not published", "err", err)
		page.Failure = "Votre message n'a pas pu être enregistré pour le moment (incident technique). Il est conservé ci-dessous : renvoyez-le dans quelques instants."
		h.failed(w, r, http.StatusServiceUnavailable, page)
		return
	}
	// The message has its own tracking code, which the citizen is not
	// given: the thread's page shows it, under the code they already hold.
	// The intake recorded it before answering; should that record have
	// failed (it is only logged), the router records it in a moment: wait
	// for it briefly so that the page shows the message.
	h.awaitRecord(r.Context(), receipt.TrackingCode)
	if review {
		if _, err := h.deps.Store.AskReview(r.Context(), t.Case.Ref, t.ThreadID); err != nil && fault.KindOf(err) != fault.Conflict {
			// The words are in the case already: a person reads them.
			h.deps.Log.Error("review not asked", "case", t.Case.Ref, "err", err)
		}
		http.Redirect(w, r, "/suivi/"+t.ThreadCode+"?reexamen=1", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/suivi/"+t.ThreadCode+"?envoye=1", http.StatusSeeOther)
}

// recordWait bounds the wait for a follow-up's record before its sender
// is shown the thread's page again.
const recordWait = 2 * time.Second

// awaitRecord waits, recordWait at most, until the request of code is
// recorded.
func (h *Handler) awaitRecord(ctx context.Context, code string) {
	ctx, cancel := context.WithTimeout(ctx, recordWait)
	defer cancel()
	for {
		_, err := h.deps.Store.Tracking(ctx, code)
		if fault.KindOf(err) != fault.NotFound {
			return // recorded, or the store is away: nothing to wait for
		}
		select {
		case <-ctx.Done():
			h.deps.Log.Warn("follow-up not yet recorded: its page may miss it for a moment")
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}
