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
