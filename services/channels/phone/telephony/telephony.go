// Package telephony is the phone channel: it takes a call as the telephony
// system or an agent reports it (caller number, agent, times, transcript,
// summary), reads the transcript, extracts what the caller said, and
// publishes one request of channel "phone" whose id derives from the call id,
// so that reporting the same call twice changes nothing.
package telephony

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/caseref"
	"github.com/ampmetropole/guichet/services/cases/catalogue"
	"github.com/ampmetropole/guichet/services/cases/citizen"
	"github.com/ampmetropole/guichet/services/channels/phone/transcript"
	"github.com/ampmetropole/guichet/services/intake"
	"github.com/ampmetropole/guichet/services/language/extract"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

// Call is a call as reported by telephony (POST /api/v1/calls) or by an
// agent from the console.
type Call struct {
	CallID       string    `json:"call_id"`
	CallerNumber string    `json:"caller_number"` // empty when hidden
	AgentID      string    `json:"agent_id"`
	Direction    string    `json:"direction"` // inbound | outbound
	StartedAt    time.Time `json:"started_at"`
	EndedAt      time.Time `json:"ended_at"`
	CaseRef      string    `json:"case_ref,omitempty"`   // chosen by the agent
	Summary      string    `json:"summary,omitempty"`    // typed by the agent
	Competence   string    `json:"competence,omitempty"` // category hint chosen by the agent
	// Incident is the open incident the agent chose in « déjà signalé
	// près d'ici »: the caller's new case joins it.
	Incident   string          `json:"incident,omitempty"`
	Transcript *TranscriptBody `json:"transcript,omitempty"`
}

// TranscriptBody is a transcript file: its text, or for JSON formats the
// object itself.
type TranscriptBody struct {
	Format  string          `json:"format"`
	Content json.RawMessage `json:"content"`
}

// FileTranscript wraps the text of a transcript file (an upload, a paste).
func FileTranscript(format string, content []byte) *TranscriptBody {
	quoted, _ := json.Marshal(string(content)) // a string always marshals
	return &TranscriptBody{Format: format, Content: quoted}
}

// Bytes returns the transcript file: a JSON string is the file's text, any
// other JSON value is the file itself.
func (b *TranscriptBody) Bytes() ([]byte, error) {
	raw := []byte(strings.TrimSpace(string(b.Content)))
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, invalid("transcript.content : chaîne JSON invalide : %v", err)
		}
		return []byte(s), nil
	}
	return raw, nil
}

// Intake publishes requests and derives their ids.
type Intake interface {
	Submit(ctx context.Context, req schemas.Request) (intake.Receipt, error)
	DerivedID(namespace, key string, at time.Time) string
}

// From is who reports a call: the adapter ("telephony" for the API,
// "agent-console" for the console) and, for another system, its API
// token's name. The system is part of the call's request id: a call id
// another system reports again is another request, never the first one's.
type From struct {
	Adapter string
	System  string
}

// Service accepts calls.
type Service struct {
	intake  Intake
	extract *extract.Extractor
	known   func(competence string) bool
	now     func() time.Time
}

// Option configures the phone channel.
type Option func(*Service)

// WithCompetences makes known the judge of the competence an agent
// chooses for a call: the catalogue's Known. Without it, the embedded
// default catalogue judges, which a catalogue loaded from a file
// (GUICHET_CATALOGUE) may contradict.
func WithCompetences(known func(competence string) bool) Option {
	return func(s *Service) { s.known = known }
}

// New returns the phone channel.
func New(in Intake, ex *extract.Extractor, opts ...Option) *Service {
	s := &Service{intake: in, extract: ex, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	if s.known == nil {
		s.known = defaultCompetences()
	}
	return s
}

// defaultCompetences is the embedded catalogue's Known, read once the
// first time a call names a competence.
func defaultCompetences() func(string) bool {
	load := sync.OnceValue(func() *catalogue.Catalogue {
		c, err := catalogue.Default()
		if err != nil {
			// The embedded catalogue is checked by its tests: a build that
			// cannot read it is broken.
			panic(fmt.Errorf("telephony: %w", err))
		}
		return c
	})
	return func(code string) bool { return load().Known(code) }
}

// Accepted is what the channel answers once the request is stored.
type Accepted struct {
	RequestID    string                  `json:"request_id"`
	TrackingCode string                  `json:"tracking_code"`
	Duplicate    bool                    `json:"duplicate"`
	Attribution  *transcript.Attribution `json:"speaker_attribution,omitempty"`
	// Phone is the number Guichet keeps to reach the caller (E.164; the
	// one said aloud, else the line), "" when none: the agent's console
	// says whether the receipt goes there by SMS. Not in the API's answer.
	Phone string `json:"-"`
}

var callIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:@/+=-]{1,128}$`)

// Accept checks the call, reads its transcript, and publishes the request.
// Errors of kind fault.Invalid or fault.TooLarge name the field at fault.
func (s *Service) Accept(ctx context.Context, c Call, from From) (Accepted, error) {
	if err := s.check(&c); err != nil {
		return Accepted{}, err
	}
	var tr *transcript.Transcript
	if c.Transcript != nil {
		content, err := c.Transcript.Bytes()
		if err != nil {
			return Accepted{}, err
		}
		if len(content) > 0 {
			t, err := transcript.Parse(c.Transcript.Format, content)
			if err != nil {
				return Accepted{}, fault.E(fault.KindOf(err), fmt.Errorf("transcript : %w", err))
			}
			tr = &t
		}
	}
	if tr == nil && strings.TrimSpace(c.Summary) == "" {
		return Accepted{}, invalid("transcript ou summary : un appel sans transcription doit avoir un résumé")
	}
	req, err := s.request(c, tr, from.System)
	if err != nil {
		return Accepted{}, err
	}
	req.Source.Adapter, req.Source.System = from.Adapter, from.System
	rc, err := s.intake.Submit(ctx, req)
	if err != nil {
		return Accepted{}, err
	}
	a := Accepted{RequestID: rc.ID, TrackingCode: rc.TrackingCode, Duplicate: rc.Duplicate}
	if req.Citizen != nil {
		a.Phone = req.Citizen.Phone
	}
	if tr != nil {
		a.Attribution = &tr.Attribution
	}
	return a, nil
}

func invalid(format string, args ...any) error {
	return fault.E(fault.Invalid, fmt.Errorf(format, args...))
}

// check validates and normalizes the call's fields.
func (s *Service) check(c *Call) error {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	c.CallID = strings.TrimSpace(c.CallID)
	if !callIDPattern.MatchString(c.CallID) {
		add("call_id : obligatoire, 128 caractères au plus (lettres, chiffres, . _ : @ / + = -)")
	}
	if n := strings.TrimSpace(c.CallerNumber); n != "" && !hiddenNumber(n) {
		e164, err := citizen.NormalizePhone(n)
		if err != nil {
			add("caller_number : « %s » n'est pas un numéro de téléphone", truncate(n, 40))
		}
		c.CallerNumber = e164
	} else {
		c.CallerNumber = ""
	}
	c.AgentID = strings.TrimSpace(c.AgentID)
	if c.AgentID == "" || utf8.RuneCountInString(c.AgentID) > 128 {
		add("agent_id : obligatoire, 128 caractères au plus")
	}
	if c.Direction != "inbound" && c.Direction != "outbound" {
		add("direction : « inbound » ou « outbound »")
	}
	if c.StartedAt.IsZero() {
		add("started_at : date RFC 3339 obligatoire")
	}
	if c.EndedAt.IsZero() {
		add("ended_at : date RFC 3339 obligatoire")
	} else if c.EndedAt.Before(c.StartedAt) {
		add("ended_at : antérieure à started_at")
	}
	if !c.StartedAt.IsZero() && c.StartedAt.After(s.now().Add(time.Hour)) {
		add("started_at : dans le futur")
	}
	if c.CaseRef = strings.TrimSpace(c.CaseRef); c.CaseRef != "" {
		if ref, ok := caseref.Normalize(c.CaseRef); ok {
			c.CaseRef = ref.String()
		} else {
			add("case_ref : référence de dossier %s attendue", caseref.Shape)
		}
	}
	if utf8.RuneCountInString(c.Summary) > 10000 {
		add("summary : 10 000 caractères au plus")
	}
	if c.Competence != "" && !s.known(c.Competence) {
		add("competence : code inconnu « %s »", truncate(c.Competence, 40))
	}
	if c.Incident != "" && !incidentRef.MatchString(c.Incident) {
		add("incident : référence INC-AAAA-NNNNNN attendue")
	}
	if c.Incident != "" && c.CaseRef != "" {
		add("incident : seulement pour une nouvelle demande, pas avec case_ref")
	}
	if len(problems) > 0 {
		return invalid("appel invalide : %s", strings.Join(problems, " ; "))
	}
	return nil
}

// incidentRef is the shape of an incident's reference (request.v1's
// hints.incident).
var incidentRef = regexp.MustCompile(`^INC-[0-9]{4}-[0-9]{6,9}$`)

func hiddenNumber(n string) bool {
	switch strings.ToLower(n) {
	case "anonymous", "anonyme", "masqué", "masque", "unknown", "private", "restricted":
		return true
	}
	return false
}

// Limits of request.v1 that a transcript must fit in.
const (
	maxTurns    = 5000
	maxTurnText = 20000
	maxBody     = 100000
)

// request builds the common-schema request of a call.
func (s *Service) request(c Call, tr *transcript.Transcript, system string) (schemas.Request, error) {
	id, err := s.RequestID(system, c.CallID, c.StartedAt)
	if err != nil {
		return schemas.Request{}, err
	}
	var said string
	if tr != nil {
		said = tr.CallerText()
	}
	facts := s.extract.Extract(said)
	req := schemas.Request{
		ID:         id,
		Channel:    schemas.ChannelPhone,
		ReceivedAt: c.StartedAt.UTC().Truncate(time.Millisecond),
		Source:     schemas.Source{ExternalID: c.CallID, OperatorID: c.AgentID},
		Subject:    subject(c, facts),
		Body:       body(c.Summary, said),
	}
	who := &schemas.Citizen{Name: facts.Name, Email: facts.Email, Phone: c.CallerNumber, PreferredReplyChannel: "phone"}
	if facts.Phone != "" {
		// A call-back number said aloud wins over the line the call came from.
		who.Phone = facts.Phone
	}
	if who.Phone == "" {
		who.PreferredReplyChannel = map[bool]string{true: "email", false: "none"}[who.Email != ""]
	}
	req.Citizen = who
	if facts.PostalCode != "" || facts.CommuneINSEE != "" || facts.Address != "" {
		req.Location = &schemas.Location{Address: truncate(facts.Address, 300), PostalCode: facts.PostalCode, CommuneINSEE: facts.CommuneINSEE}
	}
	if c.CaseRef != "" {
		// The agent chose the caller's case: the router puts the call
		// there. A reference only spoken in the call is merely cited.
		req.Link = &schemas.Link{CaseRef: c.CaseRef, By: schemas.LinkByAgent}
		req.CaseRefs = append(req.CaseRefs, c.CaseRef)
	}
	for _, ref := range facts.CaseRefs {
		if ref != c.CaseRef && len(req.CaseRefs) < 20 {
			req.CaseRefs = append(req.CaseRefs, ref)
		}
	}
	if c.Competence != "" || c.Incident != "" {
		req.Hints = &schemas.Hints{Competence: c.Competence, Incident: c.Incident}
	}
	if tr != nil {
		for _, t := range tr.Turns {
			if len(req.Transcript) == maxTurns {
				break
			}
			turn := schemas.Turn{Speaker: string(t.Role), Text: truncate(t.Text, maxTurnText)}
			if t.Timed {
				start, end := t.Start, t.End
				turn.Start, turn.End = &start, &end
			}
			req.Transcript = append(req.Transcript, turn)
		}
	}
	return req, nil
}

func subject(c Call, f extract.Facts) string {
	if line := strings.TrimSpace(strings.SplitN(c.Summary, "\n", 2)[0]); line != "" {
		return truncate(line, 300)
	}
	if c.Direction == "outbound" {
		return "Appel sortant"
	}
	return "Appel téléphonique"
}

// body is what the router classifies: the agent's summary and the caller's
// words, never the agent's greetings.
func body(summary, said string) string {
	parts := make([]string, 0, 2)
	if s := strings.TrimSpace(summary); s != "" {
		parts = append(parts, "Résumé de l'agent : "+s)
	}
	if s := strings.TrimSpace(said); s != "" {
		parts = append(parts, s)
	}
	return truncate(strings.Join(parts, "\n\n"), maxBody)
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// RequestID derives the request id of a call from who reports it, its id
// and start, keyed with the server's secret: the same call reported again
// by the same system is the same request, and nobody can compute it ahead.
func (s *Service) RequestID(system, callID string, started time.Time) (string, error) {
	if callID == "" {
		return "", errors.New("telephony: empty call id")
	}
	return s.intake.DerivedID("call", system+"\x00"+callID, started), nil
}
