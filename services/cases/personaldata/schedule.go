package personaldata

import (
	"fmt"

	"github.com/ampmetropole/guichet/services/cases/catalogue"
)

// Period is how long one kind of data is kept, from the catalogue's
// retention schedule.
type Period struct {
	Artifact string `json:"artifact"` // identity, free_text, transcripts, files, outgoing, audit, streams
	Label    string `json:"label"`    // the kind of data, in French
	KeepDays int    `json:"keep_days"`
	From     string `json:"from"` // case_closed, request_received, sent, recorded
	// Counted says in French from when the days are counted.
	Counted string `json:"counted"`
	Why     string `json:"why"`
}

// Schedule is the catalogue's retention schedule, one period per kind of
// data, in the catalogue's order.
func Schedule(cat *catalogue.Catalogue) []Period {
	out := []Period{}
	for _, r := range cat.Retention.Rules() {
		out = append(out, Period{Artifact: r.Artifact, Label: r.Label, KeepDays: r.KeepDays, From: r.From, Counted: CountedFrom(r.From), Why: r.Why})
	}
	return out
}

// CountedFrom says in French from when a retention time is counted.
func CountedFrom(from string) string {
	switch from {
	case catalogue.FromCaseClosed:
		return "après la clôture du dossier"
	case catalogue.FromRequestReceived:
		return "après la réception de la demande"
	case catalogue.FromSent:
		return "après l'envoi"
	case catalogue.FromRecorded:
		return "après l'enregistrement"
	}
	return "à compter de « " + from + " »"
}

// Duration writes a retention time in French: « 1 an », « 90 jours ».
func Duration(days int) string { return daysText(days) }

// CitizenNotice is what the citizens' pages and acknowledgements say of
// the data kept: what, how long, and how to ask for access or erasure.
// Two short paragraphs of plain text, from the catalogue's schedule and
// the organisation's data protection contact.
func CitizenNotice(cat *catalogue.Catalogue) (kept, rights string) {
	r := cat.Retention
	kept = fmt.Sprintf("Vos coordonnées, le texte de votre demande et les pièces jointes sont conservés %s après la clôture de votre dossier, "+
		"puis effacés : seules restent, sans rien qui vous désigne, les données des statistiques du service.",
		daysText(max(r.Identity.KeepDays, r.FreeText.KeepDays, r.Files.KeepDays, r.Transcripts.KeepDays)))
	rights = fmt.Sprintf("Vous pouvez demander à consulter ces données, à les faire rectifier ou effacer : "+
		"écrivez au délégué à la protection des données, %s, ou faites une demande « Données personnelles ».",
		cat.Organisation.DataProtectionContact)
	return kept, rights
}
