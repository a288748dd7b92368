package backoffice

import (
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/staff/auth"
)

// pilotageFuncs are the template functions of the triage queue, the
// dashboard and the audit log.
func (h *Handler) pilotageFuncs() template.FuncMap {
	return template.FuncMap{
		"duration":     frDuration,
		"plural":       plural,
		"share":        frShare,
		"longDate":     func(t time.Time) string { return t.Format("02/01/2006") },
		"reasonLabel":  triageReasonLabel,
		"reasonWords":  h.triageReasonWords,
		"auditAction":  auditAction,
		"auditDetails": h.auditDetails,
		"auditTarget":  auditTarget,
		"triagePlace":  triagePlace,
		"onTime": func(p casestore.Performance) string {
			s, _ := p.OnTimeShare()
			return fmt.Sprintf("%d sur %d (%s)", p.OnTime, p.WithDeadline, frShare(s))
		},
		"onTimePct": func(p casestore.Performance) string { s, _ := p.OnTimeShare(); return frShare(s) },
		"lastDay": func(days []casestore.DayCount) casestore.DayCount {
			if len(days) == 0 {
				return casestore.DayCount{}
			}
			return days[len(days)-1]
		},
	}
}

// pilotageRoutes mounts what the triage queue, the dashboard and the live
// refresh add to the back office.
func (h *Handler) pilotageRoutes() {
	h.live = newHub(h.deps.Feed, h.deps.Log)
	h.mux.Handle("POST /bo/tri/{ref}", h.deps.Guard.RequirePage(auth.PermTriage)(http.HandlerFunc(h.triageRoute)))
	h.mux.Handle("GET /bo/tableau.csv", h.deps.Guard.RequirePage(auth.PermDashboard)(http.HandlerFunc(h.dashboardCSV)))
	h.mux.Handle("GET /bo/direct", h.deps.Guard.RequirePage(auth.PermCaseRead)(http.HandlerFunc(h.liveStream)))
}

// frDuration writes a duration the way a French reader takes in at a
// glance: "45 min", "3 h 20", "2 j 4 h".
func frDuration(d time.Duration) string {
	d = d.Round(time.Minute)
	switch {
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 24*time.Hour:
		h, m := int(d.Hours()), int(d.Minutes())%60
		if m == 0 {
			return fmt.Sprintf("%d h", h)
		}
		return fmt.Sprintf("%d h %02d", h, m)
	}
	days, h := int(d.Hours())/24, int(d.Hours())%24
	if h == 0 {
		return fmt.Sprintf("%d j", days)
	}
	return fmt.Sprintf("%d j %d h", days, h)
}

// frShare writes a share (0–1) as a French percentage: "87 %".
func frShare(f float64) string {
	return message.NewPrinter(language.French).Sprintf("%.0f %%", f*100)
}

// plural writes a count with the singular or plural of its noun, as French
// does (0 and 1 take the singular): plural(3, "nouveau dossier",
// "nouveaux dossiers").
func plural(n int, one, many string) string {
	if n <= 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return message.NewPrinter(language.French).Sprintf("%d %s", n, many)
}

// capitalize puts the first letter of s in upper case ("à trier" → "À trier").
func capitalize(s string) string {
	for i, r := range s {
		return strings.ToUpper(string(r)) + s[i+len(string(r)):]
	}
	return s
}
