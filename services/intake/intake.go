// Package intake is the one way into Guichet for every channel adapter: it
// completes a request (id, tracking code, receipt time), proves it matches
// the request.v1 schema, publishes it on REQUESTS and answers only once
// JetStream has acknowledged it.
package intake

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/citizen"
	"github.com/ampmetropole/guichet/services/platform/bus"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/platform/textcheck"
)

// Publisher is what intake needs of the bus.
type Publisher interface {
	Publish(ctx context.Context, subject, msgID string, data []byte, header nats.Header) (bus.Published, error)
}

// Recorder notes accepted requests so that their status can be asked at
// once, and says which system submitted a known request.
type Recorder interface {
	RecordReceived(ctx context.Context, r schemas.Request, raw []byte) error
	// RequestSystem returns source.system of a recorded request ("" for
	// Guichet's own channels); found is false for an unknown id.
	RequestSystem(ctx context.Context, id string) (system string, found bool, err error)
}

// From is who submits a request through SubmitJSON: the adapter (the API)
// and the other system, by its API token's name.
type From struct {
	Adapter string
	System  string
}

// Receipt is what the adapter tells the citizen or the upstream system.
type Receipt struct {
	ID           string    `json:"id"`
	TrackingCode string    `json:"tracking_code"`
	ReceivedAt   time.Time `json:"-"` // of this submission; a duplicate keeps the first one's
	Duplicate    bool      `json:"-"` // the same request had already been accepted
}

// Intake accepts requests.
type Intake struct {
	pub      Publisher
	rec      Recorder
	validate *schemas.Validator
	secret   []byte
	log      *slog.Logger
	group    groupRecorder
	// inflight holds the requests acknowledged through SubmitJSON whose
	// status record is not written yet (id → Request).
	inflight sync.Map
}

// BatchRecorder records several accepted requests at once; a Recorder that
// is one too (casestore.Store) lets concurrent acceptances share one
// database round trip and commit.
type BatchRecorder interface {
	RecordReceivedBatch(ctx context.Context, rs []casestore.Received) error
}

// groupRecorder gathers the records of concurrent acceptances: the first
// to come waits a moment for others, records them all, and tells each.
type groupRecorder struct {
	mu      sync.Mutex
	pending *recordGroup
}

type recordGroup struct {
	items []casestore.Received
	done  chan struct{}
	err   error
}

// groupWindow is how long the first of a group waits for others.
const groupWindow = time.Millisecond

// recordTimeout bounds the wait for the status record.
const recordTimeout = 30 * time.Second

func (in *Intake) record(ctx context.Context, req schemas.Request, data []byte) error {
	br, ok := in.rec.(BatchRecorder)
	if !ok {
		return in.rec.RecordReceived(ctx, req, data)
	}
	g := &in.group
	g.mu.Lock()
	leader := g.pending == nil
	if leader {
		g.pending = &recordGroup{done: make(chan struct{})}
	}
	grp := g.pending
	grp.items = append(grp.items, casestore.Received{Request: req, Raw: data})
	g.mu.Unlock()
	if leader {
		time.Sleep(groupWindow)
		g.mu.Lock()
		g.pending = nil
		g.mu.Unlock()
		grp.err = br.RecordReceivedBatch(ctx, grp.items)
		close(grp.done)
	}
	<-grp.done
	return grp.err
}

// New returns an intake. secret keys the tracking codes: keep it stable and
// private, or codes already given out stop matching.
func New(pub Publisher, rec Recorder, v *schemas.Validator, secret []byte, log *slog.Logger) (*Intake, error) {
	if len(secret) < 16 {
		return nil, errors.New("intake: the tracking-code secret must be at least 16 bytes")
	}
	return &Intake{pub: pub, rec: rec, validate: v, secret: secret, log: log.With("service", "intake")}, nil
}

// SubmitJSON takes a request in the common schema as sent by another system
// that integrates directly. The fields Guichet sets itself may be left out:
// id (then every call is a new request), schema, received_at, language
// (fr), tracking_code, source (its system is always the caller's). What
// only Guichet's own channels may say — link, supersedes — is refused.
//
// An id is the caller's idempotency key: the same system posting it again
// gets the same receipt; another system gets a Conflict and no tracking
// code, which is keyed with the system's name anyway, so that no race can
// hand it over.
func (in *Intake) SubmitJSON(ctx context.Context, raw []byte, from From) (Receipt, error) {
	if from.System == "" {
		return Receipt{}, errors.New("intake: SubmitJSON needs the submitting system")
	}
	req, data, given, err := in.complete(raw, from)
	if err != nil {
		return Receipt{}, err
	}
	// A request already published in JetStream's deduplication window is
	// told by the publish itself (a duplicate, checked below); one older
	// than that can only be found in the database. An id dated within the
	// last minutes was not published before the window began, so the
	// common case — a fresh UUIDv7 — costs no lookup.
	if given && !recentID(req.ID, time.Now()) {
		if err := in.checkOwner(ctx, req.ID, from.System, false); err != nil {
			return Receipt{}, err
		}
	}
	rc, err := in.publishData(ctx, req, data, false)
	if err == nil && given && rc.Duplicate {
		if err := in.checkOwner(ctx, req.ID, from.System, true); err != nil {
			return Receipt{}, err
		}
	}
	return rc, err
}

// recentWindow is how recent an id's own date must be for the publish's
// deduplication to tell whether it was used: well inside the REQUESTS
// stream's one-hour window (bus.TopologyConfig), with room for clocks.
const recentWindow = 30 * time.Minute

// recentID says whether a UUIDv7 is dated within recentWindow of now.
func recentID(id string, now time.Time) bool {
	u, err := uuid.Parse(id)
	if err != nil || u.Version() != 7 {
		return false
	}
	sec, nsec := u.Time().UnixTime()
	at := time.Unix(sec, nsec)
	return at.After(now.Add(-recentWindow)) && at.Before(now.Add(time.Minute))
}

// checkOwner refuses an id that another system's request already holds.
// For an id the publish found a duplicate of, the first request must be
// known: not yet recorded (another instance is writing it), the caller is
// asked to try again rather than given a receipt.
func (in *Intake) checkOwner(ctx context.Context, id, system string, duplicate bool) error {
	owner, found := "", false
	if v, ok := in.inflight.Load(id); ok {
		owner, found = v.(schemas.Request).Source.System, true
	} else {
		var err error
		if owner, found, err = in.rec.RequestSystem(ctx, id); err != nil {
			return fault.E(fault.Transient, fmt.Errorf("intake: owner of %s: %w", id, err))
		}
	}
	switch {
	case found && owner != system:
		return fault.E(fault.Conflict, fmt.Errorf("l'identifiant %s est déjà celui d'une autre demande : choisissez-en un autre (UUIDv7), ou omettez-le", id))
	case !found && duplicate:
		return fault.E(fault.Transient, fmt.Errorf("intake: %s published but not recorded yet", id))
	}
	return nil
}

// Pending returns a request acknowledged by SubmitJSON whose status record
// is still being written: its status is "received" all the same.
func (in *Intake) Pending(id string) (schemas.Request, bool) {
	v, ok := in.inflight.Load(id)
	if !ok {
		return schemas.Request{}, false
	}
	return v.(schemas.Request), true
}

// complete parses raw, fills in what Guichet sets itself and validates: it
// returns the request, the JSON that was proved valid, to be published as
// it is, and whether the caller chose the id.
func (in *Intake) complete(raw []byte, from From) (schemas.Request, []byte, bool, error) {
	refuse := func(field, msg string) (schemas.Request, []byte, bool, error) {
		return schemas.Request{}, nil, false, fault.E(fault.Invalid, &schemas.ValidationError{Schema: schemas.RequestV1,
			Problems: []schemas.Problem{{Field: field, Message: msg}}})
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || dec.More() {
		if err == nil {
			err = errors.New("données après l'objet JSON")
		}
		return refuse("/", "JSON mal formé : "+err.Error())
	}
	if m == nil {
		return refuse("/", "un objet JSON est attendu")
	}
	for _, own := range []string{"link", "supersedes"} {
		if _, ok := m[own]; ok {
			return refuse("/"+own, "réservé aux canaux de Guichet : ne pas le fournir")
		}
	}
	_, given := m["id"]
	if tc, ok := m["tracking_code"]; ok {
		if id, _ := m["id"].(string); id == "" || tc != in.codeFor(from.System, id) {
			return refuse("/tracking_code", "attribué par Guichet : ne pas le fournir")
		}
	}
	if !given {
		id, err := newID()
		if err != nil {
			return schemas.Request{}, nil, false, err
		}
		m["id"] = id
	}
	setDefault(m, "schema", schemas.RequestV1)
	setDefault(m, "received_at", time.Now().UTC().Truncate(time.Millisecond).Format(time.RFC3339Nano))
	setDefault(m, "language", "fr")
	src, ok := m["source"].(map[string]any)
	if _, present := m["source"]; present && !ok {
		return refuse("/source", "un objet est attendu")
	}
	if src == nil {
		src = map[string]any{}
	}
	setDefault(src, "adapter", from.Adapter)
	src["system"] = from.System // who called, whatever the body says
	m["source"] = src
	if id, ok := m["id"].(string); ok {
		m["tracking_code"] = in.codeFor(from.System, id)
	}
	completed, err := json.Marshal(m)
	if err != nil {
		return schemas.Request{}, nil, false, fmt.Errorf("intake: %w", err)
	}
	req, err := in.validate.DecodeRequest(completed)
	if err != nil {
		return schemas.Request{}, nil, false, fault.E(fault.Invalid, err)
	}
	if err := storable(req, completed); err != nil {
		return schemas.Request{}, nil, false, err
	}
	return req, completed, given, nil
}

// codeFor is the tracking code of request id submitted by system ("" for
// Guichet's own channels): keyed with the system's name too, so that no
// other system can obtain it by posting the same id.
func (in *Intake) codeFor(system, id string) string {
	if system == "" {
		return TrackingCode(in.secret, id)
	}
	return TrackingCode(in.secret, "system:"+system+":"+id)
}

// storable refuses, before anything is acknowledged, what the case store
// or the mailer would refuse later: a NUL character anywhere (PostgreSQL
// stores none), and a citizen e-mail address the mailer cannot send to.
func storable(req schemas.Request, data []byte) error {
	var problems []schemas.Problem
	if textcheck.JSONHasNUL(data) {
		problems = append(problems, schemas.Problem{Field: "/", Message: "caractère nul (\\u0000) refusé : un texte ne peut pas en contenir"})
	}
	if req.Citizen != nil && req.Citizen.Email != "" {
		if _, err := citizen.NormalizeEmail(req.Citizen.Email); err != nil {
			problems = append(problems, schemas.Problem{Field: "/citizen/email",
				Message: "adresse électronique invalide : une seule adresse, sans espace ni retour à la ligne (ex. nom@exemple.fr)"})
		}
	}
	if len(problems) > 0 {
		return fault.E(fault.Invalid, &schemas.ValidationError{Schema: schemas.RequestV1, Problems: problems})
	}
	return nil
}

// Submit completes and publishes a request built by an adapter.
func (in *Intake) Submit(ctx context.Context, req schemas.Request) (Receipt, error) {
	if req.ID == "" {
		id, err := newID()
		if err != nil {
			return Receipt{}, err
		}
		req.ID = id
	}
	if req.Schema == "" {
		req.Schema = schemas.RequestV1
	}
	if req.ReceivedAt.IsZero() {
		req.ReceivedAt = time.Now().UTC().Truncate(time.Millisecond)
	}
	if req.Language == "" {
		req.Language = "fr"
	}
	req.TrackingCode = in.codeFor(req.Source.System, req.ID)
	return in.publish(ctx, req)
}

func (in *Intake) publish(ctx context.Context, req schemas.Request) (Receipt, error) {
	data, err := in.validate.EncodeRequest(req)
	if err != nil {
		return Receipt{}, fault.E(fault.Invalid, err)
	}
	if err := storable(req, data); err != nil {
		return Receipt{}, err
	}
	return in.publishData(ctx, req, data, true)
}

// publishData publishes data, req as validated JSON, and records it. With
// wait the receipt waits for the record: the adapters in this process (web
// form, call console, mailroom) show the request's page right after. A
// system posting to the API gets its receipt once JetStream holds the
// request; the record follows (milliseconds, more when the database is
// saturated), and Pending answers for it meanwhile.
func (in *Intake) publishData(ctx context.Context, req schemas.Request, data []byte, wait bool) (Receipt, error) {
	ack, err := in.pub.Publish(ctx, bus.RequestSubject(req.Channel), req.ID, data, nil)
	if err != nil {
		return Receipt{}, fault.E(fault.Transient, fmt.Errorf("intake: %w", err))
	}
	// Only for status queries before routing: the router records the request
	// anyway, so a failure here loses nothing.
	record := func() {
		// Bounded: with the database away, the router records it later.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
		defer cancel()
		if err := in.record(rctx, req, data); err != nil {
			in.log.Warn("request published but not yet recorded", "request_id", req.ID, "err", err)
		}
	}
	if ack.Duplicate {
		// The first publish holds it in flight and records it; this one
		// must not stand for it (it may come from another system).
	} else if wait {
		record()
	} else {
		in.inflight.Store(req.ID, req)
		go func() {
			defer in.inflight.Delete(req.ID)
			record()
		}()
	}
	in.log.Info("request accepted", "request_id", req.ID, "channel", req.Channel, "seq", ack.Sequence, "duplicate", ack.Duplicate)
	return Receipt{ID: req.ID, TrackingCode: req.TrackingCode, ReceivedAt: req.ReceivedAt, Duplicate: ack.Duplicate}, nil
}

func setDefault(m map[string]any, key string, v any) {
	if _, ok := m[key]; !ok {
		m[key] = v
	}
}

func newID() (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("intake: new request id: %w", err)
	}
	return id.String(), nil
}

// DerivedID is the request id of a contact that an upstream system already
// identifies (a call id, a mailbox message): a UUIDv7 whose time is when the
// contact happened and whose other bits are keyed with the intake's secret
// over the namespace and key, so that the same contact reported twice is the
// same request, and nobody without the secret can compute the id of
// someone else's contact in advance.
func (in *Intake) DerivedID(namespace, key string, at time.Time) string {
	return KeyedID(in.secret, namespace, key, at)
}

// KeyedID is [Intake.DerivedID] with the secret given (the seeder and the
// evaluation corpus, which have their own).
func KeyedID(secret []byte, namespace, key string, at time.Time) string {
	var u uuid.UUID
	ms := uint64(at.UnixMilli())
	for i := range 6 {
		u[i] = byte(ms >> (40 - 8*i))
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("guichet:" + namespace + ":" + key))
	copy(u[6:], mac.Sum(nil)[:10])
	u[6] = 0x70 | (u[6] & 0x0f) // version 7
	u[8] = 0x80 | (u[8] & 0x3f) // RFC 9562 variant
	return u.String()
}
