package backoffice

import (
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/control"
)

// controlWeeks is how many weeks the human-control trends cover.
const controlWeeks = control.Weeks

// controlView is the dashboard's human-control panel: per week, and over
// the weeks per competence and channel, the share of the router's
// decisions left to triage and of those it routed a person changed; an
// alert when the latest week leaves its usual band.
type controlView struct {
	Weeks        []controlRow
	Competences  []controlRow
	Channels     []controlRow
	Alerts       []string
	Routed, Auto int
}

// controlRow is a row of the panel with its French label.
type controlRow struct {
	Label string
	control.Row
}

// controlPanel builds the panel from the weekly counts: the trends with
// the week in progress, the alerts of the weeks ended — the ones the
// notifier e-mails to supervisors (a week in progress is judged too early:
// people change the router's choices a while after it made them).
func (h *Handler) controlPanel(counts []casestore.ControlCount, now time.Time) controlView {
	labels := control.Labels{Competence: h.competenceLabel, Channel: schemas.ChannelName}
	rep := control.Compute(counts, labels)
	v := controlView{Routed: rep.Routed, Auto: rep.Auto}
	for _, w := range rep.Weeks {
		w.TriageOut, w.OverrideOut = false, false
		v.Weeks = append(v.Weeks, controlRow{Label: control.WeekLabel(w.Week), Row: w})
	}
	labelled := func(rows []control.Row, label func(string) string) []controlRow {
		var out []controlRow
		for _, r := range rows {
			out = append(out, controlRow{Label: label(r.Key), Row: r})
		}
		sortByLabel(out, func(r controlRow) string { return r.Label })
		return out
	}
	v.Competences, v.Channels = labelled(rep.Competences, h.competenceLabel), labelled(rep.Channels, schemas.ChannelName)
	for _, a := range control.Compute(control.Ended(counts, now), labels).Alerts {
		v.Alerts = append(v.Alerts, a.Text)
		if a.Dimension != control.Overall {
			continue
		}
		for i := range v.Weeks {
			if v.Weeks[i].Week.Equal(a.Week) {
				v.Weeks[i].TriageOut = v.Weeks[i].TriageOut || a.Measure == control.Triage
				v.Weeks[i].OverrideOut = v.Weeks[i].OverrideOut || a.Measure == control.Override
			}
		}
	}
	return v
}
