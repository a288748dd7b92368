package webform

import (
	"strings"
	"testing"

	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/catalogue"
)

// TestExplainJoinedCase: a request that joined an open case — chosen by
// an agent, citing it, about the same matter, or a reminder — is told so
// in plain words, never in the router's codes.
func TestExplainJoinedCase(t *testing.T) {
	cat, err := catalogue.Default()
	if err != nil {
		t.Fatal(err)
	}
	h := &Handler{deps: Deps{Catalogue: cat}}
	for _, code := range []string{"link", "case_ref", "same_matter", "reminder"} {
		tr := casestore.Tracking{Case: &casestore.CaseSummary{}, Decision: &casestore.TrackingDecision{By: "router", Competence: "voirie",
			Reasons: []casestore.Reason{{Code: code, Detail: "relance (« toujours rien ») du même demandeur"}}}}
		auto, why := h.explain(tr)
		if !auto || len(why) != 1 || !strings.Contains(why[0], "complète un dossier déjà ouvert") {
			t.Errorf("%s: %v %q", code, auto, why)
		}
	}
}
