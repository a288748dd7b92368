package backoffice

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/lifecycle"
	"github.com/ampmetropole/guichet/services/platform/frtime"
	"github.com/ampmetropole/guichet/services/staff/auth"
)

// The dashboard's tables as CSV files a French spreadsheet opens as they
// are: UTF-8 with a byte-order mark (else accents come out garbled), ";"
// between fields and a decimal comma, one header row in French. Durations
// are in hours.

// csvTables are the tables /bo/tableau.csv?table= exports.
var csvTables = []string{"competences", "territoires", "equipes", "jours", "canaux", "etats", "satisfaction"}

// dashboardCSV answers GET /bo/tableau.csv?table=…&jours=…: one table of
// the dashboard, over the viewer's scope, as a download (audited).
func (h *Handler) dashboardCSV(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	if len(r.URL.RawQuery) > 200 {
		h.shell.Error(w, h.deps.Guard.Viewer(r), http.StatusBadRequest, "Adresse trop longue : demandez un tableau (table=) et une période (jours=).")
		return
	}
	days, ok := dashboardDays(r)
	if !ok {
		h.shell.Error(w, h.deps.Guard.Viewer(r), http.StatusBadRequest, "Période inconnue : le tableau de bord couvre 7, 30 ou 90 jours.")
		return
	}
	table := r.URL.Query().Get("table")
	known := false
	for _, t := range csvTables {
		known = known || t == table
	}
	if !known {
		h.notFound(w, r, "Ce tableau n'existe pas. Les tableaux exportés sont : "+strings.Join(csvTables, ", ")+".")
		return
	}
	now := time.Now().In(frtime.Paris())
	f, err := h.figuresFor(r.Context(), p, table, days, now)
	if err != nil {
		h.deps.Log.Error("dashboard export", "table", table, "err", err)
		h.unavailable(w, r, "L'export est momentanément indisponible : réessayez dans quelques instants.")
		return
	}
	rows := h.csvRows(table, f)
	var buf bytes.Buffer
	buf.WriteString("\ufeff")
	cw := csv.NewWriter(&buf)
	cw.Comma, cw.UseCRLF = ';', true
	if err := cw.WriteAll(rows); err != nil {
		h.deps.Log.Error("dashboard export", "table", table, "err", err)
		h.unavailable(w, r, "")
		return
	}
	if err := h.deps.Guard.Audit(r.Context(), p, "dashboard.export", table, map[string]any{"days": days, "rows": len(rows) - 1}); err != nil {
		h.deps.Log.Warn("audit log not written", "err", err)
	}
	name := "tableau-de-bord-" + table + "-" + strconv.Itoa(days) + "-jours-" + now.Format("2006-01-02") + ".csv"
	if table == "satisfaction" {
		name = "tableau-de-bord-satisfaction-" + strconv.Itoa(satisfactionDays) + "-jours-" + now.Format("2006-01-02") + ".csv"
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/csv; charset=utf-8")
	hd.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	hd.Set("Content-Length", strconv.Itoa(buf.Len()))
	_, _ = w.Write(buf.Bytes())
}

// csvRows are a table's rows, the header first.
func (h *Handler) csvRows(table string, f dashboardFigures) [][]string {
	switch table {
	case "competences", "territoires", "equipes":
		perf := h.perfTables(f.P)
		var t perfTable
		for _, x := range perf {
			if x.Table == table {
				t = x
			}
		}
		head := []string{t.Column}
		if table == "equipes" {
			head = append(head, "Compétence", "Territoire")
		}
		head = append(head, "Dossiers ouverts", "dont en retard", "Ouverts sur la période",
			"Première réponse : dossiers mesurés", "Première réponse : médiane (h)", "Première réponse : 90e centile (h)",
			"Résolution : dossiers mesurés", "Résolution : médiane (h)", "Résolution : 90e centile (h)",
			"Résolus avec échéance", "Résolus dans le délai", "Part dans le délai (%)")
		rows := [][]string{head}
		for _, r := range t.Rows {
			row := []string{r.Label}
			if table == "equipes" {
				row = append(row, capitalize(h.competenceLabel(r.Competence)), territoryName(r.Territory))
			}
			share := ""
			if s, ok := r.OnTimeShare(); ok {
				share = decimal(s*100, 1)
			}
			row = append(row, strconv.Itoa(r.Open), strconv.Itoa(r.Overdue), strconv.Itoa(r.Opened),
				strconv.Itoa(r.FirstResponse.N), hoursOf(r.FirstResponse, false), hoursOf(r.FirstResponse, true),
				strconv.Itoa(r.Resolution.N), hoursOf(r.Resolution, false), hoursOf(r.Resolution, true),
				strconv.Itoa(r.WithDeadline), strconv.Itoa(r.OnTime), share)
			rows = append(rows, row)
		}
		return rows
	case "jours":
		rows := [][]string{{"Jour", "Web", "Appels", "Courriers", "Courriels", "Total"}}
		for _, d := range f.D.Days {
			rows = append(rows, []string{d.Day.Format("02/01/2006"), strconv.Itoa(d.ByChannel[schemas.ChannelWeb]), strconv.Itoa(d.ByChannel[schemas.ChannelPhone]),
				strconv.Itoa(d.ByChannel[schemas.ChannelMail]), strconv.Itoa(d.ByChannel[schemas.ChannelEmail]), strconv.Itoa(d.Total)})
		}
		return rows
	case "canaux":
		return countRows("Canal du premier contact", f.D.ByChannel, schemas.ChannelName)
	case "etats":
		return countRows("État", f.D.ByState, lifecycle.Label)
	}
	// satisfaction
	rows := [][]string{{"Regroupement", "Libellé", "Avis", "Note moyenne", "Note 1", "Note 2", "Note 3", "Note 4", "Note 5"}}
	add := func(kind string, s casestore.Satisfaction, label string) {
		row := []string{kind, label, strconv.Itoa(s.Answers), decimal(s.Average, 2)}
		for _, n := range s.Scores {
			row = append(row, strconv.Itoa(n))
		}
		rows = append(rows, row)
	}
	if f.S.All.Answers > 0 {
		add("Ensemble", f.S.All, "Tous")
	}
	for _, t := range h.satisfactionTables(f.S) {
		for _, r := range t.Rows {
			add(t.Column, r.Satisfaction, r.Label)
		}
	}
	return rows
}

func countRows(column string, counts []casestore.Count, label func(string) string) [][]string {
	rows := [][]string{{column, "Dossiers ouverts"}}
	for _, c := range counts {
		rows = append(rows, []string{capitalize(label(c.Key)), strconv.Itoa(c.N)})
	}
	return rows
}

// decimal writes a number the French way, with a decimal comma and no
// grouping of thousands (a spreadsheet reads "1234,5").
func decimal(f float64, digits int) string {
	return strings.Replace(strconv.FormatFloat(f, 'f', digits, 64), ".", ",", 1)
}

// hoursOf is a timing's median (or 90th percentile) in hours, "" when
// nothing was measured.
func hoursOf(t casestore.Timing, p90 bool) string {
	if t.N == 0 {
		return ""
	}
	d := t.Median
	if p90 {
		d = t.P90
	}
	return decimal(d.Hours(), 2)
}
