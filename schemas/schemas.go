// Package schemas owns Guichet's contract on the bus: the JSON Schemas of the
// normalized request and of case events, the Go types that mirror them, and
// the validation every published or consumed message goes through.
package schemas

import (
	"embed"
	"time"
)

//go:embed *.schema.json
var files embed.FS

// Schema names, as carried in each message's "schema" field.
const (
	RequestV1   = "request.v1"
	CaseEventV1 = "case-event.v1"
	CatalogueV1 = "catalogue.v1"
)

// Channels a request can arrive through.
const (
	ChannelWeb     = "web"
	ChannelPhone   = "phone"
	ChannelMail    = "mail"
	ChannelEmail   = "email"
	ChannelOpen311 = "open311"
	// ChannelCounter is a mairie's front desk filing a request for a
	// citizen who came in person.
	ChannelCounter = "counter"
)

// ChannelName names a channel in a sentence of the staff's pages and
// messages ("formulaire web", "appel"): one table for all of them; an
// unknown channel keeps its code.
func ChannelName(c string) string {
	switch c {
	case ChannelWeb:
		return "formulaire web"
	case ChannelPhone:
		return "appel"
	case ChannelMail:
		return "courrier"
	case ChannelEmail:
		return "courriel"
	case ChannelOpen311:
		return "application partenaire"
	case ChannelCounter:
		return "accueil en mairie"
	}
	return c
}

// Request is one contact from a citizen, normalized by a channel adapter
// (request.v1.schema.json).
type Request struct {
	ID           string       `json:"id"`
	Schema       string       `json:"schema"`
	Channel      string       `json:"channel"`
	ReceivedAt   time.Time    `json:"received_at"`
	TrackingCode string       `json:"tracking_code"`
	Source       Source       `json:"source"`
	Citizen      *Citizen     `json:"citizen,omitempty"`
	Subject      string       `json:"subject,omitempty"`
	Body         string       `json:"body"`
	Language     string       `json:"language"`
	Location     *Location    `json:"location,omitempty"`
	Attachments  []Attachment `json:"attachments,omitempty"`
	Supersedes   string       `json:"supersedes,omitempty"`
	Link         *Link        `json:"link,omitempty"`
	CaseRefs     []string     `json:"case_refs,omitempty"`
	Hints        *Hints       `json:"hints,omitempty"`
	Transcript   []Turn       `json:"transcript,omitempty"`
	// PublicationConsent: the citizen agreed that the description, without
	// their name or contact details, be published in the public feeds.
	PublicationConsent bool `json:"publication_consent,omitempty"`
}

// Source says which adapter produced a request and from what upstream item.
type Source struct {
	Adapter    string `json:"adapter"`
	ExternalID string `json:"external_id,omitempty"`
	OperatorID string `json:"operator_id,omitempty"`
	MessageID  string `json:"message_id,omitempty"` // an e-mail's Message-ID, for the reply to thread under it
	System     string `json:"system,omitempty"`     // the API token that submitted it; set by Guichet
}

// Link is the case someone entitled to chose for a request: an agent, or the
// holder of an earlier request's tracking code. Only Guichet's own channels
// set it.
type Link struct {
	CaseRef   string `json:"case_ref"`
	By        string `json:"by"`                   // LinkByAgent or LinkByTrackingCode
	RequestID string `json:"request_id,omitempty"` // the earlier request, for LinkByTrackingCode
}

// Who chose a Link.
const (
	LinkByAgent        = "agent"
	LinkByTrackingCode = "tracking_code"
)

// Citizen is what the channel tells about the person: never a feature of the
// classifier, only used to find their other cases and to reply.
type Citizen struct {
	Name                  string         `json:"name,omitempty"`
	Email                 string         `json:"email,omitempty"`
	Phone                 string         `json:"phone,omitempty"`
	Address               *PostalAddress `json:"address,omitempty"`
	PreferredReplyChannel string         `json:"preferred_reply_channel,omitempty"`
}

// PostalAddress is the citizen's own address, for replies by post.
type PostalAddress struct {
	Lines      []string `json:"lines,omitempty"`
	PostalCode string   `json:"postal_code,omitempty"`
	City       string   `json:"city,omitempty"`
	Country    string   `json:"country,omitempty"`
}

// Location is the place the request is about.
type Location struct {
	Address      string   `json:"address,omitempty"`
	PostalCode   string   `json:"postal_code,omitempty"`
	CommuneINSEE string   `json:"commune_insee,omitempty"`
	Lat          *float64 `json:"lat,omitempty"`
	Lon          *float64 `json:"lon,omitempty"`
}

// Attachment describes a file stored in the "attachments" object store.
type Attachment struct {
	Name          string   `json:"name"`
	ContentType   string   `json:"content_type"`
	Size          int64    `json:"size"`
	SHA256        string   `json:"sha256"`
	ObjectKey     string   `json:"object_key"`
	ExtractedText string   `json:"extracted_text,omitempty"`
	OCRConfidence *float64 `json:"ocr_confidence,omitempty"`
}

// Hints are what the citizen or the agent said the request is about.
type Hints struct {
	Competence string `json:"competence,omitempty"`
	Category   string `json:"category,omitempty"`
	Incident   string `json:"incident,omitempty"` // an incident ref to join, chosen by the citizen or an agent
}

// Turn is one speaker turn of a phone call transcript; times in seconds.
type Turn struct {
	Speaker string   `json:"speaker"`
	Start   *float64 `json:"start,omitempty"`
	End     *float64 `json:"end,omitempty"`
	Text    string   `json:"text"`
}

// Case event types.
const (
	EventCreated       = "created"
	EventRequestLinked = "request_linked"
	EventReplied       = "replied"
	EventRerouted      = "rerouted"
	EventAssigned      = "assigned"
	EventStateChanged  = "state_changed"
	EventBreached      = "deadline_breached"
	EventUnlinked      = "request_unlinked"
	EventMerged        = "merged"
	EventUnmerged      = "unmerged"
	EventNoteAdded     = "note_added"
)

// Incident event types: a case linked to or detached from an incident.
const (
	EventIncidentLinked   = "incident_linked"
	EventIncidentDetached = "incident_detached"
)

// Case states of the harmonized lifecycle.
const (
	StateReceived = "received"
)

// CompetenceTriage is the human triage queue, used when no competence is known.
const CompetenceTriage = "triage"

// CompetenceHorsCompetence holds what is outside the Métropole's remit:
// the request is redirected and the citizen told where to go.
const CompetenceHorsCompetence = "hors_competence"

// CaseEvent is one entry of a case's append-only history
// (case-event.v1.schema.json).
type CaseEvent struct {
	ID         string         `json:"id"`
	Schema     string         `json:"schema"`
	CaseRef    string         `json:"case_ref"`
	Seq        int            `json:"seq"`
	Type       string         `json:"type"`
	At         time.Time      `json:"at"`
	Actor      Actor          `json:"actor"`
	Competence string         `json:"competence"`
	Territory  string         `json:"territory,omitempty"`
	State      string         `json:"state"`
	RequestID  string         `json:"request_id,omitempty"`
	Channel    string         `json:"channel,omitempty"`
	Summary    string         `json:"summary,omitempty"`
	Data       map[string]any `json:"data,omitempty"`
}

// Actor says who caused a case event.
type Actor struct {
	Kind string `json:"kind"`
	ID   string `json:"id,omitempty"`
}

// Subject is the CASES stream subject the event is published on.
func (e CaseEvent) Subject() string {
	return "guichet.cases." + e.Competence + "." + e.Type
}
