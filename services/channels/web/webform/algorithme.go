package webform

import (
	"context"
	"net/http"
	"time"

	"github.com/ampmetropole/guichet/services/platform/frtime"
)

// Algorithm tells what the public page /algorithme shows of the router:
// its model, its evaluation and how its decisions fared with people
// (built by the composition root from the model and the database).
type Algorithm interface {
	Facts(ctx context.Context) (AlgorithmFacts, error)
}

// AlgorithmFacts are the figures of /algorithme, none written by hand.
type AlgorithmFacts struct {
	ModelVersion string
	TrainedAt    time.Time
	Examples     int // the training corpus's size
	TriageBelow  float64
	// Evaluation on the team's labelled set (guichet route-eval).
	EvalN         int
	EvalAccuracy  float64
	EvalAuto      float64 // precision of what was routed automatically
	EvalTriage    float64
	EvalGap       float64 // largest accuracy difference between channels
	EvalVersion   string  // the model the evaluation measured
	PerCompetence []AlgorithmRow
	PerChannel    []AlgorithmRow
	// Live: the router's decisions since Since and what people made of
	// them.
	Since                           time.Time
	Routed, ToTriage, Auto, Changed int
}

// AlgorithmRow is one competence's or channel's figures.
type AlgorithmRow struct {
	Label             string
	Examples          int // in the training corpus (competences)
	N                 int // in the evaluation
	Precision, Recall float64
	Accuracy, Triage  float64
}

type algorithmPage struct {
	Title string
	F     AlgorithmFacts
	Date  string // of the training
	Since string
}

// showAlgorithm is /algorithme: the public description of the routing
// (article L312-1-3 of the code of relations between the public and the
// administration), generated from the model and the database.
func (h *Handler) showAlgorithm(w http.ResponseWriter, r *http.Request) {
	f, err := h.deps.Algorithm.Facts(r.Context())
	if err != nil {
		h.unavailable(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "algorithme", algorithmPage{Title: "Le routage automatique des demandes", F: f,
		Date: frtime.Date(f.TrainedAt), Since: frtime.Date(f.Since)})
}
