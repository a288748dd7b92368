package backoffice

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"time"

	"golang.org/x/text/collate"
	"golang.org/x/text/language"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/lifecycle"
	"github.com/ampmetropole/guichet/services/platform/frtime"
	"github.com/ampmetropole/guichet/services/staff/auth"
)

// satisfactionDays is the period the satisfaction figures cover: answers
// are fewer than requests, a quarter gives figures worth reading.
const satisfactionDays = 90

// dashboardPeriods are the periods, in days, the dashboard can cover; the
// first is the default.
var dashboardPeriods = []int{30, 7, 90}

// satisfactionTable is the answers under one kind of label.
type satisfactionTable struct {
	ID, Title, Column string
	Rows              []satisfactionRow
}

type satisfactionRow struct {
	Label string
	casestore.Satisfaction
}

// countTable is a count of open cases under one kind of label, drawn as
// bars in a table: the labels are text that wraps, never cut.
type countTable struct {
	ID, Title, Column, Table string
	Rows                     []countRow
}

type countRow struct {
	Label string
	N     int
	Width int // the bar's length, 0–100
}

// perfTable is the performance of a kind of group (competence, territory,
// team).
type perfTable struct {
	ID, Title, Column, Table string
	Rows                     []perfRow
}

type perfRow struct {
	Label string
	casestore.Performance
}

// dayChart is the requests received each day, as an SVG bar chart with the
// dates under it (the same figures are in a table beside it).
type dayChart struct {
	Width, Top, Base int
	Bars             []dayBar
	Ticks            []dayTick
}

type dayBar struct {
	X, Y, W, H int
	Label      string
	N          int
}

type dayTick struct {
	X     int
	Label string
}

type dashboardPage struct {
	page
	Days         int
	Periods      []int
	D            casestore.Dashboard
	P            casestore.PerformanceFigures
	S            casestore.SatisfactionFigures
	SDays        int
	Open         []countTable
	Perf         []perfTable
	Satisfaction []satisfactionTable
	Chart        dayChart
	Control      controlView
	Footprint    footprintView // the « Sobriété » panel (footprint.go)
	Error        string
	// At is when the figures other than satisfaction and footprint were
	// computed (figures.go); MaxAge the age they never exceed.
	At     time.Time
	MaxAge time.Duration
}

// dashboardDays reads the period asked for (?jours=); ok is false for one
// the dashboard does not offer.
func dashboardDays(r *http.Request) (int, bool) {
	v := r.URL.Query().Get("jours")
	if v == "" {
		return dashboardPeriods[0], true
	}
	n, err := strconv.Atoi(v)
	if err != nil || !slices.Contains(dashboardPeriods, n) {
		return 0, false
	}
	return n, true
}

// dashboard shows supervisors, within their scope, their open cases, the
// response times and deadlines kept by competence, territory and team, the
// volume received each day and what citizens thought.
func (h *Handler) dashboard(w http.ResponseWriter, r *http.Request) {
	pg, p := h.base(r, "Tableau de bord", "tableau")
	data := dashboardPage{page: pg, Periods: dashboardPeriods, SDays: satisfactionDays}
	days, ok := dashboardDays(r)
	if !ok || len(r.URL.RawQuery) > 200 {
		h.shell.Error(w, h.deps.Guard.Viewer(r), http.StatusBadRequest, "Période inconnue : le tableau de bord couvre 7, 30 ou 90 jours.")
		return
	}
	data.Days = days
	ctx, now := r.Context(), time.Now().In(frtime.Paris())
	sc := p.Scope()
	f, err := h.figures.get(ctx, figuresKey(sc, days), now, func(ctx context.Context) (liveFigures, error) {
		return h.computeFigures(ctx, sc, days, now)
	})
	if err != nil {
		h.deps.Log.Error("dashboard", "err", err)
		data.Error = "Le tableau de bord est momentanément indisponible : réessayez dans quelques instants."
		h.render(w, "dashboard", http.StatusServiceUnavailable, data)
		return
	}
	d := f.D
	data.D, data.P, data.At, data.MaxAge = d, f.P, f.At, figuresMaxAge*h.figures.fresh
	data.Open = []countTable{
		h.countTable("ouverts-competences", "Dossiers ouverts par compétence", "Compétence", "competences", d.ByCompetence, h.competenceLabel),
		h.countTable("ouverts-territoires", "Dossiers ouverts par territoire", "Territoire", "territoires", d.ByTerritory, territoryName),
		h.countTable("ouverts-canaux", "Dossiers ouverts par canal du premier contact", "Canal", "canaux", d.ByChannel, schemas.ChannelName),
		h.countTable("ouverts-etats", "Dossiers ouverts par état", "État", "etats", d.ByState, lifecycle.Label),
	}
	data.Perf = h.perfTables(data.P)
	if data.S, err = h.deps.Store.Satisfaction(ctx, p.Scope(), satisfactionDays, now); err != nil {
		h.deps.Log.Error("dashboard: satisfaction", "err", err)
	}
	data.Satisfaction = h.satisfactionTables(data.S)
	data.Chart = dailyChart(d.Days)
	if f.ControlErr != nil {
		h.deps.Log.Error("dashboard: control", "err", f.ControlErr)
	} else {
		data.Control = h.controlPanel(f.Control, f.At)
	}
	data.Footprint = h.footprintPanel(ctx)
	h.render(w, "dashboard", http.StatusOK, data)
}

// ageLimit writes the age the figures never exceed: « 5 minutes ».
func ageLimit(d time.Duration) string {
	n, unit := int(d.Round(time.Second)/time.Second), "seconde"
	if d >= time.Minute {
		n, unit = int(d.Round(time.Minute)/time.Minute), "minute"
	}
	if n > 1 {
		unit += "s"
	}
	return fr.Sprintf("%d %s", n, unit)
}

// territoryName names a territory by its code, "" being unknown.
func territoryName(code string) string { return territoryLabel(&code) }

// teamName names a team: "Voirie · Marseille-Provence".
func (h *Handler) teamName(competence, territory string) string {
	return capitalize(h.competenceLabel(competence)) + " · " + territoryName(territory)
}

func (h *Handler) countTable(id, title, column, table string, counts []casestore.Count, label func(string) string) countTable {
	t := countTable{ID: id, Title: title, Column: column, Table: table}
	top := 1
	for _, c := range counts {
		top = max(top, c.N)
	}
	for _, c := range counts {
		t.Rows = append(t.Rows, countRow{Label: capitalize(label(c.Key)), N: c.N, Width: max(1, c.N*100/top)})
	}
	return t
}

// perfTables are the performance by competence, territory and team, each
// in the alphabetical order of its labels.
func (h *Handler) perfTables(f casestore.PerformanceFigures) []perfTable {
	rows := func(ps []casestore.Performance, label func(casestore.Performance) string) []perfRow {
		var out []perfRow
		for _, p := range ps {
			out = append(out, perfRow{Label: label(p), Performance: p})
		}
		sortByLabel(out, func(r perfRow) string { return r.Label })
		return out
	}
	return []perfTable{
		{ID: "delais-competences", Title: "Par compétence", Column: "Compétence", Table: "competences",
			Rows: rows(f.ByCompetence, func(p casestore.Performance) string { return capitalize(h.competenceLabel(p.Competence)) })},
		{ID: "delais-territoires", Title: "Par territoire", Column: "Territoire", Table: "territoires",
			Rows: rows(f.ByTerritory, func(p casestore.Performance) string { return capitalize(territoryName(p.Territory)) })},
		{ID: "delais-equipes", Title: "Par équipe (compétence sur un territoire)", Column: "Équipe", Table: "equipes",
			Rows: rows(f.ByTeam, func(p casestore.Performance) string { return h.teamName(p.Competence, p.Territory) })},
	}
}

func (h *Handler) satisfactionTables(s casestore.SatisfactionFigures) []satisfactionTable {
	table := func(id, title, column string, xs []casestore.Satisfaction, label func(string) string) satisfactionTable {
		t := satisfactionTable{ID: id, Title: title, Column: column}
		for _, x := range xs {
			t.Rows = append(t.Rows, satisfactionRow{Label: capitalize(label(x.Key)), Satisfaction: x})
		}
		return t
	}
	return []satisfactionTable{
		table("avis-competences", "Par compétence", "Compétence", s.ByCompetence, h.competenceLabel),
		table("avis-territoires", "Par territoire", "Territoire", s.ByTerritory, territoryName),
		table("avis-canaux", "Par canal", "Canal", s.ByChannel, schemas.ChannelName),
	}
}

// sortByLabel sorts rows in the French order of their labels ("Éclairage"
// among the E).
func sortByLabel[T any](rows []T, label func(T) string) {
	c := collate.New(language.French)
	slices.SortStableFunc(rows, func(a, b T) int { return c.CompareString(label(a), label(b)) })
}

// dailyChart lays out the days as bars, the height of the busiest day 150
// units, with the date under every few days so that labels never overlap.
func dailyChart(days []casestore.DayCount) dayChart {
	const left, base, height = 34, 160, 150
	n := max(1, len(days))
	bw := min(22, max(6, 660/n)) // the step of a bar
	c := dayChart{Width: left + bw*n + 8, Base: base}
	top := 1
	for _, d := range days {
		top = max(top, d.Total)
	}
	c.Top = top
	every := max(1, (44+bw-1)/bw) // a date is about 40 units wide
	for i, d := range days {
		h := d.Total * height / top
		x := left + bw*i
		c.Bars = append(c.Bars, dayBar{X: x + 1, Y: base - h, W: max(2, bw-3), H: h, Label: d.Day.Format("02/01/2006"), N: d.Total})
		// The last day (today) always has its date; then every few days back.
		if (len(days)-1-i)%every == 0 {
			c.Ticks = append(c.Ticks, dayTick{X: x + bw/2, Label: d.Day.Format("02/01")})
		}
	}
	return c
}

// dashboardFigures is what an export needs of the figures, and only that.
type dashboardFigures struct {
	D casestore.Dashboard
	P casestore.PerformanceFigures
	S casestore.SatisfactionFigures
}

func (h *Handler) figuresFor(ctx context.Context, p auth.Principal, table string, days int, now time.Time) (dashboardFigures, error) {
	var f dashboardFigures
	var err error
	switch table {
	case "competences", "territoires", "equipes":
		f.P, err = h.deps.Store.Performance(ctx, p.Scope(), days, now)
	case "satisfaction":
		f.S, err = h.deps.Store.Satisfaction(ctx, p.Scope(), satisfactionDays, now)
	default:
		f.D, err = h.deps.Store.Dashboard(ctx, p.Scope(), days, now)
	}
	return f, err
}
