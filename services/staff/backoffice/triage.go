package backoffice

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/catalogue"
	"github.com/ampmetropole/guichet/services/cases/territory"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/platform/textcheck"
	"github.com/ampmetropole/guichet/services/staff/auth"
)

// triageShown is how many cases the triage page lists at once, the oldest
// first: routing one brings the next.
const triageShown = 30

// triageFormMax bounds a triage form, in bytes.
const triageFormMax = 16 << 10

type triagePage struct {
	page
	Items       []triageItem
	Total       int
	Competences []catalogue.Competence
	Error, Done string
	// Refused is the case whose "other competence" form was refused, with
	// why (next to its list) and what was typed.
	Refused triageRefusal
	Live    string // the live refresh's address, "" when off
}

// triageRefusal is a triage form sent back.
type triageRefusal struct {
	Ref, Field, Text, Motif string
}

// guess is one of the router's hypotheses for a triage case.
type guess struct {
	Code    string
	Percent int
}

type triageItem struct {
	casestore.TriageCase
	Guesses []guess
	Commune string // the commune of the place as given, when known
}

var guessPattern = regexp.MustCompile(`([a-z_]+) (\d{1,3}) %`)

// triage lists the cases the router left to people, with what the citizen
// wrote and where, and the router's reasons and guesses.
func (h *Handler) triage(w http.ResponseWriter, r *http.Request) {
	status, data := h.triageData(r, triageRefusal{})
	if done := r.URL.Query().Get("fait"); done != "" && len(done) < 40 {
		data.Done = "Dossier " + done + " orienté"
		if c, ok := h.deps.Catalogue.Competence(r.URL.Query().Get("vers")); ok {
			data.Done += " vers « " + c.Label + " »"
		}
		data.Done += "."
	}
	h.render(w, "triage", status, data)
}

func (h *Handler) triageData(r *http.Request, refused triageRefusal) (int, triagePage) {
	pg, p := h.base(r, "Tri", "tri")
	data := triagePage{page: pg, Competences: h.deps.Catalogue.Competences, Refused: refused}
	if h.live.on() {
		data.Live = "/bo/direct?file=tri"
	}
	list, total, err := h.deps.Store.TriageQueue(r.Context(), p.Scope(), triageShown)
	if err != nil {
		h.deps.Log.Error("triage queue", "err", err)
		data.Error = "La file de tri est momentanément indisponible : réessayez dans quelques instants."
		return http.StatusServiceUnavailable, data
	}
	data.Total = total
	for _, c := range list {
		item := triageItem{TriageCase: c}
		for _, reason := range c.Reasons {
			if reason.Code != "triage" {
				continue
			}
			for _, m := range guessPattern.FindAllStringSubmatch(reason.Detail, 3) {
				if h.deps.Catalogue.Known(m[1]) {
					n, _ := strconv.Atoi(m[2])
					item.Guesses = append(item.Guesses, guess{m[1], n})
				}
			}
		}
		if c.Location != nil {
			item.Commune = triageCommune(c.Location)
		}
		data.Items = append(data.Items, item)
	}
	return http.StatusOK, data
}

// triageRoute gives a triage case to the competence chosen: one of the
// router's guesses, or another from the list (with a reason or not). A case
// routed meanwhile by someone else is left alone.
func (h *Handler) triageRoute(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	if !p.Can(auth.PermCaseReroute) {
		h.deps.Guard.DenyPage(w, r)
		return
	}
	ref := r.PathValue("ref")
	f, err := h.deps.Store.CaseFile(r.Context(), ref)
	terr := ""
	if err == nil && f.Territory != nil {
		terr = *f.Territory
	}
	switch {
	case fault.KindOf(err) == fault.NotFound, err == nil && !p.SeesCase(f.Competence, terr):
		h.notFound(w, r, "")
		return
	case err != nil:
		h.deps.Log.Error("triage: case", "ref", ref, "err", err)
		h.unavailable(w, r, "Le dossier est momentanément indisponible : réessayez dans quelques instants.")
		return
	}
	// The sign-in service may have read the form already (for its CSRF
	// token, up to its own bound): the size is checked either way.
	r.Body = http.MaxBytesReader(w, r.Body, triageFormMax)
	if err := r.ParseForm(); err != nil || triageFormSize(r) > triageFormMax {
		h.shell.Error(w, h.deps.Guard.Viewer(r), http.StatusRequestEntityTooLarge, "Formulaire trop volumineux : rien n'a été enregistré.")
		return
	}
	motif := strings.TrimSpace(r.PostFormValue("motif"))
	refuse := func(status int, text string) {
		_, data := h.triageData(r, triageRefusal{Ref: f.Ref, Field: "c-" + f.Ref, Text: text, Motif: motif})
		h.render(w, "triage", status, data)
	}
	if field := textcheck.Values(r.PostForm); field != "" {
		refuse(http.StatusBadRequest, "Caractère non permis (caractère nul ou encodage invalide) : rien n'a été enregistré.")
		return
	}
	if f.Competence != schemas.CompetenceTriage {
		// Someone routed it first: say so rather than route it twice.
		http.Redirect(w, r, "/bo/tri?fait="+url.QueryEscape(f.Ref)+"&vers="+url.QueryEscape(f.Competence)+"#resultat", http.StatusSeeOther)
		return
	}
	competence := r.PostFormValue("competence")
	if len(motif) > 2000 {
		refuse(http.StatusUnprocessableEntity, "Motif trop long : 2 000 caractères au plus.")
		return
	}
	if !h.deps.Catalogue.Known(competence) {
		refuse(http.StatusUnprocessableEntity, "Choisissez une compétence dans la liste.")
		return
	}
	if motif == "" {
		motif = "tri : autre compétence choisie"
	}
	if _, err := h.deps.Store.Reroute(r.Context(), f.Ref, competence, "", casestore.Change{Actor: p.Name, Reason: motif}); err != nil {
		status := http.StatusUnprocessableEntity
		if k := fault.KindOf(err); k != fault.Invalid && k != fault.Conflict {
			h.deps.Log.Error("triage reroute", "ref", f.Ref, "err", err)
			status = http.StatusServiceUnavailable
		}
		refuse(status, "Orientation refusée : "+strings.TrimPrefix(err.Error(), "casestore: "))
		return
	}
	if err := h.deps.Guard.Audit(r.Context(), p, "case.reroute", f.Ref, map[string]any{"from": f.Competence, "to": competence}); err != nil {
		h.deps.Log.Warn("audit log not written", "err", err)
	}
	http.Redirect(w, r, "/bo/tri?fait="+url.QueryEscape(f.Ref)+"&vers="+url.QueryEscape(competence)+"#resultat", http.StatusSeeOther)
}

// triageDirectory holds the Métropole's communes, read once.
var triageDirectory = sync.OnceValue(func() *territory.Directory {
	d, err := territory.Load()
	if err != nil {
		return nil
	}
	return d
})

// triageCommune names the commune of a place as given: by its INSEE code, else
// by a postal code that only one commune has.
func triageCommune(l *schemas.Location) string {
	d := triageDirectory()
	if d == nil {
		return ""
	}
	if c, ok := d.ByINSEE(l.CommuneINSEE); ok && l.CommuneINSEE != "" {
		return c.Name
	}
	if cs := d.ByPostalCode(l.PostalCode); len(cs) == 1 {
		return cs[0].Name
	}
	return ""
}

// triagePlace is the place as the citizen gave it: the address, then the
// postal code and commune.
func triagePlace(l *schemas.Location, commune string) []string {
	if l == nil {
		return nil
	}
	var out []string
	if a := strings.TrimSpace(l.Address); a != "" {
		out = append(out, a)
	}
	if town := strings.TrimSpace(l.PostalCode + " " + commune); town != "" {
		out = append(out, town)
	}
	return out
}

// triageReasonLabel names in French what kind of reason the router gave.
func triageReasonLabel(code string) string {
	switch code {
	case "classifier":
		return "Classement automatique"
	case "rule":
		return "Règle du catalogue"
	case "hint":
		return "Compétence indiquée à la saisie"
	case "hint_overruled":
		return "Compétence indiquée, écartée"
	case "triage":
		return "Pourquoi le tri"
	case "territory", "territory_unknown":
		return "Territoire"
	case "link", "same_matter", "link_unknown", "reminder", "reminder_unsure":
		return "Rattachement"
	case "case_ref", "case_ref_unknown", "case_ref_closed", "case_ref_other_citizen":
		return "Référence citée"
	case "correction":
		return "Correction"
	case "case_merged":
		return "Dossier fusionné"
	}
	return "Raison"
}

// triageReasonWords rewrites a reason of the router in words: the competence
// codes it names become their labels ("hors_competence 40 %" → "Autre
// demande 40 %"), the channels theirs. Words in « » are the citizen's and
// stay as they are.
func (h *Handler) triageReasonWords(detail string) string {
	var b strings.Builder
	quoted := false
	rs := []rune(detail)
	for i := 0; i < len(rs); {
		r := rs[i]
		switch {
		case r == '«':
			quoted = true
		case r == '»':
			quoted = false
		}
		if !isCodeRune(r) || quoted {
			b.WriteRune(r)
			i++
			continue
		}
		j := i
		for j < len(rs) && isCodeRune(rs[j]) {
			j++
		}
		word := string(rs[i:j])
		// A code stands alone: not part of a longer word with accents.
		alone := (i == 0 || !unicode.IsLetter(rs[i-1])) && (j == len(rs) || !unicode.IsLetter(rs[j]))
		switch {
		case !alone:
			b.WriteString(word)
		case word == schemas.CompetenceTriage:
			b.WriteString("tri")
		case h.deps.Catalogue.Known(word):
			b.WriteString(h.competenceLabel(word))
		case word == schemas.ChannelWeb || word == schemas.ChannelPhone || word == schemas.ChannelEmail || word == schemas.ChannelMail:
			b.WriteString(schemas.ChannelName(word))
		default:
			b.WriteString(word)
		}
		i = j
	}
	return b.String()
}

func isCodeRune(r rune) bool { return r >= 'a' && r <= 'z' || r == '_' }

// triageFormSize is the size of a request's form fields, as sent or as read.
func triageFormSize(r *http.Request) int64 {
	n := r.ContentLength
	var read int64
	for k, vs := range r.PostForm {
		for _, v := range vs {
			read += int64(len(k) + len(v) + 2)
		}
	}
	return max(n, read)
}
