package communedesk

import (
	"net/http"
	"strconv"
	"time"

	"github.com/ampmetropole/guichet/services/cases/caseref"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

// dashboardPage is the desk's first page.
type dashboardPage struct {
	page
	Figures    casestore.CommuneFigures
	Rows       []dashboardRow
	MaxOpen    int
	HandedOver []casestore.CommuneCase // handed over and not finished
	Latest     []casestore.CommuneCase
}

// dashboardRow is one domain of the dashboard.
type dashboardRow struct {
	Competence     string
	Open, Finished int
	Width          int // of the bar, in % of the largest
}

// showDashboard shows the figures of the last twelve months, the cases
// handed over to the mairie still open, and the latest changes.
func (h *Handler) showDashboard(w http.ResponseWriter, r *http.Request) {
	pg, p := h.base(r, "Espace mairie")
	since := h.deps.Now().AddDate(-1, 0, 0)
	fig, err := h.deps.Store.CommuneDashboard(r.Context(), p.Communes, since)
	if err != nil {
		h.unavailable(w, r, err)
		return
	}
	data := dashboardPage{page: pg, Figures: fig}
	byComp := map[string]*dashboardRow{}
	for _, c := range fig.ByCompetenceState {
		row := byComp[c.Competence]
		if row == nil {
			row = &dashboardRow{Competence: c.Competence}
			byComp[c.Competence] = row
		}
		if finished(c.State) {
			row.Finished += c.N
		} else {
			row.Open += c.N
		}
	}
	for _, k := range h.deps.Catalogue.Competences {
		if row, ok := byComp[k.Code]; ok {
			data.Rows = append(data.Rows, *row)
			data.MaxOpen = max(data.MaxOpen, row.Open+row.Finished)
		}
	}
	if row, ok := byComp["triage"]; ok {
		data.Rows = append(data.Rows, *row)
		data.MaxOpen = max(data.MaxOpen, row.Open+row.Finished)
	}
	for i := range data.Rows {
		if data.MaxOpen > 0 {
			data.Rows[i].Width = max(1, 100*(data.Rows[i].Open+data.Rows[i].Finished)/data.MaxOpen)
		}
	}
	if data.HandedOver, err = h.deps.Store.CommuneCases(r.Context(), casestore.CommuneFilter{Communes: p.Communes, Redirected: true, Limit: 20}); err != nil {
		h.unavailable(w, r, err)
		return
	}
	if data.Latest, err = h.deps.Store.CommuneCases(r.Context(), casestore.CommuneFilter{Communes: p.Communes, Limit: 10}); err != nil {
		h.unavailable(w, r, err)
		return
	}
	h.render(w, "accueil", http.StatusOK, data)
}

func finished(state string) bool {
	switch state {
	case "resolved", "closed", "rejected", "redirected", "merged":
		return true
	}
	return false
}

// casesPage lists a mairie's cases.
type casesPage struct {
	page
	Which      string // "tous", "transmis", "ouverts"
	Cases      []casestore.CommuneCase
	Page, Next int
}

const perPage = 50

// showCases lists the cases of the mairie's communes: all of them, those
// handed over, or those still open.
func (h *Handler) showCases(w http.ResponseWriter, r *http.Request) {
	pg, p := h.base(r, "Dossiers de la commune")
	q := r.URL.Query()
	data := casesPage{page: pg, Which: q.Get("filtre"), Page: 1}
	f := casestore.CommuneFilter{Communes: p.Communes, Limit: perPage + 1}
	switch data.Which {
	case "transmis":
		f.Redirected = true
	case "ouverts":
		f.Open = true
	default:
		data.Which = "tous"
	}
	if n, err := strconv.Atoi(q.Get("page")); err == nil && n > 1 && n <= 1000 {
		data.Page = n
		f.Offset = (n - 1) * perPage
	}
	list, err := h.deps.Store.CommuneCases(r.Context(), f)
	if err != nil {
		h.unavailable(w, r, err)
		return
	}
	if len(list) > perPage {
		list, data.Next = list[:perPage], data.Page+1
	}
	data.Cases = list
	h.render(w, "dossiers", http.StatusOK, data)
}

// casePage is one case as the mairie sees it.
type casePage struct {
	page
	Case     casestore.CommuneCaseDetail
	Late     bool
	Received time.Time
}

// showCase shows a case of the mairie's communes; another is not found.
func (h *Handler) showCase(w http.ResponseWriter, r *http.Request) {
	ref, ok := caseref.Normalize(r.PathValue("ref"))
	if !ok {
		h.notFound(w, r)
		return
	}
	pg, p := h.base(r, "Dossier "+ref.String())
	d, err := h.deps.Store.CommuneCaseByRef(r.Context(), p.Communes, ref.String())
	if fault.KindOf(err) == fault.NotFound {
		h.notFound(w, r)
		return
	}
	if err != nil {
		h.unavailable(w, r, err)
		return
	}
	if len(d.Requests) > 0 {
		// Someone's data was shown.
		h.audit(r, "case.view", d.Ref, map[string]any{"requests": len(d.Requests)})
	}
	data := casePage{page: pg, Case: d, Late: d.Deadline != nil && d.Deadline.Before(h.deps.Now()) && !finished(d.State)}
	h.render(w, "dossier", http.StatusOK, data)
}
