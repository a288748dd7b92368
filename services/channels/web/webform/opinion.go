package webform

import (
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

// opinionPage is the satisfaction question of a resolved case: a score from
// 1 to 5 and a comment, once.
type opinionPage struct {
	Title      string
	Code       string // the thread's code
	Ref        string
	Open       bool               // the case was resolved: the question is asked
	Given      *casestore.Opinion // the answer already given
	Score      string             // as chosen, when the form comes back
	Comment    string
	Errors     formErrors
	MaxComment int
	Thanks     bool
}

func (h *Handler) opinionPage(t casestore.Tracking) opinionPage {
	p := opinionPage{Title: "Votre avis sur le traitement de votre demande", Code: t.ThreadCode, MaxComment: casestore.MaxOpinionComment}
	if p.Code == "" {
		p.Code = t.Code
	}
	if t.Case != nil {
		p.Ref = t.Case.Ref
	}
	return p
}

// showOpinion asks the question, or says it was answered, or that it will
// be asked once the request is resolved.
func (h *Handler) showOpinion(w http.ResponseWriter, r *http.Request) {
	t, ok := h.loadTracking(w, r)
	if !ok {
		return
	}
	p := h.opinionPage(t)
	open, given, err := h.deps.Store.OpinionAsked(r.Context(), t.Code)
	switch {
	case fault.KindOf(err) == fault.NotFound: // not routed yet
	case err != nil:
		h.unavailable(w, r, err)
		return
	}
	p.Open, p.Given, p.Thanks = open, given, r.URL.Query().Get("merci") != ""
	h.render(w, r, http.StatusOK, "opinion", p)
}

// submitOpinion records the answer, once per case and citizen.
func (h *Handler) submitOpinion(w http.ResponseWriter, r *http.Request) {
	t, ok := h.loadTracking(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "Formulaire trop volumineux ou illisible : votre commentaire compte 1 000 caractères au plus.", http.StatusRequestEntityTooLarge)
		return
	}
	p := h.opinionPage(t)
	p.Open = true
	p.Score, p.Comment = r.PostForm.Get("note"), strings.TrimSpace(r.PostForm.Get("commentaire"))
	score, err := strconv.Atoi(p.Score)
	if err != nil || score < 1 || score > 5 {
		p.Errors.add("note-1", "Choisissez une note de 1 (pas du tout satisfait) à 5 (très satisfait).")
	}
	if n := utf8.RuneCountInString(p.Comment); n > casestore.MaxOpinionComment {
		p.Errors.add("commentaire", "Votre commentaire compte %d caractères : raccourcissez-le à 1 000 au plus.", n)
	}
	if r.PostForm.Get("site_web") != "" {
		p.Errors.add("note-1", "%s", honeypotMessage)
	}
	if len(p.Errors) > 0 {
		p.Title = errorTitle(p.Title, len(p.Errors))
		h.render(w, r, http.StatusUnprocessableEntity, "opinion", p)
		return
	}
	err = h.deps.Store.RecordOpinion(r.Context(), t.Code, score, p.Comment)
	if err == nil {
		http.Redirect(w, r, "/suivi/"+p.Code+"/avis?merci=1", http.StatusSeeOther)
		return
	}
	switch fault.KindOf(err) {
	case fault.Conflict:
		// Answered already, or not resolved: the page says which.
		_, given, _ := h.deps.Store.OpinionAsked(r.Context(), t.Code)
		p.Given = given
		p.Open = given != nil
		p.Title = errorTitle(p.Title, 0)
		h.render(w, r, http.StatusConflict, "opinion", p)
	case fault.NotFound:
		p.Open = false
		h.render(w, r, http.StatusConflict, "opinion", p)
	case fault.Invalid:
		p.Errors.add("commentaire", "Votre commentaire contient un caractère qui ne peut pas être enregistré : retirez-le.")
		p.Title = errorTitle(p.Title, 1)
		h.render(w, r, http.StatusUnprocessableEntity, "opinion", p)
	default:
		h.unavailable(w, r, err)
	}
}
