package catalogue

import (
	"testing"

	"github.com/ampmetropole/guichet/schemas"
)

// TestDefaultCoversTheSchema keeps the catalogue and the request schema's
// competence list in step.
func TestDefaultCoversTheSchema(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	v, err := schemas.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range c.Competences {
		raw := []byte(`{"id":"019ac4e2-5b1a-7c3e-9a10-3f2b6d1e8a99","schema":"request.v1","channel":"web","received_at":"2026-11-27T08:00:00Z",
			"tracking_code":"7KQ4-M2XD-9HPA","source":{"adapter":"t"},"body":"x","language":"fr","hints":{"competence":"` + k.Code + `"}}`)
		if err := v.ValidateRequest(raw); err != nil {
			t.Errorf("competence %s is not in request.v1: %v", k.Code, err)
		}
	}
	if len(c.Competences) != 13 {
		t.Errorf("%d competences, want the 13 of the design", len(c.Competences))
	}
	if got := c.ServiceFor("triage"); got != c.Organisation.ServiceDesk {
		t.Errorf("ServiceFor(triage) = %q", got)
	}
	if got := c.ServiceFor("voirie"); got != "Direction de la voirie" {
		t.Errorf("ServiceFor(voirie) = %q", got)
	}
}
