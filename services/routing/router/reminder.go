package router

import (
	"regexp"

	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/routing/classify"
)

// reminderWords are how people write or say that they come back about a
// matter they already raised, read on the text folded to lower case
// without accents: "je vous relance", "suite à mon appel", "toujours pas de
// réponse", "j'ai déjà signalé", "c'est la deuxième fois".
var reminderWords = regexp.MustCompile(`\b(` +
	`je (vous )?relance|relance|rappel de ma demande|` +
	`suite a (mon|ma|notre|votre) (appel|coup de fil|coup de telephone|courrier|lettre|message|mail|e-?mail|courriel|demande|signalement|reclamation|visite|passage)|` +
	`toujours (pas|aucune?|rien)( de| d')? ?(reponse|nouvelles?|retour|intervention)|toujours rien|sans (aucune )?(reponse|nouvelles?|retour)|` +
	`je reviens vers vous|je me permets de revenir|je rappelle pour|je vous rappelle pour|` +
	`j'ai deja (appele|ecrit|telephone|signale|fait une demande|envoye)|je vous ai (deja )?(appele|ecrit|telephone|signale|envoye)|` +
	`(deuxieme|troisieme|quatrieme|enieme|2e|3e) (fois|relance|appel|courrier)|` +
	`mon (precedent|dernier|premier) (appel|courrier|message|mail|signalement)|ma (precedente|derniere|premiere) (demande|lettre|reclamation)` +
	`)\b`)

// reminder returns the words by which text says it follows up an earlier
// request, or "".
func reminder(text string) string {
	return reminderWords.FindString(classify.Fold(text))
}

// remindedCase picks, among a citizen's open cases, the one a reminder
// that says too little to be compared is about: the only one the
// classifier does not rule out. A reminder carries few words of its
// matter ("toujours rien depuis mon appel"), so its prediction is weak; a
// case is ruled out when the classifier is sure of another competence
// (at least sure, and the case is neither that competence nor waiting in
// triage). Several cases left: none is chosen, the team links by hand —
// a wrong link costs more than a missed one.
func (e *Engine) remindedCase(open []casestore.OpenCase, pred *classify.Prediction, sure float64) (casestore.OpenCase, bool) {
	var found []casestore.OpenCase
	for _, oc := range open {
		if pred != nil && pred.Probability >= sure && !e.sameCompetence(oc.Competence, pred) {
			continue
		}
		found = append(found, oc)
	}
	if len(found) != 1 {
		return casestore.OpenCase{}, false
	}
	return found[0], true
}
