// Package catalogue describes what the Métropole handles and how every
// competence works, the same way: its label and service, its teams per
// territory with their supervisors, deadlines per priority (business
// hours), the fields required before a case is qualified, reply templates
// and the routing rules, and how long personal data is kept (retention.go).
// The file is checked against
// schemas/catalogue.v1.schema.json when loaded, each error naming its line.
// The default catalogue is embedded; GUICHET_CATALOGUE points to another.
package catalogue

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/deadline"
)

//go:embed catalogue.json
var defaultJSON []byte

// Organisation says how citizens reach the authority.
type Organisation struct {
	Name                  string `json:"name"`
	ServiceDesk           string `json:"service_desk"`
	ServiceDeskArticle    string `json:"service_desk_article,omitempty"` // "le"; "": derived from the name
	Phone                 string `json:"phone"`
	Address               string `json:"address"`
	Hours                 string `json:"hours"`
	DataProtectionContact string `json:"data_protection_contact"`
}

// Competence is one of the Métropole's fields of action.
type Competence struct {
	Code               string     `json:"code"`
	Label              string     `json:"label"`
	Help               string     `json:"help"`
	Service            string     `json:"service"`
	ServiceArticle     string     `json:"service_article,omitempty"` // "la" Direction de la voirie; "": derived from the name
	Deadlines          *Deadlines `json:"deadlines,omitempty"`       // nil: the defaults
	RequiredBeforeQual []string   `json:"required_before_qualification,omitempty"`
	ReplyTemplates     []Template `json:"reply_templates,omitempty"`
	Teams              []Team     `json:"teams"`
	Rules              []Rule     `json:"rules,omitempty"`
}

// Deadlines are business hours per priority ("8h", "45h").
type Deadlines struct {
	Urgent string `json:"urgent"`
	High   string `json:"high"`
	Normal string `json:"normal"`
	Low    string `json:"low"`
}

// Template is a reply to citizens with {{greeting}}, {{ref}}, {{service}},
// {{the_service}}, {{details}}, {{phone}} and {{redirect_to}} to fill in
// ([Catalogue.Fill]).
type Template struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	Body  string `json:"body"`
}

// Team handles a competence on a territory.
type Team struct {
	Territory       string `json:"territory"`
	Name            string `json:"name"`
	Email           string `json:"email"`
	SupervisorEmail string `json:"supervisor_email"`
}

// Defaults apply to every competence that does not say otherwise.
type Defaults struct {
	Deadlines          Deadlines  `json:"deadlines"`
	TriageDeadline     string     `json:"triage_deadline"`
	RequiredBeforeQual []string   `json:"required_before_qualification"`
	ReplyTemplates     []Template `json:"reply_templates"`
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
	Defaults     Defaults     `json:"defaults"`
	Competences  []Competence `json:"competences"`
	// Retention is the retention schedule; a catalogue that states none
	// has [DefaultRetention].
	Retention Retention `json:"retention"`
	// CommunalMatters are the matters outside the Métropole's remit that
	// are the communes' (noise between neighbours, civil status,
	// schools…): a request about one is handed over to the mairie of the
	// commune it is located in.
	CommunalMatters []CommunalMatter `json:"communal_matters,omitempty"`
	byCode          map[string]Competence
}

// CommunalMatter is a matter the communes handle, and the words that name
// it (lower case, without accents; several words are an expression).
type CommunalMatter struct {
	Code  string   `json:"code"`
	Label string   `json:"label"`
	Words []string `json:"words"`
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
	v, err := schemas.NewValidator()
	if err != nil {
		return nil, fmt.Errorf("catalogue: %w", err)
	}
	if err := v.ValidateCatalogue(data); err != nil {
		return nil, fmt.Errorf("catalogue: %w", err)
	}
	var c Catalogue
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("catalogue: %w", err)
	}
	if c.Retention == (Retention{}) {
		c.Retention = DefaultRetention()
	}
	if err := c.Retention.check(); err != nil {
		return nil, err
	}
	c.byCode = make(map[string]Competence, len(c.Competences))
	for _, d := range []string{c.Defaults.TriageDeadline, c.Defaults.Deadlines.Urgent, c.Defaults.Deadlines.High, c.Defaults.Deadlines.Normal, c.Defaults.Deadlines.Low} {
		if _, err := deadline.ParseBudget(d); err != nil {
			return nil, fmt.Errorf("catalogue: defaults : %w", err)
		}
	}
	for _, k := range c.Competences {
		if _, dup := c.byCode[k.Code]; dup {
			return nil, fmt.Errorf("catalogue: compétence %s en double", k.Code)
		}
		territories := map[string]bool{}
		for _, t := range k.Teams {
			if territories[t.Territory] {
				return nil, fmt.Errorf("catalogue: %s : deux équipes pour le territoire %s", k.Code, t.Territory)
			}
			territories[t.Territory] = true
		}
		if k.Deadlines != nil {
			for _, d := range []string{k.Deadlines.Urgent, k.Deadlines.High, k.Deadlines.Normal, k.Deadlines.Low} {
				if _, err := deadline.ParseBudget(d); err != nil {
					return nil, fmt.Errorf("catalogue: %s : %w", k.Code, err)
				}
			}
		}
		c.byCode[k.Code] = k
	}
	return &c, nil
}

// Budget is the business hours a case of competence and priority has; a
// case in triage has the triage deadline.
func (c *Catalogue) Budget(competence, priority string) time.Duration {
	d := c.Defaults.Deadlines
	if k, ok := c.byCode[competence]; ok && k.Deadlines != nil {
		d = *k.Deadlines
	}
	s := d.Normal
	switch {
	case competence == "triage":
		s = c.Defaults.TriageDeadline
	case priority == "urgent":
		s = d.Urgent
	case priority == "high":
		s = d.High
	case priority == "low":
		s = d.Low
	}
	b, _ := deadline.ParseBudget(s) // checked when loaded
	return b
}

// RequiredBeforeQualification lists what a case of competence must have
// before it is qualified ("territory", "contact", "location").
func (c *Catalogue) RequiredBeforeQualification(competence string) []string {
	if k, ok := c.byCode[competence]; ok && k.RequiredBeforeQual != nil {
		return k.RequiredBeforeQual
	}
	return c.Defaults.RequiredBeforeQual
}

// Team returns the team of a competence on a territory.
func (c *Catalogue) Team(competence, territory string) (Team, bool) {
	for _, t := range c.byCode[competence].Teams {
		if t.Territory == territory {
			return t, true
		}
	}
	return Team{}, false
}

// Templates lists the replies a competence's team can send: its own, then
// the shared ones.
func (c *Catalogue) Templates(competence string) []Template {
	return append(slices.Clone(c.byCode[competence].ReplyTemplates), c.Defaults.ReplyTemplates...)
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
