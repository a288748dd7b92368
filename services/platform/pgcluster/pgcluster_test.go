package pgcluster

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestStartCreateStopRestart(t *testing.T) {
	ctx := context.Background()
	dir := reachableTempDir(t)
	c, err := Start(ctx, Config{Dir: dir, Ephemeral: true})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { c.Stop() })
	if err := c.CreateDatabase(ctx, "guichet", ""); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateDatabase(ctx, "guichet", ""); err != nil {
		t.Fatalf("CreateDatabase is not idempotent: %v", err)
	}
	conn, err := pgx.Connect(ctx, c.URL("guichet"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('ok')"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if _, err := pgx.Connect(ctx, c.URL("guichet")); err == nil {
		t.Fatal("server still answers after Stop")
	}

	// A second start reuses the cluster and its data.
	c2, err := Start(ctx, Config{Dir: dir, Ephemeral: true})
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	defer c2.Stop()
	conn, err = pgx.Connect(ctx, c2.URL("guichet"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var v string
	if err := conn.QueryRow(ctx, "SELECT v FROM kept").Scan(&v); err != nil || v != "ok" {
		t.Fatalf("data lost across restart: %q %v", v, err)
	}
}

func TestFindBinariesOverride(t *testing.T) {
	_, err := FindBinaries(t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "no initdb") {
		t.Fatalf("want a clear error for a folder without binaries, got %v", err)
	}
	if _, err := FindBinaries(""); err != nil {
		t.Fatalf("binaries not found: %v", err)
	}
}

func TestUnreachableDataDir(t *testing.T) {
	o := &owner{name: "nobody", uid: 65534, gid: 65534}
	dir := t.TempDir() // 0700, owned by the test user
	if err := os.MkdirAll(dir+"/inner/cluster", 0o755); err != nil {
		t.Fatal(err)
	}
	err := checkReachable(dir+"/inner/cluster", o)
	if err == nil || !strings.Contains(err.Error(), "cannot enter") {
		t.Fatalf("want a clear error about the parent folder, got %v", err)
	}
}

// reachableTempDir is a temporary folder that the unprivileged server user
// can enter when the tests run as root (t.TempDir is private to us).
func reachableTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pgcluster-test-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
