// Package seed makes synthetic but realistic case histories — years of
// requests from the team's corpus texts, the competences and territories in
// the proportions a metropolis sees, returning citizens, follow-ups, cases
// at every stage of their lifecycle with their deadlines — so that the back
// office can be measured and shown at the volume of a real service.
// Everything it makes is marked: the requests' source adapter is "seed" and
// the citizens' addresses are in the reserved domain exemple.invalid.
package seed

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/lifecycle"
	"github.com/ampmetropole/guichet/services/cases/territory"
	"github.com/ampmetropole/guichet/services/intake"
	"github.com/ampmetropole/guichet/services/tools/corpus"
)

// Template is a request text of the corpus with its competence.
type Template struct {
	Req        schemas.Request
	Competence string
}

// Templates builds each corpus record into the request its channel would
// publish, once: seeding then only copies them.
func Templates(ctx context.Context, recs []corpus.Record, b *corpus.Builder) ([]Template, error) {
	at := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	out := make([]Template, 0, len(recs))
	for _, r := range recs {
		req, err := b.Request(ctx, r, at)
		if err != nil {
			return nil, fmt.Errorf("seed: %w", err)
		}
		req.Attachments = nil // the scans are not in the corpus
		out = append(out, Template{Req: req, Competence: r.Competence})
	}
	return out, nil
}

// competenceWeights are the shares of requests by competence, roughly those
// of a metropolis's contact centre: waste and roads first.
var competenceWeights = map[string]int{
	"dechets": 22, "voirie": 18, "proprete": 12, "eau_assainissement": 9, "eclairage": 8, "mobilite": 8,
	"stationnement": 6, "espaces_verts": 5, "urbanisme": 4, "habitat": 3, "environnement": 3, "economie": 1,
	"hors_competence": 1,
}

// territoryWeights follow the territories' populations.
var territoryWeights = map[string]int{
	"marseille-provence": 58, "pays-d-aix": 21, "pays-salonais": 7, "pays-d-aubagne-etoile": 6,
	"istres-ouest-provence": 5, "pays-de-martigues": 4,
}

// deadlines by priority, as the catalogue sets them for most requests.
var deadlines = map[string]time.Duration{"urgent": 24 * time.Hour, "high": 5 * 24 * time.Hour, "normal": 15 * 24 * time.Hour, "low": 30 * 24 * time.Hour}

var (
	firstNames = strings.Fields(`Léa Marcel Fatima Jean Camille Nadia Pierre Sophie Karim Chloé Louis Inès Paul Manon Hugo
		Yasmine Lucas Emma Thomas Sarah Nicolas Julie Mehdi Claire Antoine Amandine Rachid Océane Bernard Monique Gérard
		Aïcha Julien Laura Vincent Élodie Mathieu Samia Olivier Nathalie`)
	lastNames = strings.Fields(`Martinez Giraud Benali Rossi Garcia Dupont Ferrari Lopez Martin Bernard Roux Fabre Blanc
		Mercier Bonnet Girard André Lefebvre Moreau Fournier Chabert Ricard Nicolas Arnaud Castellan Imbert Barthélemy
		Gauthier Perrin Brun Meyer Haddad Santini Orsini Coste Mathieu Aubert Reynaud Pellegrin Olivieri`)
	assignees = strings.Fields(`a.martin b.roux c.fabre d.blanc e.mercier f.bonnet g.girard h.andre`)
)

// Generator makes batches of synthetic cases opened over the years before
// Now. It is deterministic for a given seed.
type Generator struct {
	byCompetence map[string][]Template
	competences  []string // weighted draw
	territories  []string // weighted draw
	communes     map[string][]*territory.Commune
	places       *territory.Directory
	rnd          *rand.Rand
	secret       []byte
	now          time.Time
	span         time.Duration
	n            int
	seed         uint64
	total        int
}

// Options tune a Generator.
type Options struct {
	Now   time.Time     // the most recent case opens before it
	Years time.Duration // how far back cases open; default three years
	Seed  uint64
	// Cases is how many cases the run will make, spread oldest first over
	// the years; 0 draws each opening date at random.
	Cases int
}

// New returns a generator drawing texts from templates.
func New(templates []Template, places *territory.Directory, opt Options) (*Generator, error) {
	g := &Generator{byCompetence: map[string][]Template{}, communes: map[string][]*territory.Commune{}, places: places,
		rnd: rand.New(rand.NewPCG(opt.Seed, opt.Seed^0x9e3779b97f4a7c15)), now: opt.Now, span: opt.Years, seed: opt.Seed, total: opt.Cases}
	if g.span <= 0 {
		g.span = 3 * 365 * 24 * time.Hour
	}
	for _, t := range templates {
		g.byCompetence[t.Competence] = append(g.byCompetence[t.Competence], t)
	}
	for c, w := range competenceWeights {
		if len(g.byCompetence[c]) == 0 {
			continue
		}
		for range w {
			g.competences = append(g.competences, c)
		}
	}
	if len(g.competences) == 0 {
		return nil, fmt.Errorf("seed: aucun texte pour les compétences connues")
	}
	slices.Sort(g.competences) // map order must not change the draw
	for t, w := range territoryWeights {
		for range w {
			g.territories = append(g.territories, t)
		}
	}
	slices.Sort(g.territories)
	for _, c := range places.Communes() {
		g.communes[c.Territory] = append(g.communes[c.Territory], c)
	}
	g.secret = fmt.Appendf(nil, "seed-%d", opt.Seed)
	return g, nil
}

// Batch makes n cases. About one citizen in six comes back with another
// matter within the batch; about one case in five has a follow-up.
func (g *Generator) Batch(n int) casestore.SeedBatch {
	var b casestore.SeedBatch
	for range n {
		b.Cases = append(b.Cases, g.one(&b))
	}
	return b
}

func (g *Generator) pick(xs []string) string { return xs[g.rnd.IntN(len(xs))] }

func (g *Generator) one(b *casestore.SeedBatch) casestore.SeedCase {
	g.n++
	comp := g.pick(g.competences)
	tpl := g.byCompetence[comp][g.rnd.IntN(len(g.byCompetence[comp]))]
	// Opening times: a steady flow over the years, in office hours, in
	// the order of arrival (as a real database has them on disk) when the
	// total is known.
	pos := g.rnd.Float64()
	if g.total > 0 {
		pos = 1 - (float64(g.n)-0.5)/float64(g.total)
	}
	age := time.Duration(float64(g.span) * max(pos, 0))
	day := g.now.Add(-age).Truncate(24 * time.Hour)
	opened := day.Add(time.Duration(7*3600+g.rnd.IntN(11*3600)) * time.Second)
	if !opened.Before(g.now) {
		opened = g.now.Add(-time.Duration(1+g.rnd.IntN(3600)) * time.Second)
	}
	c := casestore.SeedCase{Competence: comp, Priority: "normal", OpenedAt: opened, Citizen: -1, Confidence: 0.6 + 0.4*g.rnd.Float64()}
	switch p := g.rnd.IntN(100); {
	case p < 3:
		c.Priority = "urgent"
	case p < 15:
		c.Priority = "high"
	case p < 25:
		c.Priority = "low"
	}

	req := tpl.Req
	terr := ""
	if req.Location != nil && req.Location.CommuneINSEE != "" {
		if com, ok := g.places.ByINSEE(req.Location.CommuneINSEE); ok {
			terr = com.Territory
		}
	}
	if terr == "" {
		terr = g.pick(g.territories)
		if list := g.communes[terr]; len(list) > 0 && g.rnd.IntN(3) > 0 {
			com := list[g.rnd.IntN(len(list))]
			loc := schemas.Location{CommuneINSEE: com.INSEE}
			if len(com.PostalCodes) > 0 {
				loc.PostalCode = com.PostalCodes[0]
			}
			req.Location = &loc
		}
	}
	c.Territory = terr

	// A returning citizen, a new one, or nobody (anonymous calls, letters
	// without a name).
	switch r := g.rnd.IntN(100); {
	case r < 12 && len(b.Citizens) > 0:
		c.Citizen = g.rnd.IntN(len(b.Citizens))
	case r < 88:
		c.Citizen = len(b.Citizens)
		b.Citizens = append(b.Citizens, g.citizen())
	}
	// The router leaves the requests it was unsure of to people: recent
	// ones still wait in triage.
	if c.Competence != "hors_competence" && c.Confidence < 0.62 && opened.After(g.now.Add(-14*24*time.Hour)) {
		c.Competence = schemas.CompetenceTriage
	}

	var who *schemas.Citizen
	if c.Citizen >= 0 {
		p := b.Citizens[c.Citizen]
		who = &schemas.Citizen{Name: p.Name, Email: p.Email, Phone: p.Phone}
	}
	first := g.request(req, who, opened, 0)
	c.Requests = append(c.Requests, first)
	c.Events = append(c.Events, schemas.CaseEvent{Type: schemas.EventCreated, At: opened.Add(800 * time.Millisecond),
		Actor: schemas.Actor{Kind: "router", ID: "router-seed"}, State: lifecycle.Received, RequestID: first.ID,
		Channel: first.Channel, Summary: summary(first), Data: map[string]any{"outcome": "new_case"}})
	g.lifecycle(&c)
	return c
}

// lifecycle takes the case as far as its age makes likely, with the
// follow-ups and replies on the way.
func (g *Generator) lifecycle(c *casestore.SeedCase) {
	due := c.OpenedAt.Add(deadlines[c.Priority])
	c.Deadline = &due
	at := c.Events[0].At
	state := lifecycle.Received
	defer func() { c.State, c.UpdatedAt = state, at }()
	step := func(to string, after time.Duration, data map[string]any) bool {
		next := at.Add(after)
		if !next.Before(g.now) {
			return false
		}
		if data == nil {
			data = map[string]any{}
		}
		data["from"], data["to"], data["reason"] = state, to, ""
		at, state = next, to
		c.Events = append(c.Events, schemas.CaseEvent{Type: schemas.EventStateChanged, At: at, Actor: g.agent(c),
			State: to, Summary: lifecycle.Label(data["from"].(string)) + " → " + lifecycle.Label(to), Data: data})
		return true
	}
	hours := func(lo, hi int) time.Duration { return time.Duration(lo+g.rnd.IntN(hi-lo+1)) * time.Hour }

	if c.Competence == schemas.CompetenceTriage {
		return // waiting for a supervisor
	}
	if c.Competence == "hors_competence" {
		if step(lifecycle.Redirected, hours(2, 72), map[string]any{"redirect_to": "la commune"}) {
			c.Deadline = nil
		}
		return
	}
	if g.rnd.IntN(100) < 4 && step(lifecycle.Rejected, hours(4, 96), nil) {
		c.Deadline = nil
		return
	}
	if g.rnd.IntN(100) < 35 {
		c.Assignee = g.pick(assignees)
	}
	// Teams answer in a time that spreads around the deadline: some late.
	work := time.Duration(float64(deadlines[c.Priority]) * (0.2 + 1.1*g.rnd.Float64()))
	if step(lifecycle.Qualified, hours(1, 48), nil) && step(lifecycle.InProgress, hours(2, 72), nil) {
		if g.rnd.IntN(100) < 10 && step(lifecycle.Waiting, hours(24, 120), map[string]any{"waiting_on": "citizen"}) {
			step(lifecycle.InProgress, hours(24, 240), nil)
		}
		if c.Citizen >= 0 && g.rnd.IntN(100) < 25 {
			follow := c.Requests[0]
			follow.Channel = g.pick([]string{schemas.ChannelPhone, schemas.ChannelWeb, schemas.ChannelWeb, schemas.ChannelEmail})
			follow.Subject = "Relance : " + summary(c.Requests[0])
			follow.Body = "Bonjour, je reviens vers vous au sujet de ma demande du " + c.OpenedAt.Format("02/01/2006") +
				". Rien n'a changé depuis. Pouvez-vous me dire où en est le dossier ? Merci."
			follow.Transcript, follow.Attachments = nil, nil
			if follow.Channel == schemas.ChannelPhone {
				follow.Transcript = []schemas.Turn{{Speaker: "caller", Text: follow.Body}}
			}
			r := g.request(follow, follow.Citizen, at.Add(hours(24, 200)), len(c.Requests))
			if r.ReceivedAt.Before(g.now) {
				at = r.ReceivedAt.Add(time.Second)
				c.Requests = append(c.Requests, r)
				c.Events = append(c.Events, schemas.CaseEvent{Type: schemas.EventRequestLinked, At: at,
					Actor: schemas.Actor{Kind: "router", ID: "router-seed"}, State: state, RequestID: r.ID, Channel: r.Channel,
					Summary: "relance de l'usager", Data: map[string]any{"outcome": "linked"}})
			}
		}
		if step(lifecycle.Resolved, work, nil) {
			c.Deadline = nil
			c.Events = append(c.Events, schemas.CaseEvent{Type: schemas.EventReplied, At: at.Add(time.Minute), Actor: g.agent(c),
				State: state, Summary: "réponse par courriel", Data: map[string]any{"channel": "email", "subject": "Votre demande",
					"message": "Bonjour, l'intervention a été réalisée. Cordialement."}})
			at = at.Add(time.Minute)
			step(lifecycle.Closed, hours(24, 24*20), nil)
		}
	}
	if c.Deadline != nil && c.Deadline.Before(g.now) && (state == lifecycle.Received || state == lifecycle.Qualified || state == lifecycle.InProgress) {
		b := *c.Deadline
		c.BreachedAt = &b
	}
	if state == lifecycle.Waiting {
		c.Deadline = nil
	}
}

func (g *Generator) agent(c *casestore.SeedCase) schemas.Actor {
	if c.Assignee != "" {
		return schemas.Actor{Kind: "agent", ID: c.Assignee}
	}
	return schemas.Actor{Kind: "agent", ID: g.pick(assignees)}
}

func (g *Generator) citizen() casestore.SeedCitizen {
	first, last := g.pick(firstNames), g.pick(lastNames)
	c := casestore.SeedCitizen{Name: first + " " + last}
	// Unique across batches and seeds (up to ten million cases a seed):
	// the seed and the generator's counter are in the address and number.
	if g.rnd.IntN(100) < 80 {
		c.Email = fmt.Sprintf("%s.%s.%d.%d@exemple.invalid", ascii(first), ascii(last), g.seed, g.n)
	}
	if g.rnd.IntN(100) < 60 || c.Email == "" {
		c.Phone = fmt.Sprintf("+336%d%07d", g.seed%10, g.n%10_000_000)
	}
	return c
}

// request dates a copy of the template and gives it its own id.
func (g *Generator) request(tpl schemas.Request, who *schemas.Citizen, at time.Time, i int) schemas.Request {
	r := tpl
	r.Schema, r.Language = schemas.RequestV1, "fr"
	r.ReceivedAt = at.UTC().Truncate(time.Millisecond)
	r.ID = intake.KeyedID(g.secret, "seed", fmt.Sprintf("%d-%d", g.n, i), r.ReceivedAt)
	r.TrackingCode = intake.TrackingCode(g.secret, r.ID)
	r.Source = schemas.Source{Adapter: "seed"}
	r.Citizen, r.Hints = who, nil
	return r
}

func summary(r schemas.Request) string {
	s := r.Subject
	if s == "" {
		s = r.Body
	}
	if s == "" && len(r.Transcript) > 0 {
		s = r.Transcript[len(r.Transcript)-1].Text
	}
	if rs := []rune(s); len(rs) > 120 {
		s = string(rs[:120]) + "…"
	}
	return s
}

var asciiFold = strings.NewReplacer("é", "e", "è", "e", "ë", "e", "ï", "i", "î", "i", "à", "a", "ç", "c", "ô", "o", "É", "E")

func ascii(s string) string { return strings.ToLower(asciiFold.Replace(s)) }

// Writer stores batches (casestore.Store).
type Writer interface {
	Seed(ctx context.Context, b casestore.SeedBatch) ([]string, error)
}

// Run makes n cases in batches of size and writes them with workers
// writers in parallel (the database does the text indexing, so two writers
// keep a two-core machine busy). progress, when set, is called after each
// batch with the number of cases written so far.
func Run(ctx context.Context, w Writer, g *Generator, n, size, workers int, progress func(done int)) error {
	if size <= 0 {
		size = 2000
	}
	workers = max(workers, 1)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	batches := make(chan casestore.SeedBatch, workers)
	go func() {
		defer close(batches)
		for left := n; left > 0; left -= size {
			select {
			case batches <- g.Batch(min(size, left)):
			case <-ctx.Done():
				return
			}
		}
	}()
	var mu sync.Mutex
	done := 0
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for b := range batches {
				if ctx.Err() != nil {
					continue // drain
				}
				if _, err := w.Seed(ctx, b); err != nil {
					cancel(err)
					continue
				}
				mu.Lock()
				done += len(b.Cases)
				if progress != nil {
					progress(done)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	return nil
}
