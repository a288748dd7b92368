package router

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/lifecycle"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/routing/classify"
	"github.com/ampmetropole/guichet/services/routing/incident"
)

// IncidentTx is what grouping reports of one incident needs of the
// transaction. A Tx without it does not group.
type IncidentTx interface {
	GroupCandidates(ctx context.Context, q casestore.CandidateQuery) ([]casestore.GroupCandidate, error)
	AddPlaces(ctx context.Context, caseID int64, keys []string, lat, lon *float64) error
	OpenIncident(ctx context.Context, ni casestore.NewIncident) (string, error)
	LinkIncident(ctx context.Context, caseID int64, ref string, at time.Time) error
	SuggestIncident(ctx context.Context, caseID int64, ref string, confidence float64, reasons any) error
	GiveCompetence(ctx context.Context, caseID int64, competence string) (casestore.CaseRow, error)
	IncidentCompetence(ctx context.Context, ref string) (string, error)
	CaseIncident(ctx context.Context, caseID int64) (string, error)
	LockCases(ctx context.Context, ids []int64) error
}

// WithIncidents makes the engine group the new cases of different
// citizens about one physical incident (see package incident).
func (e *Engine) WithIncidents(cfg incident.Config) *Engine {
	e.incidents = &cfg
	e.words = &readCache[*requestWords]{}
	return e
}

// groupCandidates bounds the cases compared with each new one.
const groupCandidates = 50

// groupPlan is the incident a new case will join, decided before the case
// is created (joining may settle its competence).
type groupPlan struct {
	competence string
	hint       string // hints.incident: joined without a decision
	decision   incident.Decision
	rows       map[int64]casestore.GroupCandidate
	list       []incident.Candidate
	// moves are the cases alone, in triage or routed elsewhere but not
	// yet touched, that take the incident's competence to join it.
	moves map[int64]string
}

// crossMargin is how much surer than a plain link grouping must be to
// give a report the competence of an incident that the classifier ranked
// below another (or left to triage).
const crossMargin = 0.1

// plausible is the least probability the classifier must give an
// incident's competence for a report to join it under that competence.
const plausible = 0.15

// planGroup decides whether a new case will join an incident: the one
// the request names (hints.incident, chosen by the citizen or an agent),
// else the one the grouping rules find. It writes nothing.
//
// A case of the same citizen is left out: their own reports are joined by
// the same-citizen link, and an incident groups different reporters.
func (e *Engine) planGroup(ctx context.Context, tx Tx, req schemas.Request, citizenID int64, competence, territory string, pred *classify.Prediction, where located) (*groupPlan, error) {
	itx, ok := tx.(IncidentTx)
	if !ok {
		return nil, nil
	}
	if req.Hints != nil && req.Hints.Incident != "" {
		// The incident chosen: the case takes its competence, so that the
		// team resolving it may resolve the case (unless it closed since).
		comp, err := itx.IncidentCompetence(ctx, req.Hints.Incident)
		if fault.KindOf(err) == fault.NotFound {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return &groupPlan{competence: comp, hint: req.Hints.Incident}, nil
	}
	if e.incidents == nil {
		return nil, nil
	}
	cfg := *e.incidents
	// The competence decided first, then the others the classifier finds
	// plausible, unless the citizen named one.
	comps := []string{}
	if competence != schemas.CompetenceTriage {
		comps = append(comps, competence)
	}
	if pred != nil && (req.Hints == nil || req.Hints.Competence == "") {
		for _, sc := range pred.Ranked {
			if sc.Competence != competence && sc.Probability >= plausible {
				comps = append(comps, sc.Competence)
			}
		}
	}
	if !incident.Placed(e.report(req, competence, located{})) {
		return nil, nil // nothing to compare: no need to read the candidates
	}
	var best *groupPlan
	for i, comp := range comps {
		// The decided competence's cases, and in the same look-up those
		// that may move to it (triage, the runner-ups).
		from := []string{comp}
		first := i == 0 && comp == competence
		if first {
			from = append(from, e.movableFrom(comp, pred)...)
		}
		found, err := itx.GroupCandidates(ctx, e.candidates(req, where, from, territory, citizenID, req.ReceivedAt.Add(-cfg.Window(comp)), groupCandidates))
		if err != nil {
			return nil, err
		}
		p := &groupPlan{competence: comp, rows: map[int64]casestore.GroupCandidate{}, moves: map[int64]string{}}
		me := e.report(req, comp, where)
		for _, gc := range found {
			if (citizenID != 0 && gc.Citizen == citizenID) || (gc.Case.Competence != comp && !e.movable(me, comp, gc)) {
				continue
			}
			needs := 0.0
			if gc.Case.Competence != comp {
				needs = cfg.LinkAbove + crossMargin
				if gc.Case.Competence == schemas.CompetenceTriage {
					needs = cfg.LinkAbove // nobody decided: the report decides
				}
				p.moves[gc.Case.ID] = gc.Case.Competence
			}
			p.rows[gc.Case.ID] = gc
			for _, r := range gc.Requests {
				if r.ID == req.ID {
					continue
				}
				// An incident's other reports count too (one may rule it
				// out); a case alone is located only if it may match.
				if gc.Incident == "" && !incident.MayMatch(me, e.report(r, comp, located{})) {
					continue
				}
				p.list = append(p.list, incident.Candidate{CaseID: gc.Case.ID, Incident: gc.Incident, Report: e.report(r, comp, e.locate(r)), Needs: needs})
			}
		}
		d, ok := incident.Decide(cfg, me, p.list)
		if !ok {
			continue
		}
		p.decision = d
		// A report the classifier left to triage takes the competence of
		// the incident it surely joins; one it routed changes only when
		// surer still.
		cross := comp != competence && competence != schemas.CompetenceTriage
		if comp != competence && !d.Link {
			continue
		}
		if cross && d.Confidence < cfg.LinkAbove+crossMargin {
			continue
		}
		if first && d.Link {
			return p, nil
		}
		if best == nil || (d.Link && !best.decision.Link) || (d.Link == best.decision.Link && d.Confidence > best.decision.Confidence) {
			best = p
		}
	}
	return best, nil
}

// movableFrom are the competences whose cases may take competence comp
// to join a report's incident: triage, and the report's runner-ups.
func (e *Engine) movableFrom(comp string, pred *classify.Prediction) []string {
	if e.classifier == nil || pred == nil {
		return nil
	}
	from := []string{schemas.CompetenceTriage}
	for _, sc := range pred.Ranked {
		if len(from) == 1+runnersUp {
			break
		}
		if sc.Competence != comp {
			from = append(from, sc.Competence)
		}
	}
	return from
}

// movable says whether a case of another competence may take competence
// comp to join report me's incident: still untouched and alone, and its
// own words make comp plausible to the classifier.
func (e *Engine) movable(me incident.Report, comp string, gc casestore.GroupCandidate) bool {
	if e.classifier == nil || gc.Incident != "" || gc.Case.State != lifecycle.Received || len(gc.Requests) == 0 {
		return false
	}
	first := gc.Requests[0]
	if !incident.MayMatch(me, e.report(first, comp, located{})) {
		return false
	}
	return probability(e.classifier.ClassifyRequest(first), comp) >= plausible
}

// candidates is the query of the cases a request may be grouped with.
func (e *Engine) candidates(req schemas.Request, where located, competences []string, territory string, citizenID int64, since time.Time, limit int) casestore.CandidateQuery {
	q := casestore.CandidateQuery{Competences: competences, Since: since, Limit: limit, Territory: territory, NotCitizen: citizenID,
		Places: e.Places(req)}
	if where.ok && where.res.Commune != nil {
		// Marseille for its arrondissements, as the new case keeps it: the
		// directory resolves an arrondissement's code to Marseille.
		q.Commune = where.res.Commune.INSEE
	}
	if req.Location != nil {
		q.Lat, q.Lon = req.Location.Lat, req.Location.Lon
	}
	return q
}

// Places are the places a request names (incident.Keys), kept on its
// case for grouping to find it; none when grouping is off.
func (e *Engine) Places(req schemas.Request) []string {
	if e.incidents == nil {
		return nil
	}
	return incident.Keys(e.words.of(req, e.readWords).words)
}

// keepPlaces adds a linked request's places to its case.
func (e *Engine) keepPlaces(ctx context.Context, tx Tx, req schemas.Request, c casestore.CaseRow) error {
	itx, ok := tx.(IncidentTx)
	if !ok || e.incidents == nil {
		return nil
	}
	var lat, lon *float64
	if req.Location != nil {
		lat, lon = req.Location.Lat, req.Location.Lon
	}
	return itx.AddPlaces(ctx, c.ID, e.Places(req), lat, lon)
}

// runnersUp is how many of a report's next likeliest competences are
// searched for cases that may join it.
const runnersUp = 2

func probability(p classify.Prediction, competence string) float64 {
	for _, sc := range p.Ranked {
		if sc.Competence == competence {
			return sc.Probability
		}
	}
	return 0
}

// Regroup looks again, in a transaction of its own, for the incident of
// a case that Route opened without one: another report of it may have
// been routed at the same moment in another transaction, which neither
// could see. The later of the two to commit finds the other. A case
// grouped since (by a third report) or gone from its competence is left.
func (e *Engine) Regroup(ctx context.Context, tx Tx, req schemas.Request, routed Routed) error {
	rg := routed.regroup
	itx, ok := tx.(IncidentTx)
	if rg == nil || !ok {
		return nil
	}
	c := routed.Case
	if inc, err := itx.CaseIncident(ctx, c.ID); err != nil || inc != "" {
		return err
	}
	plan, err := e.planGroup(ctx, tx, req, rg.citizenID, c.Competence, c.Territory, rg.pred, rg.where)
	if err != nil || plan == nil || plan.competence != c.Competence {
		return err // another competence would mean re-routing: left to people
	}
	return e.group(ctx, tx, req, c, plan)
}

// Regroups says whether a routed request's case should be looked at again
// once committed (Regroup).
func (r Routed) Regroups() bool { return r.regroup != nil }

// group links new case c as plan says: to the incident the request
// names, or as grouping decided (linked at or above the threshold, else
// only suggested to the team).
func (e *Engine) group(ctx context.Context, tx Tx, req schemas.Request, c casestore.CaseRow, plan *groupPlan) error {
	itx := tx.(IncidentTx)
	if plan.hint != "" {
		err := itx.LinkIncident(ctx, c.ID, plan.hint, req.ReceivedAt)
		if fault.KindOf(err) == fault.NotFound {
			return nil // resolved since: the case stays alone
		}
		if err != nil {
			return err
		}
		return e.linkEvent(ctx, tx, req, c, plan.hint, 1, []incident.Reason{{Code: "choisi", Detail: "incident choisi par le demandeur ou l'agent"}}, true)
	}
	m := plan.decision
	if !m.Link {
		if m.Incident == "" {
			return nil
		}
		return itx.SuggestIncident(ctx, c.ID, m.Incident, m.Confidence, m.Reasons)
	}
	ref := m.Incident
	// Every case this grouping writes is locked first, in id order, as
	// every grouping does: two at once never wait on each other in turn.
	if err := itx.LockCases(ctx, append(slices.Clone(m.Cases), c.ID)); err != nil {
		return err
	}
	// Locked, the cases are as they are now: one that another report
	// grouped meanwhile brings its incident, and is not linked again.
	now := map[int64]string{}
	for _, id := range append(slices.Clone(m.Cases), c.ID) {
		inc, err := itx.CaseIncident(ctx, id)
		if err != nil {
			return err
		}
		now[id] = inc
		if ref == "" && inc != "" {
			ref = inc
		}
	}
	if ref != "" && now[c.ID] == ref {
		return nil // grouped meanwhile, as this would have
	}
	var cases []int64
	for _, id := range m.Cases {
		if ref != "" && now[id] == ref {
			continue
		}
		if now[id] != "" {
			continue // in another incident since: left to people
		}
		from, move := plan.moves[id]
		if !move {
			cases = append(cases, id)
			continue
		}
		moved, err := itx.GiveCompetence(ctx, id, c.Competence)
		if fault.KindOf(err) == fault.Conflict {
			continue // handled since: it stays as it is
		}
		if err != nil {
			return err
		}
		d := casestore.Decision{Outcome: "incident_competence", Confidence: &m.Confidence, Reasons: []casestore.Reason{{Code: "incident_competence",
			Detail: fmt.Sprintf("même lieu et même objet que le signalement %s : compétence %s, jugée plausible, plutôt que %s", c.Ref, c.Competence, from)}}}
		ev := e.event(req, moved, schemas.EventRerouted, d)
		ev.RequestID, ev.Channel, ev.Summary = "", "", ""
		ev.Data["from"], ev.Data["to"] = from, c.Competence
		if _, err := tx.AppendEvent(ctx, moved, ev); err != nil {
			return fmt.Errorf("router: competence of %s: %w", moved.Ref, err)
		}
		row := plan.rows[id]
		row.Case = moved
		plan.rows[id] = row
		cases = append(cases, id)
	}
	if ref == "" && len(cases) == 0 {
		return nil // every case it matched was handled since
	}
	for i, id := range cases {
		old := plan.rows[id]
		first := firstReport(plan.list, id)
		if ref == "" && i == 0 {
			// The earlier case was alone: it and this one open the incident.
			label, place := incident.Describe(first, m.Reasons)
			ni := casestore.NewIncident{Competence: c.Competence, Territory: old.Case.Territory, Commune: first.Commune,
				Label: label, Place: place, Lat: first.Lat, Lon: first.Lon, At: first.At}
			var err error
			if ref, err = itx.OpenIncident(ctx, ni); err != nil {
				return err
			}
		}
		if err := itx.LinkIncident(ctx, old.Case.ID, ref, first.At); err != nil {
			return err
		}
		if err := e.linkEvent(ctx, tx, req, old.Case, ref, m.Confidence, m.Reasons, false); err != nil {
			return err
		}
	}
	if err := itx.LinkIncident(ctx, c.ID, ref, req.ReceivedAt); err != nil {
		return err
	}
	return e.linkEvent(ctx, tx, req, c, ref, m.Confidence, m.Reasons, true)
}

// firstReport is the earliest report of a case among the candidates.
func firstReport(list []incident.Candidate, caseID int64) incident.Report {
	var out incident.Report
	for _, c := range list {
		if c.CaseID == caseID && (out.At.IsZero() || c.Report.At.Before(out.At)) {
			out = c.Report
		}
	}
	return out
}

// report is a request as grouping sees it.
func (e *Engine) report(req schemas.Request, competence string, where located) incident.Report {
	w := e.words.of(req, e.readWords)
	r := incident.Report{Competence: competence, Text: w.text, Agent: w.agent, Home: w.home, At: req.ReceivedAt, Words: w.words}
	if where.ok && where.res.Commune != nil {
		r.Commune = where.res.Commune.INSEE
		if strings.HasPrefix(r.Commune, "132") {
			r.Commune = "13055" // an arrondissement: the postal code tells them apart
		}
	}
	if req.Location != nil {
		r.Lat, r.Lon, r.Postal = req.Location.Lat, req.Location.Lon, req.Location.PostalCode
	}
	if r.Postal == "" && where.ok {
		r.Postal = w.postal
	}
	return r
}

// requestWords is what grouping reads of a request whatever the
// competence and place it is compared under.
type requestWords struct {
	text   string // the citizen's words and the call's turns
	agent  []incident.AgentTurn
	home   string // the sender's address
	postal string // the postal code the words give
	words  *incident.Words
}

// readWords reads a request's words (through a readCache, once).
func (e *Engine) readWords(req schemas.Request) *requestWords {
	w := &requestWords{text: classify.TextOf(req)}
	if req.Citizen != nil && req.Citizen.Address != nil {
		w.home = strings.Join(req.Citizen.Address.Lines, "\n")
	}
	var turns []string
	for i, t := range req.Transcript {
		turns = append(turns, t.Text)
		if t.Speaker == "agent" && i+1 < len(req.Transcript) && req.Transcript[i+1].Speaker != "agent" {
			w.agent = append(w.agent, incident.AgentTurn{Question: t.Text, Answer: req.Transcript[i+1].Text})
		}
	}
	if len(turns) > 0 {
		w.text += "\n" + strings.Join(turns, "\n")
	}
	if req.Location == nil || req.Location.PostalCode == "" {
		w.postal = e.facts.Extract(w.text).PostalCode
	}
	w.words = incident.Read(incident.Report{Text: w.text, Agent: w.agent, Home: w.home, At: req.ReceivedAt})
	return w
}

// readCache keeps what routing read in recent requests — grouping's
// words, linking's vectors: each earlier request is compared with many
// new ones, and reading is most of the work. Bounded; emptied when full. A
// request's text does not change once it is routed, except when erasure
// empties it: the key holds its lengths.
type readCache[T any] struct {
	mu sync.Mutex
	m  map[string]T
}

// readCacheSize bounds a cache (a few kilobytes an entry).
const readCacheSize = 20000

// of returns what read reads of req, read once per request.
func (c *readCache[T]) of(req schemas.Request, read func(schemas.Request) T) T {
	if c == nil || req.ID == "" {
		return read(req)
	}
	key := fmt.Sprintf("%s:%d:%d:%d:%d", req.ID, req.ReceivedAt.UnixMilli(), len(req.Subject), len(req.Body), len(req.Transcript))
	c.mu.Lock()
	w, ok := c.m[key]
	c.mu.Unlock()
	if ok {
		return w
	}
	w = read(req)
	c.mu.Lock()
	if c.m == nil || len(c.m) >= readCacheSize {
		c.m = make(map[string]T, 1024)
	}
	c.m[key] = w
	c.mu.Unlock()
	return w
}

// linkEvent records on case c that it joined incident ref; own says
// whether req is c's request (else the event is about the report that
// brought c into the incident, and names no request of c's).
func (e *Engine) linkEvent(ctx context.Context, tx Tx, req schemas.Request, c casestore.CaseRow, ref string, conf float64, reasons []incident.Reason, own bool) error {
	d := casestore.Decision{Outcome: "incident_linked", Confidence: &conf}
	for _, r := range reasons {
		d.Reasons = append(d.Reasons, casestore.Reason{Code: r.Code, Detail: r.Detail})
	}
	ev := e.event(req, c, schemas.EventIncidentLinked, d)
	ev.Data["incident"] = ref
	if !own {
		ev.RequestID, ev.Channel, ev.Summary = "", "", ""
	}
	if _, err := tx.AppendEvent(ctx, c, ev); err != nil {
		return fmt.Errorf("router: incident %s: %w", ref, err)
	}
	return nil
}

// CompareIncident says how likely two requests of one competence are
// about the same incident, and why (for route-eval's error report).
func (e *Engine) CompareIncident(a, b schemas.Request, competence string) (float64, []incident.Reason) {
	cfg := incident.DefaultConfig()
	if e.incidents != nil {
		cfg = *e.incidents
	}
	return incident.Compare(cfg, e.report(a, competence, e.locate(a)), e.report(b, competence, e.locate(b)))
}

// SetClock fixes the engine's clock, for route-eval, which replays records
// at the time they arrived.
func (e *Engine) SetClock(at time.Time) {
	e.now = func() time.Time { return at }
}
