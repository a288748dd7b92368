package catalogue

import (
	"fmt"
	"time"
)

// Artifacts of the retention schedule: the kinds of personal data Guichet
// keeps, each for its own time.
const (
	ArtifactIdentity    = "identity"    // names, e-mail addresses, phone numbers, postal addresses, places as written
	ArtifactFreeText    = "free_text"   // subjects and texts of requests, replies, notes, reasons, comments, scanned letters' text
	ArtifactTranscripts = "transcripts" // call transcripts
	ArtifactFiles       = "files"       // attachments and scans in the object store
	ArtifactOutgoing    = "outgoing"    // copies of what was sent: e-mails, text messages, letters
	ArtifactAudit       = "audit"       // audit log entries
	ArtifactStreams     = "streams"     // messages on the bus (REQUESTS, CASES, DEAD)
)

// Events a retention time is counted from.
const (
	FromCaseClosed      = "case_closed"      // the case reached a finished state and was not reopened since
	FromRequestReceived = "request_received" // the request arrived
	FromSent            = "sent"             // the message was sent or posted
	FromRecorded        = "recorded"         // the entry was written
)

// RetentionRule is how long one kind of data is kept, from which event,
// and why (in French, for the register and the citizens' pages).
type RetentionRule struct {
	KeepDays int    `json:"keep_days"`
	From     string `json:"from"`
	Why      string `json:"why"`
}

// Keep is the rule's time as a duration.
func (r RetentionRule) Keep() time.Duration { return time.Duration(r.KeepDays) * 24 * time.Hour }

// Cutoff is the moment before which what the rule counts from is due as
// of now: what happened before it is to be erased.
func (r RetentionRule) Cutoff(now time.Time) time.Time { return now.AddDate(0, 0, -r.KeepDays) }

// Retention is the retention schedule: one rule per artifact. Open cases
// and cases under a legal hold are never purged, whatever it says.
type Retention struct {
	Identity    RetentionRule `json:"identity"`
	FreeText    RetentionRule `json:"free_text"`
	Transcripts RetentionRule `json:"transcripts"`
	Files       RetentionRule `json:"files"`
	Outgoing    RetentionRule `json:"outgoing"`
	Audit       RetentionRule `json:"audit"`
	Streams     RetentionRule `json:"streams"`
}

// NamedRule is a rule with its artifact's code and French label.
type NamedRule struct {
	Artifact string
	Label    string
	RetentionRule
}

// Rules lists the schedule's rules in a fixed order, for the register and
// the documentation.
func (r Retention) Rules() []NamedRule {
	return []NamedRule{
		{ArtifactIdentity, "Identité et coordonnées des usagers", r.Identity},
		{ArtifactFreeText, "Textes libres des demandes, réponses et notes", r.FreeText},
		{ArtifactTranscripts, "Transcriptions d'appels", r.Transcripts},
		{ArtifactFiles, "Pièces jointes et courriers numérisés", r.Files},
		{ArtifactOutgoing, "Copies des messages envoyés (courriels, SMS, courriers)", r.Outgoing},
		{ArtifactAudit, "Journal d'audit", r.Audit},
		{ArtifactStreams, "Messages en transit sur le bus", r.Streams},
	}
}

// Rule returns the rule of an artifact.
func (r Retention) Rule(artifact string) (RetentionRule, bool) {
	for _, n := range r.Rules() {
		if n.Artifact == artifact {
			return n.RetentionRule, true
		}
	}
	return RetentionRule{}, false
}

// DefaultRetention is the schedule of a catalogue that does not state one;
// the shipped catalogue states the same.
func DefaultRetention() Retention {
	return Retention{
		Identity: RetentionRule{365, FromCaseClosed, "Un an après la clôture, l'usager peut encore revenir sur sa demande " +
			"(réclamation, recours gracieux, demande similaire) et être recontacté ; au-delà, le dossier ne sert plus qu'aux statistiques, " +
			"qui restent exactes sans son identité."},
		FreeText: RetentionRule{365, FromCaseClosed, "Le texte de la demande, des réponses et des notes sert à traiter une réclamation " +
			"ou une demande qui revient sur le même sujet pendant un an après la clôture."},
		Transcripts: RetentionRule{365, FromCaseClosed, "La transcription est la seule trace de ce que l'usager a dit au téléphone : " +
			"elle est gardée aussi longtemps que le texte des demandes écrites."},
		Files: RetentionRule{365, FromCaseClosed, "Photos et courriers numérisés appuient la demande et la réponse ; " +
			"ils suivent le texte de la demande."},
		Outgoing: RetentionRule{90, FromSent, "La copie d'un courriel, d'un SMS ou d'un courrier envoyé sert à vérifier sa remise " +
			"ou à le renvoyer ; trois mois suffisent, la réponse elle-même restant dans le dossier."},
		Audit: RetentionRule{365, FromRecorded, "Le journal permet de contrôler qui a consulté ou modifié quoi ; " +
			"la CNIL recommande de six mois à un an de conservation des journaux."},
		Streams: RetentionRule{30, FromRequestReceived, "Le bus ne sert qu'à acheminer les demandes et les événements, " +
			"et à les rejouer après une panne : trente jours couvrent une reprise après incident."},
	}
}

// fromOf is the one event each artifact's time may be counted from: what
// the purge knows how to apply (the schema says the same).
var fromOf = map[string]string{
	ArtifactIdentity:    FromCaseClosed,
	ArtifactFreeText:    FromCaseClosed,
	ArtifactTranscripts: FromCaseClosed,
	ArtifactFiles:       FromCaseClosed,
	ArtifactOutgoing:    FromSent,
	ArtifactAudit:       FromRecorded,
	ArtifactStreams:     FromRequestReceived,
}

// check refuses a schedule the purge could not apply: a missing rule, a
// time of zero days (for the streams, JetStream would read it as "keep
// for ever"), or the wrong starting event.
func (r Retention) check() error {
	for _, n := range r.Rules() {
		switch {
		case n.KeepDays < 1:
			return fmt.Errorf("catalogue: retention : %s : keep_days doit valoir au moins 1", n.Artifact)
		case n.From != fromOf[n.Artifact]:
			return fmt.Errorf("catalogue: retention : %s se compte à partir de « %s », pas de « %s »", n.Artifact, fromOf[n.Artifact], n.From)
		case n.Why == "":
			return fmt.Errorf("catalogue: retention : %s : dites pourquoi (why)", n.Artifact)
		}
	}
	return nil
}
