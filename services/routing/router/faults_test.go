package router

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/intake"
	"github.com/ampmetropole/guichet/services/platform/bus"
	"github.com/ampmetropole/guichet/services/platform/pgcluster"
	"github.com/ampmetropole/guichet/services/testkit"
	"github.com/ampmetropole/guichet/services/testkit/natscluster"
)

// freePort asks the kernel for a port to restart PostgreSQL on.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestPostgresRestartUnderLoad stops PostgreSQL while requests keep coming
// and starts it again: the router waits and retries, and every request the
// intake acknowledged ends in exactly one case.
func TestPostgresRestartUnderLoad(t *testing.T) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "guichet-fault-pg-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o711)
	t.Cleanup(func() { os.RemoveAll(dir) })
	port := freePort(t)
	pg, err := pgcluster.Start(ctx, pgcluster.Config{Dir: dir, Port: port, Log: testkit.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Stop() })
	if err := pg.CreateDatabase(ctx, "guichet", ""); err != nil {
		t.Fatal(err)
	}
	url := pg.URL("guichet")
	if err := casestore.Migrate(ctx, url, testkit.Logger(t)); err != nil {
		t.Fatal(err)
	}
	_, conn := testkit.Bus(t)
	in := serveOn(t, conn, url, 50) // a restart takes a few retries; nothing is dead-lettered

	l := startLoad(ctx, in.Submit, "Nid-de-poule numéro ", 0, time.Millisecond)
	time.Sleep(500 * time.Millisecond)
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond) // requests keep coming: JetStream holds them
	if pg, err = pgcluster.Start(ctx, pgcluster.Config{Dir: dir, Port: port, Log: testkit.Logger(t)}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	want := l.finishAfter(t, faultLoad)
	testkit.Eventually(t, 3*time.Minute, "every acknowledged request routed", func() bool {
		return testkit.Count(t, url, `SELECT count(*) FROM requests WHERE status = 'routed'`) >= want
	})
	persisted, dup := routedOnce(t, url)
	cases := testkit.Count(t, url, `SELECT count(*) FROM cases`)
	t.Logf("submitted %d, acknowledged %d, persisted %d, cases %d, duplicated %d", l.submitted.Load(), want, persisted, cases, dup)
	if persisted != want || dup != 0 || int(testkit.StreamMsgs(t, conn, bus.StreamRequests)) != want {
		t.Errorf("acknowledged %d, persisted %d, duplicated %d, on the stream %d", want, persisted, dup, testkit.StreamMsgs(t, conn, bus.StreamRequests))
	}
}

// TestNATSRestartUnderLoad restarts the NATS server while requests keep
// coming: submissions fail while it is away (the client is told, and would
// try again), and every one acknowledged ends in exactly one case.
func TestNATSRestartUnderLoad(t *testing.T) {
	ctx := context.Background()
	storeDir := t.TempDir()
	port := freePort(t)
	ns, err := bus.StartEmbedded(bus.EmbeddedConfig{Port: port, StoreDir: storeDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Shutdown() })
	conn, err := bus.Connect(ctx, ns.ClientURL(), "fault-test", testkit.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	if err := bus.EnsureTopology(ctx, conn.JS, bus.TopologyConfig{}); err != nil {
		t.Fatal(err)
	}
	url := testkit.Database(t)
	in := serveOn(t, conn, url, 0)

	l := startLoad(ctx, in.Submit, "Lampadaire numéro ", 2*time.Second, time.Millisecond)
	time.Sleep(500 * time.Millisecond)
	ns.Shutdown()
	time.Sleep(1500 * time.Millisecond)
	if ns, err = bus.StartEmbedded(bus.EmbeddedConfig{Port: port, StoreDir: storeDir}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	want := l.finishAfter(t, faultLoad)
	// A submission that timed out may still have been stored (its client,
	// told it failed, would send it again under the same id): at least the
	// acknowledged ones, each exactly once.
	l.waitEachRouted(t, url)
	persisted, dup := routedOnce(t, url)
	t.Logf("submitted %d, acknowledged %d, persisted %d, duplicated %d", l.submitted.Load(), want, persisted, dup)
	if persisted < want || dup != 0 {
		t.Errorf("acknowledged %d of %d, persisted %d, duplicated %d", want, l.submitted.Load(), persisted, dup)
	}
}

// TestRouterKilledRepeatedlyUnderLoad SIGKILLs a router process in the
// middle of its batches, three times, while requests keep coming; after
// the last restart every acknowledged request is a case exactly once, with
// one event on CASES.
func TestRouterKilledRepeatedlyUnderLoad(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	l := startLoad(ctx, b.intake.Submit, "Trottoir numéro ", 0, time.Millisecond)
	for round, after := range []time.Duration{900 * time.Millisecond, 400 * time.Millisecond, 650 * time.Millisecond} {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), envCrashMode+"=run", envNATS+"="+b.natsURL, envDB+"="+b.dbURL)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(after)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		t.Logf("round %d: killed after %v with %d requests routed", round+1, after, testkit.Count(t, b.dbURL, `SELECT count(*) FROM requests WHERE status = 'routed'`))
	}
	want := l.finishAfter(t, faultLoad)
	startRouter(t, b)
	testkit.Eventually(t, 3*time.Minute, "every acknowledged request routed", func() bool {
		return testkit.Count(t, b.dbURL, `SELECT count(*) FROM requests WHERE status = 'routed'`) >= want
	})
	waitConsumerIdle(t, b.conn)
	testkit.Eventually(t, time.Minute, "every event published", func() bool {
		return testkit.Count(t, b.dbURL, `SELECT count(*) FROM outbox WHERE published_at IS NULL`) == 0
	})
	persisted, dup := routedOnce(t, b.dbURL)
	cases := testkit.Count(t, b.dbURL, `SELECT count(*) FROM cases`)
	events := testkit.StreamMsgs(t, b.conn, bus.StreamCases)
	t.Logf("submitted %d, acknowledged %d, persisted %d, cases %d, events on CASES %d, duplicated %d", l.submitted.Load(), want, persisted, cases, events, dup)
	if persisted != want || cases != want || dup != 0 || int(events) != want {
		t.Errorf("acknowledged %d, persisted %d, cases %d, CASES %d, duplicated %d", want, persisted, cases, events, dup)
	}
}

// TestClusterLosesANodeUnderLoad runs on a three-node JetStream cluster
// with three replicas of every stream and stops one node while requests
// keep coming: nothing acknowledged is lost, nothing is duplicated.
func TestClusterLosesANodeUnderLoad(t *testing.T) {
	ctx := context.Background()
	cl := natscluster.Start(t, 3)
	conn, err := bus.Connect(ctx, cl.URL(), "cluster-test", testkit.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	if err := bus.EnsureTopology(ctx, conn.JS, bus.TopologyConfig{Replicas: 3}); err != nil {
		t.Fatal(err)
	}
	url := testkit.Database(t)
	in := serveOn(t, conn, url, 50)

	l := startLoad(ctx, in.Submit, "Arbre tombé numéro ", 3*time.Second, time.Millisecond)
	time.Sleep(time.Second)
	cl.Stop(0) // a node is lost; the streams keep two replicas
	time.Sleep(2 * time.Second)
	want := l.finishAfter(t, faultLoad)
	l.waitEachRouted(t, url)
	persisted, dup := routedOnce(t, url)
	t.Logf("submitted %d, acknowledged %d, persisted %d, duplicated %d", l.submitted.Load(), want, persisted, dup)
	if persisted < want || dup != 0 || want == 0 {
		t.Errorf("acknowledged %d of %d, persisted %d, duplicated %d", want, l.submitted.Load(), persisted, dup)
	}
}

// serveOn starts the intake and a router (maxAttempts deliveries a request,
// the default when 0) on conn and the database at url.
func serveOn(t *testing.T, conn *bus.Conn, url string, maxAttempts int) *intake.Intake {
	t.Helper()
	v, _ := schemas.NewValidator()
	store, err := casestore.Open(context.Background(), casestore.Config{URL: url, CheckEvents: true}, v, testkit.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	in, err := intake.New(bus.NewPublisher(conn.JS), store, v, testSecret, testkit.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	r := newRouterWith(t, conn, store, Config{})
	if maxAttempts > 0 {
		r.cfg.MaxAttempts = maxAttempts
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	return in
}

// routedOnce counts the routed requests and those decided more than once.
func routedOnce(t *testing.T, url string) (routed, duplicated int) {
	t.Helper()
	routed = testkit.Count(t, url, `SELECT count(*) FROM requests WHERE status = 'routed'`)
	duplicated = testkit.Count(t, url, `SELECT count(*) FROM (SELECT request_id FROM routing_decisions GROUP BY request_id HAVING count(*) > 1) d`)
	return routed, duplicated
}

// load submits web requests until finished, counting
// what it submitted and what was acknowledged, and keeping the
// acknowledged ids.
type load struct {
	submitted, acked atomic.Int64
	ids              sync.Map
	stop             chan struct{}
	wg               sync.WaitGroup
}

// startLoad submits requests whose body is body and a number, from four
// clients at once (a backlog builds up sooner), each request within
// timeout (none if 0), each client pausing pause between two.
func startLoad(ctx context.Context, submit func(context.Context, schemas.Request) (intake.Receipt, error), body string, timeout, pause time.Duration) *load {
	l := &load{stop: make(chan struct{})}
	var next atomic.Int64
	for range 4 {
		l.wg.Go(func() {
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				req := webRequest()
				req.Body = body + strconv.FormatInt(next.Add(1), 10)
				l.submitted.Add(1)
				sctx, cancel := ctx, context.CancelFunc(func() {})
				if timeout > 0 {
					sctx, cancel = context.WithTimeout(ctx, timeout)
				}
				if rc, err := submit(sctx, req); err == nil {
					l.acked.Add(1)
					l.ids.Store(rc.ID, true)
				}
				cancel()
				time.Sleep(pause)
			}
		})
	}
	return l
}

// faultLoad is how many requests each fault test submits at least: the
// fault strikes in the first seconds, the load goes on past it.
const faultLoad = 5000

// finishAfter lets the load run until n requests were submitted, then
// stops it and returns how many were acknowledged.
func (l *load) finishAfter(t *testing.T, n int) int {
	t.Helper()
	testkit.Eventually(t, 3*time.Minute, strconv.Itoa(n)+" requests submitted", func() bool { return l.submitted.Load() >= int64(n) })
	return l.finish()
}

// finish stops the load and returns how many requests were acknowledged.
func (l *load) finish() int {
	close(l.stop)
	l.wg.Wait()
	return int(l.acked.Load())
}

// waitEachRouted waits until every acknowledged request is routed, once.
func (l *load) waitEachRouted(t *testing.T, url string) {
	t.Helper()
	var ids []string
	l.ids.Range(func(id, _ any) bool {
		ids = append(ids, id.(string))
		return true
	})
	// One query for all of them: thousands of ids are a few hundred
	// kilobytes of SQL, not thousands of round trips a poll.
	all := `'{` + strings.Join(ids, ",") + `}'::uuid[]`
	testkit.Eventually(t, 2*time.Minute, "every acknowledged request routed", func() bool {
		return testkit.Count(t, url, `SELECT count(*) FROM requests WHERE status = 'routed' AND id = ANY(`+all+`)`) == len(ids)
	})
}
