package personaldata

// The export's format: what a person receives, field by field (the JSON
// names are the contract docs/personal-data.md describes), and the French
// names of what it lists. export.go gathers it from the database.

import (
	"strings"
	"time"

	"github.com/ampmetropole/guichet/schemas"
)

// SchemaV1 names the export's format, carried in its "schema" field; a
// change of a field's name or meaning is a new version.
const SchemaV1 = "guichet.personal-data.v1"

// Export is everything Guichet holds about one person, as of GeneratedAt.
// Its JSON field names are stable (docs/personal-data.md describes them);
// lists are empty, never null.
type Export struct {
	Schema      string     `json:"schema"`
	GeneratedAt time.Time  `json:"generated_at"`
	Controller  Controller `json:"controller"`
	// Subject is how the person was looked for; masked when nothing is
	// held about them (Subject.Masked).
	Subject Subject `json:"subject"`
	// People are the citizens records found: one for an e-mail address or
	// a phone number; for a name, everyone who gave it (they may be
	// different people: check before sending).
	People   []Person  `json:"people"`
	Requests []Request `json:"requests"`
	Cases    []Case    `json:"cases"`
	// Replies are the answers the services wrote to the person.
	Replies []Reply `json:"replies"`
	// Messages are what Guichet sent by itself: acknowledgements of
	// receipt, status notices, by e-mail, SMS or letter.
	Messages []Message `json:"messages"`
	// Letters are the letters printed for the person (acknowledgements and
	// notices to those who wrote by post), with their text.
	Letters    []Letter    `json:"letters"`
	Opinions   []Opinion   `json:"opinions"`
	SignIns    []SignIn    `json:"sign_ins"`
	Rejections []Rejection `json:"rejected_emails"`
	// Accesses are the entries of the audit log about the person or their
	// cases: who among the staff looked at or acted on their data.
	Accesses []Access `json:"accesses"`
	// Retention says how long each kind of data is kept (the catalogue's
	// schedule).
	Retention []Period `json:"retention"`
	// Incomplete lists, in French, the lists cut at their bound (a
	// person with thousands of requests); empty when nothing was cut.
	Incomplete []string `json:"incomplete"`
}

// Controller is who holds the data and whom to write to.
type Controller struct {
	Name                  string `json:"name"`
	Address               string `json:"address"`
	DataProtectionContact string `json:"data_protection_contact"`
}

// Person is one citizens record.
type Person struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name,omitempty"`
	Email     string    `json:"email,omitempty"`
	Phone     string    `json:"phone,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Request is one contact of the person, on any channel, as received.
type Request struct {
	ID           string    `json:"id"`
	TrackingCode string    `json:"tracking_code"`
	Channel      string    `json:"channel"`
	ReceivedAt   time.Time `json:"received_at"`
	Status       string    `json:"status"`
	CaseRef      string    `json:"case_ref,omitempty"`
	// Citizen is who the request said it came from, as typed.
	Citizen     *schemas.Citizen `json:"citizen,omitempty"`
	Subject     string           `json:"subject,omitempty"`
	Body        string           `json:"body,omitempty"`
	Language    string           `json:"language,omitempty"`
	Place       *Place           `json:"place,omitempty"`
	Attachments []Attachment     `json:"attachments"`
	// Transcript is the call's conversation, turn by turn.
	Transcript []schemas.Turn `json:"transcript"`
	// Routing is how the request was directed, by the router or by
	// people: the explanation of an automated decision (RGPD article
	// 15-1-h).
	Routing []Decision `json:"routing"`
	// NoticesOff: the person turned the status notices off.
	NoticesOff bool `json:"notices_off"`
}

// Place is where a request said its matter is.
type Place struct {
	Address      string   `json:"address,omitempty"`
	PostalCode   string   `json:"postal_code,omitempty"`
	CommuneINSEE string   `json:"commune_insee,omitempty"`
	Commune      string   `json:"commune,omitempty"`
	Lat          *float64 `json:"lat,omitempty"`
	Lon          *float64 `json:"lon,omitempty"`
}

// Attachment is a file sent with a request (a photo, a document, a scanned
// letter): its description and the text read from it; the file itself is
// in the object store under its SHA-256.
type Attachment struct {
	Name          string `json:"name"`
	ContentType   string `json:"content_type"`
	Size          int64  `json:"size"`
	SHA256        string `json:"sha256"`
	ExtractedText string `json:"extracted_text,omitempty"`
}

// Decision is one routing decision about a request.
type Decision struct {
	At         time.Time `json:"at"`
	Outcome    string    `json:"outcome"`
	Competence string    `json:"competence"`
	Territory  string    `json:"territory,omitempty"`
	Confidence *float64  `json:"confidence,omitempty"`
	By         string    `json:"by"`
	Reasons    []string  `json:"reasons"`
}

// Case is a case holding the person's requests (or filed under them).
type Case struct {
	Ref             string     `json:"ref"`
	Competence      string     `json:"competence"`
	CompetenceLabel string     `json:"competence_label"`
	Service         string     `json:"service"`
	Territory       string     `json:"territory,omitempty"`
	TerritoryLabel  string     `json:"territory_label,omitempty"`
	State           string     `json:"state"`
	StateLabel      string     `json:"state_label"`
	Priority        string     `json:"priority"`
	OpenedAt        time.Time  `json:"opened_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
	Deadline        *time.Time `json:"deadline,omitempty"`
	MergedInto      string     `json:"merged_into,omitempty"`
	// HeldSince: the case is under a legal hold (kept for a dispute)
	// since then; it is not erased while it is.
	HeldSince *time.Time `json:"held_since,omitempty"`
	// Erased lists what was erased of the case by the retention schedule
	// or an erasure (identity, free_text, transcripts, files).
	Erased []string `json:"erased"`
	// Shared: the case also holds other people's requests, whose content
	// is not in this export.
	Shared bool    `json:"shared"`
	Events []Event `json:"events"`
}

// Event is one step of a case's history.
type Event struct {
	At    time.Time `json:"at"`
	Type  string    `json:"type"`
	Label string    `json:"label"`
	State string    `json:"state"`
	// Summary is the event's line; left out when it speaks of another
	// person's request.
	Summary string `json:"summary,omitempty"`
	// Note is the text of an internal note, given when the case is the
	// person's alone.
	Note string `json:"note,omitempty"`
}

// Reply is an answer written to the person by a service.
type Reply struct {
	At      time.Time `json:"at"`
	CaseRef string    `json:"case_ref"`
	Channel string    `json:"channel"` // email, letter, callback
	To      string    `json:"to"`
	Subject string    `json:"subject,omitempty"`
	Message string    `json:"message"`
	By      string    `json:"by,omitempty"`
}

// Message is a message Guichet sent by itself.
type Message struct {
	At        time.Time `json:"at"`
	Kind      string    `json:"kind"`
	Label     string    `json:"label"`
	To        string    `json:"to"`
	Delivered bool      `json:"delivered"`
}

// Letter is a letter printed for the person by the mailroom.
type Letter struct {
	CreatedAt time.Time  `json:"created_at"`
	Kind      string     `json:"kind"`
	To        string     `json:"to"`
	Subject   string     `json:"subject"`
	Body      string     `json:"body"`
	CaseRef   string     `json:"case_ref,omitempty"`
	PostedAt  *time.Time `json:"posted_at,omitempty"`
}

// Opinion is the person's answer to the satisfaction question.
type Opinion struct {
	CaseRef    string    `json:"case_ref"`
	Score      int       `json:"score"`
	Comment    string    `json:"comment,omitempty"`
	AnsweredAt time.Time `json:"answered_at"`
}

// SignIn is a sign-in to « Mes demandes »: a one-time link sent, or a
// session open.
type SignIn struct {
	Kind      string     `json:"kind"` // link, session
	Address   string     `json:"address"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	UsedAt    *time.Time `json:"used_at,omitempty"`
	IP        string     `json:"ip,omitempty"`
}

// Rejection is an e-mail of the person the mail channel could not read.
type Rejection struct {
	ReceivedAt time.Time `json:"received_at"`
	Subject    string    `json:"subject,omitempty"`
	Reason     string    `json:"reason"`
}

// Access is an entry of the audit log about the person's data.
type Access struct {
	At        time.Time `json:"at"`
	Actor     string    `json:"actor"`
	ActorKind string    `json:"actor_kind"`
	Action    string    `json:"action"`
	Label     string    `json:"label"`
	Target    string    `json:"target"`
}

// Empty says whether nothing at all is held about the person.
func (e Export) Empty() bool {
	return len(e.People) == 0 && len(e.Requests) == 0 && len(e.Cases) == 0 && len(e.SignIns) == 0 &&
		len(e.Rejections) == 0 && len(e.Messages) == 0 && len(e.Accesses) == 0
}

// EventLabel names a case event in French.
func EventLabel(typ string) string {
	if l, ok := eventLabels[typ]; ok {
		return l
	}
	return typ
}

var eventLabels = map[string]string{
	schemas.EventCreated:       "dossier ouvert",
	schemas.EventRequestLinked: "demande ajoutée au dossier",
	schemas.EventReplied:       "réponse du service",
	schemas.EventRerouted:      "dossier confié à un autre service",
	schemas.EventAssigned:      "dossier attribué à un agent",
	schemas.EventStateChanged:  "changement d'état",
	schemas.EventBreached:      "délai dépassé",
	schemas.EventUnlinked:      "demande retirée du dossier",
	schemas.EventMerged:        "dossiers regroupés",
	schemas.EventUnmerged:      "regroupement annulé",
	schemas.EventNoteAdded:     "note interne du service",
}

// MessageLabel names in French a message Guichet sends by itself.
func MessageLabel(kind string) string {
	switch {
	case kind == "acknowledgement":
		return "accusé de réception"
	case kind == "deadline_breached":
		return "alerte de dépassement de délai"
	case strings.HasPrefix(kind, "status"):
		return "avis de suivi"
	case strings.HasPrefix(kind, "merged"):
		return "avis de regroupement de dossiers"
	}
	return "message : " + kind
}

// ActionLabel names an action of the audit log in French.
func ActionLabel(action string) string {
	if l, ok := actionLabels[action]; ok {
		return l
	}
	switch {
	case strings.HasPrefix(action, "case."):
		return "action sur le dossier"
	case strings.HasPrefix(action, "personal_data."):
		return "données personnelles"
	}
	return action
}

var actionLabels = map[string]string{
	"case.view":            "consultation du dossier",
	"case.transition":      "changement d'état du dossier",
	"case.reroute":         "réorientation du dossier",
	"case.assign":          "attribution du dossier",
	"case.letter":          "lettre imprimée",
	"attachment.view":      "consultation d'une pièce jointe",
	"personal_data.view":   "consultation de données personnelles",
	"personal_data.search": "recherche de la personne",
	ActionExport:           "extraction de ses données (droit d'accès)",
	ActionEraseRefused:     "effacement refusé",
	ActionRetention:        "simulation des durées de conservation",
	"rgpd.purge":           "effacement de données (durées de conservation)",
	"rgpd.erase":           "effacement de ses données",
	"rgpd.hold":            "gel d'un dossier (conservation pour un contentieux)",
	"rgpd.release":         "levée du gel d'un dossier",
}

// Actions of the audit log written by the DPO's page, the API and
// `guichet rgpd` (target: the identifier looked for). The erasures, purges
// and holds are audited by services/cases/retention, in their own
// transaction (rgpd.erase, rgpd.purge, rgpd.hold, rgpd.release).
const (
	ActionExport       = "personal_data.export"
	ActionEraseRefused = "personal_data.erase_refused"
	ActionRetention    = "personal_data.retention_dry_run"
)
