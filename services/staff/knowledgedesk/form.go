package knowledgedesk

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ampmetropole/guichet/services/cases/knowledge"
	"github.com/ampmetropole/guichet/services/cases/territory"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/platform/frtime"
	"github.com/ampmetropole/guichet/services/staff/auth"
)

// maxForm bounds the body of the form: the text at its limit, written in
// the widest UTF-8 and URL-encoded, and room for the rest.
const maxForm = 4 * knowledge.MaxText * 3

// ids are the fields' ids in the page, by the store's field names: the
// error summary links to them.
var ids = map[string]string{
	knowledge.FieldTitle:      "titre",
	knowledge.FieldText:       "texte",
	knowledge.FieldCompetence: "competence",
	knowledge.FieldTerritory:  "territoire",
	knowledge.FieldReview:     "revoir",
}

type option struct{ Code, Name string }

// formValues are the fields as typed, kept as typed when refused.
type formValues struct {
	Title, Text, Competence, Territory, Review string
	Version                                    int
}

// fieldError is an error of the summary, linked to its field.
type fieldError struct{ ID, Message string }

type formPage struct {
	page
	// Entry is the entry edited; ID 0 for a new one.
	Entry  knowledge.Entry
	F      formValues
	Errors []fieldError
	// Err gives the message of a field by its id.
	Err         map[string]string
	Conflict    string
	Competences []option
	Territories []option
	MinDate     string
	MaxDate     string
	MaxLabel    string // MaxDate in words
	MaxTitle    int
	MaxText     int
}

func (h *Handler) newForm(w http.ResponseWriter, r *http.Request) {
	review := knowledge.Today(h.deps.Now()).AddDate(1, 0, 0)
	h.renderForm(w, r, http.StatusOK, knowledge.Entry{}, formValues{Review: review.Format(time.DateOnly)}, nil, "")
}

func (h *Handler) editForm(w http.ResponseWriter, r *http.Request) {
	e, ok := h.load(w, r)
	if !ok {
		return
	}
	h.renderForm(w, r, http.StatusOK, e, valuesOf(e), nil, "")
}

func valuesOf(e knowledge.Entry) formValues {
	return formValues{Title: e.Title, Text: e.Text, Competence: e.Competence, Territory: e.Territory,
		Review: e.ReviewOn.Format(time.DateOnly), Version: e.Version}
}

// renderForm answers the form; errs and conflict say why it came back.
func (h *Handler) renderForm(w http.ResponseWriter, r *http.Request, status int, e knowledge.Entry, f formValues, errs knowledge.Invalid, conflict string) {
	title := "Nouvelle fiche"
	if e.ID != 0 {
		title = "Modifier « " + e.Title + " »"
	}
	if errs != nil || conflict != "" {
		title = "Erreur – " + title
	}
	pg := h.base(r, title)
	today := knowledge.Today(h.deps.Now())
	data := formPage{page: pg, Entry: e, F: f, Err: map[string]string{}, Conflict: conflict,
		MinDate: today.Format(time.DateOnly), MaxDate: today.AddDate(knowledge.MaxReviewYears, 0, 0).Format(time.DateOnly),
		MaxLabel: frtime.Date(today.AddDate(knowledge.MaxReviewYears, 0, 0)),
		MaxTitle: knowledge.MaxTitle, MaxText: knowledge.MaxText}
	for _, fe := range errs {
		data.Errors = append(data.Errors, fieldError{ID: ids[fe.Field], Message: fe.Message})
		data.Err[ids[fe.Field]] = fe.Message
	}
	for _, c := range h.deps.Catalogue.Competences {
		data.Competences = append(data.Competences, option{c.Code, c.Label})
	}
	for _, c := range territory.Codes() {
		data.Territories = append(data.Territories, option{c, territory.TerritoryName(c)})
	}
	h.render(w, h.form, status, data)
}

// read reads the posted form: what was typed, and the draft it makes (a
// review date that does not parse is left zero, and said so).
func (h *Handler) read(w http.ResponseWriter, r *http.Request) (formValues, knowledge.Draft, knowledge.Invalid, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		status, text := http.StatusBadRequest, "Le formulaire envoyé n'a pas pu être lu. Revenez à la page précédente et recommencez."
		if errors.As(err, &tooBig) {
			status, text = http.StatusRequestEntityTooLarge, "Le formulaire envoyé est trop volumineux : le texte d'une fiche est limité à 10 000 caractères."
		}
		h.shell.Error(w, h.deps.Guard.Viewer(r), status, text)
		return formValues{}, knowledge.Draft{}, nil, false
	}
	f := formValues{Title: r.PostForm.Get("titre"), Text: r.PostForm.Get("texte"), Competence: r.PostForm.Get("competence"),
		Territory: r.PostForm.Get("territoire"), Review: strings.TrimSpace(r.PostForm.Get("revoir"))}
	f.Version, _ = strconv.Atoi(r.PostForm.Get("version"))
	d := knowledge.Draft{Title: f.Title, Text: f.Text, Competence: f.Competence, Territory: f.Territory}
	var bad knowledge.Invalid
	if f.Review != "" {
		// The date field sends 2027-12-31; a browser without one lets
		// people type 31/12/2027.
		t, err := time.Parse(time.DateOnly, f.Review)
		if err != nil {
			t, err = time.Parse("02/01/2006", f.Review)
		}
		if err != nil {
			bad = knowledge.Invalid{{Field: knowledge.FieldReview, Message: "La date de relecture n'est pas une date : écrivez-la sous la forme 31/12/2027."}}
		}
		d.ReviewOn = t
	}
	errs := d.Check(h.deps.Now(), h.deps.Catalogue.Known)
	if bad != nil {
		// The parse error says more than "no date".
		var kept knowledge.Invalid
		for _, fe := range errs {
			if fe.Field != knowledge.FieldReview {
				kept = append(kept, fe)
			}
		}
		errs = append(kept, bad...)
	}
	return f, d, errs, true
}

func (h *Handler) create(w http.ResponseWriter, r *http.Request) {
	f, d, errs, ok := h.read(w, r)
	if !ok {
		return
	}
	if errs != nil {
		h.renderForm(w, r, status(errs), knowledge.Entry{}, f, errs, "")
		return
	}
	p, _ := auth.FromContext(r.Context())
	e, err := h.deps.Store.Create(r.Context(), d, p.Name)
	if err != nil {
		h.refused(w, r, knowledge.Entry{}, f, err)
		return
	}
	h.audit(r, p, ActionCreate, e)
	http.Redirect(w, r, Base+"/"+strconv.FormatInt(e.ID, 10)+"?fait=creee", http.StatusSeeOther)
}

func (h *Handler) update(w http.ResponseWriter, r *http.Request) {
	e, ok := h.load(w, r)
	if !ok {
		return
	}
	f, d, errs, ok := h.read(w, r)
	if !ok {
		return
	}
	if errs != nil {
		h.renderForm(w, r, status(errs), e, f, errs, "")
		return
	}
	p, _ := auth.FromContext(r.Context())
	saved, err := h.deps.Store.Update(r.Context(), e.ID, f.Version, d, p.Name)
	if err != nil {
		h.refused(w, r, e, f, err)
		return
	}
	h.audit(r, p, ActionUpdate, saved)
	http.Redirect(w, r, Base+"/"+strconv.FormatInt(e.ID, 10)+"?fait=modifiee", http.StatusSeeOther)
}

// refused answers a change the store refused, the text typed kept.
func (h *Handler) refused(w http.ResponseWriter, r *http.Request, e knowledge.Entry, f formValues, err error) {
	var inv knowledge.Invalid
	switch {
	case errors.As(err, &inv):
		h.renderForm(w, r, status(inv), e, f, inv, "")
	case errors.Is(err, knowledge.ErrChanged):
		// The version now stored is the one the next save replaces: the
		// editor has seen that it changed.
		cur, gerr := h.deps.Store.Get(r.Context(), e.ID)
		if gerr != nil {
			h.unavailable(w, r, gerr)
			return
		}
		f.Version = cur.Version
		h.renderForm(w, r, http.StatusConflict, cur, f,
			nil, "Cette fiche a été modifiée par "+cur.EditedBy+" le "+frtime.DateTime(cur.EditedAt)+
				" pendant que vous l'éditiez. Votre texte est conservé ci-dessous : comparez-le avec la version enregistrée, puis enregistrez à nouveau pour la remplacer.")
	case fault.KindOf(err) == fault.NotFound:
		h.notFound(w, r)
	default:
		h.unavailable(w, r, err)
	}
}

// status is 413 when a field is too long, else 422.
func status(errs knowledge.Invalid) int {
	for _, fe := range errs {
		if fe.TooLong {
			return http.StatusRequestEntityTooLarge
		}
	}
	return http.StatusUnprocessableEntity
}
