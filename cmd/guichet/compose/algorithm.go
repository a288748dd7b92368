package compose

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/catalogue"
	"github.com/ampmetropole/guichet/services/channels/web/webform"
	"github.com/ampmetropole/guichet/services/routing/classify"
	"github.com/ampmetropole/guichet/services/tools/routeeval"
)

// algorithm gives /algorithme its figures: the model in service, the
// evaluation shipped with it (route-eval's report) and the router's
// decisions of the last 90 days as people left them, counted at most
// every quarter of an hour (a count over the decisions of three months).
type algorithm struct {
	model   *classify.Model
	triage  float64
	eval    routeeval.Report
	cat     *catalogue.Catalogue
	store   *casestore.Store
	mu      sync.Mutex
	live    casestore.DecisionFigures
	countAt time.Time
}

// algorithmWindow is how far back the live figures count.
const algorithmWindow = 90 * 24 * time.Hour

func newAlgorithm(m *classify.Model, triageBelow float64, cat *catalogue.Catalogue, store *casestore.Store) (*algorithm, error) {
	var rep routeeval.Report
	if err := json.Unmarshal(classify.ShippedEvaluation(), &rep); err != nil {
		return nil, fmt.Errorf("compose: the shipped evaluation: %w", err)
	}
	if triageBelow <= 0 {
		triageBelow = 0.6 // the router's default (router.EngineConfig)
	}
	return &algorithm{model: m, triage: triageBelow, eval: rep, cat: cat, store: store}, nil
}

var channelNames = map[string]string{"web": "Formulaire en ligne", "phone": "Téléphone", "mail": "Courrier", "email": "Courriel",
	"open311": "Application partenaire", "counter": "Accueil d'une mairie"}

// Facts are the page's figures.
func (a *algorithm) Facts(ctx context.Context) (webform.AlgorithmFacts, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if time.Since(a.countAt) > 15*time.Minute {
		live, err := a.store.DecisionFiguresSince(ctx, time.Now().Add(-algorithmWindow))
		if err != nil {
			return webform.AlgorithmFacts{}, err
		}
		a.live, a.countAt = live, time.Now()
	}
	f := webform.AlgorithmFacts{ModelVersion: "router-v1/" + a.model.Version, TrainedAt: a.model.TrainedAt, Examples: a.model.Corpus.Examples,
		TriageBelow: a.triage, EvalN: a.eval.N, EvalAccuracy: a.eval.Accuracy, EvalAuto: a.eval.AutoPrecision,
		EvalTriage: a.eval.TriageRate, EvalGap: a.eval.ChannelGap, EvalVersion: a.eval.ModelVersion,
		Since: a.live.Since, Routed: a.live.Routed, ToTriage: a.live.ToTriage, Auto: a.live.Auto, Changed: a.live.Changed}
	for _, k := range a.cat.Competences {
		st, ok := a.eval.PerCompetence[k.Code]
		if !ok && a.model.Corpus.PerClass[k.Code] == 0 {
			continue
		}
		f.PerCompetence = append(f.PerCompetence, webform.AlgorithmRow{Label: k.Label, Examples: a.model.Corpus.PerClass[k.Code],
			N: st.Support, Precision: st.Precision, Recall: st.Recall})
	}
	for _, ch := range []string{"web", "phone", "mail", "email", "open311", "counter"} {
		if g, ok := a.eval.PerChannel[ch]; ok {
			f.PerChannel = append(f.PerChannel, webform.AlgorithmRow{Label: channelNames[ch], N: g.N, Accuracy: g.Accuracy, Triage: g.TriageRate})
		}
	}
	return f, nil
}
