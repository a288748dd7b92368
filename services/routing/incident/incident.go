// Package incident decides whether a new report is about the same physical
// incident as earlier reports from other citizens: the same competence,
// the same zone (commune or arrondissement), a time window that depends on
// the competence, and the same place and object read from the words —
// a street and its house number, a landmark, a crossroads, a bus stop — or
// coordinates within a radius when both reports carry them. A wrong
// grouping costs more than a missed one, so every conflict (numbers far
// apart on one street, another object, a repair in between, a caller who
// says it is something else) vetoes, and only strong agreement links.
package incident

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Report is one report as grouping sees it.
type Report struct {
	Competence string
	Commune    string // INSEE code (Marseille's arrondissements as 13055); "" unknown
	Postal     string // postal code, which tells Marseille's arrondissements apart; "" unknown
	Text       string // the citizen's words (subject, body, transcript)
	// Home is the citizen's own address (a letter's sender block): the
	// place of the report only when the words point at it ("devant chez
	// moi", "notre avenue").
	Home string
	// Words is what Read found in Text, Agent and Home; nil: read when
	// needed. Reading is most of grouping's work: a report compared with
	// many others is read once.
	Words    *Words
	Agent    []AgentTurn
	Lat, Lon *float64
	At       time.Time
}

// AgentTurn is an agent's question and the caller's answer that follows it.
type AgentTurn struct{ Question, Answer string }

// Candidate is an earlier case (alone or already in an incident).
type Candidate struct {
	CaseID   int64
	Incident string // incident ref, "" when the case is alone
	Report   Report
	// Needs is the least confidence at which this case may be linked
	// (0: the link threshold); higher for a case that would change
	// competence to join.
	Needs float64
}

// Reason is one ground of a decision, in French for the team.
type Reason struct {
	Code   string  `json:"code"`
	Detail string  `json:"detail"`
	Weight float64 `json:"weight"`
}

// Config tunes the decision.
type Config struct {
	// Windows is how long after the latest report a report may still join,
	// per competence; Default when absent.
	Windows map[string]time.Duration
	Default time.Duration
	// Radius in metres within which two located reports are the same place.
	Radius float64
	// LinkAbove: confidence from which the router links; SuggestAbove:
	// from which it only suggests.
	LinkAbove, SuggestAbove float64
}

// DefaultConfig follows the data's conventions: reports of one incident
// arrive up to two weeks apart; a collection or a smell is a matter of
// days.
func DefaultConfig() Config {
	d := 24 * time.Hour
	return Config{
		Windows: map[string]time.Duration{
			"eclairage": 14 * d, "voirie": 21 * d, "eau_assainissement": 14 * d, "dechets": 14 * d,
			"proprete": 14 * d, "espaces_verts": 14 * d, "mobilite": 14 * d, "stationnement": 14 * d,
			"urbanisme": 30 * d, "habitat": 30 * d, "environnement": 14 * d, "economie": 14 * d,
			"hors_competence": 30 * d,
		},
		Default: 14 * d, Radius: 80, LinkAbove: 0.7, SuggestAbove: 0.5,
	}
}

// Window is the time window of a competence.
func (c Config) Window(competence string) time.Duration {
	if w, ok := c.Windows[competence]; ok {
		return w
	}
	return c.Default
}

// Decision is what grouping decided for a new report.
type Decision struct {
	// Incident is the open incident to join, "" to open one with Cases.
	Incident string
	// Cases are cases still alone that join with the report (all of them
	// when Incident is "").
	Cases      []int64
	Confidence float64
	Reasons    []Reason
	// Link is true at or above the link threshold; below it the decision
	// is only a suggestion (which needs an Incident).
	Link bool
}

// hardVeto are conflicts that rule out a whole incident when any of its
// reports has them with the new one.
var hardVeto = map[string]bool{"numero": true, "distance": true, "pas_cet_incident": true, "recidive": true}

// Decide finds the incident a report belongs to among the candidates:
// each incident (or case still alone) is as likely as its most alike
// report, and ruled out when any of its reports conflicts with the new
// one. ok is false when nothing reaches a suggestion.
func Decide(cfg Config, r Report, cands []Candidate) (Decision, bool) {
	type group struct {
		ref     string
		caseID  int64
		needs   float64
		conf    float64
		reasons []Reason
		vetoed  bool
	}
	fr := features(r)
	var order []string
	groups := map[string]*group{}
	for _, c := range cands {
		key := c.Incident
		if key == "" {
			key = "case:" + strconv.FormatInt(c.CaseID, 10)
		}
		g := groups[key]
		if g == nil {
			g = &group{ref: c.Incident, caseID: c.CaseID, needs: max(c.Needs, cfg.LinkAbove)}
			groups[key] = g
			order = append(order, key)
		}
		conf, reasons := score(cfg, r, fr, c.Report)
		if conf == 0 && len(reasons) == 1 && hardVeto[reasons[0].Code] {
			g.vetoed = true
		}
		if conf > g.conf {
			g.conf, g.reasons = conf, reasons
		}
	}
	var best *group
	for _, k := range order {
		g := groups[k]
		if g.ref == "" && g.needs > cfg.LinkAbove && g.conf < g.needs {
			continue // would change competence: linked when sure, never only suggested
		}
		if !g.vetoed && g.conf >= cfg.SuggestAbove && (best == nil || g.conf > best.conf) {
			best = g
		}
	}
	if best == nil {
		return Decision{}, false
	}
	d := Decision{Incident: best.ref, Confidence: best.conf, Reasons: best.reasons, Link: best.conf >= cfg.LinkAbove}
	if !d.Link {
		return d, d.Incident != ""
	}
	for _, k := range order {
		g := groups[k]
		if g.ref == "" && !g.vetoed && g.conf >= g.needs {
			d.Cases = append(d.Cases, g.caseID)
		}
	}
	return d, true
}

// Compare scores two reports: a confidence in [0,1] and its reasons.
func Compare(cfg Config, a, b Report) (float64, []Reason) {
	return score(cfg, a, features(a), b)
}

func score(cfg Config, r Report, fr feats, old Report) (float64, []Reason) {
	var reasons []Reason
	add := func(code, detail string, w float64) { reasons = append(reasons, Reason{code, detail, w}) }
	veto := func(code, detail string) (float64, []Reason) { return 0, []Reason{{Code: code, Detail: detail}} }
	if r.Competence == "" || r.Competence != old.Competence {
		return veto("competence", "compétences différentes")
	}
	if differ(r.Commune, old.Commune) || differ(r.Postal, old.Postal) {
		return veto("zone", "communes ou arrondissements différents : "+r.Commune+" "+r.Postal+" / "+old.Commune+" "+old.Postal)
	}
	sameZone := r.Commune != "" && r.Commune == old.Commune
	age := r.At.Sub(old.At)
	if age < 0 || age > cfg.Window(r.Competence) {
		return veto("delai", "hors de la fenêtre de "+cfg.Window(r.Competence).String())
	}
	fo := features(old)
	switch {
	case fr.refuses(fo):
		return veto("pas_cet_incident", "l'appelant dit que ce n'est pas l'incident connu à cet endroit")
	case fr.notReport || fo.notReport:
		return veto("pas_un_signalement", "une demande de service, pas un signalement")
	case fr.recurrence && age > 3*24*time.Hour:
		return veto("recidive", "de nouveau après une réparation : nouvel incident")
	case fr.oldEvent || fo.oldEvent:
		return veto("ancien", "un événement daté de plus de deux mois")
	case !sharesObject(fr.objects, fo.objects):
		return veto("objet", "objets différents : "+strings.Join(fr.objects, ",")+" / "+strings.Join(fo.objects, ","))
	}
	add("objet", "même objet : "+strings.Join(common(fr.objects, fo.objects), ", "), 0)
	place := 0.0
	// Numbers far apart on one street are different places.
	for s, n := range fr.numbers {
		if m, ok := fo.numbers[s]; ok && abs(n-m) > 8 {
			return veto("numero", "numéros éloignés sur "+s+" : "+strconv.Itoa(n)+" et "+strconv.Itoa(m))
		}
	}
	st := common(keys(fr.streets), keys(fo.streets))
	if len(st) > 0 {
		place = 0.3
		for _, k := range st {
			if !strings.HasPrefix(k, "~") {
				place = 0.6
			}
		}
		add("rue", "même voie ou lieu : "+strings.ReplaceAll(strings.Join(st, ", "), "~", ""), place)
	} else if ar := common(bare(fr.streets), bare(fo.streets)); len(ar) > 0 {
		// "le quartier des Chartreux" and "l'avenue des Chartreux": the
		// same name, one of them an area.
		place = 0.3
		add("quartier", "même nom de lieu, l'un étant un quartier : "+strings.Join(ar, ", "), place)
	}
	if len(st) > 0 {
		for _, s := range st {
			if n, ok := fr.numbers[s]; ok {
				if m, ok := fo.numbers[s]; ok {
					place = 0.8
					add("numero", "même numéro ou voisin : "+strconv.Itoa(n)+" et "+strconv.Itoa(m), 0.2)
				}
			}
		}
	}
	if lm := common(fr.marks, fo.marks); len(lm) > 0 {
		w := 0.0
		for _, m := range lm {
			switch {
			case waterMarks[m]:
				w += 0.6
			case weakMarks[m]:
				w += 0.25
			default:
				w += 0.5
			}
		}
		place += min(w, 0.6)
		add("repere", "même repère : "+strings.Join(lm, ", "), min(w, 0.6))
	}
	if r.Lat != nil && r.Lon != nil && old.Lat != nil && old.Lon != nil {
		d := metres(*r.Lat, *r.Lon, *old.Lat, *old.Lon)
		if d > 3*cfg.Radius {
			return veto("distance", "à "+strconv.Itoa(int(d))+" m")
		}
		if d <= cfg.Radius {
			place += 0.6
			add("coordonnees", "à "+strconv.Itoa(int(d))+" m", 0.6)
		}
	}
	if place == 0 {
		return veto("lieu", "aucun lieu commun (voie, repère, coordonnées)")
	}
	if (fr.known || fo.known) && sameZone && place < 0.6 {
		// An agent spoke of the incident under way in that sector: a
		// shared quartier or street then places the report.
		place += 0.3
		add("en_cours", "l'agent a parlé d'un incident en cours dans le secteur", 0.3)
	}
	if !sameZone {
		place -= 0.1 // the commune is not known on both sides
	}
	conf := math.Max(0, math.Min(1, 0.4+place*0.6))
	return conf, reasons
}

func differ(a, b string) bool { return a != "" && b != "" && a != b }

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func metres(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371000.0
	φ1, φ2 := lat1*math.Pi/180, lat2*math.Pi/180
	dφ, dλ := φ2-φ1, (lon2-lon1)*math.Pi/180
	a := math.Sin(dφ/2)*math.Sin(dφ/2) + math.Cos(φ1)*math.Cos(φ2)*math.Sin(dλ/2)*math.Sin(dλ/2)
	return 2 * r * math.Asin(math.Sqrt(a))
}
