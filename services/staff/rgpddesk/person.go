package rgpddesk

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/ampmetropole/guichet/services/cases/personaldata"
	"github.com/ampmetropole/guichet/services/cases/retention"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/platform/frtime"
)

// openStates are the states of a case not finished yet: an erasure waits
// for them (services/cases/retention says the same).
var openStates = map[string]bool{"received": true, "qualified": true, "in_progress": true, "waiting": true}

type personPage struct {
	page
	Search search
	E      personaldata.Export
	// Blocking are the cases an erasure would be refused for: open or held.
	Blocking []personaldata.Case
}

// export finds the person of the form; false when the page was answered
// (the search form again with its error, or a failure).
func (h *Handler) export(w http.ResponseWriter, r *http.Request) (search, personaldata.Export, bool) {
	if !h.readForm(w, r) {
		return search{}, personaldata.Export{}, false
	}
	s, who, errs := readSearch(r)
	if len(errs) == 0 {
		e, err := h.deps.Officer.Export(r.Context(), who)
		switch {
		case err == nil:
			return s, e, true
		case fault.KindOf(err) == fault.Invalid:
			errs = []fieldError{{"valeur", sentence(err)}}
		default:
			h.unavailable(w, r, err)
			return s, e, false
		}
	}
	h.renderIndex(w, r, http.StatusUnprocessableEntity, indexPage{Search: s, Errors: errs})
	return s, personaldata.Export{}, false
}

func blocking(e personaldata.Export) []personaldata.Case {
	var out []personaldata.Case
	for _, c := range e.Cases {
		if openStates[c.State] || c.HeldSince != nil {
			out = append(out, c)
		}
	}
	return out
}

// showPerson answers POST /bo/rgpd/personne (par, valeur): everything held
// about the person, with the downloads and the way to erase it.
func (h *Handler) showPerson(w http.ResponseWriter, r *http.Request) {
	s, e, ok := h.export(w, r)
	if !ok {
		return
	}
	h.audit(r, personaldata.ActionExport, e.Subject.Value(), map[string]any{"by": e.Subject.Kind(), "format": "page",
		"requests": len(e.Requests), "cases": len(e.Cases)})
	p := personPage{page: h.base(r, "Données de "+e.Subject.Describe()), Search: s, E: e, Blocking: blocking(e)}
	h.render(w, "personne", http.StatusOK, p)
}

// download answers POST /bo/rgpd/personne/telecharger (par, valeur,
// format json|texte): the export as a file.
func (h *Handler) download(w http.ResponseWriter, r *http.Request) {
	_, e, ok := h.export(w, r)
	if !ok {
		return
	}
	format := r.PostFormValue("format")
	if format != "json" && format != "texte" {
		h.shell.Error(w, h.deps.Guard.Viewer(r), http.StatusBadRequest, "Choisissez le format du fichier : JSON ou texte.")
		return
	}
	h.audit(r, personaldata.ActionExport, e.Subject.Value(), map[string]any{"by": e.Subject.Kind(), "format": format,
		"requests": len(e.Requests), "cases": len(e.Cases)})
	name := "donnees-personnelles-" + e.GeneratedAt.Format("2006-01-02")
	var body []byte
	if format == "json" {
		var err error
		if body, err = json.MarshalIndent(e, "", "  "); err != nil {
			h.unavailable(w, r, err)
			return
		}
		body = append(body, '\n')
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		name += ".json"
	} else {
		body = []byte(e.Text())
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		name += ".txt"
	}
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

type erasePage struct {
	page
	Search   search
	E        personaldata.Export
	Blocking []personaldata.Case
	Motif    string
	Errors   []fieldError
	Err      map[string]string
}

// confirmErase answers POST /bo/rgpd/effacement (par, valeur): what an
// erasure would take, what would stop it, and the form to confirm it.
func (h *Handler) confirmErase(w http.ResponseWriter, r *http.Request) {
	s, e, ok := h.export(w, r)
	if !ok {
		return
	}
	h.renderErase(w, r, http.StatusOK, erasePage{Search: s, E: e})
}

func (h *Handler) renderErase(w http.ResponseWriter, r *http.Request, status int, p erasePage) {
	title := "Effacer les données de " + p.E.Subject.Describe()
	if len(p.Errors) > 0 {
		title = "Erreur — " + title
	}
	p.page, p.Blocking, p.Err = h.base(r, title), blocking(p.E), errorsOf(p.Errors)
	h.render(w, "effacement", status, p)
}

type resultPage struct {
	page
	Search  search
	Subject personaldata.Subject
	Report  retention.Report
	// Refusal is why the erasure was refused; "" when it was done.
	Refusal string
	// Warning: done in the database, another store not told yet.
	Warning bool
}

// erase answers POST /bo/rgpd/effacer (par, valeur, motif, confirmation).
func (h *Handler) erase(w http.ResponseWriter, r *http.Request) {
	s, e, ok := h.export(w, r)
	if !ok {
		return
	}
	motif := strings.TrimSpace(r.PostFormValue("motif"))
	var errs []fieldError
	if motif == "" {
		errs = append(errs, fieldError{"motif", "Indiquez le motif de l'effacement : la demande de la personne, sa date, sa référence."})
	}
	if r.PostFormValue("confirmation") != "oui" {
		errs = append(errs, fieldError{"confirmation", "Cochez la case pour confirmer : l'effacement ne se défait pas."})
	}
	if len(errs) > 0 {
		h.renderErase(w, r, http.StatusUnprocessableEntity, erasePage{Search: s, E: e, Motif: motif, Errors: errs})
		return
	}
	rep, err := h.deps.Officer.Erase(r.Context(), e.Subject, motif, actor(r))
	switch kind := fault.KindOf(err); {
	case err == nil:
	case kind == fault.Conflict:
		h.audit(r, personaldata.ActionEraseRefused, e.Subject.Value(), map[string]any{"by": e.Subject.Kind(), "refusal": err.Error()})
		h.render(w, "resultat", http.StatusConflict, resultPage{page: h.base(r, "Effacement refusé"), Search: s, Subject: e.Subject,
			Report: rep, Refusal: sentence(err)})
		return
	case kind == fault.Invalid:
		h.renderErase(w, r, http.StatusUnprocessableEntity, erasePage{Search: s, E: e, Motif: motif, Errors: []fieldError{{"motif", sentence(err)}}})
		return
	case rep.Cases+rep.Requests+rep.Files == 0:
		h.unavailable(w, r, err)
		return
	default:
		h.deps.Log.Warn("erasure: another store not told yet", "err", err)
	}
	h.render(w, "resultat", http.StatusOK, resultPage{page: h.base(r, "Données effacées"), Search: s, Subject: e.Subject, Report: rep, Warning: err != nil})
}

type simulationPage struct {
	page
	Date   time.Time
	Report retention.Report
	// Shown are the first cases that would go.
	Shown []string
}

// simulate answers POST /bo/rgpd/conservation (date): what the retention
// schedule would erase on that date; nothing is erased.
func (h *Handler) simulate(w http.ResponseWriter, r *http.Request) {
	if !h.readForm(w, r) {
		return
	}
	raw := strings.TrimSpace(r.PostFormValue("date"))
	at := h.deps.Now()
	if raw != "" {
		t, err := time.ParseInLocation(time.DateOnly, raw, frtime.Paris())
		if err != nil || t.Year() < 2000 || t.Year() > 2200 {
			h.renderIndex(w, r, http.StatusUnprocessableEntity, indexPage{Search: search{Par: "email"},
				Errors: []fieldError{{"simulation-date", "Indiquez une date au format JJ/MM/AAAA, par exemple le 1er janvier 2028."}}})
			return
		}
		at = t
	}
	rep, err := h.deps.Officer.Apply(r.Context(), at, true, actor(r))
	if err != nil {
		h.unavailable(w, r, err)
		return
	}
	h.audit(r, personaldata.ActionRetention, "", map[string]any{"now": at.UTC().Format(time.RFC3339), "cases": rep.Cases,
		"requests": rep.Requests, "files": rep.Files})
	p := simulationPage{page: h.base(r, "Simulation des durées de conservation"), Date: at, Report: rep}
	p.Shown = rep.Purged.Cases[:min(len(rep.Purged.Cases), 500)]
	h.render(w, "conservation", http.StatusOK, p)
}
