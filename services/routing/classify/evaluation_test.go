package classify_test

import (
	"encoding/json"
	"testing"

	"github.com/ampmetropole/guichet/services/routing/classify"
)

// TestShippedEvaluationIsTheShippedModels: the evaluation /algorithme
// publishes measured the model shipped beside it. After `guichet train`,
// regenerate it: guichet route-eval --json ../shared/data/dev-requests.jsonl
// > services/routing/classify/model/evaluation.json.
func TestShippedEvaluationIsTheShippedModels(t *testing.T) {
	m, err := classify.DefaultModel()
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		N            int                        `json:"n"`
		ModelVersion string                     `json:"model_version"`
		PerChannel   map[string]json.RawMessage `json:"per_channel"`
	}
	if err := json.Unmarshal(classify.ShippedEvaluation(), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.ModelVersion != "router-v1/"+m.Version || rep.N == 0 || len(rep.PerChannel) == 0 {
		t.Errorf("the shipped evaluation measured %q (%d requests, channels %v), the shipped model is %s: regenerate it",
			rep.ModelVersion, rep.N, len(rep.PerChannel), m.Version)
	}
}
