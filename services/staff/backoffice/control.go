package backoffice

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/platform/frtime"
)

// controlWeeks is how many weeks the human-control trends cover: the
// latest against the usual band of the ones before.
const controlWeeks = 9

// minWeekly is the fewest decisions of a week for its shares to count in
// the band or raise an alert: a quiet week's shares say nothing.
const minWeekly = 10

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

type controlRow struct {
	Label                  string
	Routed, ToTriage       int
	Auto, Changed          int
	Triage, Override       float64
	TriageOut, OverrideOut bool // outside the usual band (the latest week)
}

func (r *controlRow) add(f casestore.DecisionFigures) {
	r.Routed += f.Routed
	r.ToTriage += f.ToTriage
	r.Auto += f.Auto
	r.Changed += f.Changed
}

func (r *controlRow) shares() {
	if r.Routed > 0 {
		r.Triage = float64(r.ToTriage) / float64(r.Routed)
	}
	if r.Auto > 0 {
		r.Override = float64(r.Changed) / float64(r.Auto)
	}
}

// controlPanel builds the panel from the weekly counts.
func (h *Handler) controlPanel(counts []casestore.ControlCount) controlView {
	var v controlView
	weeks := map[time.Time]*controlRow{}
	comps := map[string]*controlRow{}
	chans := map[string]*controlRow{}
	var order []time.Time
	for _, c := range counts {
		w := weeks[c.Week]
		if w == nil {
			w = &controlRow{Label: "semaine du " + frtime.Date(c.Week)}
			weeks[c.Week] = w
			order = append(order, c.Week)
		}
		w.add(c.DecisionFigures)
		for _, g := range []struct {
			m   map[string]*controlRow
			key string
		}{{comps, h.competenceLabel(c.Competence)}, {chans, channelLabel(c.Channel)}} {
			if g.m[g.key] == nil {
				g.m[g.key] = &controlRow{Label: g.key}
			}
			g.m[g.key].add(c.DecisionFigures)
		}
		v.Routed += c.Routed
		v.Auto += c.Auto
	}
	sort.Slice(order, func(i, j int) bool { return order[i].Before(order[j]) })
	for _, k := range order {
		w := weeks[k]
		w.shares()
		v.Weeks = append(v.Weeks, *w)
	}
	v.Competences, v.Channels = sortedRows(comps), sortedRows(chans)
	if n := len(v.Weeks); n >= 4 {
		last := &v.Weeks[n-1]
		var triage, override []float64
		for _, w := range v.Weeks[:n-1] {
			if w.Routed >= minWeekly {
				triage = append(triage, w.Triage)
				override = append(override, w.Override)
			}
		}
		if last.Routed >= minWeekly && len(triage) >= 3 {
			if lo, hi, out := band(triage, last.Triage); out {
				last.TriageOut = true
				v.Alerts = append(v.Alerts, fmt.Sprintf("La part des demandes laissées au tri, %s la %s, sort de sa fourchette habituelle (%s à %s).",
					frShare(last.Triage), last.Label, frShare(lo), frShare(hi)))
			}
			if lo, hi, out := band(override, last.Override); out {
				last.OverrideOut = true
				v.Alerts = append(v.Alerts, fmt.Sprintf("La part des orientations automatiques changées par une personne, %s la %s, sort de sa fourchette habituelle (%s à %s).",
					frShare(last.Override), last.Label, frShare(lo), frShare(hi)))
			}
		}
	}
	return v
}

// sortedRows are a map's rows with their shares, by label.
func sortedRows(m map[string]*controlRow) []controlRow {
	var rows []controlRow
	for _, r := range m {
		r.shares()
		rows = append(rows, *r)
	}
	sortByLabel(rows, func(r controlRow) string { return r.Label })
	return rows
}

// band is the usual band of a share — the mean of the weeks before, give
// or take twice their standard deviation, and five points at least — and
// whether x is outside it.
func band(prev []float64, x float64) (lo, hi float64, out bool) {
	var sum, sq float64
	for _, p := range prev {
		sum += p
	}
	mean := sum / float64(len(prev))
	for _, p := range prev {
		sq += (p - mean) * (p - mean)
	}
	width := math.Max(2*math.Sqrt(sq/float64(len(prev))), 0.05)
	lo, hi = math.Max(0, mean-width), math.Min(1, mean+width)
	return lo, hi, x < lo || x > hi
}
