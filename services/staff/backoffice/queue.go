package backoffice

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/catalogue"
	"github.com/ampmetropole/guichet/services/cases/lifecycle"
	"github.com/ampmetropole/guichet/services/cases/territory"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

type queuePage struct {
	page
	F           casestore.Filter
	Page        casestore.CasePage
	Competences []catalogue.Competence
	Territories []option
	States      []string
	StateChoice string // the state asked for: "", "all", "pending" or a state
	Channels    []string
	Prev, Next  string
	Triage      bool
	Error       string
	Live        string // the live refresh's address, "" when off
	// Incidents are the incidents of the listed cases, by case ref.
	Incidents map[string]casestore.IncidentBrief
}

func (h *Handler) territories() []option {
	var out []option
	for _, c := range territory.Codes() {
		out = append(out, option{c, territory.TerritoryName(c)})
	}
	return out
}

func (h *Handler) queue(w http.ResponseWriter, r *http.Request) {
	pg, p := h.base(r, "Dossiers", "dossiers")
	q := r.URL.Query()
	f := casestore.Filter{Competence: q.Get("competence"), Territory: q.Get("territory"), Channel: q.Get("channel"),
		Q: strings.TrimSpace(q.Get("q")), Overdue: q.Get("overdue") == "true", Limit: 50}
	// Without a chosen state the queue shows what is to be dealt with, and
	// a search looks through every case.
	switch st := q.Get("state"); {
	case lifecycle.Known(st) || st == casestore.StatePending:
		f.State = st
	case st == "all", f.Q != "":
	default:
		f.State = casestore.StatePending
	}
	if n, err := strconv.Atoi(q.Get("page")); err == nil && n > 1 && n < 10000 {
		f.Offset = (n - 1) * f.Limit
	}
	f.Scope = p.Scope()
	data := queuePage{page: pg, F: f, StateChoice: q.Get("state"), Competences: h.deps.Catalogue.Competences, Territories: h.territories(),
		States: lifecycle.States, Channels: []string{schemas.ChannelWeb, schemas.ChannelPhone, schemas.ChannelMail, schemas.ChannelEmail, schemas.ChannelOpen311, schemas.ChannelCounter}}
	if h.live.on() {
		data.Live = "/bo/direct?file=dossiers"
	}
	status := http.StatusOK
	page, err := h.deps.Store.Cases(r.Context(), f)
	switch {
	case fault.KindOf(err) == fault.Invalid:
		status, data.Error = http.StatusBadRequest, "Recherche trop longue : 200 caractères au plus."
	case err != nil:
		h.deps.Log.Error("back office queue", "err", err)
		status, data.Error = http.StatusServiceUnavailable, "La liste des dossiers est momentanément indisponible : réessayez dans quelques instants."
	}
	data.Page = page
	data.Incidents = h.incidentsOf(r, page.Cases)
	if page.ByState == nil {
		data.Page.ByState = map[string]int{}
	}
	pageNo := f.Offset/f.Limit + 1
	link := func(n int) string {
		v := r.URL.Query()
		v.Set("page", strconv.Itoa(n))
		return "/bo/dossiers?" + v.Encode()
	}
	if pageNo > 1 {
		data.Prev = link(pageNo - 1)
	}
	if f.Offset+len(page.Cases) < page.Total || page.TotalCapped && len(page.Cases) == f.Limit {
		data.Next = link(pageNo + 1)
	}
	h.render(w, "queue", status, data)
}
