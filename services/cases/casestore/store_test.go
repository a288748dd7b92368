package casestore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/caseref"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/intake"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

type testBundle struct {
	url string
	v   *schemas.Validator
}

func setup(t *testing.T) (*casestore.Store, testBundle) {
	t.Helper()
	url := testkit.Database(t)
	v, err := schemas.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	s, err := casestore.Open(context.Background(), casestore.Config{URL: url, CheckEvents: true}, v, testkit.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, testBundle{url: url, v: v}
}

func newRequest(t *testing.T) (schemas.Request, []byte) {
	t.Helper()
	id, _ := uuid.NewV7()
	r := schemas.Request{ID: id.String(), Schema: schemas.RequestV1, Channel: "web",
		ReceivedAt: time.Now().UTC().Truncate(time.Millisecond), TrackingCode: intake.TrackingCode([]byte("test-secret-16-bytes"), id.String()),
		Source: schemas.Source{Adapter: "test"}, Body: "texte", Language: "fr"}
	v, _ := schemas.NewValidator()
	raw, err := v.EncodeRequest(r)
	if err != nil {
		t.Fatal(err)
	}
	return r, raw
}

func TestMigrateIsIdempotent(t *testing.T) {
	_, b := setup(t)
	if err := casestore.Migrate(context.Background(), b.url, testkit.Logger(t)); err != nil {
		t.Fatalf("migrating an up-to-date database: %v", err)
	}
}

func event(typ string) schemas.CaseEvent {
	id, _ := uuid.NewV7()
	return schemas.CaseEvent{ID: id.String(), Schema: schemas.CaseEventV1, Type: typ, At: time.Now().UTC(),
		Actor: schemas.Actor{Kind: "router"}, Competence: "voirie", State: "received"}
}

func TestRouteWritesEverythingOnceAndReplayIsRefused(t *testing.T) {
	s, _ := setup(t)
	ctx := context.Background()
	req, raw := newRequest(t)
	var ref string
	route := func() ([]casestore.OutboxMsg, error) {
		return s.Route(ctx, func(ctx context.Context, tx *casestore.RouteTx) error {
			if err := tx.ClaimRequest(ctx, req, raw); err != nil {
				return err
			}
			cid, err := tx.ResolveCitizen(ctx, casestore.Identity{Name: "Léa", Email: "lea@example.net"})
			if err != nil {
				return err
			}
			c, err := tx.CreateCase(ctx, casestore.NewCase{Competence: "voirie", Territory: "pays-d-aix", CitizenID: cid})
			if err != nil {
				return err
			}
			ref = c.Ref
			e := event(schemas.EventCreated)
			e.RequestID = req.ID
			if _, err := tx.AppendEvent(ctx, c, e); err != nil {
				return err
			}
			if err := tx.RecordDecision(ctx, casestore.Decision{RequestID: req.ID, CaseID: c.ID, Outcome: "new_case",
				Competence: "voirie", ModelVersion: "test", DecidedBy: "test"}); err != nil {
				return err
			}
			return tx.FinishRequest(ctx, req.ID, c.ID, cid)
		})
	}
	pending, err := route()
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 1 || pending[0].Subject != "guichet.cases.voirie.created" {
		t.Fatalf("outbox: %+v", pending)
	}
	if _, err := caseref.Parse(ref); err != nil {
		t.Errorf("case reference: %v", err)
	}
	if _, err := route(); !errors.Is(err, casestore.ErrAlreadyRouted) {
		t.Fatalf("replay: want ErrAlreadyRouted, got %v", err)
	}
	c, err := s.Case(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Events) != 1 || c.Events[0].Seq != 1 || c.Events[0].CaseRef != ref {
		t.Fatalf("events: %+v", c.Events)
	}
	st, err := s.RequestStatus(ctx, req.ID)
	if err != nil || st.Status != "routed" || st.CaseRef == nil || *st.CaseRef != ref {
		t.Fatalf("status: %+v %v", st, err)
	}
}

func TestRouteRollsBackOnError(t *testing.T) {
	s, b := setup(t)
	ctx := context.Background()
	req, raw := newRequest(t)
	boom := errors.New("boom")
	_, err := s.Route(ctx, func(ctx context.Context, tx *casestore.RouteTx) error {
		if err := tx.ClaimRequest(ctx, req, raw); err != nil {
			return err
		}
		if _, err := tx.CreateCase(ctx, casestore.NewCase{Competence: "triage"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
	if n := testkit.Count(t, b.url, "SELECT count(*) FROM cases") + testkit.Count(t, b.url, "SELECT count(*) FROM requests"); n != 0 {
		t.Fatalf("%d rows survived a rolled-back transaction", n)
	}
}

func TestResolveCitizen(t *testing.T) {
	s, b := setup(t)
	ctx := context.Background()
	resolve := func(id casestore.Identity) int64 {
		t.Helper()
		var cid int64
		if _, err := s.Route(ctx, func(ctx context.Context, tx *casestore.RouteTx) error {
			var err error
			cid, err = tx.ResolveCitizen(ctx, id)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return cid
	}
	byEmail := resolve(casestore.Identity{Name: "Léa Martinez", Email: "lea@example.net"})
	if byEmail == 0 {
		t.Fatal("no citizen created")
	}
	// Same e-mail, with a phone now: same person, phone added.
	if got := resolve(casestore.Identity{Email: "lea@example.net", Phone: "+33639981427"}); got != byEmail {
		t.Fatalf("same e-mail gave citizen %d, want %d", got, byEmail)
	}
	// Phone alone (a call) finds her too.
	if got := resolve(casestore.Identity{Phone: "+33639981427"}); got != byEmail {
		t.Fatalf("same phone gave citizen %d, want %d", got, byEmail)
	}
	other := resolve(casestore.Identity{Email: "autre@example.org"})
	if other == byEmail || other == 0 {
		t.Fatalf("another person got citizen %d", other)
	}
	if got := resolve(casestore.Identity{}); got != 0 {
		t.Fatalf("nobody resolved to %d", got)
	}
	if n := testkit.Count(t, b.url, "SELECT count(*) FROM citizens"); n != 2 {
		t.Fatalf("%d citizens, want 2", n)
	}
}

func TestCaseEventsAreAppendOnly(t *testing.T) {
	s, b := setup(t)
	ctx := context.Background()
	if _, err := s.Route(ctx, func(ctx context.Context, tx *casestore.RouteTx) error {
		c, err := tx.CreateCase(ctx, casestore.NewCase{Competence: "voirie"})
		if err != nil {
			return err
		}
		_, err = tx.AppendEvent(ctx, c, event(schemas.EventCreated))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, b.url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, sql := range []string{"UPDATE case_events SET type = 'merged'", "DELETE FROM case_events"} {
		if _, err := conn.Exec(ctx, sql); err == nil {
			t.Errorf("%s succeeded on an append-only table", sql)
		}
	}
}

func TestAppendEventRefusesInvalidEvent(t *testing.T) {
	s, b := setup(t)
	ctx := context.Background()
	_, err := s.Route(ctx, func(ctx context.Context, tx *casestore.RouteTx) error {
		c, err := tx.CreateCase(ctx, casestore.NewCase{Competence: "voirie"})
		if err != nil {
			return err
		}
		e := event("exploded") // not a case-event.v1 type
		_, err = tx.AppendEvent(ctx, c, e)
		return err
	})
	if fault.KindOf(err) != fault.Permanent {
		t.Fatalf("want a permanent error, got %v", err)
	}
	if n := testkit.Count(t, b.url, "SELECT count(*) FROM outbox"); n != 0 {
		t.Fatalf("an invalid event reached the outbox")
	}
}

func TestOutbox(t *testing.T) {
	s, _ := setup(t)
	ctx := context.Background()
	pending, err := s.Route(ctx, func(ctx context.Context, tx *casestore.RouteTx) error {
		c, err := tx.CreateCase(ctx, casestore.NewCase{Competence: "voirie"})
		if err != nil {
			return err
		}
		_, err = tx.AppendEvent(ctx, c, event(schemas.EventCreated))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.PendingOutbox(ctx, 0, 10)
	if err != nil || len(got) != 1 || got[0].MsgID != pending[0].MsgID {
		t.Fatalf("pending: %+v %v", got, err)
	}
	if young, _ := s.PendingOutbox(ctx, time.Hour, 10); len(young) != 0 {
		t.Fatalf("a message younger than minAge was handed to the relay")
	}
	if err := s.MarkPublished(ctx, got[0].ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.PendingOutbox(ctx, 0, 10); len(got) != 0 {
		t.Fatalf("published message still pending")
	}
	if n, err := s.PurgePublished(ctx, 0); err != nil || n != 1 {
		t.Fatalf("purge: %d %v", n, err)
	}
}

func TestNotFound(t *testing.T) {
	s, _ := setup(t)
	ctx := context.Background()
	if _, err := s.Case(ctx, "AMP-2026-000042"); fault.KindOf(err) != fault.NotFound {
		t.Errorf("Case: %v", err)
	}
	id, _ := uuid.NewV7()
	if _, err := s.RequestStatus(ctx, id.String()); fault.KindOf(err) != fault.NotFound {
		t.Errorf("RequestStatus: %v", err)
	}
}

// closeCase sets a case's state directly: the workflow engine does not
// exist yet, and only the ordering of open and closed cases is under test.
func closeCase(t *testing.T, url, ref string) {
	t.Helper()
	testkit.Exec(t, url, `UPDATE cases SET state = 'closed' WHERE ref = $1`, ref)
}

// TestIntakeAndRouterRecordTheSameRequestAtOnce is the race the intake's
// "received" row and the router's claim run every time: neither may fail.
func TestIntakeAndRouterRecordTheSameRequestAtOnce(t *testing.T) {
	s, _ := setup(t)
	ctx := context.Background()
	for range 40 {
		req, raw := newRequest(t)
		errs := make(chan error, 2)
		go func() { errs <- s.RecordReceived(ctx, req, raw) }()
		go func() {
			_, err := s.Route(ctx, func(ctx context.Context, tx *casestore.RouteTx) error { return tx.ClaimRequest(ctx, req, raw) })
			errs <- err
		}()
		for range 2 {
			if err := <-errs; err != nil {
				t.Fatalf("concurrent record and claim: %v", err)
			}
		}
	}
}

func TestTrackingCodeOfAnotherRequestIsAConflict(t *testing.T) {
	s, _ := setup(t)
	ctx := context.Background()
	first, raw := newRequest(t)
	if err := s.RecordReceived(ctx, first, raw); err != nil {
		t.Fatal(err)
	}
	second, raw2 := newRequest(t)
	second.TrackingCode = first.TrackingCode
	_, err := s.Route(ctx, func(ctx context.Context, tx *casestore.RouteTx) error { return tx.ClaimRequest(ctx, second, raw2) })
	if fault.KindOf(err) != fault.Conflict {
		t.Fatalf("got %v", err)
	}
}
