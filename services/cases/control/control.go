// Package control keeps people in control of the automatic routing: from
// the router's decisions of the last weeks (casestore.Store.Control), the
// share of requests it left to triage and the share of its own routings a
// person changed — per week, competence and channel —, and the alerts when
// the latest week leaves its usual band. The dashboard shows them; the
// notifier e-mails the supervisors.
package control

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/platform/frtime"
)

// Weeks is how many weeks the trends cover: the latest against the usual
// band of the ones before.
const Weeks = 9

// MinWeekly is the fewest decisions of a week for a share to count in the
// band or raise an alert (routed requests for the triage share, automatic
// routings for the override share): a quiet week's shares say nothing.
const MinWeekly = 10

// minPrior is how many counted weeks before the latest make a band.
const minPrior = 3

// minWidth is the least half-width of a band: five points either side.
const minWidth = 0.05

// Dimension is what an alert is about.
type Dimension string

// Dimensions.
const (
	Overall    Dimension = "week"       // all the router's decisions of the week
	Competence Dimension = "competence" // those of the cases now of a competence
	Channel    Dimension = "channel"    // those of the requests of a channel
)

// Measure is the share that left its band.
type Measure string

// Measures.
const (
	Triage   Measure = "triage"   // requests the router left to triage, of those it decided
	Override Measure = "override" // its routings a person changed, of those it routed
)

// Row is the router's decisions of a week (Weeks) or, over all the weeks,
// of a competence or a channel (Key), and their shares.
type Row struct {
	Week                   time.Time // the week's Monday (Paris); zero for a competence or channel
	Key                    string    // competence or channel code; "" for a week
	Routed, ToTriage       int
	Auto, Changed          int
	Triage, Override       float64
	TriageOut, OverrideOut bool // outside the usual band (the latest week)
}

func (r *Row) add(f casestore.DecisionFigures) {
	r.Routed += f.Routed
	r.ToTriage += f.ToTriage
	r.Auto += f.Auto
	r.Changed += f.Changed
}

func (r *Row) shares() {
	if r.Routed > 0 {
		r.Triage = float64(r.ToTriage) / float64(r.Routed)
	}
	if r.Auto > 0 {
		r.Override = float64(r.Changed) / float64(r.Auto)
	}
}

// share is a row's measure, and whether the row has decisions enough for
// it to count.
func (r Row) share(m Measure) (float64, bool) {
	if m == Triage {
		return r.Triage, r.Routed >= MinWeekly
	}
	return r.Override, r.Auto >= MinWeekly
}

// Alert is a share of the latest week outside its usual band.
type Alert struct {
	Dimension Dimension
	Key       string // the competence or channel code; "" for Overall
	Measure   Measure
	Week      time.Time // the week's Monday
	Share     float64
	Low, High float64 // the usual band
	Text      string  // the alert in a French sentence
}

// ID names the alert for good: the same share of the same week leaving
// its band is the same alert, however often it is computed.
func (a Alert) ID() string {
	return strings.Join([]string{a.Week.Format(time.DateOnly), string(a.Dimension), a.Key, string(a.Measure)}, "/")
}

// Report is the trends and the alerts of the latest week.
type Report struct {
	Weeks        []Row // oldest first
	Competences  []Row // over all the weeks, by code
	Channels     []Row // over all the weeks, by code
	Alerts       []Alert
	Routed, Auto int
}

// Labels name competences and channels in the alerts' sentences; nil
// leaves the code.
type Labels struct {
	Competence func(code string) string
	Channel    func(code string) string
}

// Compute builds the report from the weekly counts.
func Compute(counts []casestore.ControlCount, l Labels) Report {
	var rep Report
	weeks := map[time.Time]*Row{}
	comps, chans := map[string]*Row{}, map[string]*Row{}
	compWeeks, chanWeeks := map[string]map[time.Time]*Row{}, map[string]map[time.Time]*Row{}
	var order []time.Time
	for _, c := range counts {
		w := weeks[c.Week]
		if w == nil {
			w = &Row{Week: c.Week}
			weeks[c.Week] = w
			order = append(order, c.Week)
		}
		w.add(c.DecisionFigures)
		for _, g := range []struct {
			total  map[string]*Row
			weekly map[string]map[time.Time]*Row
			key    string
		}{{comps, compWeeks, c.Competence}, {chans, chanWeeks, c.Channel}} {
			if g.total[g.key] == nil {
				g.total[g.key] = &Row{Key: g.key}
				g.weekly[g.key] = map[time.Time]*Row{}
			}
			g.total[g.key].add(c.DecisionFigures)
			kw := g.weekly[g.key][c.Week]
			if kw == nil {
				kw = &Row{Week: c.Week, Key: g.key}
				g.weekly[g.key][c.Week] = kw
			}
			kw.add(c.DecisionFigures)
		}
		rep.Routed += c.Routed
		rep.Auto += c.Auto
	}
	slices.SortFunc(order, func(a, b time.Time) int { return a.Compare(b) })
	for _, k := range order {
		w := weeks[k]
		w.shares()
		rep.Weeks = append(rep.Weeks, *w)
	}
	rep.Competences, rep.Channels = byKey(comps), byKey(chans)
	if len(rep.Weeks) == 0 {
		return rep
	}
	rep.Alerts = check(rep.Weeks, Overall, "", "")
	last := &rep.Weeks[len(rep.Weeks)-1]
	for _, a := range rep.Alerts {
		last.TriageOut = last.TriageOut || a.Measure == Triage
		last.OverrideOut = last.OverrideOut || a.Measure == Override
	}
	for _, g := range []struct {
		dim    Dimension
		weekly map[string]map[time.Time]*Row
		label  func(string) string
	}{{Competence, compWeeks, l.Competence}, {Channel, chanWeeks, l.Channel}} {
		for _, key := range sortedKeys(g.weekly) {
			// The cases still waiting for triage are nobody's team: their
			// shares are those of triage itself.
			if g.dim == Competence && key == schemas.CompetenceTriage {
				continue
			}
			series := make([]Row, len(order))
			for i, wk := range order {
				if r := g.weekly[key][wk]; r != nil {
					series[i] = *r
					series[i].shares()
				}
				series[i].Week, series[i].Key = wk, key
			}
			name := key
			if g.label != nil {
				name = g.label(key)
			}
			prefix := capitalize(name) + " : "
			if g.dim == Channel {
				prefix = "Canal " + name + " : "
			}
			rep.Alerts = append(rep.Alerts, check(series, g.dim, key, prefix)...)
		}
	}
	return rep
}

// check compares the last row of a weekly series with the band of the
// ones before, for both measures.
func check(series []Row, dim Dimension, key, prefix string) []Alert {
	n := len(series)
	if n < minPrior+1 {
		return nil
	}
	last := series[n-1]
	var out []Alert
	for _, m := range []Measure{Triage, Override} {
		x, ok := last.share(m)
		if !ok {
			continue
		}
		var prev []float64
		for _, r := range series[:n-1] {
			if s, ok := r.share(m); ok {
				prev = append(prev, s)
			}
		}
		if len(prev) < minPrior {
			continue
		}
		lo, hi, outside := band(prev, x)
		if !outside {
			continue
		}
		a := Alert{Dimension: dim, Key: key, Measure: m, Week: last.Week, Share: x, Low: lo, High: hi}
		what := "la part des demandes laissées au tri"
		if m == Override {
			what = "la part des orientations automatiques changées par une personne"
		}
		if prefix == "" {
			what = capitalize(what)
		}
		a.Text = fmt.Sprintf("%s%s, %s la %s, sort de sa fourchette habituelle (%s à %s).",
			prefix, what, Percent(x), WeekLabel(last.Week), Percent(lo), Percent(hi))
		out = append(out, a)
	}
	return out
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
	width := math.Max(2*math.Sqrt(sq/float64(len(prev))), minWidth)
	lo, hi = math.Max(0, mean-width), math.Min(1, mean+width)
	return lo, hi, x < lo || x > hi
}

// Ended keeps the counts of the weeks ended before now's (Paris time). A
// week in progress has shares that move with the hours — the override
// share above all, people changing the router's choices a while after it
// made them: early in a week it is always low. What is e-mailed is judged
// on whole weeks.
func Ended(counts []casestore.ControlCount, now time.Time) []casestore.ControlCount {
	start := Monday(now)
	var out []casestore.ControlCount
	for _, c := range counts {
		if c.Week.Before(start) {
			out = append(out, c)
		}
	}
	return out
}

// Monday is the start of t's week, Paris time.
func Monday(t time.Time) time.Time {
	t = t.In(frtime.Paris())
	return time.Date(t.Year(), t.Month(), t.Day()-(int(t.Weekday())+6)%7, 0, 0, 0, 0, t.Location())
}

// WeekLabel names a week by its Monday: "semaine du 23 novembre 2026".
func WeekLabel(monday time.Time) string { return "semaine du " + frtime.Date(monday) }

// Percent writes a share as French does: "33 %".
func Percent(f float64) string {
	return message.NewPrinter(language.French).Sprintf("%.0f %%", f*100)
}

// byKey are a map's rows with their shares, by code.
func byKey(m map[string]*Row) []Row {
	var rows []Row
	for _, k := range sortedKeys(m) {
		r := m[k]
		r.shares()
		rows = append(rows, *r)
	}
	return rows
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func capitalize(s string) string {
	for i := range s {
		if i > 0 {
			return strings.ToUpper(s[:i]) + s[i:]
		}
	}
	return strings.ToUpper(s)
}
