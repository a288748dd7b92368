// Package testkit starts the real components tests need, in-process or as
// throwaway servers: a NATS server with JetStream in a temporary folder, and
// a private PostgreSQL cluster (one per test binary) handing out a freshly
// migrated database per test. Nothing is skipped and nothing relies on a
// service already running on the machine.
package testkit

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"

	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/platform/bus"
	"github.com/ampmetropole/guichet/services/platform/pgcluster"
	"github.com/ampmetropole/guichet/services/platform/redact"
)

const templateDB = "guichet_template"

// kit holds the test binary's PostgreSQL cluster, started on first use.
type kit struct {
	once    sync.Once
	dir     string
	cluster *pgcluster.Cluster
	err     error
	dbs     atomic.Int64
}

var shared kit // one cluster per test binary; Main stops it

// Main runs the tests of a package, then stops what the kit started and
// checks no goroutine leaked. Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	shared.stop()
	if code == 0 {
		if err := goleak.Find(goleak.IgnoreCurrent(),
			// pgx and nats keep a few package-level helpers alive for the process.
			goleak.IgnoreTopFunction("github.com/jackc/pgx/v5/pgxpool.(*Pool).backgroundHealthCheck"),
			goleak.IgnoreAnyFunction("github.com/nats-io/nats-server/v2/server.(*Server).startGoRoutine.func1"),
		); err != nil {
			fmt.Fprintf(os.Stderr, "testkit: leaked goroutines: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

func (k *kit) start() {
	k.once.Do(func() {
		dir, err := os.MkdirTemp("", "guichet-test-pg-")
		if err != nil {
			k.err = err
			return
		}
		// When tests run as root the server runs as an unprivileged user,
		// which must be able to enter this folder.
		if err := os.Chmod(dir, 0o711); err != nil {
			k.err = err
			return
		}
		k.dir = dir
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		c, err := pgcluster.Start(ctx, pgcluster.Config{Dir: dir, Ephemeral: true})
		if err != nil {
			k.err = err
			return
		}
		k.cluster = c
		if err := c.CreateDatabase(ctx, templateDB, ""); err != nil {
			k.err = err
			return
		}
		if err := casestore.Migrate(ctx, c.URL(templateDB), slog.New(slog.DiscardHandler)); err != nil {
			k.err = err
		}
	})
}

func (k *kit) stop() {
	if k.cluster != nil {
		k.cluster.Stop()
	}
	if k.dir != "" {
		os.RemoveAll(k.dir)
	}
}

// Database returns the URL of a new, migrated, empty database for this test.
func Database(t testing.TB) string {
	t.Helper()
	shared.start()
	if shared.err != nil {
		t.Fatalf("testkit: PostgreSQL: %v", shared.err)
	}
	name := fmt.Sprintf("t%d_%s", shared.dbs.Add(1), sanitize(t.Name()))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := shared.cluster.CreateDatabase(ctx, name, templateDB); err != nil {
		t.Fatalf("testkit: %v", err)
	}
	return shared.cluster.URL(name)
}

// Cluster returns the test binary's PostgreSQL cluster, for tests that need
// the server itself.
func Cluster(t testing.TB) *pgcluster.Cluster {
	t.Helper()
	shared.start()
	if shared.err != nil {
		t.Fatalf("testkit: PostgreSQL: %v", shared.err)
	}
	return shared.cluster
}

func sanitize(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
		if b.Len() >= 40 {
			break
		}
	}
	return b.String()
}

// NATS starts an in-process NATS server with JetStream in a temporary folder,
// stopped when the test ends.
func NATS(t testing.TB) *bus.Embedded {
	t.Helper()
	srv, err := bus.StartEmbedded(bus.EmbeddedConfig{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatalf("testkit: NATS: %v", err)
	}
	t.Cleanup(srv.Shutdown)
	return srv
}

// Bus starts NATS (see NATS), connects to it and creates Guichet's streams.
func Bus(t testing.TB) (*bus.Embedded, *bus.Conn) {
	t.Helper()
	srv := NATS(t)
	conn, err := bus.Connect(context.Background(), srv.ClientURL(), t.Name(), Logger(t))
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	t.Cleanup(conn.Close)
	if err := bus.EnsureTopology(context.Background(), conn.JS, bus.TopologyConfig{DuplicateWindow: time.Minute}); err != nil {
		t.Fatalf("testkit: %v", err)
	}
	return srv, conn
}

// Logger writes through t.Log, so logs show only for failing tests.
// Lines logged after the test has ended are dropped rather than panicking.
// Like Guichet's own, it masks personal data (services/platform/redact).
func Logger(t testing.TB) *slog.Logger {
	w := &tWriter{t: t}
	t.Cleanup(func() { w.done.Store(true) })
	return slog.New(redact.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})))
}

// Writer writes through t.Log, like Logger: for what a process the test
// started prints (its stderr).
func Writer(t testing.TB) io.Writer {
	w := &tWriter{t: t}
	t.Cleanup(func() { w.done.Store(true) })
	return w
}

type tWriter struct {
	t    testing.TB
	done atomic.Bool
}

func (w *tWriter) Write(p []byte) (int, error) {
	if !w.done.Load() {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

// Eventually polls cond every 20ms until it holds or the timeout passes.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// NopLogger discards everything, for child processes of tests.
func NopLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// StreamMsgs is the number of messages a JetStream stream holds.
func StreamMsgs(t testing.TB, conn *bus.Conn, stream string) uint64 {
	t.Helper()
	s, err := conn.JS.Stream(context.Background(), stream)
	if err != nil {
		t.Fatalf("testkit: stream %s: %v", stream, err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatalf("testkit: stream %s: %v", stream, err)
	}
	return info.State.Msgs
}

// QueryRow runs one query on a fresh connection to url and scans its row.
func QueryRow(t testing.TB, url, sql string, args []any, dest ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, sql, args...).Scan(dest...); err != nil {
		t.Fatalf("testkit: %s: %v", sql, err)
	}
}

// Exec runs one statement on a fresh connection to url.
func Exec(t testing.TB, url, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("testkit: %s: %v", sql, err)
	}
}

// Count runs a SELECT count(*)… query.
func Count(t testing.TB, url, sql string) int {
	t.Helper()
	var n int
	QueryRow(t, url, sql, nil, &n)
	return n
}

// TextPDF writes a one-page PDF whose text layer holds lines, the way a
// scanner with built-in OCR sends letters.
func TextPDF(lines []string) []byte {
	var content bytes.Buffer
	content.WriteString("BT /F1 11 Tf 14 TL 60 780 Td\n")
	for _, l := range lines {
		esc := strings.NewReplacer(`\`, `\\`, "(", `\(`, ")", `\)`).Replace(l)
		fmt.Fprintf(&content, "(%s) Tj T*\n", esc)
	}
	content.WriteString("ET\n")
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", content.Len(), content.String()),
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

// NoRedirect is an HTTP client that returns redirects instead of following
// them, as the tests of a form's 303 need.
func NoRedirect() *http.Client {
	return &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}
