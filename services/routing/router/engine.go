package router

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/catalogue"
	"github.com/ampmetropole/guichet/services/cases/citizen"
	"github.com/ampmetropole/guichet/services/cases/territory"
	"github.com/ampmetropole/guichet/services/language/extract"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/platform/frtime"
	"github.com/ampmetropole/guichet/services/routing/classify"
	"github.com/ampmetropole/guichet/services/routing/incident"
)

// Tx is what one routing decision reads and writes of the case history, in
// one transaction: casestore.RouteTx in production, an in-memory history
// for `guichet route-eval`.
type Tx interface {
	ClaimRequest(ctx context.Context, r schemas.Request, raw []byte) error
	ResolveCitizen(ctx context.Context, id casestore.Identity) (int64, error)
	LockCase(ctx context.Context, ref string) (casestore.CaseRow, error)
	LockCaseOfRequest(ctx context.Context, requestID string) (casestore.CaseRow, error)
	CaseCitizens(ctx context.Context, caseID int64) ([]int64, error)
	OpenCasesOf(ctx context.Context, citizenID int64, since time.Time) ([]casestore.OpenCase, error)
	CreateCase(ctx context.Context, c casestore.NewCase) (casestore.CaseRow, error)
	AppendEvent(ctx context.Context, c casestore.CaseRow, e schemas.CaseEvent) (schemas.CaseEvent, error)
	RedirectToCommune(ctx context.Context, c *casestore.CaseRow, insee, redirectTo string) error
	FinishRouted(ctx context.Context, d casestore.Decision, citizenID int64) error
}

// EngineConfig tunes the decisions.
type EngineConfig struct {
	// TriageBelow sends a request whose best competence is less likely than
	// this to the human triage queue; default 0.6.
	TriageBelow float64
	// LinkWindow is how far back an open case of the same citizen may be
	// joined; default 60 days.
	LinkWindow time.Duration
	// LinkSimilarity is the least text similarity (0..1) for a request to
	// join an open case of the same citizen; default 0.2.
	LinkSimilarity float64
}

func (c *EngineConfig) defaults() {
	if c.TriageBelow <= 0 {
		c.TriageBelow = 0.6
	}
	if c.LinkWindow <= 0 {
		c.LinkWindow = 60 * 24 * time.Hour
	}
	if c.LinkSimilarity <= 0 {
		c.LinkSimilarity = 0.2
	}
}

// Budgets give a case's deadline in business hours (the catalogue).
type Budgets interface {
	Budget(competence, priority string) time.Duration
}

// Clock turns business hours into a date (deadline.Calendar).
type Clock interface {
	Due(start time.Time, budget time.Duration) time.Time
}

// Engine decides where a request goes — which case, competence and
// territory — and records why. It holds no state between requests.
type Engine struct {
	cfg        EngineConfig
	classifier *classify.Classifier // nil: competence from the hint, else triage
	places     *territory.Directory
	facts      *extract.Extractor
	budgets    Budgets // with clock; nil: cases have no deadline
	clock      Clock
	now        func() time.Time
	incidents  *incident.Config                // nil: no grouping (a hints.incident still joins)
	words      *readCache[*requestWords]       // what grouping read in recent requests
	vectors    *readCache[classify.TextVector] // what linking read in recent requests
	communal   []catalogue.CommunalMatter
}

// WithDeadlines makes new cases due after their competence's budget of
// business hours from the request's arrival.
func (e *Engine) WithDeadlines(b Budgets, c Clock) *Engine {
	e.budgets, e.clock = b, c
	return e
}

// NewEngine builds an engine; c may be nil (no classifier).
func NewEngine(cfg EngineConfig, c *classify.Classifier, places *territory.Directory) *Engine {
	cfg.defaults()
	return &Engine{cfg: cfg, classifier: c, places: places, facts: extract.New(places), now: time.Now,
		vectors: &readCache[classify.TextVector]{}}
}

// vectorOf is an earlier request's text as linking compares it.
func (e *Engine) vectorOf(r schemas.Request) classify.TextVector {
	return e.classifier.Model().Vector(matterText(r))
}

// Version names the decision logic and model, recorded with each decision.
func (e *Engine) Version() string {
	if e.classifier == nil {
		return ModelVersion
	}
	return "router-v1/" + e.classifier.Model().Version
}

// Routed is what Route did.
type Routed struct {
	Decision  casestore.Decision
	Case      casestore.CaseRow
	Event     schemas.CaseEvent
	Territory string // where this request is about (a joined case keeps its own)
	// regroup is set when the new case names a place and an object but
	// joined no incident: a report routed at the same moment in another
	// transaction could not be seen, so grouping looks again once both
	// are committed (Regroup).
	regroup *regroupState
}

// regroupState is what Regroup needs of the first routing.
type regroupState struct {
	citizenID int64
	pred      *classify.Prediction
	where     located
}

// Route claims the request and writes, through tx, the citizen, the case it
// joins or opens, the case event and the decision.
func (e *Engine) Route(ctx context.Context, tx Tx, req schemas.Request, raw []byte) (Routed, error) {
	var out Routed
	if err := tx.ClaimRequest(ctx, req, raw); err != nil {
		return out, err
	}
	citizenID, err := tx.ResolveCitizen(ctx, identity(req))
	if err != nil {
		return out, err
	}
	d := casestore.Decision{RequestID: req.ID, ModelVersion: e.Version(), DecidedBy: "router"}
	var pred *classify.Prediction
	var toks []classify.Token // the text analysed once, for the classifier and linking
	if e.classifier != nil {
		toks = e.classifier.Analyze(matterText(req))
		p := e.classifier.ClassifyTokens(toks, req.Citizen)
		pred = &p
	}
	where := e.locate(req)
	c, linked, err := e.linkedCase(ctx, tx, req, toks, citizenID, pred, where, &d)
	if err != nil {
		return out, err
	}
	eventType := schemas.EventRequestLinked
	var plan *groupPlan // a new case's incident, if any
	fallback := ""
	if linked {
		fallback = c.Ref
	}
	terr := e.territory(where, c.Territory, fallback, &d)
	if linked {
		d.Outcome = "linked"
		if err := e.keepPlaces(ctx, tx, req, c); err != nil {
			return out, err
		}
	} else {
		d.Outcome, eventType = "new_case", schemas.EventCreated
		competence := e.competence(req, pred, &d)
		if plan, err = e.planGroup(ctx, tx, req, citizenID, competence, terr, pred, where); err != nil {
			return out, err
		}
		if plan != nil && plan.competence != competence {
			why := fmt.Sprintf("même lieu et même objet qu'un incident en cours : compétence %s, jugée plausible, plutôt que %s", plan.competence, competence)
			if plan.hint != "" {
				why = fmt.Sprintf("incident %s choisi par le demandeur ou l'agent : sa compétence, %s, plutôt que %s", plan.hint, plan.competence, competence)
			}
			d.Reasons = append(d.Reasons, casestore.Reason{Code: "incident_competence", Detail: why})
			competence = plan.competence
		}
		nc := casestore.NewCase{Competence: competence, Territory: terr, CitizenID: citizenID, Places: e.Places(req), Channel: req.Channel}
		if where.ok && where.res.Commune != nil {
			nc.Commune = where.res.Commune.INSEE
		}
		if req.Location != nil && e.incidents != nil {
			// Coordinates alone place a report: kept even without words.
			nc.Lat, nc.Lon = req.Location.Lat, req.Location.Lon
		}
		if e.budgets != nil && e.clock != nil {
			due := e.clock.Due(req.ReceivedAt, e.budgets.Budget(competence, "normal"))
			nc.Deadline = &due
		}
		if c, err = tx.CreateCase(ctx, nc); err != nil {
			return out, err
		}
	}
	d.CaseID, d.Competence, d.Territory = c.ID, c.Competence, c.Territory
	ev, err := tx.AppendEvent(ctx, c, e.event(req, c, eventType, d))
	if err != nil {
		return out, err
	}
	if !linked && plan == nil {
		if _, err := e.handOver(ctx, tx, req, &c, where, &d); err != nil {
			return out, err
		}
	}
	var again *regroupState
	if plan != nil {
		if err := e.group(ctx, tx, req, c, plan); err != nil {
			return out, err
		}
	} else if !linked && e.incidents != nil && (req.Hints == nil || req.Hints.Incident == "") && incident.Placed(e.report(req, c.Competence, located{})) {
		again = &regroupState{citizenID: citizenID, pred: pred, where: where}
	}
	if err := tx.FinishRouted(ctx, d, citizenID); err != nil {
		return out, err
	}
	return Routed{Decision: d, Case: c, Event: ev, Territory: terr, regroup: again}, nil
}

// BatchItem is what a set-based batch reads at once for req: its
// citizen, and how far back their open cases may be joined.
func (e *Engine) BatchItem(req schemas.Request) casestore.BatchItem {
	return casestore.BatchItem{Request: req, Identity: identity(req), Since: req.ReceivedAt.Add(-e.cfg.LinkWindow)}
}

// identity normalizes what identifies the citizen; an identifier that does
// not normalize is left out rather than failing the request.
func identity(req schemas.Request) casestore.Identity {
	if req.Citizen == nil {
		return casestore.Identity{}
	}
	id := casestore.Identity{Name: strings.TrimSpace(req.Citizen.Name)}
	id.Email, _ = citizen.NormalizeEmail(req.Citizen.Email)
	id.Phone, _ = citizen.NormalizePhone(req.Citizen.Phone)
	return id
}

// linkedCase returns the case the request belongs to if there is one: the
// case an agent or the holder of a tracking code chose for it, else the
// first case it cites that is its own citizen's, else the case of the
// request it corrects, else an open case of the same citizen about the
// same matter.
//
// A cited reference is not a credential: references follow each other,
// and the identity a request carries is typed, not proven. A case that
// holds another citizen's requests is therefore proposed to the team, not
// joined: the request opens a case of its own, and the team merges the
// two if it is the same matter.
func (e *Engine) linkedCase(ctx context.Context, tx Tx, req schemas.Request, toks []classify.Token, citizenID int64, pred *classify.Prediction, where located, d *casestore.Decision) (casestore.CaseRow, bool, error) {
	if l := req.Link; l != nil {
		c, err := e.lockFollowingMerges(ctx, tx, l.CaseRef, d)
		switch {
		case fault.KindOf(err) == fault.NotFound:
			d.Reasons = append(d.Reasons, casestore.Reason{Code: "link_unknown", Detail: "dossier choisi inconnu : " + l.CaseRef})
		case err != nil:
			return c, false, err
		case slices.Contains(finalStates, c.State):
			d.Reasons = append(d.Reasons, casestore.Reason{Code: "case_ref_closed",
				Detail: fmt.Sprintf("la demande suit le dossier %s, %s : nouveau dossier ouvert à sa suite", c.Ref, stateLabel(c.State))})
			d.Follows = c.Ref
		default:
			why := "l'agent a rattaché l'appel au dossier " + c.Ref
			if l.By == schemas.LinkByTrackingCode {
				why = "message complémentaire envoyé depuis la page de suivi d'une demande du dossier " + c.Ref
			}
			d.Reasons = append(d.Reasons, casestore.Reason{Code: "link", Detail: why})
			return c, true, nil
		}
	}
	for _, ref := range e.caseRefs(req) {
		if req.Link != nil && ref == req.Link.CaseRef {
			continue // decided above
		}
		c, err := e.lockFollowingMerges(ctx, tx, ref, d)
		if fault.KindOf(err) == fault.NotFound {
			d.Reasons = append(d.Reasons, casestore.Reason{Code: "case_ref_unknown", Detail: "référence citée inconnue : " + ref})
			continue
		}
		if err != nil {
			return c, false, err
		}
		parties, err := tx.CaseCitizens(ctx, c.ID)
		if err != nil {
			return c, false, err
		}
		if len(parties) > 0 && (citizenID == 0 || !slices.Contains(parties, citizenID)) {
			d.Reasons = append(d.Reasons, casestore.Reason{Code: "case_ref_other_citizen", Detail: fmt.Sprintf(
				"la demande cite le dossier %s, qui est celui d'un autre demandeur : non rattachée (une référence citée ne prouve pas l'identité) ; à regrouper par l'équipe s'il s'agit de la même affaire", c.Ref)})
			if d.Proposed == "" {
				d.Proposed = c.Ref
			}
			continue
		}
		if slices.Contains(finalStates, c.State) {
			// The lifecycle does not reopen a finished case: the request
			// opens a new one that says which it follows.
			d.Reasons = append(d.Reasons, casestore.Reason{Code: "case_ref_closed",
				Detail: fmt.Sprintf("la demande cite le dossier %s, %s : nouveau dossier ouvert à sa suite", c.Ref, stateLabel(c.State))})
			d.Follows = c.Ref
			continue
		}
		d.Reasons = append(d.Reasons, casestore.Reason{Code: "case_ref", Detail: "la demande cite le dossier " + ref})
		return c, true, nil
	}
	// Only the mailroom corrects a letter; another system cannot say so.
	if req.Supersedes != "" && req.Source.System == "" {
		c, err := tx.LockCaseOfRequest(ctx, req.Supersedes)
		if err == nil {
			d.Reasons = append(d.Reasons, casestore.Reason{Code: "correction",
				Detail: "texte corrigé de la demande " + req.Supersedes + ", qui était dans le dossier " + c.Ref})
			return c, true, nil
		}
		if fault.KindOf(err) != fault.NotFound {
			return c, false, err
		}
	}
	if citizenID == 0 || e.classifier == nil {
		return casestore.CaseRow{}, false, nil
	}
	open, err := tx.OpenCasesOf(ctx, citizenID, req.ReceivedAt.Add(-e.cfg.LinkWindow))
	if err != nil {
		return casestore.CaseRow{}, false, err
	}
	// The request is analysed once (toks), then compared with each earlier
	// one, whose vectors are kept (each is compared with every later
	// request of its citizen).
	model := e.classifier.Model()
	text := model.VectorOf(toks)
	var best casestore.OpenCase
	bestSim, bestPlace := 0.0, false
	for _, oc := range open {
		if !e.sameCompetence(oc.Competence, pred) {
			continue
		}
		sim, place := 0.0, false
		for _, r := range oc.Requests {
			sim = max(sim, classify.SimilarityOf(text, e.vectors.of(r, e.vectorOf)))
			place = place || (where.ok && e.inCommune(r, where.res))
		}
		// Less said in common is enough when the classifier puts the request
		// in the case's competence and both name the same commune.
		need := e.cfg.LinkSimilarity
		if place && pred != nil && pred.Competence == oc.Competence {
			need /= 2
		}
		if sim >= need && sim > bestSim {
			best, bestSim, bestPlace = oc, sim, place
		}
	}
	if bestSim == 0 {
		// A reminder says too little of its matter to be compared: it
		// joins the citizen's one open case it may be about.
		said := reminder(matterText(req))
		if said == "" {
			return casestore.CaseRow{}, false, nil
		}
		oc, ok := e.remindedCase(open, pred, e.cfg.TriageBelow)
		if !ok {
			if len(open) > 0 {
				d.Reasons = append(d.Reasons, casestore.Reason{Code: "reminder_unsure", Detail: fmt.Sprintf(
					"relance (« %s ») d'un demandeur qui a %d dossiers ouverts : à rattacher par l'équipe", said, len(open))})
			}
			return casestore.CaseRow{}, false, nil
		}
		c, err := tx.LockCase(ctx, oc.Ref)
		if err != nil {
			return c, false, err
		}
		d.Reasons = append(d.Reasons, casestore.Reason{Code: "reminder", Detail: fmt.Sprintf(
			"relance (« %s ») du même demandeur, dont c'est le seul dossier ouvert auquel elle peut se rapporter : %s (%s, dernier contact le %s)",
			said, c.Ref, competenceOrTriage(c.Competence), oc.LastAt.In(frtime.Paris()).Format("02/01/2006"))})
		return c, true, nil
	}
	c, err := tx.LockCase(ctx, best.Ref)
	if err != nil {
		return c, false, err
	}
	conf := bestSim
	d.Confidence = &conf
	commune := ""
	if bestPlace {
		commune = ", même commune"
	}
	d.Reasons = append(d.Reasons, casestore.Reason{Code: "same_matter", Detail: fmt.Sprintf(
		"même demandeur, même sujet que le dossier %s (%s, dernier contact le %s ; textes semblables à %.0f %%%s)",
		c.Ref, competenceOrTriage(c.Competence), best.LastAt.In(frtime.Paris()).Format("02/01/2006"), bestSim*100, commune)})
	return c, true, nil
}

// competenceOrTriage names a case's competence in a reason.
func competenceOrTriage(c string) string {
	if c == schemas.CompetenceTriage {
		return "en attente de tri"
	}
	return c
}

// lockFollowingMerges locks the case of ref, or the case it was merged
// into (a few hops at most), noting the merges in d.
func (e *Engine) lockFollowingMerges(ctx context.Context, tx Tx, ref string, d *casestore.Decision) (casestore.CaseRow, error) {
	c, err := tx.LockCase(ctx, ref)
	for hops := 0; err == nil && c.MergedInto != "" && hops < 5; hops++ {
		d.Reasons = append(d.Reasons, casestore.Reason{Code: "case_merged", Detail: "le dossier " + c.Ref + " a été fusionné dans " + c.MergedInto})
		c, err = tx.LockCase(ctx, c.MergedInto)
	}
	return c, err
}

// caseRefs are the references the channel found, then those the text
// cites that it did not: a web form's body is not read at intake, and in a
// call the agent often reads the number back, in turns the phone channel
// does not search.
func (e *Engine) caseRefs(req schemas.Request) []string {
	refs := slices.Clone(req.CaseRefs)
	text := req.Subject + "\n" + req.Body
	if len(req.Transcript) > 0 {
		var turns []string
		for _, t := range req.Transcript {
			turns = append(turns, t.Text)
		}
		text += "\n" + strings.Join(turns, "\n")
	}
	for _, r := range e.facts.Extract(text).CaseRefs {
		if !slices.Contains(refs, r) {
			refs = append(refs, r)
		}
	}
	return refs
}

// finalStates are the states in which a case takes no more requests.
var finalStates = []string{"closed", "rejected", "redirected"}

func stateLabel(state string) string {
	switch state {
	case "closed":
		return "clos"
	case "rejected":
		return "rejeté"
	case "redirected":
		return "réorienté hors de la Métropole"
	}
	return state
}

// matterText is what tells one matter from another: the classifier's text
// (for a call, the caller's and the agent's words).
func matterText(req schemas.Request) string { return classify.TextOf(req) }

// sameCompetence says whether an open case of competence may hold a request
// classified as pred: the same competence, or one the classifier still
// finds plausible, or a case still waiting in triage.
func (e *Engine) sameCompetence(competence string, pred *classify.Prediction) bool {
	if competence == schemas.CompetenceTriage || pred == nil {
		return true
	}
	for _, s := range pred.Ranked {
		if s.Competence == competence {
			return s.Competence == pred.Competence || s.Probability >= 0.15
		}
	}
	return false
}

// competence chooses the team: the classifier when it is sure enough, an
// agent's or citizen's hint unless the classifier is sure of another, else
// the triage queue.
func (e *Engine) competence(req schemas.Request, pred *classify.Prediction, d *casestore.Decision) string {
	hint := ""
	if req.Hints != nil {
		hint = req.Hints.Competence
	}
	if pred == nil {
		if hint != "" {
			d.Reasons = append(d.Reasons, casestore.Reason{Code: "hint",
				Detail: "compétence indiquée à la saisie (" + req.Channel + ") : " + hint})
			return hint
		}
		d.Reasons = append(d.Reasons, casestore.Reason{Code: "triage", Detail: "aucune compétence indiquée : file de tri humain"})
		return schemas.CompetenceTriage
	}
	conf := pred.Probability
	d.Confidence = &conf
	d.Reasons = append(d.Reasons, casestore.Reason{Code: "classifier", Detail: pred.Explain()})
	for _, h := range pred.Rules {
		d.Reasons = append(d.Reasons, casestore.Reason{Code: "rule",
			Detail: fmt.Sprintf("règle du catalogue « %s » → %s (%+.1f), lu « %s »", h.Phrase, h.Competence, h.Weight, h.Words)})
	}
	if hint != "" {
		hp := probabilityOf(pred, hint)
		if hint == pred.Competence || pred.Probability < 0.9 || hp >= 0.05 {
			d.Reasons = append(d.Reasons, casestore.Reason{Code: "hint",
				Detail: fmt.Sprintf("compétence indiquée à la saisie (%s) : %s, retenue (classifieur : %.0f %%)", req.Channel, hint, hp*100)})
			d.Confidence = &hp
			return hint
		}
		d.Reasons = append(d.Reasons, casestore.Reason{Code: "hint_overruled",
			Detail: fmt.Sprintf("compétence indiquée à la saisie : %s, écartée (classifieur : %.0f %% contre %.0f %% pour %s)", hint, hp*100, pred.Probability*100, pred.Competence)})
	}
	if pred.Evidence < minEvidence && len(pred.Rules) == 0 {
		d.Reasons = append(d.Reasons, casestore.Reason{Code: "triage", Detail: fmt.Sprintf(
			"texte trop pauvre pour décider (%d terme(s) connu(s)) : file de tri humain (hypothèses : %s)", pred.Evidence, guesses(pred))})
		return schemas.CompetenceTriage
	}
	if pred.Probability < e.cfg.TriageBelow {
		d.Reasons = append(d.Reasons, casestore.Reason{Code: "triage", Detail: fmt.Sprintf(
			"confiance %.0f %% sous le seuil de %.0f %% : file de tri humain (hypothèses : %s)",
			pred.Probability*100, e.cfg.TriageBelow*100, guesses(pred))})
		return schemas.CompetenceTriage
	}
	return pred.Competence
}

// minEvidence is the fewest known terms a text needs for the classifier's
// answer to count: "pouvez-vous me rappeler ?" says nothing of a competence.
const minEvidence = 3

// guesses lists the classifier's three best competences.
func guesses(p *classify.Prediction) string {
	var g []string
	for _, s := range p.Ranked[:min(3, len(p.Ranked))] {
		g = append(g, fmt.Sprintf("%s %.0f %%", s.Competence, s.Probability*100))
	}
	return strings.Join(g, ", ")
}

func probabilityOf(p *classify.Prediction, competence string) float64 {
	for _, s := range p.Ranked {
		if s.Competence == competence {
			return s.Probability
		}
	}
	return 0
}

// territory resolves the place the request is about (see place) and
// records how. A request that names no place and joins case ref is about
// that case's territory (caseTerr): a reminder without an address is still
// about the pothole of the first letter.
func (e *Engine) territory(where located, caseTerr, ref string, d *casestore.Decision) string {
	res, why, ok := where.res, where.why, where.ok
	if !ok && ref != "" && caseTerr != "" {
		d.Reasons = append(d.Reasons, casestore.Reason{Code: "territory", Detail: "aucun lieu dans la demande : territoire du dossier " + ref + " qu'elle rejoint"})
		return caseTerr
	}
	if !ok {
		d.Reasons = append(d.Reasons, casestore.Reason{Code: "territory_unknown", Detail: "aucun lieu reconnu dans la Métropole"})
		return ""
	}
	d.Reasons = append(d.Reasons, casestore.Reason{Code: "territory", Detail: why + res.Reason})
	return res.Territory
}

// located is where a request is about, found once (see place).
type located struct {
	res territory.Resolution
	why string
	ok  bool
}

func (e *Engine) locate(req schemas.Request) located {
	res, why, ok := e.place(req)
	return located{res, why, ok}
}

// place finds where a request is about: the commune or postal code the
// channel gave, else a place named in the text, else the citizen's own
// postal code. A letter's place comes from its body first, since its
// address block names where the sender lives.
func (e *Engine) place(req schemas.Request) (territory.Resolution, string, bool) {
	var insee, pc string
	if req.Location != nil {
		insee, pc = req.Location.CommuneINSEE, req.Location.PostalCode
	}
	type source struct{ insee, pc, why string }
	var sources []source
	f := e.facts.Extract(classify.TextOf(req))
	if f.CommuneINSEE == "" && f.PostalCode == "" && len(req.Transcript) > 0 {
		// The agent often says the place back ("d'accord, à Meyrargues"),
		// spelled right where speech-to-text garbled the caller's words.
		var turns []string
		for _, t := range req.Transcript {
			turns = append(turns, t.Text)
		}
		f = e.facts.Extract(strings.Join(turns, "\n"))
	}
	fromText := source{f.CommuneINSEE, f.PostalCode, "lieu cité dans le texte, "}
	var weak source
	if f.PlaceWeak {
		// Named only as a destination ("le car pour Marseille"): where
		// the citizen lives says more.
		fromText, weak = source{}, source{f.CommuneINSEE, f.PostalCode, "seul lieu cité, comme destination, "}
	}
	if req.Channel == schemas.ChannelMail {
		sources = append(sources, fromText, source{insee, pc, ""})
	} else {
		sources = append(sources, source{insee, pc, ""}, fromText)
	}
	if req.Citizen != nil && req.Citizen.Address != nil {
		sources = append(sources, source{"", req.Citizen.Address.PostalCode, "adresse du demandeur, "})
	}
	sources = append(sources, weak)
	for _, s := range sources {
		if s.insee == "" && s.pc == "" {
			continue
		}
		if res, ok := e.places.Resolve(s.insee, s.pc); ok {
			return res, s.why, true
		}
	}
	return territory.Resolution{}, "", false
}

// inCommune says whether request r is about the commune of res.
func (e *Engine) inCommune(r schemas.Request, res territory.Resolution) bool {
	if res.Commune == nil {
		return false
	}
	rr, _, ok := e.place(r)
	return ok && rr.Commune != nil && rr.Commune.INSEE == res.Commune.INSEE
}

func (e *Engine) event(req schemas.Request, c casestore.CaseRow, typ string, d casestore.Decision) schemas.CaseEvent {
	id, _ := uuid.NewV7()
	data := map[string]any{"outcome": d.Outcome}
	if d.Follows != "" {
		data["follows"] = d.Follows
	}
	if d.Proposed != "" {
		data["proposed_case"] = d.Proposed
	}
	if d.Confidence != nil {
		data["confidence"] = *d.Confidence
	}
	var reasons []string
	for _, r := range d.Reasons {
		reasons = append(reasons, r.Detail)
	}
	data["reasons"] = reasons
	return schemas.CaseEvent{
		ID:         id.String(),
		Schema:     schemas.CaseEventV1,
		Type:       typ,
		At:         e.now().UTC().Truncate(time.Millisecond),
		Actor:      schemas.Actor{Kind: "router", ID: e.Version()},
		Competence: c.Competence,
		Territory:  c.Territory,
		State:      c.State,
		RequestID:  req.ID,
		Channel:    req.Channel,
		Summary:    summary(req),
		Data:       data,
	}
}
