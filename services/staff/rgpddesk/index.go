package rgpddesk

import (
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ampmetropole/guichet/services/cases/caseref"
	"github.com/ampmetropole/guichet/services/cases/personaldata"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/platform/frtime"
)

// search is how the person is looked for, as typed.
type search struct {
	Par    string // email, telephone, nom
	Valeur string
}

// subject is the person the search names.
func (s search) subject() personaldata.Subject {
	switch s.Par {
	case "telephone":
		return personaldata.Subject{Phone: s.Valeur}
	case "nom":
		return personaldata.Subject{Name: s.Valeur}
	}
	return personaldata.Subject{Email: s.Valeur}
}

// readSearch reads the search fields of a form, and what is wrong with
// them (the messages of personaldata, in French).
func readSearch(r *http.Request) (search, personaldata.Subject, []fieldError) {
	s := search{Par: r.PostFormValue("par"), Valeur: strings.TrimSpace(r.PostFormValue("valeur"))}
	if s.Par != "email" && s.Par != "telephone" && s.Par != "nom" {
		return s, personaldata.Subject{}, []fieldError{{"par-email", "Choisissez comment chercher la personne : par adresse électronique, par téléphone ou par nom."}}
	}
	if s.Valeur == "" {
		return s, personaldata.Subject{}, []fieldError{{"valeur", "Indiquez l'adresse électronique, le numéro de téléphone ou le nom de la personne."}}
	}
	who, err := s.subject().Normalize()
	if err != nil {
		return s, who, []fieldError{{"valeur", sentence(err)}}
	}
	return s, who, nil
}

// sentence is an error's French message, without the package's prefix, as
// a sentence.
func sentence(err error) string {
	msg := err.Error()
	for _, p := range []string{"personaldata: ", "retention: "} {
		msg = strings.TrimPrefix(msg, p)
	}
	if msg == "" {
		return msg
	}
	r, n := utf8.DecodeRuneInString(msg)
	msg = strings.ToUpper(string(r)) + msg[n:]
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg
}

// holdForm is the form that puts a case under a legal hold, as typed.
type holdForm struct{ Dossier, Motif string }

type indexPage struct {
	page
	Search   search
	Hold     holdForm
	Errors   []fieldError
	Err      map[string]string
	Holds    []personaldata.Hold
	Schedule []personaldata.Period
	// Done says what was just done (a hold put or taken off).
	Done  string
	Today string
	// Alert is a refusal tied to no field of the page.
	Alert string
}

func (h *Handler) showIndex(w http.ResponseWriter, r *http.Request) {
	done := map[string]string{"gel": "Le dossier est gelé : il ne sera pas effacé avant que le gel soit levé.",
		"levee": "Le gel est levé : les durées de conservation s'appliquent de nouveau au dossier."}[r.URL.Query().Get("fait")]
	h.renderIndex(w, r, http.StatusOK, indexPage{Search: search{Par: "email"}, Done: done})
}

// renderIndex answers the desk's first page, with the forms as typed and
// their errors.
func (h *Handler) renderIndex(w http.ResponseWriter, r *http.Request, status int, p indexPage) {
	holds, err := h.deps.Officer.Holds(r.Context(), 200)
	if err != nil {
		h.unavailable(w, r, err)
		return
	}
	title := "Données personnelles"
	if len(p.Errors) > 0 {
		title = "Erreur — " + title
	}
	p.page = h.base(r, title)
	p.Holds, p.Schedule, p.Err = holds, personaldata.Schedule(h.deps.Catalogue), errorsOf(p.Errors)
	p.Today = h.deps.Now().In(frtime.Paris()).Format(time.DateOnly)
	h.render(w, "accueil", status, p)
}

// hold answers POST /bo/rgpd/gels (dossier, motif).
func (h *Handler) hold(w http.ResponseWriter, r *http.Request) {
	if !h.readForm(w, r) {
		return
	}
	f := holdForm{Dossier: strings.TrimSpace(r.PostFormValue("dossier")), Motif: strings.TrimSpace(r.PostFormValue("motif"))}
	var errs []fieldError
	ref, ok := caseref.Normalize(f.Dossier)
	if !ok {
		errs = append(errs, fieldError{"gel-dossier", "Indiquez la référence du dossier à geler, par exemple AMP-2027-000123."})
	}
	if f.Motif == "" {
		errs = append(errs, fieldError{"gel-motif", "Indiquez le motif du gel : le contentieux et son numéro (pas le nom d'une personne)."})
	}
	if len(errs) == 0 {
		err := h.deps.Officer.Hold(r.Context(), ref.String(), f.Motif, actor(r))
		switch fault.KindOf(err) {
		case fault.Other:
			if err == nil {
				http.Redirect(w, r, Base+"?fait=gel#gels", http.StatusSeeOther)
				return
			}
			h.unavailable(w, r, err)
			return
		case fault.NotFound:
			errs = append(errs, fieldError{"gel-dossier", "Le dossier " + ref.String() + " n'existe pas."})
		case fault.Invalid, fault.Conflict:
			errs = append(errs, fieldError{"gel-motif", sentence(err)})
			if fault.KindOf(err) == fault.Conflict {
				errs[len(errs)-1].ID = "gel-dossier"
			}
		default:
			h.unavailable(w, r, err)
			return
		}
	}
	h.renderIndex(w, r, http.StatusUnprocessableEntity, indexPage{Search: search{Par: "email"}, Hold: f, Errors: errs})
}

// release answers POST /bo/rgpd/gels/{ref}/lever (motif).
func (h *Handler) release(w http.ResponseWriter, r *http.Request) {
	if !h.readForm(w, r) {
		return
	}
	ref, err := caseref.Parse(r.PathValue("ref"))
	if err != nil {
		h.shell.Error(w, h.deps.Guard.Viewer(r), http.StatusNotFound, "Ce dossier n'existe pas.")
		return
	}
	id := "lever-" + ref.String()
	motif := strings.TrimSpace(r.PostFormValue("motif"))
	var errs []fieldError
	if motif == "" {
		errs = append(errs, fieldError{id, "Indiquez pourquoi le gel du dossier " + ref.String() + " est levé (le contentieux est clos…)."})
	} else {
		err := h.deps.Officer.Release(r.Context(), ref.String(), motif, actor(r))
		switch fault.KindOf(err) {
		case fault.Other:
			if err == nil {
				http.Redirect(w, r, Base+"?fait=levee#gels", http.StatusSeeOther)
				return
			}
			h.unavailable(w, r, err)
			return
		case fault.NotFound:
			h.shell.Error(w, h.deps.Guard.Viewer(r), http.StatusNotFound, "Ce dossier n'existe pas.")
			return
		case fault.Conflict:
			h.renderIndex(w, r, http.StatusConflict, indexPage{Search: search{Par: "email"}, Alert: sentence(err)})
			return
		case fault.Invalid:
			errs = append(errs, fieldError{id, sentence(err)})
		default:
			h.unavailable(w, r, err)
			return
		}
	}
	h.renderIndex(w, r, http.StatusUnprocessableEntity, indexPage{Search: search{Par: "email"}, Errors: errs})
}
