package intake_test

import (
	"context"
	"errors"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/intake"
	"github.com/ampmetropole/guichet/services/platform/bus"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

var secret = []byte("intake-test-secret-0123456789")

func TestTrackingCode(t *testing.T) {
	format := regexp.MustCompile(intake.TrackingCodePattern)
	id := "019ac4e2-5b1a-7c3e-9a10-3f2b6d1e8a99"
	a := intake.TrackingCode(secret, id)
	if !format.MatchString(a) {
		t.Fatalf("%q is not a tracking code", a)
	}
	if intake.TrackingCode(secret, id) != a {
		t.Fatal("the same request gets two codes")
	}
	if intake.TrackingCode([]byte("another-secret-0123456789"), id) == a {
		t.Fatal("the code does not depend on the secret")
	}
	seen := map[string]bool{}
	for i := range 2000 {
		c := intake.TrackingCode(secret, id[:30]+string(rune('a'+i%26))+string(rune('a'+i/26%26))+string(rune('a'+i/676)))
		if seen[c] {
			t.Fatalf("collision after %d codes", i)
		}
		seen[c] = true
	}
}

func setup(t *testing.T) (*intake.Intake, *bus.Conn, *casestore.Store) {
	t.Helper()
	_, conn := testkit.Bus(t)
	v, err := schemas.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	store, err := casestore.Open(context.Background(), casestore.Config{URL: testkit.Database(t), CheckEvents: true}, v, testkit.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	in, err := intake.New(bus.NewPublisher(conn.JS), store, v, secret, testkit.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	return in, conn, store
}

func TestSubmitJSONCompletesAndPublishes(t *testing.T) {
	in, conn, store := setup(t)
	ctx := context.Background()
	rc, err := in.SubmitJSON(ctx, []byte(`{"channel": "mail", "body": "Lettre.", "source": {"adapter": "api", "system": "usurpé"}}`), partner)
	if err != nil {
		t.Fatal(err)
	}
	if rc.TrackingCode == "" || rc.TrackingCode == intake.TrackingCode(secret, rc.ID) || rc.Duplicate {
		t.Fatalf("receipt %+v: the code must be keyed with the submitting system", rc)
	}
	s, _ := conn.JS.Stream(ctx, bus.StreamRequests)
	msg, err := s.GetLastMsgForSubject(ctx, "guichet.requests.mail")
	if err != nil {
		t.Fatal(err)
	}
	v, _ := schemas.NewValidator()
	req, err := v.DecodeRequest(msg.Data)
	if err != nil {
		t.Fatalf("published request does not validate: %v", err)
	}
	if req.ID != rc.ID || req.Language != "fr" || req.Source.Adapter != "api" || req.ReceivedAt.IsZero() {
		t.Errorf("defaults not filled in: %+v", req)
	}
	if req.Source.System != partner.System {
		t.Errorf("source.system %q: the caller's credential, not what the body says, names the submitter", req.Source.System)
	}
	if msg.Header.Get("Nats-Msg-Id") != rc.ID {
		t.Errorf("Nats-Msg-Id %q", msg.Header.Get("Nats-Msg-Id"))
	}
	// The receipt does not wait for the status record (it is written just
	// after): pending meanwhile, then recorded.
	testkit.Eventually(t, 5*time.Second, "status recorded", func() bool {
		if _, pending := in.Pending(rc.ID); pending {
			return false
		}
		st, err := store.RequestStatus(ctx, rc.ID)
		return err == nil && st.Status == "received"
	})
}

// partner is the system the tests submit as.
var partner = intake.From{Adapter: "api", System: "partenaire-test"}

// An id is the submitting system's: the same system posting it again gets
// its receipt back; another system gets a Conflict and no tracking code —
// neither once the first is recorded nor while it is still in flight.
func TestSubmitJSONIDBelongsToItsSystem(t *testing.T) {
	in, _, store := setup(t)
	ctx := context.Background()
	fresh, _ := uuid.NewV7()
	// An id dated long ago is looked up before publishing; a fresh one is
	// told by JetStream's deduplication.
	for name, id := range map[string]string{"an old id": "019ac4e2-5b1a-7c3e-9a10-3f2b6d1e8a99", "a fresh id": fresh.String()} {
		body := []byte(`{"id": "` + id + `", "channel": "web", "body": "Trou rue Paradis"}`)
		first, err := in.SubmitJSON(ctx, body, partner)
		if err != nil {
			t.Fatal(err)
		}
		intruder := intake.From{Adapter: "api", System: "intrus"}
		// At once (possibly still in flight), then once recorded.
		for _, when := range []string{"in flight", "recorded"} {
			if when == "recorded" {
				testkit.Eventually(t, 5*time.Second, "recorded", func() bool {
					_, err := store.RequestStatus(ctx, first.ID)
					return err == nil
				})
			}
			rc, err := in.SubmitJSON(ctx, body, intruder)
			if k := fault.KindOf(err); (k != fault.Conflict && k != fault.Transient) || rc.TrackingCode != "" {
				t.Fatalf("%s, %s: another system posting the id got %+v, %v; want a refusal and no code", name, when, rc, err)
			}
			if when == "recorded" && fault.KindOf(err) != fault.Conflict {
				t.Fatalf("%s, recorded: %v, want a Conflict", name, err)
			}
			again, err := in.SubmitJSON(ctx, body, partner)
			if err != nil || again.TrackingCode != first.TrackingCode || again.ID != first.ID {
				t.Fatalf("%s, %s: the same system's retry got %+v, %v; want %+v", name, when, again, err, first)
			}
		}
	}
}

// What only Guichet's channels say, and text the store or the mailer would
// refuse, is refused before anything is published.
func TestSubmitJSONRefusesBeforeAcknowledging(t *testing.T) {
	in, conn, _ := setup(t)
	ctx := context.Background()
	for name, body := range map[string]string{
		"a link to a case":    `{"channel": "web", "body": "x", "link": {"case_ref": "AMP-2026-000001", "by": "agent"}}`,
		"a correction":        `{"channel": "mail", "body": "x", "supersedes": "019ac4e2-5b1a-7c3e-9a10-3f2b6d1e8a99"}`,
		"a NUL in the body":   `{"channel": "web", "body": "trou\u0000rue"}`,
		"a NUL in a name":     `{"channel": "web", "body": "x", "citizen": {"name": "A\u0000B"}}`,
		"two addresses":       `{"channel": "web", "body": "x", "citizen": {"email": "a@example.org, b@example.org"}}`,
		"a line in an e-mail": `{"channel": "web", "body": "x", "citizen": {"email": "a@example.org\r\nBcc: b@example.org"}}`,
	} {
		rc, err := in.SubmitJSON(ctx, []byte(body), partner)
		if fault.KindOf(err) != fault.Invalid || rc.TrackingCode != "" {
			t.Errorf("%s: got %+v, %v; want Invalid and no code", name, rc, err)
		}
	}
	if _, err := in.Submit(ctx, schemas.Request{Channel: "web", Body: "trou\x00rue", Source: schemas.Source{Adapter: "test"}}); fault.KindOf(err) != fault.Invalid {
		t.Errorf("a channel's request with a NUL: %v", err)
	}
	if n := testkit.StreamMsgs(t, conn, bus.StreamRequests); n != 0 {
		t.Fatalf("%d requests published from refused input", n)
	}
}

func TestSubmitRefusesInvalid(t *testing.T) {
	in, _, _ := setup(t)
	_, err := in.Submit(context.Background(), schemas.Request{Channel: "pigeon", Source: schemas.Source{Adapter: "test"}})
	var ve *schemas.ValidationError
	if fault.KindOf(err) != fault.Invalid || !errors.As(err, &ve) || ve.Problems[0].Field != "/channel" {
		t.Fatalf("got %v", err)
	}
}

func TestNewRefusesShortSecret(t *testing.T) {
	if _, err := intake.New(nil, nil, nil, []byte("short"), testkit.NopLogger()); err == nil {
		t.Fatal("a short secret was accepted")
	}
}

// Concurrent acceptances are recorded together, each one exactly once. A
// system's receipt does not wait for the record: its status is readable at
// once all the same, from the database or from what intake holds.
func TestConcurrentSubmissionsAreAllRecorded(t *testing.T) {
	in, _, store := setup(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	ids := make([]string, 40)
	for i := range ids {
		wg.Go(func() {
			rc, err := in.SubmitJSON(ctx, []byte(`{"channel": "web", "body": "Trou numéro `+strconv.Itoa(i)+`"}`), partner)
			if err != nil {
				t.Error(err)
				return
			}
			if _, pending := in.Pending(rc.ID); !pending {
				if st, err := store.RequestStatus(ctx, rc.ID); err != nil || st.Status != "received" {
					t.Errorf("request %d neither pending nor recorded when acknowledged: %+v %v", i, st, err)
				}
			}
			ids[i] = rc.ID
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, id := range ids {
		if id == "" || seen[id] {
			t.Fatalf("ids %v", ids)
		}
		seen[id] = true
		testkit.Eventually(t, 5*time.Second, "request "+id+" recorded, no longer pending", func() bool {
			st, err := store.RequestStatus(ctx, id)
			_, pending := in.Pending(id)
			return err == nil && st.Status == "received" && !pending
		})
	}
}

// heldRecorder writes through to the real store once released.
type heldRecorder struct {
	store   *casestore.Store
	release chan struct{}
}

func (h heldRecorder) RecordReceived(ctx context.Context, r schemas.Request, raw []byte) error {
	<-h.release
	return h.store.RecordReceived(ctx, r, raw)
}

func (h heldRecorder) RequestSystem(ctx context.Context, id string) (string, bool, error) {
	return h.store.RequestSystem(ctx, id)
}

// A system's receipt waits for JetStream, not for the database: while the
// status record is held back the request is acknowledged and pending; an
// adapter's receipt (Submit) waits for the record.
func TestReceiptDoesNotWaitForTheRecord(t *testing.T) {
	_, conn, store := setup(t)
	v, _ := schemas.NewValidator()
	held := heldRecorder{store: store, release: make(chan struct{})}
	in, err := intake.New(bus.NewPublisher(conn.JS), held, v, secret, testkit.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rc, err := in.SubmitJSON(ctx, []byte(`{"channel": "web", "body": "Lampadaire éteint"}`), partner)
	if err != nil {
		t.Fatal(err)
	}
	if req, ok := in.Pending(rc.ID); !ok || req.Channel != "web" {
		t.Fatalf("acknowledged request not pending: %+v %v", req, ok)
	}
	if _, err := store.RequestStatus(ctx, rc.ID); fault.KindOf(err) != fault.NotFound {
		t.Fatalf("recorded while the record was held: %v", err)
	}
	submitted := make(chan error, 1)
	go func() {
		_, err := in.Submit(ctx, schemas.Request{Channel: "web", Body: "Trou", Source: schemas.Source{Adapter: "test"}})
		submitted <- err
	}()
	select {
	case err := <-submitted:
		t.Fatalf("an adapter's receipt did not wait for the record (%v)", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(held.release)
	if err := <-submitted; err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 5*time.Second, "the held record written", func() bool {
		st, err := store.RequestStatus(ctx, rc.ID)
		_, pending := in.Pending(rc.ID)
		return err == nil && st.Status == "received" && !pending
	})
}
