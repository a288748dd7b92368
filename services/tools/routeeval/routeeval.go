// Package routeeval measures the router on labelled records (the format of
// ../shared/data/dev-requests.jsonl): each record, in file order, goes
// through its channel's code (package corpus) and the router's decision
// engine over an in-memory case history, so that citations and follow-ups
// link as they would in production. It reports competence accuracy,
// macro-F1, per-competence precision and recall, the share sent to triage,
// the precision of what was routed automatically, territory accuracy,
// citation recall, follow-up linking and false links, and a confusion matrix.
package routeeval

import (
	"context"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/routing/router"
	"github.com/ampmetropole/guichet/services/tools/corpus"
)

// ClassStats are one competence's figures.
type ClassStats struct {
	Support   int     `json:"support"`
	Predicted int     `json:"predicted"`
	Correct   int     `json:"correct"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
}

// Miss is a record the router got wrong, for the report.
type Miss struct {
	ID, Want, Got, What string
}

// Report is the evaluation's result. The JSON keys of the headline figures
// are the ones the issue names.
type Report struct {
	N                 int                       `json:"n"`
	Accuracy          float64                   `json:"accuracy"`
	MacroF1           float64                   `json:"macro_f1"`
	TriageRate        float64                   `json:"triage_rate"`
	AutoPrecision     float64                   `json:"auto_precision"`
	TerritoryAccuracy float64                   `json:"territory_accuracy"`
	CitationRecall    float64                   `json:"citation_recall"`
	FollowupAccuracy  float64                   `json:"followup_accuracy"`
	FalseLinkRate     float64                   `json:"false_link_rate"`
	PerCompetence     map[string]ClassStats     `json:"per_competence"`
	Confusion         map[string]map[string]int `json:"confusion"` // label → decision → count
	ModelVersion      string                    `json:"model_version"`
	// Grouping of one incident's reports, pairwise: of the pairs of
	// records whose cases share an incident, the share that share an
	// incident label (precision), and of the labelled pairs, the share
	// grouped (recall). Omitted when no record carries a label.
	IncidentPrecision *float64 `json:"incident_precision,omitempty"`
	IncidentRecall    *float64 `json:"incident_recall,omitempty"`
	IncidentPairs     int      `json:"incident_pairs,omitempty"`
	IncidentPredicted int      `json:"incident_predicted_pairs,omitempty"`
	// PerChannel are the figures of the records of each channel (web,
	// phone, mail), PerRegister those of the records the set marks
	// (tricky, ocr_noise); ChannelGap is the largest difference of
	// competence accuracy between two channels (fairness: the AI charter
	// asks that no channel's citizens be routed worse than another's).
	PerChannel  map[string]Figures `json:"per_channel"`
	PerRegister map[string]Figures `json:"per_register,omitempty"`
	ChannelGap  float64            `json:"channel_gap"`
	Misses      []Miss             `json:"-"`
}

// Figures are the headline figures of a group of records. FirstContact
// accuracy leaves aside the records that follow up or cite a case (their
// competence is the case's, found by linking rather than by reading).
type Figures struct {
	N                    int     `json:"n"`
	Accuracy             float64 `json:"accuracy"`
	FirstContactAccuracy float64 `json:"first_contact_accuracy"`
	TriageRate           float64 `json:"triage_rate"`
	AutoPrecision        float64 `json:"auto_precision"`
	TerritoryAccuracy    float64 `json:"territory_accuracy"`
	FollowupAccuracy     float64 `json:"followup_accuracy"`
	FalseLinkRate        float64 `json:"false_link_rate"`
}

// tally counts one group's decisions.
type tally struct {
	n, ok, first, firstOK, auto, autoOK, terrOK, follows, followsOK, loners, falseLinks int
}

func (t tally) figures() Figures {
	if t.n == 0 {
		return Figures{}
	}
	return Figures{N: t.n, Accuracy: ratio(t.ok, t.n), FirstContactAccuracy: ratio(t.firstOK, t.first),
		TriageRate: 1 - ratio(t.auto, t.n), AutoPrecision: ratio(t.autoOK, t.auto), TerritoryAccuracy: ratio(t.terrOK, t.n),
		FollowupAccuracy: ratio(t.followsOK, t.follows), FalseLinkRate: 1 - ratio(t.loners-t.falseLinks, t.loners)}
}

// registers are the marks a record may carry, by their key in the report.
func registers(r corpus.Record) []string {
	var out []string
	if r.Tricky {
		out = append(out, "tricky")
	}
	if r.OCRNoise {
		out = append(out, "ocr_noise")
	}
	return out
}

// Run routes the records in order and measures the decisions.
func Run(ctx context.Context, recs []corpus.Record, b *corpus.Builder, e *router.Engine) (Report, error) {
	mem := newMemory()
	caseOf := map[string]int64{}   // record id → case id
	openedBy := map[int64]string{} // case id → record that opened it
	rep := Report{PerCompetence: map[string]ClassStats{}, Confusion: map[string]map[string]int{}, ModelVersion: e.Version()}
	base := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	var auto, autoOK, terrOK, cites, citesOK, follows, followsOK, loners, falseLinks int
	groups := map[string]*tally{} // "channel:web", "register:tricky"…
	reqs := make([]schemas.Request, len(recs))
	// Records that carry reported_at are routed in that order, with the
	// clock at that time (a decision sees only earlier records).
	order := make([]int, len(recs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		return reportedAt(recs[order[a]], base, order[a]).Before(reportedAt(recs[order[b]], base, order[b]))
	})
	for _, i := range order {
		rec := recs[i]
		at := reportedAt(rec, base, i)
		req, err := b.Request(ctx, rec, at)
		if err != nil {
			return rep, fmt.Errorf("routeeval: %w", err)
		}
		reqs[i] = req
		e.SetClock(at)
		// The case a record cites exists before it: the follow-up's
		// earlier record's case under that reference, or an older case.
		if rec.Cites != nil && *rec.Cites != "" {
			if x, ok := caseOf[deref(rec.FollowUpOf)]; ok {
				mem.alias(x, *rec.Cites)
			} else if _, known := mem.byRef[*rec.Cites]; !known {
				mem.create(casestore.NewCase{Competence: rec.Competence}, *rec.Cites)
			}
		}
		routed, err := e.Route(ctx, mem, req, nil)
		if err != nil {
			return rep, fmt.Errorf("routeeval: %s: %w", rec.ID, err)
		}
		caseOf[rec.ID] = routed.Case.ID
		if routed.Decision.Outcome == "new_case" {
			openedBy[routed.Case.ID] = rec.ID
		}
		got := routed.Decision.Competence
		var mine []*tally
		for _, k := range append([]string{"channel:" + rec.Channel}, prefixed("register:", registers(rec))...) {
			if groups[k] == nil {
				groups[k] = &tally{}
			}
			mine = append(mine, groups[k])
		}
		linked := rec.Cites != nil && *rec.Cites != "" || rec.FollowUpOf != nil && *rec.FollowUpOf != ""
		isLoner := !linked
		for _, g := range mine {
			g.n++
			if got == rec.Competence {
				g.ok++
			}
			if !linked {
				g.first++
				if got == rec.Competence {
					g.firstOK++
				}
			}
			if got != schemas.CompetenceTriage {
				g.auto++
				if got == rec.Competence {
					g.autoOK++
				}
			}
			if routed.Territory == deref(rec.Territory) {
				g.terrOK++
			}
		}
		rep.N++
		row := rep.Confusion[rec.Competence]
		if row == nil {
			row = map[string]int{}
			rep.Confusion[rec.Competence] = row
		}
		row[got]++
		st := rep.PerCompetence[rec.Competence]
		st.Support++
		rep.PerCompetence[rec.Competence] = st
		if got != schemas.CompetenceTriage {
			auto++
			ps := rep.PerCompetence[got]
			ps.Predicted++
			if got == rec.Competence {
				autoOK++
				ps.Correct++
			}
			rep.PerCompetence[got] = ps
		}
		if got != rec.Competence {
			rep.Misses = append(rep.Misses, Miss{ID: rec.ID, Want: rec.Competence, Got: got, What: decisionSummary(routed.Decision)})
		}
		if routed.Territory == deref(rec.Territory) {
			terrOK++
		} else {
			rep.Misses = append(rep.Misses, Miss{ID: rec.ID, Want: "territoire " + deref(rec.Territory), Got: "territoire " + routed.Territory})
		}
		if rec.Cites != nil && *rec.Cites != "" {
			cites++
			if mem.byRef[*rec.Cites] != nil && mem.byRef[*rec.Cites].row.ID == routed.Case.ID {
				citesOK++
			} else {
				rep.Misses = append(rep.Misses, Miss{ID: rec.ID, Want: "cite " + *rec.Cites, Got: "dossier " + routed.Case.Ref})
			}
		}
		switch {
		case rec.FollowUpOf != nil && *rec.FollowUpOf != "":
			follows++
			x, ok := caseOf[*rec.FollowUpOf]
			hit := ok && x == routed.Case.ID
			if hit {
				followsOK++
			} else {
				rep.Misses = append(rep.Misses, Miss{ID: rec.ID, Want: "suite de " + *rec.FollowUpOf, Got: "dossier " + routed.Case.Ref})
			}
			for _, g := range mine {
				g.follows++
				if hit {
					g.followsOK++
				}
			}
		case isLoner:
			loners++
			opener, ok := openedBy[routed.Case.ID]
			wrong := ok && opener != rec.ID
			if wrong {
				falseLinks++
				rep.Misses = append(rep.Misses, Miss{ID: rec.ID, Want: "nouveau dossier", Got: "joint au dossier de " + opener})
			}
			for _, g := range mine {
				g.loners++
				if wrong {
					g.falseLinks++
				}
			}
		}
	}
	rep.incidents(recs, reqs, caseOf, mem, e)
	n := float64(rep.N)
	if rep.N == 0 {
		return rep, nil
	}
	rep.Accuracy = float64(autoOK) / n
	rep.TriageRate = 1 - float64(auto)/n
	rep.AutoPrecision = ratio(autoOK, auto)
	rep.TerritoryAccuracy = float64(terrOK) / n
	rep.CitationRecall = ratio(citesOK, cites)
	rep.FollowupAccuracy = ratio(followsOK, follows)
	rep.FalseLinkRate = 1 - ratio(loners-falseLinks, loners)
	rep.PerChannel = map[string]Figures{}
	lo, hi := math.Inf(1), math.Inf(-1)
	for k, g := range groups {
		f := g.figures()
		if ch, ok := strings.CutPrefix(k, "channel:"); ok {
			rep.PerChannel[ch] = f
			lo, hi = math.Min(lo, f.Accuracy), math.Max(hi, f.Accuracy)
			continue
		}
		if rep.PerRegister == nil {
			rep.PerRegister = map[string]Figures{}
		}
		rep.PerRegister[strings.TrimPrefix(k, "register:")] = f
	}
	if len(rep.PerChannel) > 1 {
		rep.ChannelGap = hi - lo
	}
	f1s := 0.0
	labels := 0
	for code, st := range rep.PerCompetence {
		st.Precision = ratio(st.Correct, st.Predicted)
		st.Recall = ratio(st.Correct, st.Support)
		if st.Precision+st.Recall > 0 {
			st.F1 = 2 * st.Precision * st.Recall / (st.Precision + st.Recall)
		}
		rep.PerCompetence[code] = st
		if st.Support > 0 {
			f1s += st.F1
			labels++
		}
	}
	rep.MacroF1 = f1s / float64(labels)
	return rep, nil
}

// reportedAt is when a record arrived: its reported_at, else half an hour
// after the one before it in the file.
func reportedAt(r corpus.Record, base time.Time, i int) time.Time {
	if r.ReportedAt != nil {
		return *r.ReportedAt
	}
	return base.Add(time.Duration(i) * 30 * time.Minute)
}

// incidents measures the grouping pairwise and lists the pairs it got
// wrong with the grouping's reasons.
func (rep *Report) incidents(recs []corpus.Record, reqs []schemas.Request, caseOf map[string]int64, mem *memory, e *router.Engine) {
	labelled := false
	for _, r := range recs {
		labelled = labelled || r.Incident != nil
	}
	if !labelled {
		return
	}
	var gold, pred, both int
	for j := range recs {
		for i := range j {
			a, b := recs[i], recs[j]
			g := a.Incident != nil && b.Incident != nil && *a.Incident == *b.Incident
			ia, ib := mem.incidentOf[caseOf[a.ID]], mem.incidentOf[caseOf[b.ID]]
			p := ia != "" && ia == ib
			if g {
				gold++
			}
			if p {
				pred++
			}
			if g && p {
				both++
			}
			if g == p {
				continue
			}
			first, later := i, j
			if reqs[later].ReceivedAt.Before(reqs[first].ReceivedAt) {
				first, later = later, first
			}
			conf, why := e.CompareIncident(reqs[later], reqs[first], recs[later].Competence)
			var ds []string
			for _, r := range why {
				ds = append(ds, r.Detail)
			}
			what := fmt.Sprintf("confiance %.2f : %s", conf, strings.Join(ds, " ; "))
			if g {
				rep.Misses = append(rep.Misses, Miss{ID: recs[later].ID + "+" + recs[first].ID, Want: "même incident " + *a.Incident, Got: "non groupés", What: what})
			} else {
				rep.Misses = append(rep.Misses, Miss{ID: recs[later].ID + "+" + recs[first].ID, Want: "incidents distincts (" + deref(a.Incident) + "/" + deref(b.Incident) + ")", Got: "groupés dans " + ia, What: what})
			}
		}
	}
	p, r := ratio(both, pred), ratio(both, gold)
	rep.IncidentPrecision, rep.IncidentRecall, rep.IncidentPairs, rep.IncidentPredicted = &p, &r, gold, pred
}

func prefixed(prefix string, keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = prefix + k
	}
	return out
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// ratio is a/b, and 1 when there is nothing to measure.
func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}

func decisionSummary(d casestore.Decision) string {
	for _, r := range d.Reasons {
		if r.Code == "classifier" || r.Code == "triage" || r.Code == "same_matter" || r.Code == "case_ref" {
			return r.Detail
		}
	}
	return d.Outcome
}

// Print writes the report for people.
func (r Report) Print(w io.Writer, misses bool) {
	fmt.Fprintf(w, "Évaluation du routage — %d demandes, modèle %s\n\n", r.N, r.ModelVersion)
	rows := [][2]string{
		{"Exactitude de la compétence (tri = erreur)", pct(r.Accuracy)},
		{"F1 macro", fmt.Sprintf("%.3f", r.MacroF1)},
		{"Part envoyée au tri humain", pct(r.TriageRate)},
		{"Précision du routage automatique", pct(r.AutoPrecision)},
		{"Exactitude du territoire", pct(r.TerritoryAccuracy)},
		{"Rappel des références citées", pct(r.CitationRecall)},
		{"Suites rattachées au bon dossier", pct(r.FollowupAccuracy)},
		{"Rattachements à tort", pct(r.FalseLinkRate)},
	}
	if r.IncidentPrecision != nil {
		rows = append(rows, [2]string{"Incidents : précision par paires", fmt.Sprintf("%s (%d paires groupées)", pct(*r.IncidentPrecision), r.IncidentPredicted)},
			[2]string{"Incidents : rappel par paires", fmt.Sprintf("%s (%d paires étiquetées)", pct(*r.IncidentRecall), r.IncidentPairs)})
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, row := range rows {
		fmt.Fprintf(tw, "%s\t%s\n", row[0], row[1])
	}
	tw.Flush()
	codes := make([]string, 0, len(r.PerCompetence))
	for c := range r.PerCompetence {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	fmt.Fprintln(w, "\nPar compétence :")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "compétence\tdemandes\tprécision\trappel\tF1\t")
	for _, c := range codes {
		st := r.PerCompetence[c]
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%.3f\t\n", c, st.Support, pct(st.Precision), pct(st.Recall), st.F1)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nPar canal (écart de justesse entre canaux : %s) :\n", pct(r.ChannelGap))
	writeGroups(w, r.PerChannel)
	if len(r.PerRegister) > 0 {
		fmt.Fprintln(w, "\nPar registre (enregistrements marqués dans le jeu) :")
		writeGroups(w, r.PerRegister)
	}
	fmt.Fprintln(w, "\nMatrice de confusion (ligne : attendu ; colonne : décidé) :")
	cols := append(slicesWithout(codes, schemas.CompetenceTriage), schemas.CompetenceTriage)
	tw = tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.AlignRight)
	header := []string{""}
	for _, c := range cols {
		header = append(header, abbrev(c))
	}
	fmt.Fprintln(tw, strings.Join(header, "\t")+"\t")
	for _, want := range codes {
		if r.Confusion[want] == nil {
			continue
		}
		line := []string{abbrev(want)}
		for _, got := range cols {
			if n := r.Confusion[want][got]; n > 0 {
				line = append(line, fmt.Sprint(n))
			} else {
				line = append(line, ".")
			}
		}
		fmt.Fprintln(tw, strings.Join(line, "\t")+"\t")
	}
	tw.Flush()
	if misses && len(r.Misses) > 0 {
		fmt.Fprintln(w, "\nErreurs :")
		for _, m := range r.Misses {
			fmt.Fprintf(w, "  %s : attendu %s, obtenu %s  %s\n", m.ID, m.Want, m.Got, m.What)
		}
	}
}

// writeGroups writes a table of groups' figures, by key.
func writeGroups(w io.Writer, groups map[string]Figures) {
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tdemandes\tjustesse\tpremier contact\tprécision auto\ttri\tterritoire\tsuites\tfaux liens\t")
	for _, k := range keys {
		f := groups[k]
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", k, f.N, pct(f.Accuracy), pct(f.FirstContactAccuracy),
			pct(f.AutoPrecision), pct(f.TriageRate), pct(f.TerritoryAccuracy), pct(f.FollowupAccuracy), pct(f.FalseLinkRate))
	}
	tw.Flush()
}

func slicesWithout(s []string, x string) []string {
	var out []string
	for _, v := range s {
		if v != x {
			out = append(out, v)
		}
	}
	return out
}

func abbrev(c string) string {
	if len(c) > 6 {
		return c[:6]
	}
	return c
}

func pct(f float64) string {
	if math.IsNaN(f) {
		return "—"
	}
	return fmt.Sprintf("%.1f %%", f*100)
}
