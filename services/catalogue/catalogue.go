// Package catalogue describes what the Métropole handles: its competences
// with the labels and services citizens see, and how to reach it. The
// default catalogue is embedded; the harmonized workflows extend it.
package catalogue

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

//go:embed catalogue.json
var defaultJSON []byte

// Organisation says how citizens reach the authority.
type Organisation struct {
	Name                  string `json:"name"`
	ServiceDesk           string `json:"service_desk"`
	Phone                 string `json:"phone"`
	Address               string `json:"address"`
	Hours                 string `json:"hours"`
	DataProtectionContact string `json:"data_protection_contact"`
}

// Competence is one of the Métropole's fields of action.
type Competence struct {
	Code    string `json:"code"`
	Label   string `json:"label"`
	Help    string `json:"help"`
	Service string `json:"service"`
	Rules   []Rule `json:"rules,omitempty"`
}

// Rule is a phrase pointing to a competence (positive weight) or away from
// it (negative), for the router's rules layer.
type Rule struct {
	Phrase string  `json:"phrase"`
	Weight float64 `json:"weight"`
}

// Catalogue is the list of competences and the organisation's contacts.
type Catalogue struct {
	Organisation Organisation `json:"organisation"`
	Competences  []Competence `json:"competences"`
	byCode       map[string]Competence
}

// Default returns the embedded catalogue.
func Default() (*Catalogue, error) { return parse(defaultJSON) }

// Load reads a catalogue file (GUICHET_CATALOGUE), so that the rules can be
// tuned without a rebuild.
func Load(path string) (*Catalogue, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("catalogue: %w", err)
	}
	c, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return c, nil
}

func parse(data []byte) (*Catalogue, error) {
	var c Catalogue
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("catalogue: %w", err)
	}
	c.byCode = make(map[string]Competence, len(c.Competences))
	for _, k := range c.Competences {
		if k.Code == "" || k.Label == "" || k.Service == "" {
			return nil, fmt.Errorf("catalogue: competence %q lacks a code, label or service", k.Code)
		}
		for _, r := range k.Rules {
			if strings.TrimSpace(r.Phrase) == "" || r.Weight < -5 || r.Weight > 5 {
				return nil, fmt.Errorf("catalogue: %s : règle %q invalide (phrase non vide, poids entre -5 et 5)", k.Code, r.Phrase)
			}
		}
		c.byCode[k.Code] = k
	}
	return &c, nil
}

// Known says whether a competence code exists.
func (c *Catalogue) Known(code string) bool {
	_, ok := c.byCode[code]
	return ok
}

// Competence returns the competence with that code.
func (c *Catalogue) Competence(code string) (Competence, bool) {
	k, ok := c.byCode[code]
	return k, ok
}

// ServiceFor names the service that handles a competence, or the service
// desk when the competence is unknown (triage, or not chosen yet).
func (c *Catalogue) ServiceFor(code string) string {
	if k, ok := c.byCode[code]; ok {
		return k.Service
	}
	return c.Organisation.ServiceDesk
}

// stateLabels name the lifecycle's states for citizens and agents.
var stateLabels = map[string]string{
	"received":    "reçue, en attente de prise en charge",
	"qualified":   "prise en charge par le service",
	"in_progress": "en cours de traitement",
	"waiting":     "en attente d'un complément",
	"resolved":    "résolue",
	"closed":      "close",
	"rejected":    "rejetée",
	"redirected":  "transmise à l'organisme compétent",
	"merged":      "regroupée avec une autre demande",
}

// StateLabel names a case state in French.
func StateLabel(state string) string {
	if l, ok := stateLabels[state]; ok {
		return l
	}
	return state
}
