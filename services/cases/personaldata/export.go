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
