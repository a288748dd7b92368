package webform

import (
	"strings"

	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/territory"
)

// maxWhy is how many reasons the status page gives: those a person reads,
// not the router's whole record.
const maxWhy = 3

// explain says how the request's team was chosen: by the router (true),
// with up to three reasons in plain French, or by a person.
func (h *Handler) explain(t casestore.Tracking) (bool, []string) {
	d := t.Decision
	if d == nil || t.Case == nil {
		return false, nil
	}
	if d.By != "router" {
		return false, []string{"une personne du service a choisi l'équipe qui traite votre demande"}
	}
	label := d.Competence
	if k, ok := h.deps.Catalogue.Competence(d.Competence); ok {
		label = k.Label
	}
	var why []string
	add := func(s string) {
		for _, w := range why {
			if w == s {
				return
			}
		}
		if len(why) < maxWhy {
			why = append(why, s)
		}
	}
	for _, r := range d.Reasons {
		switch r.Code {
		case "link", "case_ref", "same_matter", "reminder":
			add("votre message complète un dossier déjà ouvert : il a rejoint ce dossier")
		case "hint":
			add("vous avez choisi le domaine « " + label + " »")
		case "rule":
			if phrase, ok := quoted(r.Detail); ok {
				add("votre demande parle de « " + phrase + " », qui relève du domaine « " + label + " »")
			}
		case "classifier":
			add("les mots de votre demande ressemblent à ceux des demandes du domaine « " + label + " »")
		case "incident_competence":
			add("d'autres personnes ont signalé le même problème au même endroit")
		case "communal_matter":
			add("elle relève de votre mairie et non de la Métropole")
		case "territory":
			if n := territory.TerritoryName(t.Case.Territory); n != "" {
				add("le lieu indiqué est dans le territoire " + n)
			}
		case "triage":
			add("le programme n'était pas assez sûr de lui : une personne choisit le service")
		}
	}
	return true, why
}

// quoted is the first text between « and » in s.
func quoted(s string) (string, bool) {
	_, rest, ok := strings.Cut(s, "« ")
	if !ok {
		return "", false
	}
	phrase, _, ok := strings.Cut(rest, " »")
	return phrase, ok && phrase != ""
}
