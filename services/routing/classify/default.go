package classify

import (
	_ "embed"
	"errors"
)

// defaultModel is the model trained from corpus/ by `guichet train`, shipped
// in the binary; GUICHET_MODEL points to another one.
//
//go:embed model/default.json
var defaultModel []byte

// DefaultModel returns the shipped model.
func DefaultModel() (*Model, error) {
	if len(defaultModel) == 0 {
		return nil, errors.New("classify: aucun modèle livré (lancez guichet train)")
	}
	return ParseModel(defaultModel)
}

// shippedEvaluation is `guichet route-eval --json` of the shipped model on
// the team's labelled evaluation set, regenerated with the model (see
// docs/routing.md): the figures the public page /algorithme shows.
//
//go:embed model/evaluation.json
var shippedEvaluation []byte

// ShippedEvaluation returns the evaluation report of the shipped model, as
// route-eval wrote it (JSON).
func ShippedEvaluation() []byte { return shippedEvaluation }
