package personaldata

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/catalogue"
	"github.com/ampmetropole/guichet/services/cases/citizen"
	"github.com/ampmetropole/guichet/services/cases/territory"
	"github.com/ampmetropole/guichet/services/platform/fault"
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

// Bounds of one export: far above one person's history, they keep a
// mistaken search (a common name) from reading the whole base.
const (
	maxPeople   = 50
	maxRequests = 2000
	maxCases    = 1000
	maxEvents   = 20000
	maxRows     = 5000
)

// Exporter reads what is held about people.
type Exporter struct {
	db     *pgxpool.Pool
	cat    *catalogue.Catalogue
	places *territory.Directory
	now    func() time.Time
}

// NewExporter reads from db; the catalogue names competences and services
// and gives the retention schedule; places (nil: none) names communes.
func NewExporter(db *pgxpool.Pool, cat *catalogue.Catalogue, places *territory.Directory) *Exporter {
	return &Exporter{db: db, cat: cat, places: places, now: time.Now}
}

// found is what the lookups gather before the export is written.
type found struct {
	citizenIDs []int64
	requestIDs []string
	caseIDs    []int64
	caseRef    map[int64]string
	mine       map[string]bool // the person's request ids
	contacts   []string        // the person's e-mail addresses and phones (E.164), see people
}

// Export gathers everything held about the person who. A wrong subject is
// a fault.Invalid; a name too common (more than 50 people) too, asking for
// an e-mail address or a phone number instead.
func (x *Exporter) Export(ctx context.Context, who Subject) (Export, error) {
	who, err := who.Normalize()
	if err != nil {
		return Export{}, err
	}
	org := x.cat.Organisation
	out := Export{Schema: SchemaV1, GeneratedAt: x.now().UTC().Truncate(time.Second), Subject: who,
		Controller: Controller{Name: org.Name, Address: org.Address, DataProtectionContact: org.DataProtectionContact},
		People:     []Person{}, Requests: []Request{}, Cases: []Case{}, Replies: []Reply{}, Messages: []Message{}, Letters: []Letter{},
		Opinions: []Opinion{}, SignIns: []SignIn{}, Rejections: []Rejection{}, Accesses: []Access{}, Incomplete: []string{},
		Retention: Schedule(x.cat)}
	// One snapshot: what is read agrees with itself.
	tx, err := x.db.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return Export{}, transient("begin", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	f := found{caseRef: map[int64]string{}, mine: map[string]bool{}, requestIDs: []string{}, citizenIDs: []int64{}, caseIDs: []int64{}}
	if err := x.people(ctx, tx, who, &out, &f); err != nil {
		return Export{}, err
	}
	if err := x.requests(ctx, tx, who, &out, &f); err != nil {
		return Export{}, err
	}
	if err := x.cases(ctx, tx, &out, &f); err != nil {
		return Export{}, err
	}
	for _, step := range []func(context.Context, pgx.Tx, *Export, *found) error{
		x.routing, x.events, x.messages, x.letters, x.opinions, x.signIns, x.rejections,
	} {
		if err := step(ctx, tx, &out, &f); err != nil {
			return Export{}, err
		}
	}
	if err := x.accesses(ctx, tx, who, &out, &f); err != nil {
		return Export{}, err
	}
	if out.Empty() {
		// Nothing held: the answer does not hold the identifier either
		// (nor the audit entry written from it).
		out.Subject = who.Masked()
	}
	return out, nil
}

// Empty says whether nothing at all is held about the person.
func (e Export) Empty() bool {
	return len(e.People) == 0 && len(e.Requests) == 0 && len(e.Cases) == 0 && len(e.SignIns) == 0 &&
		len(e.Rejections) == 0 && len(e.Messages) == 0 && len(e.Accesses) == 0
}

func transient(what string, err error) error {
	return fault.E(fault.Transient, fmt.Errorf("personaldata: %s: %w", what, err))
}

func (x *Exporter) people(ctx context.Context, tx pgx.Tx, who Subject, out *Export, f *found) error {
	where, arg := "email = $1", any(who.Email)
	switch who.Kind() {
	case ByPhone:
		where, arg = "phone = $1", who.Phone
	case ByName:
		// The key of migration 00018: case, accents, hyphens and spaces
		// do not count, as for the erasure.
		where, arg = "name IS NOT NULL AND guichet_name_key(name) = guichet_name_key($1)", who.Name
	}
	rows, err := tx.Query(ctx, `SELECT id, coalesce(name, ''), coalesce(email, ''), coalesce(phone, ''), created_at, updated_at
		FROM citizens WHERE `+where+` ORDER BY id LIMIT `+fmt.Sprint(maxPeople+1), arg)
	if err != nil {
		return transient("citizens", err)
	}
	people, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Person, error) {
		var p Person
		err := r.Scan(&p.ID, &p.Name, &p.Email, &p.Phone, &p.CreatedAt, &p.UpdatedAt)
		return p, err
	})
	if err != nil {
		return transient("citizens", err)
	}
	if len(people) > maxPeople {
		return fault.E(fault.Invalid, fmt.Errorf("personaldata: plus de %d personnes portent ce nom : cherchez par adresse électronique ou par numéro de téléphone", maxPeople))
	}
	out.People = append(out.People, people...)
	add := func(c string) {
		if c != "" && !slices.Contains(f.contacts, c) {
			f.contacts = append(f.contacts, c)
		}
	}
	// The contacts whose messages, sign-ins and mail are the person's:
	// the address or number looked for, not the others of their records
	// (a record joins an address and a number somebody typed side by side,
	// maybe somebody else's: the erasure does the same); by name, those of
	// the records, which the page says may be different people.
	add(who.Email)
	add(who.Phone)
	for _, p := range people {
		f.citizenIDs = append(f.citizenIDs, p.ID)
		if who.Kind() == ByName {
			add(p.Email)
			add(p.Phone)
		}
	}
	return nil
}

// requests reads the requests filed under the person's records, and those
// that carry their e-mail address or phone number (each by its index).
func (x *Exporter) requests(ctx context.Context, tx pgx.Tx, who Subject, out *Export, f *found) error {
	parts := []string{`SELECT id FROM requests WHERE citizen_id = ANY($1)`}
	args := []any{f.citizenIDs}
	switch who.Kind() {
	case ByEmail:
		args = append(args, who.Email)
		parts = append(parts, `SELECT id FROM requests WHERE lower(btrim(payload #>> '{citizen,email}')) = $2`)
	case ByPhone:
		args = append(args, who.Phone)
		parts = append(parts, `SELECT id FROM requests WHERE (payload #>> '{citizen,phone}') = $2`)
	}
	rows, err := tx.Query(ctx, `
		SELECT r.id::text, r.tracking_code, r.channel, r.received_at, r.status, r.payload, r.case_id, coalesce(c.ref, ''),
		       EXISTS (SELECT 1 FROM notice_preferences n WHERE n.thread_id = r.id AND n.notices_off)
		FROM requests r LEFT JOIN cases c ON c.id = r.case_id
		WHERE r.id IN (`+strings.Join(parts, " UNION ")+`)
		ORDER BY r.received_at, r.id LIMIT `+fmt.Sprint(maxRequests+1), args...)
	if err != nil {
		return transient("requests", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r Request
		var payload []byte
		var caseID *int64
		if err := rows.Scan(&r.ID, &r.TrackingCode, &r.Channel, &r.ReceivedAt, &r.Status, &payload, &caseID, &r.CaseRef, &r.NoticesOff); err != nil {
			return transient("requests", err)
		}
		if len(out.Requests) == maxRequests {
			out.Incomplete = append(out.Incomplete, fmt.Sprintf("demandes : les %d premières seulement", maxRequests))
			break
		}
		var p schemas.Request
		if err := json.Unmarshal(payload, &p); err != nil {
			return fmt.Errorf("personaldata: request %s: %w", r.ID, err)
		}
		r.Citizen, r.Subject, r.Body, r.Language = p.Citizen, p.Subject, p.Body, p.Language
		if l := p.Location; l != nil {
			r.Place = &Place{Address: l.Address, PostalCode: l.PostalCode, CommuneINSEE: l.CommuneINSEE, Lat: l.Lat, Lon: l.Lon}
			if x.places != nil && l.CommuneINSEE != "" {
				if c, ok := x.places.ByINSEE(l.CommuneINSEE); ok {
					r.Place.Commune = c.Name
				}
			}
		}
		r.Attachments = []Attachment{}
		for _, a := range p.Attachments {
			r.Attachments = append(r.Attachments, Attachment{Name: a.Name, ContentType: a.ContentType, Size: a.Size, SHA256: a.SHA256, ExtractedText: a.ExtractedText})
		}
		r.Transcript = p.Transcript
		if r.Transcript == nil {
			r.Transcript = []schemas.Turn{}
		}
		r.Routing = []Decision{}
		out.Requests = append(out.Requests, r)
		f.requestIDs = append(f.requestIDs, r.ID)
		f.mine[r.ID] = true
		if caseID != nil && !slices.Contains(f.caseIDs, *caseID) {
			f.caseIDs = append(f.caseIDs, *caseID)
		}
	}
	if err := rows.Err(); err != nil {
		return transient("requests", err)
	}
	return nil
}

// cases reads the cases of the requests found, and those filed under the
// person's records.
func (x *Exporter) cases(ctx context.Context, tx pgx.Tx, out *Export, f *found) error {
	rows, err := tx.Query(ctx, `
		SELECT c.id, c.ref, c.competence, coalesce(c.territory, ''), c.state, c.priority, c.opened_at, c.updated_at, c.deadline,
		       coalesce(m.ref, ''),
		       EXISTS (SELECT 1 FROM requests r WHERE r.case_id = c.id AND NOT (r.id = ANY($3::uuid[]))),
		       (SELECT h.held_at FROM legal_holds h WHERE h.case_id = c.id AND h.released_at IS NULL), c.purged
		FROM cases c LEFT JOIN cases m ON m.id = c.merged_into
		WHERE c.id = ANY($1) OR c.citizen_id = ANY($2)
		ORDER BY c.opened_at, c.id LIMIT `+fmt.Sprint(maxCases+1), f.caseIDs, f.citizenIDs, f.requestIDs)
	if err != nil {
		return transient("cases", err)
	}
	defer rows.Close()
	f.caseIDs = f.caseIDs[:0]
	for rows.Next() {
		var c Case
		var id int64
		if err := rows.Scan(&id, &c.Ref, &c.Competence, &c.Territory, &c.State, &c.Priority, &c.OpenedAt, &c.UpdatedAt, &c.Deadline, &c.MergedInto, &c.Shared, &c.HeldSince, &c.Erased); err != nil {
			return transient("cases", err)
		}
		if len(out.Cases) == maxCases {
			out.Incomplete = append(out.Incomplete, fmt.Sprintf("dossiers : les %d premiers seulement", maxCases))
			break
		}
		c.CompetenceLabel, c.Service = c.Competence, x.cat.ServiceFor(c.Competence)
		if k, ok := x.cat.Competence(c.Competence); ok {
			c.CompetenceLabel = k.Label
		} else if c.Competence == schemas.CompetenceTriage {
			c.CompetenceLabel = "À orienter"
		}
		c.TerritoryLabel = territory.TerritoryName(c.Territory)
		c.StateLabel = catalogue.StateLabel(c.State)
		c.Events = []Event{}
		out.Cases = append(out.Cases, c)
		f.caseIDs = append(f.caseIDs, id)
		f.caseRef[id] = c.Ref
	}
	if err := rows.Err(); err != nil {
		return transient("cases", err)
	}
	return nil
}

// routing reads the decisions taken about the person's requests.
func (x *Exporter) routing(ctx context.Context, tx pgx.Tx, out *Export, f *found) error {
	if len(f.requestIDs) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, `
		SELECT request_id::text, decided_at, outcome, competence, coalesce(territory, ''), confidence, decided_by, reasons
		FROM routing_decisions WHERE request_id = ANY($1::uuid[]) ORDER BY decided_at, id LIMIT `+fmt.Sprint(maxRows),
		f.requestIDs)
	if err != nil {
		return transient("routing", err)
	}
	defer rows.Close()
	at := make(map[string]int, len(out.Requests))
	for i, r := range out.Requests {
		at[r.ID] = i
	}
	for rows.Next() {
		var id string
		var d Decision
		var conf *float32
		var reasons []byte
		if err := rows.Scan(&id, &d.At, &d.Outcome, &d.Competence, &d.Territory, &conf, &d.By, &reasons); err != nil {
			return transient("routing", err)
		}
		if conf != nil {
			c := float64(*conf)
			d.Confidence = &c
		}
		d.Reasons = reasonTexts(reasons)
		if i, ok := at[id]; ok {
			out.Requests[i].Routing = append(out.Requests[i].Routing, d)
		}
	}
	if err := rows.Err(); err != nil {
		return transient("routing", err)
	}
	return nil
}

// reasonTexts reads the reasons of a decision: objects with a "detail",
// or plain strings.
func reasonTexts(raw []byte) []string {
	out := []string{}
	var objs []struct {
		Detail string `json:"detail"`
	}
	if json.Unmarshal(raw, &objs) == nil {
		for _, o := range objs {
			if o.Detail != "" {
				out = append(out, o.Detail)
			}
		}
		return out
	}
	var strs []string
	if json.Unmarshal(raw, &strs) == nil {
		out = append(out, strs...)
	}
	return out
}

// events reads the cases' histories, and the replies written to the
// person among them.
func (x *Exporter) events(ctx context.Context, tx pgx.Tx, out *Export, f *found) error {
	if len(f.caseIDs) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, `
		SELECT case_id, coalesce(request_id::text, ''), coalesce(recipient_request::text, ''), payload
		FROM case_events WHERE case_id = ANY($1) ORDER BY case_id, seq LIMIT `+fmt.Sprint(maxEvents+1), f.caseIDs)
	if err != nil {
		return transient("events", err)
	}
	defer rows.Close()
	idx := make(map[string]int, len(out.Cases))
	for i, c := range out.Cases {
		idx[c.Ref] = i
	}
	n := 0
	for rows.Next() {
		var caseID int64
		var requestID, recipient string
		var payload []byte
		if err := rows.Scan(&caseID, &requestID, &recipient, &payload); err != nil {
			return transient("events", err)
		}
		if n++; n > maxEvents {
			out.Incomplete = append(out.Incomplete, fmt.Sprintf("historiques des dossiers : les %d premiers événements seulement", maxEvents))
			break
		}
		var e schemas.CaseEvent
		if err := json.Unmarshal(payload, &e); err != nil {
			return fmt.Errorf("personaldata: event of case %d: %w", caseID, err)
		}
		i, ok := idx[f.caseRef[caseID]]
		if !ok {
			continue
		}
		c := &out.Cases[i]
		ev := Event{At: e.At, Type: e.Type, Label: EventLabel(e.Type), State: e.State}
		// Another person's request, or a reply to another person: its
		// words are theirs.
		others := (requestID != "" && !f.mine[requestID]) || (recipient != "" && !f.mine[recipient])
		if !others {
			ev.Summary = e.Summary
		}
		if e.Type == schemas.EventNoteAdded && !c.Shared {
			ev.Note, _ = e.Data["text"].(string)
		}
		c.Events = append(c.Events, ev)
		if e.Type == schemas.EventReplied && (f.mine[recipient] || recipient == "" && x.toPerson(e, f)) {
			msg, _ := e.Data["message"].(string)
			to, _ := e.Data["to"].(string)
			ch, _ := e.Data["channel"].(string)
			subj, _ := e.Data["subject"].(string)
			out.Replies = append(out.Replies, Reply{At: e.At, CaseRef: c.Ref, Channel: ch, To: to, Subject: subj, Message: msg, By: e.Actor.ID})
		}
	}
	if err := rows.Err(); err != nil {
		return transient("events", err)
	}
	return nil
}

// toPerson says whether a reply addressed to no request went to one of the
// person's contacts.
func (x *Exporter) toPerson(e schemas.CaseEvent, f *found) bool {
	to, _ := e.Data["to"].(string)
	to = strings.ToLower(strings.TrimSpace(to))
	if to == "" {
		return false
	}
	if p, err := citizen.NormalizePhone(to); err == nil && p != "" {
		to = p
	}
	return slices.Contains(f.contacts, to)
}

// messages reads what Guichet sent by itself to the person's requests or
// contacts (the replies are read from the cases' histories).
func (x *Exporter) messages(ctx context.Context, tx pgx.Tx, out *Export, f *found) error {
	if len(f.requestIDs) == 0 && len(f.contacts) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, `
		SELECT sent_at, kind, recipient, delivered FROM notifications
		WHERE (request_id = ANY($1::uuid[]) OR recipient = ANY($2)) AND kind <> 'reply'
		ORDER BY sent_at LIMIT `+fmt.Sprint(maxRows), f.requestIDs, f.contacts)
	if err != nil {
		return transient("notifications", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Message, error) {
		var m Message
		err := r.Scan(&m.At, &m.Kind, &m.To, &m.Delivered)
		m.Label = MessageLabel(m.Kind)
		return m, err
	})
	if err != nil {
		return transient("notifications", err)
	}
	out.Messages = append(out.Messages, list...)
	return nil
}

func (x *Exporter) letters(ctx context.Context, tx pgx.Tx, out *Export, f *found) error {
	if len(f.requestIDs) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, `
		SELECT created_at, kind, recipient, subject, body, coalesce(case_ref, ''), posted_at FROM postal_notices
		WHERE request_id = ANY($1::uuid[]) ORDER BY created_at LIMIT `+fmt.Sprint(maxRows), f.requestIDs)
	if err != nil {
		return transient("letters", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Letter, error) {
		var l Letter
		err := r.Scan(&l.CreatedAt, &l.Kind, &l.To, &l.Subject, &l.Body, &l.CaseRef, &l.PostedAt)
		return l, err
	})
	if err != nil {
		return transient("letters", err)
	}
	out.Letters = append(out.Letters, list...)
	return nil
}

func (x *Exporter) opinions(ctx context.Context, tx pgx.Tx, out *Export, f *found) error {
	if len(f.requestIDs) == 0 || len(f.caseIDs) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, `
		SELECT case_id, score, coalesce(comment, ''), answered_at FROM satisfaction
		WHERE case_id = ANY($1) AND thread_id = ANY($2::uuid[]) ORDER BY answered_at`, f.caseIDs, f.requestIDs)
	if err != nil {
		return transient("opinions", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Opinion, error) {
		var o Opinion
		var caseID int64
		var score int16
		err := r.Scan(&caseID, &score, &o.Comment, &o.AnsweredAt)
		o.CaseRef, o.Score = f.caseRef[caseID], int(score)
		return o, err
	})
	if err != nil {
		return transient("opinions", err)
	}
	out.Opinions = append(out.Opinions, list...)
	return nil
}

// signIns reads the links and sessions of « Mes demandes » (both tables
// keep a day past expiry at most: they are small).
func (x *Exporter) signIns(ctx context.Context, tx pgx.Tx, out *Export, f *found) error {
	if len(f.contacts) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, `
		SELECT 'link', address, created_at, expires_at, used_at, coalesce(ip, '') FROM citizen_sign_in_links WHERE address = ANY($1)
		UNION ALL
		SELECT 'session', coalesce(email, phone), created_at, expires_at, NULL, '' FROM citizen_sessions
		WHERE email = ANY($1) OR phone = ANY($1)
		ORDER BY 3 LIMIT `+fmt.Sprint(maxRows), f.contacts)
	if err != nil {
		return transient("sign-ins", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (SignIn, error) {
		var s SignIn
		err := r.Scan(&s.Kind, &s.Address, &s.CreatedAt, &s.ExpiresAt, &s.UsedAt, &s.IP)
		return s, err
	})
	if err != nil {
		return transient("sign-ins", err)
	}
	out.SignIns = append(out.SignIns, list...)
	return nil
}

// rejections reads the e-mails of the person the mail channel could not
// turn into requests (a small table, read whole).
func (x *Exporter) rejections(ctx context.Context, tx pgx.Tx, out *Export, f *found) error {
	var emails []string
	for _, c := range f.contacts {
		if strings.Contains(c, "@") {
			emails = append(emails, c)
		}
	}
	if len(emails) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, `
		SELECT received_at, subject, reason FROM mail_rejections
		WHERE EXISTS (SELECT 1 FROM unnest($1::text[]) e WHERE position(e IN lower(sender)) > 0)
		ORDER BY received_at LIMIT `+fmt.Sprint(maxRows), emails)
	if err != nil {
		return transient("rejections", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Rejection, error) {
		var j Rejection
		err := r.Scan(&j.ReceivedAt, &j.Subject, &j.Reason)
		return j, err
	})
	if err != nil {
		return transient("rejections", err)
	}
	out.Rejections = append(out.Rejections, list...)
	return nil
}

// accesses reads the audit log's entries whose target is one of the
// person's cases or identifiers (a search by their name, number or
// address), newest first.
func (x *Exporter) accesses(ctx context.Context, tx pgx.Tx, who Subject, out *Export, f *found) error {
	targets := []string{who.Value()}
	add := func(t string) {
		if t != "" && !slices.Contains(targets, t) {
			targets = append(targets, t)
		}
	}
	for _, c := range out.Cases {
		add(c.Ref)
	}
	// Searches by any identifier of their records count: staff looking
	// them up.
	contacts := slices.Clone(f.contacts)
	for _, p := range out.People {
		add(p.Name)
		for _, c := range []string{p.Email, p.Phone} {
			if c != "" && !slices.Contains(contacts, c) {
				contacts = append(contacts, c)
			}
		}
	}
	for _, c := range contacts {
		add(c)
		if strings.HasPrefix(c, "+") {
			national := citizen.DisplayPhone(c)
			add(national)
			add(strings.ReplaceAll(national, " ", ""))
		}
	}
	rows, err := tx.Query(ctx, `
		SELECT at, actor, actor_kind, action, target FROM audit_log
		WHERE target = ANY($1) ORDER BY at DESC, id DESC LIMIT `+fmt.Sprint(maxRows+1), targets)
	if err != nil {
		return transient("audit", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Access, error) {
		var a Access
		err := r.Scan(&a.At, &a.Actor, &a.ActorKind, &a.Action, &a.Target)
		a.Label = ActionLabel(a.Action)
		return a, err
	})
	if err != nil {
		return transient("audit", err)
	}
	if len(list) > maxRows {
		list = list[:maxRows]
		out.Incomplete = append(out.Incomplete, fmt.Sprintf("consultations : les %d plus récentes seulement", maxRows))
	}
	out.Accesses = append(out.Accesses, list...)
	return nil
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
