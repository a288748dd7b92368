package intake_test

import (
	"context"
	"errors"
	"regexp"
	"strconv"
	"sync"
	"testing"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/bus"
	"github.com/ampmetropole/guichet/services/casestore"
	"github.com/ampmetropole/guichet/services/fault"
	"github.com/ampmetropole/guichet/services/intake"
	"github.com/ampmetropole/guichet/services/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

var secret = []byte("intake-test-secret-0123456789")

func TestTrackingCode(t *testing.T) {
	format := regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$`)
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
	store, err := casestore.Open(context.Background(), casestore.Config{URL: testkit.Database(t)}, v, testkit.Logger(t))
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
	rc, err := in.SubmitJSON(ctx, []byte(`{"channel": "mail", "body": "Lettre."}`), "api")
	if err != nil {
		t.Fatal(err)
	}
	if rc.TrackingCode != intake.TrackingCode(secret, rc.ID) || rc.Duplicate {
		t.Fatalf("receipt %+v", rc)
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
	if msg.Header.Get("Nats-Msg-Id") != rc.ID {
		t.Errorf("Nats-Msg-Id %q", msg.Header.Get("Nats-Msg-Id"))
	}
	st, err := store.RequestStatus(ctx, rc.ID)
	if err != nil || st.Status != "received" {
		t.Fatalf("status before routing: %+v %v", st, err)
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

// Concurrent acceptances are recorded together, each one exactly once and
// readable as soon as its submitter got the receipt.
func TestConcurrentSubmissionsAreAllRecorded(t *testing.T) {
	in, _, store := setup(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	ids := make([]string, 40)
	for i := range ids {
		wg.Go(func() {
			rc, err := in.SubmitJSON(ctx, []byte(`{"channel": "web", "body": "Trou numéro `+strconv.Itoa(i)+`"}`), "test")
			if err != nil {
				t.Error(err)
				return
			}
			if st, err := store.RequestStatus(ctx, rc.ID); err != nil || st.Status != "received" {
				t.Errorf("request %d not recorded when acknowledged: %+v %v", i, st, err)
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
	}
}
