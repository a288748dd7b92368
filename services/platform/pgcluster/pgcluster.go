// Package pgcluster runs a private PostgreSQL cluster from the server
// binaries installed on the machine: created on first use under a folder,
// started as a child process, stopped with it. `guichet dev` and the test kit
// use it so that nobody has to set up a database by hand.
package pgcluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// SuperUser is the role initdb creates; the cluster belongs to Guichet alone.
const SuperUser = "guichet"

// InstallHint is the command that installs the server binaries on
// Debian/Ubuntu.
const InstallHint = "apt-get install -y postgresql"

// Config says where the cluster lives and how to run it.
type Config struct {
	Dir    string // holds pgdata/, the password file and postgres.log; required
	Port   int    // 0 picks a free port at each start
	BinDir string // folder with initdb and postgres; empty searches PATH and the usual places
	// Ephemeral trades durability for speed (fsync off): for throwaway test
	// clusters only.
	Ephemeral bool
	Log       *slog.Logger
}

// Cluster is a running private PostgreSQL server.
type Cluster struct {
	cfg      Config
	cmd      *exec.Cmd
	exited   chan struct{}
	password string
	port     int

	stopOnce sync.Once
	stopErr  error
}

// FindBinaries returns the folder holding initdb and postgres: override if
// given, else PATH, else the usual install folders (newest version first).
func FindBinaries(override string) (string, error) {
	has := func(dir string) bool {
		for _, b := range []string{"initdb", "postgres"} {
			if fi, err := os.Stat(filepath.Join(dir, b)); err != nil || fi.IsDir() {
				return false
			}
		}
		return true
	}
	if override != "" {
		if has(override) {
			return override, nil
		}
		return "", fmt.Errorf("pgcluster: no initdb and postgres in %s", override)
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil && has(filepath.Dir(real)) {
			return filepath.Dir(real), nil
		}
		if has(filepath.Dir(p)) {
			return filepath.Dir(p), nil
		}
	}
	var candidates []string
	for _, pattern := range []string{
		"/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin", "/usr/local/pgsql/bin",
		"/opt/homebrew/opt/postgresql*/bin", "/usr/local/opt/postgresql*/bin",
	} {
		m, _ := filepath.Glob(pattern)
		candidates = append(candidates, m...)
	}
	sort.Slice(candidates, func(i, j int) bool { return versionOf(candidates[i]) > versionOf(candidates[j]) })
	for _, dir := range candidates {
		if has(dir) {
			return dir, nil
		}
	}
	return "", fmt.Errorf("pgcluster: PostgreSQL server binaries (initdb, postgres) not found on PATH nor in /usr/lib/postgresql/*/bin: install them with `%s` (Debian/Ubuntu), or set DATABASE_URL to an existing server", InstallHint)
}

func versionOf(dir string) int {
	for _, part := range strings.FieldsFunc(dir, func(r rune) bool { return r < '0' || r > '9' }) {
		if n, err := strconv.Atoi(part); err == nil {
			return n
		}
	}
	return 0
}

// Start creates the cluster if Dir holds none, starts it and waits until it
// accepts connections.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	if cfg.Dir == "" {
		return nil, errors.New("pgcluster: Dir is required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	bin, err := FindBinaries(cfg.BinDir)
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	cfg.Dir = dir
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("pgcluster: create %s: %w", dir, err)
	}
	owner, err := runAs()
	if err != nil {
		return nil, err
	}
	if owner != nil {
		if err := checkReachable(dir, owner); err != nil {
			return nil, err
		}
	}
	password, err := ensurePassword(filepath.Join(dir, "password"))
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "pgdata")
	if _, err := os.Stat(filepath.Join(data, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		if err := initdb(ctx, bin, data, password, owner, cfg); err != nil {
			return nil, err
		}
	}
	port := cfg.Port
	if port == 0 {
		if port, err = freePort(); err != nil {
			return nil, err
		}
	}
	c := &Cluster{cfg: cfg, password: password, port: port, exited: make(chan struct{})}
	if err := c.start(ctx, bin, data, owner); err != nil {
		return nil, err
	}
	return c, nil
}

// owner is the unprivileged account the server runs as when we are root.
type owner struct {
	name     string
	uid, gid uint32
}

// runAs picks the account to run PostgreSQL as: ourselves, or when root
// (PostgreSQL refuses to run as root) the "postgres" system user, else
// "nobody".
func runAs() (*owner, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, _ := strconv.ParseUint(u.Uid, 10, 32)
		gid, _ := strconv.ParseUint(u.Gid, 10, 32)
		return &owner{name: name, uid: uint32(uid), gid: uint32(gid)}, nil
	}
	return nil, errors.New("pgcluster: running as root and neither a postgres nor a nobody user exists to run PostgreSQL as (PostgreSQL refuses root): create one with `useradd --system postgres`")
}

// checkReachable fails clearly when the unprivileged owner cannot enter one
// of dir's parents, which initdb would report obscurely.
func checkReachable(dir string, o *owner) error {
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("pgcluster: %w", err)
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		mode := fi.Mode().Perm()
		enter := mode&0o001 != 0 ||
			(ok && st.Uid == o.uid && mode&0o100 != 0) ||
			(ok && st.Gid == o.gid && mode&0o010 != 0)
		if !enter {
			return fmt.Errorf("pgcluster: PostgreSQL runs as the unprivileged user %q (it refuses root), which cannot enter %s (%s): choose a data folder outside it (for example --data /var/lib/guichet), or set DATABASE_URL", o.name, p, mode)
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

func ensurePassword(path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	buf := make([]byte, 18)
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("pgcluster: password: %w", err)
	}
	pw := hex.EncodeToString(buf)
	if err := os.WriteFile(path, []byte(pw+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("pgcluster: write password: %w", err)
	}
	return pw, nil
}

func initdb(ctx context.Context, bin, data, password string, o *owner, cfg Config) error {
	if err := os.MkdirAll(data, 0o700); err != nil {
		return fmt.Errorf("pgcluster: create %s: %w", data, err)
	}
	// initdb reads the password from a file the server's user can read.
	pwfile := filepath.Join(filepath.Dir(data), ".pwfile")
	if err := os.WriteFile(pwfile, []byte(password+"\n"), 0o600); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	defer os.Remove(pwfile)
	if o != nil {
		for _, p := range []string{data, pwfile} {
			if err := os.Chown(p, int(o.uid), int(o.gid)); err != nil {
				return fmt.Errorf("pgcluster: chown %s: %w", p, err)
			}
		}
	}
	args := []string{"-D", data, "-U", SuperUser, "--pwfile=" + pwfile, "--auth=scram-sha-256",
		"--encoding=UTF8", "--locale=C"}
	if cfg.Ephemeral {
		args = append(args, "--no-sync")
	}
	ictx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ictx, filepath.Join(bin, "initdb"), args...)
	cmd.Dir = data
	setOwner(cmd, o)
	cfg.Log.Info("creating PostgreSQL cluster", "dir", data, "bin", bin)
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(data) // a half-made cluster would block the next try
		return fmt.Errorf("pgcluster: initdb: %w\n%s", err, tail(out, 2000))
	}
	return nil
}

func setOwner(cmd *exec.Cmd, o *owner) {
	attr := &syscall.SysProcAttr{
		// Our own process group: Ctrl-C in a terminal reaches us, and we stop
		// the server in order.
		Setpgid: true,
		// If we die without stopping it, the server shuts down fast anyway.
		Pdeathsig: syscall.SIGINT,
	}
	if o != nil {
		attr.Credential = &syscall.Credential{Uid: o.uid, Gid: o.gid, NoSetGroups: true}
	}
	cmd.SysProcAttr = attr
}

func (c *Cluster) start(ctx context.Context, bin, data string, o *owner) error {
	logPath := filepath.Join(c.cfg.Dir, "postgres.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("pgcluster: open log: %w", err)
	}
	args := []string{"-D", data, "-p", strconv.Itoa(c.port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
		"-c", "max_connections=300"}
	if c.cfg.Ephemeral {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	cmd := exec.Command(filepath.Join(bin, "postgres"), args...)
	cmd.Dir = data
	cmd.Stdout, cmd.Stderr = logf, logf
	setOwner(cmd, o)
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("pgcluster: start postgres: %w", err)
	}
	c.cmd = cmd
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(c.exited)
	}()
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		conn, err := pgx.Connect(wctx, c.URL("postgres"))
		if err == nil {
			conn.Close(wctx)
			c.cfg.Log.Info("PostgreSQL ready", "port", c.port, "dir", data)
			return nil
		}
		select {
		case <-c.exited:
			b, _ := os.ReadFile(logPath)
			return fmt.Errorf("pgcluster: postgres exited at start-up (log %s):\n%s", logPath, tail(b, 2000))
		case <-wctx.Done():
			c.Stop()
			return fmt.Errorf("pgcluster: postgres not ready: %w (log %s)", err, logPath)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// URL is the connection URL of database db on the cluster.
func (c *Cluster) URL(db string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(SuperUser, c.password),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)),
		Path:     "/" + db,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// CreateDatabase creates db unless it exists, optionally from a template.
func (c *Cluster) CreateDatabase(ctx context.Context, db, template string) error {
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return fmt.Errorf("pgcluster: connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", db).Scan(&exists); err != nil {
		return fmt.Errorf("pgcluster: look up database %s: %w", db, err)
	}
	if exists {
		return nil
	}
	sql := "CREATE DATABASE " + pgx.Identifier{db}.Sanitize()
	if template != "" {
		sql += " TEMPLATE " + pgx.Identifier{template}.Sanitize()
	}
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("pgcluster: create database %s: %w", db, err)
	}
	return nil
}

// Stop shuts the server down (fast shutdown, then immediate after 30s) and
// waits for it. Safe to call twice.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() {
		if c.cmd == nil || c.cmd.Process == nil {
			return
		}
		_ = c.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-c.exited:
		case <-time.After(30 * time.Second):
			_ = c.cmd.Process.Signal(syscall.SIGQUIT)
			select {
			case <-c.exited:
			case <-time.After(10 * time.Second):
				_ = c.cmd.Process.Kill()
				<-c.exited
				c.stopErr = errors.New("pgcluster: postgres did not stop, killed")
			}
		}
		c.cfg.Log.Info("PostgreSQL stopped", "port", c.port)
	})
	return c.stopErr
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgcluster: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
