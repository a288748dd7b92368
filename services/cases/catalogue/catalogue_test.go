package catalogue

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

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
	if len(c.Competences) != 14 {
		t.Errorf("%d competences, want the 13 of the design and the requests about personal data", len(c.Competences))
	}
	if got := c.ServiceFor("triage"); got != c.Organisation.ServiceDesk {
		t.Errorf("ServiceFor(triage) = %q", got)
	}
	if got := c.ServiceFor("voirie"); got != "Direction de la voirie" {
		t.Errorf("ServiceFor(voirie) = %q", got)
	}
}

func TestWorkflowSettings(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Competences) != 14 {
		t.Fatalf("%d competences", len(c.Competences))
	}
	for _, k := range c.Competences {
		if len(k.Teams) != 6 {
			t.Errorf("%s: %d teams, want one per territory", k.Code, len(k.Teams))
		}
		if len(k.Rules) < 20 {
			t.Errorf("%s: %d routing rules", k.Code, len(k.Rules))
		}
	}
	if b := c.Budget("voirie", "urgent"); b != 4*time.Hour {
		t.Errorf("voirie urgent %v", b)
	}
	if b := c.Budget("habitat", "normal"); b != 45*time.Hour {
		t.Errorf("habitat normal %v", b)
	}
	if b := c.Budget("triage", "normal"); b != 9*time.Hour {
		t.Errorf("triage %v", b)
	}
	if team, ok := c.Team("dechets", "pays-d-aix"); !ok || team.SupervisorEmail == "" {
		t.Errorf("team %+v %v", team, ok)
	}
	if _, ok := c.Team("dechets", "lune"); ok {
		t.Error("team on an unknown territory")
	}
	if got := c.RequiredBeforeQualification("voirie"); len(got) != 1 || got[0] != "territory" {
		t.Errorf("required %v", got)
	}
	if got := c.RequiredBeforeQualification("hors_competence"); len(got) != 0 {
		t.Errorf("required for hors_competence %v", got)
	}
	if len(c.Templates("voirie")) < 4 {
		t.Errorf("templates %v", c.Templates("voirie"))
	}
}

func TestLoadRefusesABadFileNamingTheLine(t *testing.T) {
	good, err := os.ReadFile("catalogue.json")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, tc := range map[string]struct{ from, to, says string }{
		"bad e-mail":     {`"supervisor_email": "encadrement.voirie.mp@ampmetropole.fr"`, `"supervisor_email": "pas une adresse"`, "/competences/0/teams/0/supervisor_email"},
		"unknown field":  {`"triage_deadline": "9h",`, `"triage_deadline": "9h", "couleur": "bleu",`, "/defaults"},
		"bad deadline":   {`"normal": "45h"`, `"normal": "45 heures"`, "/defaults/deadlines/normal"},
		"not JSON":       {`"organisation": {`, `"organisation": {{`, "JSON"},
		"duplicate team": {`"territory": "pays-d-aix"`, `"territory": "marseille-provence"`, "deux équipes"},
	} {
		data := strings.Replace(string(good), tc.from, tc.to, 1)
		if data == string(good) {
			t.Fatalf("%s: nothing replaced", name)
		}
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".json")
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Load(path)
		if err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: %v, want it to say %q", name, err, tc.says)
		}
		if name == "bad e-mail" && !strings.Contains(err.Error(), "ligne ") {
			t.Errorf("%s: no line number in %v", name, err)
		}
	}
	if _, err := Load(filepath.Join(dir, "absent.json")); err == nil {
		t.Error("missing file accepted")
	}
}

// TestSchemasListTheDefaultCompetences: the competence lists of the JSON
// Schemas are the default catalogue's codes (with "triage" where a case may
// wait for a person to choose), no more, so that telephony, the API and the
// router, which ask the catalogue, and the bus contract agree.
func TestSchemasListTheDefaultCompetences(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, k := range c.Competences {
		codes = append(codes, k.Code)
	}
	slices.Sort(codes)
	for _, tt := range []struct {
		file   string
		triage bool
	}{
		{"request.v1.schema.json", false},
		{"case-event.v1.schema.json", true},
	} {
		raw, err := os.ReadFile(filepath.Join("..", "..", "..", "schemas", tt.file))
		if err != nil {
			t.Fatal(err)
		}
		var schema struct {
			Defs struct {
				Competence struct {
					Enum []string `json:"enum"`
				} `json:"competence"`
			} `json:"$defs"`
			Properties struct {
				Competence struct {
					Enum []string `json:"enum"`
				} `json:"competence"`
			} `json:"properties"`
		}
		if err := json.Unmarshal(raw, &schema); err != nil {
			t.Fatal(err)
		}
		enum := slices.Concat(schema.Defs.Competence.Enum, schema.Properties.Competence.Enum)
		slices.Sort(enum)
		want := codes
		if tt.triage {
			want = slices.Concat(codes, []string{"triage"})
			slices.Sort(want)
		}
		if !slices.Equal(enum, want) {
			t.Errorf("%s lists the competences %v, want %v", tt.file, enum, want)
		}
	}
}
