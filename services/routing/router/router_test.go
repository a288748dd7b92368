package router

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/ampmetropole/guichet/services/routing/incident"
	"github.com/google/uuid"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/territory"
	"github.com/ampmetropole/guichet/services/intake"
	"github.com/ampmetropole/guichet/services/platform/bus"
	"github.com/ampmetropole/guichet/services/testkit"
)

// Environment of the child process that the crash tests kill.
const (
	envCrashMode = "GUICHET_TEST_CRASH_MODE"
	envNATS      = "GUICHET_TEST_NATS_URL"
	envDB        = "GUICHET_TEST_DATABASE_URL"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(envCrashMode); mode != "" {
		os.Exit(crashChild(mode))
	}
	testkit.Main(m)
}

var testSecret = []byte("router-test-secret-0123456789")

type testBundle struct {
	conn    *bus.Conn
	store   *casestore.Store
	intake  *intake.Intake
	dbURL   string
	natsURL string
}

func setup(t *testing.T) testBundle {
	t.Helper()
	srv, conn := testkit.Bus(t)
	dbURL := testkit.Database(t)
	v, err := schemas.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	store, err := casestore.Open(context.Background(), casestore.Config{URL: dbURL, CheckEvents: true}, v, testkit.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	in, err := intake.New(bus.NewPublisher(conn.JS), store, v, testSecret, testkit.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	return testBundle{conn: conn, store: store, intake: in, dbURL: dbURL, natsURL: srv.ClientURL()}
}

func newRouter(t testing.TB, conn *bus.Conn, store Store) *Router {
	t.Helper()
	return newRouterWith(t, conn, store, Config{})
}

// newRouterWith builds a router with the test's timings and extra's
// classifier and decision settings.
func newRouterWith(t testing.TB, conn *bus.Conn, store Store, extra Config) *Router {
	t.Helper()
	v, err := schemas.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	places, err := territory.Load()
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(Config{Workers: 2, MaxAttempts: 3, Backoff: []time.Duration{100 * time.Millisecond},
		AckWait: 2 * time.Second, RelayInterval: 200 * time.Millisecond, Classifier: extra.Classifier, Decisions: extra.Decisions, Budgets: extra.Budgets, Clock: extra.Clock},
		conn, store, v, places, prometheus.NewRegistry(), testkit.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func startRouter(t *testing.T, b testBundle) *Router {
	t.Helper()
	r := newRouter(t, b.conn, b.store)
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	return r
}

func webRequest() schemas.Request {
	return schemas.Request{
		Channel:  schemas.ChannelWeb,
		Source:   schemas.Source{Adapter: "test"},
		Citizen:  &schemas.Citizen{Name: "Léa Martinez", Email: "Lea.Martinez@example.net", Phone: "+33639981427"},
		Subject:  "Nid-de-poule rue Paradis",
		Body:     "Un trou profond devant le 112 rue Paradis, deux scooters sont tombés.",
		Location: &schemas.Location{PostalCode: "13006"},
		Hints:    &schemas.Hints{Competence: "voirie"},
	}
}

// waitRouted waits until the request is routed and returns its case.
func waitRouted(t *testing.T, store *casestore.Store, id string) casestore.Case {
	t.Helper()
	var st casestore.RequestStatus
	testkit.Eventually(t, 15*time.Second, "request "+id+" routed", func() bool {
		var err error
		st, err = store.RequestStatus(context.Background(), id)
		return err == nil && st.Status == "routed"
	})
	c, err := store.Case(context.Background(), *st.CaseRef)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRequestBecomesCaseWithOneEvent(t *testing.T) {
	b := setup(t)
	startRouter(t, b)
	rc, err := b.intake.Submit(context.Background(), webRequest())
	if err != nil {
		t.Fatal(err)
	}
	c := waitRouted(t, b.store, rc.ID)
	if c.Competence != "voirie" || c.Territory == nil || *c.Territory != "marseille-provence" || c.State != "received" {
		t.Errorf("case %+v", c)
	}
	if len(c.Events) != 1 || c.Events[0].Type != schemas.EventCreated || c.Events[0].RequestID != rc.ID {
		t.Fatalf("events %+v", c.Events)
	}
	// The event reaches CASES, on the competence's subject.
	msg := lastCaseEvent(t, b.conn, "guichet.cases.voirie.created")
	var e schemas.CaseEvent
	if err := json.Unmarshal(msg.Data, &e); err != nil || e.CaseRef != c.Ref || e.ID != c.Events[0].ID {
		t.Fatalf("published event %s: %v", msg.Data, err)
	}
	if got := msg.Header.Get(jetstream.MsgIDHeader); got != e.ID {
		t.Errorf("Nats-Msg-Id %q, want the event id %q", got, e.ID)
	}
	// The decision says why.
	var outcome, reasons string
	testkit.QueryRow(t, b.dbURL, `SELECT outcome, reasons::text FROM routing_decisions WHERE request_id = $1`, []any{rc.ID}, &outcome, &reasons)
	if outcome != "new_case" || reasons == "[]" {
		t.Errorf("decision %s %s", outcome, reasons)
	}
}

func TestReplayChangesNothing(t *testing.T) {
	b := setup(t)
	startRouter(t, b)
	req := webRequest()
	rc, err := b.intake.Submit(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	c := waitRouted(t, b.store, rc.ID)

	// The same request again through the intake: deduplicated by JetStream.
	req.ID = rc.ID
	again, err := b.intake.Submit(context.Background(), req)
	if err != nil || !again.Duplicate || again.TrackingCode != rc.TrackingCode {
		t.Fatalf("second submit: %+v %v", again, err)
	}
	// The same request on the bus past the deduplication window (another
	// message id): the router must recognize it.
	raw, _ := json.Marshal(mustLoad(t, b, rc.ID))
	if _, err := bus.NewPublisher(b.conn.JS).Publish(context.Background(), bus.RequestSubject("web"), "late-replay-"+rc.ID, raw, nil); err != nil {
		t.Fatal(err)
	}
	waitConsumerIdle(t, b.conn)
	if n := testkit.Count(t, b.dbURL, `SELECT count(*) FROM cases`); n != 1 {
		t.Errorf("%d cases after replay, want 1", n)
	}
	if n := testkit.Count(t, b.dbURL, `SELECT count(*) FROM case_events`); n != 1 {
		t.Errorf("%d events after replay, want 1", n)
	}
	if n := testkit.Count(t, b.dbURL, `SELECT count(*) FROM routing_decisions`); n != 1 {
		t.Errorf("%d decisions after replay, want 1", n)
	}
	c2, _ := b.store.Case(context.Background(), c.Ref)
	if len(c2.Events) != 1 {
		t.Errorf("case has %d events", len(c2.Events))
	}
}

func TestFollowUpCitingCaseJoinsIt(t *testing.T) {
	b := setup(t)
	startRouter(t, b)
	first, err := b.intake.Submit(context.Background(), webRequest())
	if err != nil {
		t.Fatal(err)
	}
	c := waitRouted(t, b.store, first.ID)
	call := schemas.Request{Channel: schemas.ChannelPhone, Source: schemas.Source{Adapter: "test", ExternalID: "call-1"},
		Citizen: &schemas.Citizen{Phone: "+33639981427"}, Body: "Toujours pas réparé.", CaseRefs: []string{"AMP-1999-000001", c.Ref}}
	second, err := b.intake.Submit(context.Background(), call)
	if err != nil {
		t.Fatal(err)
	}
	c2 := waitRouted(t, b.store, second.ID)
	if c2.Ref != c.Ref || len(c2.Events) != 2 || c2.Events[1].Type != schemas.EventRequestLinked || c2.Events[1].Seq != 2 {
		t.Fatalf("follow-up went to %s with events %+v", c2.Ref, c2.Events)
	}
	// Both contacts resolve to the same citizen (e-mail then phone).
	if n := testkit.Count(t, b.dbURL, `SELECT count(DISTINCT citizen_id) FROM requests`); n != 1 {
		t.Errorf("%d citizens for one person", n)
	}
}

func TestNoHintGoesToTriage(t *testing.T) {
	b := setup(t)
	startRouter(t, b)
	req := webRequest()
	req.Hints = nil
	req.Location = &schemas.Location{PostalCode: "75001"} // outside the Métropole
	rc, err := b.intake.Submit(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	c := waitRouted(t, b.store, rc.ID)
	if c.Competence != schemas.CompetenceTriage || c.Territory != nil {
		t.Errorf("case %+v", c)
	}
}

func TestBadMessageIsDeadLetteredAndRouterGoesOn(t *testing.T) {
	b := setup(t)
	startRouter(t, b)
	pub := bus.NewPublisher(b.conn.JS)
	ctx := context.Background()
	if _, err := pub.Publish(ctx, bus.RequestSubject("web"), "garbage-1", []byte(`{"id": "nope"`), nil); err != nil {
		t.Fatal(err)
	}
	rc, err := b.intake.Submit(ctx, webRequest())
	if err != nil {
		t.Fatal(err)
	}
	waitRouted(t, b.store, rc.ID)
	testkit.Eventually(t, 10*time.Second, "dead letter", func() bool {
		s, _ := b.conn.JS.Stream(ctx, bus.StreamDead)
		m, err := s.GetLastMsgForSubject(ctx, "guichet.dead.requests.web")
		return err == nil && m.Header.Get(bus.HeaderDeadReason) != ""
	})
}

func TestUnroutableRequestIsMarkedFailed(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	rc, err := b.intake.Submit(ctx, webRequest())
	if err != nil {
		t.Fatal(err)
	}
	// The database refuses every routing transaction (simulated by revoking
	// the table the router writes first).
	conn, err := pgx.Connect(ctx, b.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `ALTER TABLE cases ADD CONSTRAINT no_new_cases CHECK (false) NOT VALID`); err != nil {
		t.Fatal(err)
	}
	startRouter(t, b)
	testkit.Eventually(t, 15*time.Second, "request marked failed", func() bool {
		st, err := b.store.RequestStatus(ctx, rc.ID)
		return err == nil && st.Status == "failed" && st.Failure != nil
	})
}

// TestCrashLosesNothingDuplicatesNothing kills a real router process at the
// two worst moments, then checks a new router finishes the job exactly once.
func TestCrashLosesNothingDuplicatesNothing(t *testing.T) {
	for _, mode := range []string{"before-commit", "after-commit"} {
		t.Run(mode, func(t *testing.T) {
			b := setup(t)
			rc, err := b.intake.Submit(context.Background(), webRequest())
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), envCrashMode+"="+mode, envNATS+"="+b.natsURL, envDB+"="+b.dbURL)
			out, err := runWithTimeout(cmd, 60*time.Second)
			ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
			if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
				t.Fatalf("child did not die by SIGKILL: %v\n%s", err, out)
			}
			wantCases := map[string]int{"before-commit": 0, "after-commit": 1}[mode]
			if n := testkit.Count(t, b.dbURL, `SELECT count(*) FROM cases`); n != wantCases {
				t.Fatalf("after the crash: %d cases, want %d", n, wantCases)
			}
			if mode == "after-commit" {
				if n := testkit.Count(t, b.dbURL, `SELECT count(*) FROM outbox WHERE published_at IS NULL`); n != 1 {
					t.Fatalf("the crashed router should have left its event unpublished, %d pending", n)
				}
			}

			startRouter(t, b)
			c := waitRouted(t, b.store, rc.ID)
			waitConsumerIdle(t, b.conn)
			testkit.Eventually(t, 10*time.Second, "event published", func() bool {
				return testkit.Count(t, b.dbURL, `SELECT count(*) FROM outbox WHERE published_at IS NULL`) == 0
			})
			for sql, want := range map[string]int{
				`SELECT count(*) FROM cases`: 1, `SELECT count(*) FROM case_events`: 1,
				`SELECT count(*) FROM routing_decisions`: 1, `SELECT count(*) FROM requests`: 1,
			} {
				if n := testkit.Count(t, b.dbURL, sql); n != want {
					t.Errorf("%s = %d, want %d", sql, n, want)
				}
			}
			if len(c.Events) != 1 {
				t.Errorf("case has %d events", len(c.Events))
			}
			if n := testkit.StreamMsgs(t, b.conn, bus.StreamCases); n != 1 {
				t.Errorf("CASES holds %d messages, want exactly 1", n)
			}
		})
	}
}

// crashChild runs a router that SIGKILLs its own process at the chosen
// moment: what a power cut or an OOM kill does.
func crashChild(mode string) int {
	ctx := context.Background()
	log := testkit.NopLogger()
	conn, err := bus.Connect(ctx, os.Getenv(envNATS), "crash-child", log)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	v, _ := schemas.NewValidator()
	store, err := casestore.Open(ctx, casestore.Config{URL: os.Getenv(envDB), CheckEvents: true}, v, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	places, _ := territory.Load()
	r, err := New(Config{Workers: 1, MaxAttempts: 3, AckWait: 2 * time.Second, RelayInterval: time.Hour},
		conn, store, v, places, prometheus.NewRegistry(), log)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	kill := func() { _ = syscall.Kill(os.Getpid(), syscall.SIGKILL) }
	switch mode {
	case "run": // routes until killed
		r.cfg.Workers = 2
	case "before-commit":
		r.beforeCommit = func(context.Context) error { kill(); select {} }
	case "after-commit":
		r.afterCommit = func() { kill(); select {} }
	default:
		return 3
	}
	if err := r.Start(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	time.Sleep(30 * time.Second)
	if mode == "run" {
		return 0
	}
	fmt.Fprintln(os.Stderr, "crash child: no message arrived")
	return 4
}

func runWithTimeout(cmd *exec.Cmd, d time.Duration) ([]byte, error) {
	var out limitedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.b, err
	case <-time.After(d):
		_ = cmd.Process.Kill()
		<-done
		return out.b, fmt.Errorf("child still running after %s", d)
	}
}

type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if len(l.b) < 1<<16 {
		l.b = append(l.b, p...)
	}
	return len(p), nil
}

func mustLoad(t *testing.T, b testBundle, id string) json.RawMessage {
	t.Helper()
	var raw []byte
	testkit.QueryRow(t, b.dbURL, `SELECT payload::text FROM requests WHERE id = $1`, []any{id}, &raw)
	return raw
}

func lastCaseEvent(t *testing.T, conn *bus.Conn, subject string) *jetstream.RawStreamMsg {
	t.Helper()
	var msg *jetstream.RawStreamMsg
	testkit.Eventually(t, 10*time.Second, "event on "+subject, func() bool {
		s, err := conn.JS.Stream(context.Background(), bus.StreamCases)
		if err != nil {
			return false
		}
		msg, err = s.GetLastMsgForSubject(context.Background(), subject)
		return err == nil
	})
	return msg
}

func waitConsumerIdle(t *testing.T, conn *bus.Conn) {
	t.Helper()
	testkit.Eventually(t, 15*time.Second, "router consumer idle", func() bool {
		c, err := conn.JS.Consumer(context.Background(), bus.StreamRequests, Durable)
		if err != nil {
			return false
		}
		info, err := c.Info(context.Background())
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0
	})
}

// TestSimultaneousReportsMeet: two citizens report one pothole at the same
// moment; their requests are routed in two transactions, each unable to
// see the other's new case. Once both are committed, Regroup (what the
// router runs after a batch during which another committed) puts the two
// cases in one incident.
func TestSimultaneousReportsMeet(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	places, err := territory.Load()
	if err != nil {
		t.Fatal(err)
	}
	e := NewEngine(EngineConfig{}, nil, places).WithIncidents(incident.DefaultConfig())
	first := webRequest()
	second := webRequest()
	second.Citizen = &schemas.Citizen{Name: "Hugo Ferri", Email: "hugo.ferri@example.org"}
	second.Subject, second.Body = "Trou dans la chaussée", "Il y a un énorme nid-de-poule au 110 rue Paradis, une voiture y a crevé ce matin."
	var arrived sync.WaitGroup
	arrived.Add(2)
	routed := make([]Routed, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for k, req := range []schemas.Request{first, second} {
		id, _ := uuid.NewV7()
		req.ID, req.Schema, req.ReceivedAt, req.TrackingCode = id.String(), schemas.RequestV1, time.Now().UTC().Truncate(time.Millisecond), fmt.Sprintf("TEST-SIMU-%04d", k)
		raw, _ := json.Marshal(req)
		wg.Go(func() {
			_, errs[k] = b.store.Route(ctx, func(ctx context.Context, tx *casestore.RouteTx) error {
				r, err := e.Route(ctx, tx, req, raw)
				routed[k] = r
				arrived.Done()
				arrived.Wait() // both have looked for an incident before either commits
				return err
			})
			if errs[k] == nil {
				_, errs[k] = b.store.Route(ctx, func(ctx context.Context, tx *casestore.RouteTx) error {
					return e.Regroup(ctx, tx, req, routed[k])
				})
			}
		})
	}
	wg.Wait()
	for k, err := range errs {
		if err != nil {
			t.Fatalf("request %d: %v", k, err)
		}
	}
	if !routed[0].Regroups() || !routed[1].Regroups() {
		t.Fatalf("the two new cases were not marked to look again: %v %v", routed[0].Regroups(), routed[1].Regroups())
	}
	incidentOf := func(ref string) string {
		var inc string
		testkit.QueryRow(t, b.dbURL, `SELECT COALESCE(i.ref, '') FROM cases c LEFT JOIN incidents i ON i.id = c.incident_id WHERE c.ref = $1`, []any{ref}, &inc)
		return inc
	}
	a, c := routed[0].Case.Ref, routed[1].Case.Ref
	if inc := incidentOf(a); a == c || inc == "" || incidentOf(c) != inc {
		t.Fatalf("cases %s (%q) and %s (%q), want their own cases in one incident", a, inc, c, incidentOf(c))
	}
	var incidents int
	testkit.QueryRow(t, b.dbURL, `SELECT count(*) FROM incidents`, nil, &incidents)
	if incidents != 1 {
		t.Errorf("%d incidents opened, want 1", incidents)
	}
}
