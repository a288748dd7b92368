package backoffice

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/lifecycle"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/platform/frtime"
	"github.com/ampmetropole/guichet/services/staff/auth"
)

// bar is one bar of a chart.
type bar struct {
	Label    string
	N        int
	Y, W, TX int
	X, H     int
}

type chart struct {
	ID, Title string
	Height    int
	Bars      []bar
}

// satisfactionDays is the period the satisfaction figures cover: answers
// are fewer than requests, a quarter gives figures worth reading.
const satisfactionDays = 90

// satisfactionTable is the answers under one kind of label.
type satisfactionTable struct {
	ID, Title, Column string
	Rows              []satisfactionRow
}

type satisfactionRow struct {
	Label string
	casestore.Satisfaction
}

type dashboardPage struct {
	page
	D            casestore.Dashboard
	S            casestore.SatisfactionFigures
	SDays        int
	Satisfaction []satisfactionTable
	Charts       []chart
	DayBars      []bar
	DaysWidth    int
	Error        string
}

// hbars draws counts as horizontal bars, the longest 230 units wide.
func hbars(id, title string, counts []casestore.Count, label func(string) string) chart {
	c := chart{ID: id, Title: title, Height: max(24, 22*len(counts))}
	top := 1
	for _, x := range counts {
		top = max(top, x.N)
	}
	for i, x := range counts {
		w := x.N * 230 / top
		c.Bars = append(c.Bars, bar{Label: label(x.Key), N: x.N, Y: 22 * i, W: w, TX: 150 + w + 6})
	}
	return c
}

// dashboard shows supervisors their open cases and the volume received.
func (h *Handler) dashboard(w http.ResponseWriter, r *http.Request) {
	pg, p := h.base(r, "Tableau de bord", "tableau")
	data := dashboardPage{page: pg}
	d, err := h.deps.Store.Dashboard(r.Context(), p.Scope(), 30, time.Now().In(frtime.Paris()))
	if err != nil {
		h.deps.Log.Error("dashboard", "err", err)
		data.Error = "Le tableau de bord est momentanément indisponible."
		h.render(w, "dashboard", http.StatusServiceUnavailable, data)
		return
	}
	data.D = d
	tl := func(k string) string { return territoryLabel(&k) }
	data.Charts = []chart{
		hbars("competences", "Dossiers ouverts par compétence", d.ByCompetence, h.competenceLabel),
		hbars("territoires", "Dossiers ouverts par territoire", d.ByTerritory, tl),
		hbars("canaux", "Dossiers ouverts par canal du premier contact", d.ByChannel, channelLabel),
		hbars("etats", "Dossiers ouverts par état", d.ByState, lifecycle.Label),
	}
	if data.S, err = h.deps.Store.Satisfaction(r.Context(), p.Scope(), satisfactionDays, time.Now()); err != nil {
		h.deps.Log.Error("dashboard: satisfaction", "err", err)
	}
	data.SDays = satisfactionDays
	table := func(id, title, column string, xs []casestore.Satisfaction, label func(string) string) satisfactionTable {
		t := satisfactionTable{ID: id, Title: title, Column: column}
		for _, x := range xs {
			t.Rows = append(t.Rows, satisfactionRow{Label: label(x.Key), Satisfaction: x})
		}
		return t
	}
	data.Satisfaction = []satisfactionTable{
		table("avis-competences", "Par compétence", "Compétence", data.S.ByCompetence, h.competenceLabel),
		table("avis-territoires", "Par territoire", "Territoire", data.S.ByTerritory, tl),
		table("avis-canaux", "Par canal", "Canal", data.S.ByChannel, channelLabel),
	}
	top := 1
	for _, day := range d.Days {
		top = max(top, day.Total)
	}
	for i, day := range d.Days {
		hgt := day.Total * 150 / top
		data.DayBars = append(data.DayBars, bar{Label: day.Day.Format("02/01"), N: day.Total, X: 14 * i, Y: 160 - hgt, H: hgt})
	}
	data.DaysWidth = 14 * max(1, len(d.Days))
	h.render(w, "dashboard", http.StatusOK, data)
}

type auditPage struct {
	page
	F       auth.AuditFilter
	Entries []auth.AuditEntry
	Next    string
	Error   string
}

// audit shows admins the audit log, newest first, 100 a page.
func (h *Handler) audit(w http.ResponseWriter, r *http.Request) {
	pg, _ := h.base(r, "Journal d'audit", "audit")
	q := r.URL.Query()
	data := auditPage{page: pg, F: auth.AuditFilter{Actor: strings.TrimSpace(q.Get("acteur")), Action: strings.TrimSpace(q.Get("action")),
		Target: strings.TrimSpace(q.Get("cible"))}}
	if n, err := strconv.ParseInt(q.Get("avant"), 10, 64); err == nil && n > 0 {
		data.F.BeforeID = n
	}
	entries, err := h.deps.Guard.AuditLog(r.Context(), data.F, 100)
	status := http.StatusOK
	if err != nil {
		status, data.Error = http.StatusBadRequest, "Le journal n'a pas pu être lu : "+strings.TrimPrefix(err.Error(), "auth: ")
		if fault.KindOf(err) != fault.Invalid {
			// The database's own words stay in the logs.
			h.deps.Log.Error("audit log", "err", err)
			status, data.Error = http.StatusServiceUnavailable, "Le journal est momentanément indisponible : réessayez dans quelques instants."
		}
	}
	data.Entries = entries
	if len(entries) == 100 {
		v := r.URL.Query()
		v.Set("avant", strconv.FormatInt(entries[len(entries)-1].ID, 10))
		data.Next = "/bo/audit?" + v.Encode()
	}
	h.render(w, "audit", status, data)
}
