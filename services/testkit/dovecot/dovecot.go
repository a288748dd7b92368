// Package dovecot starts a throwaway, real Dovecot IMAP server for tests: its
// own configuration, sockets, state, logs and maildir in the test's temporary
// folder, listening on a free loopback port, with one user. It never touches
// the system's Dovecot (which may well be running on port 143) nor its
// configuration. The dovecot binary comes from the dovecot-imapd package,
// which `./deploy/setup.sh test` installs; without it the test fails.
//
// As root (CI) Dovecot's master process (with its log and config helpers)
// stays root, as it expects, but its internal processes run as the package's
// dovecot user, the login processes as dovenull and the mail processes as
// nobody (never uid 0). As any other user everything runs as that user.
package dovecot

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	// userName is the server's only user.
	userName = "courrier"
	// readyTimeout bounds the wait for the IMAP greeting.
	readyTimeout = 20 * time.Second
	// stopTimeout is how long Dovecot gets to stop after SIGTERM.
	stopTimeout = 5 * time.Second
	// attempts is how many free ports are tried when another process takes
	// the port between our probe and Dovecot's bind.
	attempts = 3
	// setupHint ends the errors a missing or broken installation causes.
	setupHint = "run ./deploy/setup.sh test (as root) to install dovecot-imapd"
)

// Server is a running Dovecot; t.Cleanup stops it.
type Server struct {
	// Addr is the IMAP listener, 127.0.0.1:port (plain text, no TLS).
	Addr string
	// User and Password log in; the user has an INBOX and may create
	// mailboxes.
	User     string
	Password string
	// Dir holds the configuration (dovecot.conf), the logs (dovecot.log,
	// stderr.log) and the mail (mail/<user>/Maildir).
	Dir string
	// Version is what `dovecot --version` printed.
	Version string
}

// URL is the imap+plain URL of mailbox on the server, with the credentials,
// in the form services/channels/mail/imapin reads.
func (s *Server) URL(mailbox string) string {
	u := url.URL{
		Scheme: "imap+plain",
		User:   url.UserPassword(s.User, s.Password),
		Host:   s.Addr,
		Path:   "/" + mailbox,
	}
	return u.String()
}

// LogTail is the end of Dovecot's log and stderr, for failure messages.
func (s *Server) LogTail() string { return logTail(s.Dir) }

// Start starts Dovecot for the test and waits until it greets IMAP clients.
// It fails the test (never skips it) when Dovecot is missing or does not
// come up, with the end of its log.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	version, err := dovecotVersion(bin)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	acct, err := accounts()
	if err != nil {
		t.Fatal(err)
	}
	password := rand.Text()
	if err := prepare(dir, acct, password); err != nil {
		t.Fatal(err)
	}
	s := &Server{User: userName, Password: password, Dir: dir, Version: version.full}
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		conf := filepath.Join(dir, "dovecot.conf")
		if err := os.WriteFile(conf, []byte(config(version, dir, port, acct)), 0o644); err != nil {
			t.Fatalf("dovecot: write configuration: %v", err)
		}
		proc, err := launch(bin, conf, dir)
		if err != nil {
			t.Fatal(err)
		}
		// Registered before waiting, so a failed start is cleaned up too.
		t.Cleanup(func() {
			if err := proc.stop(); err != nil {
				t.Errorf("%v\n%s", err, logTail(dir))
			}
		})
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		err = proc.waitReady(s.Addr, readyTimeout)
		if err == nil {
			return s
		}
		tail := logTail(dir)
		if errors.Is(err, errExited) && strings.Contains(tail, "Address already in use") && attempt < attempts {
			t.Logf("dovecot: port %d taken before Dovecot could bind it, trying another", port)
			// The next attempt's failure must not be read in these logs.
			for _, name := range []string{"dovecot.log", "stderr.log"} {
				_ = os.Remove(filepath.Join(dir, name))
			}
			continue
		}
		untried := ""
		if version.syntax24() {
			untried = "; its 2.4 configuration has only been written from the 2.4 documentation, never tried against a real 2.4: check config() in services/testkit/dovecot"
		}
		t.Fatalf("%v (dovecot %s, configuration %s%s)\n%s", err, version.full, conf, untried, tail)
	}
}

// binary finds the dovecot executable, which lives in /usr/sbin, often not
// in a non-root user's PATH.
func binary() (string, error) {
	if p, err := exec.LookPath("dovecot"); err == nil {
		return p, nil
	}
	const sbin = "/usr/sbin/dovecot"
	if fi, err := os.Stat(sbin); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
		return sbin, nil
	}
	return "", fmt.Errorf("dovecot: the dovecot binary is missing (neither in PATH nor %s): %s", sbin, setupHint)
}

// version is a parsed `dovecot --version`, such as "2.3.19.1 (9b53102964)".
type version struct {
	major, minor int
	full         string
}

// syntax24 tells whether the configuration must use the 2.4 syntax
// (dovecot_config_version, mail_driver, named passdb/userdb…).
func (v version) syntax24() bool { return v.major > 2 || (v.major == 2 && v.minor >= 4) }

func dovecotVersion(bin string) (version, error) {
	out, err := exec.Command(bin, "--version").CombinedOutput()
	full := strings.TrimSpace(string(out))
	if err != nil {
		return version{}, fmt.Errorf("dovecot: %s --version: %w: %s (%s)", bin, err, full, setupHint)
	}
	v, err := parseVersion(full)
	if err != nil {
		return version{}, err
	}
	if v.major < 2 || (v.major == 2 && v.minor < 3) {
		return version{}, fmt.Errorf("dovecot: version %s is too old, 2.3 or 2.4 is needed: %s", full, setupHint)
	}
	return v, nil
}

func parseVersion(s string) (version, error) {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return version{}, errors.New("dovecot: --version printed nothing")
	}
	parts := strings.Split(fields[0], ".")
	if len(parts) < 2 {
		return version{}, fmt.Errorf("dovecot: unexpected version %q", s)
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return version{}, fmt.Errorf("dovecot: unexpected version %q", s)
	}
	return version{major: major, minor: minor, full: s}, nil
}

// account is a system user Dovecot runs processes as.
type account struct {
	user, group string // names, as the configuration wants them
	uid, gid    int
}

// accounts are who Dovecot's processes run as.
type accountSet struct {
	root     bool
	internal account // auth, anvil, stats… (default_internal_user/group)
	login    account // imap-login (default_login_user)
	mail     account // the imap processes, owner of the maildir
}

// accounts picks the users: as root the package's dovecot and dovenull users
// (else nobody) and nobody for the mail, so that nothing but Dovecot's master
// runs as uid 0; otherwise the current user for everything, since only root
// can change users.
func accounts() (accountSet, error) {
	if os.Geteuid() != 0 {
		u, err := user.Current()
		if err != nil {
			return accountSet{}, fmt.Errorf("dovecot: Dovecot's configuration names the users it runs as, and the current user has no name: %w", err)
		}
		a, err := lookup(u)
		if err != nil {
			return accountSet{}, err
		}
		return accountSet{internal: a, login: a, mail: a}, nil
	}
	nobody, err := lookupName("nobody")
	if err != nil {
		return accountSet{}, fmt.Errorf("dovecot: running as root and there is no nobody user to run the mail processes as: %w", err)
	}
	set := accountSet{root: true, internal: nobody, login: nobody, mail: nobody}
	if a, err := lookupName("dovecot"); err == nil {
		set.internal = a
	}
	if a, err := lookupName("dovenull"); err == nil {
		set.login = a
	}
	if set.mail.uid == 0 {
		return accountSet{}, errors.New("dovecot: the nobody user has uid 0; refusing to run mail processes as root")
	}
	return set, nil
}

func lookupName(name string) (account, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return account{}, fmt.Errorf("dovecot: %w", err)
	}
	return lookup(u)
}

func lookup(u *user.User) (account, error) {
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return account{}, fmt.Errorf("dovecot: user %s has a non-numeric uid %q or gid %q", u.Username, u.Uid, u.Gid)
	}
	g, err := user.LookupGroupId(u.Gid)
	if err != nil {
		return account{}, fmt.Errorf("dovecot: group of user %s: %w", u.Username, err)
	}
	return account{user: u.Username, group: g.Name, uid: uid, gid: gid}, nil
}

// prepare lays out dir: the passwd-file and the mail folder, owned by the
// processes that use them. Dovecot creates base_dir (run) and state_dir
// (state) itself.
func prepare(dir string, acct accountSet, password string) error {
	if acct.root {
		// t.TempDir() and its parent are private to root; Dovecot's
		// unprivileged processes must be able to walk through them.
		for _, p := range []string{filepath.Dir(dir), dir} {
			if err := os.Chmod(p, 0o711); err != nil {
				return fmt.Errorf("dovecot: %w", err)
			}
		}
		for _, a := range []account{acct.internal, acct.login, acct.mail} {
			if err := checkReachable(dir, a); err != nil {
				return err
			}
		}
	}
	users := filepath.Join(dir, "users")
	line := fmt.Sprintf("%s:{PLAIN}%s::::::\n", userName, password)
	if err := os.WriteFile(users, []byte(line), 0o600); err != nil {
		return fmt.Errorf("dovecot: write passwd-file: %w", err)
	}
	mail := filepath.Join(dir, "mail")
	if err := os.Mkdir(mail, 0o700); err != nil {
		return fmt.Errorf("dovecot: %w", err)
	}
	if acct.root {
		// The auth process reads the passwd-file as the internal user.
		if err := os.Chown(users, acct.internal.uid, acct.internal.gid); err != nil {
			return fmt.Errorf("dovecot: chown passwd-file: %w", err)
		}
		if err := os.Chown(mail, acct.mail.uid, acct.mail.gid); err != nil {
			return fmt.Errorf("dovecot: chown mail folder: %w", err)
		}
	}
	return nil
}

// checkReachable fails clearly when a's processes cannot enter one of dir's
// parents (TMPDIR under /root, say), which Dovecot would report obscurely.
func checkReachable(dir string, a account) error {
	for p := dir; ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("dovecot: %w", err)
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		mode := fi.Mode().Perm()
		enter := mode&0o001 != 0 ||
			(ok && int(st.Uid) == a.uid && mode&0o100 != 0) ||
			(ok && int(st.Gid) == a.gid && mode&0o010 != 0)
		if !enter {
			return fmt.Errorf("dovecot: Dovecot's processes run as %q, which cannot enter %s (%s): set TMPDIR to a folder every user can enter, such as /tmp", a.user, p, mode)
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

// config is the whole configuration: nothing is read from /etc/dovecot.
// Dovecot 2.3 and 2.4 differ in syntax, not in what is configured.
func config(v version, dir string, port int, acct accountSet) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	if v.syntax24() {
		// 2.4 wants these two first; 2.4.0 pins the defaults of the first
		// 2.4 release whatever 2.4.x runs.
		w("dovecot_config_version = 2.4.0")
		w("dovecot_storage_version = 2.4.0")
	}
	w("# Throwaway Dovecot (%s) for a Guichet test; see services/testkit/dovecot.", v.full)
	w("instance_name = guichet-test")
	w("base_dir = %s", filepath.Join(dir, "run"))
	w("state_dir = %s", filepath.Join(dir, "state"))
	w("log_path = %s", filepath.Join(dir, "dovecot.log"))
	w("listen = 127.0.0.1")
	w("protocols = imap")
	w("ssl = no")
	w("auth_mechanisms = plain login")
	w("default_internal_user = %s", acct.internal.user)
	w("default_internal_group = %s", acct.internal.group)
	w("default_login_user = %s", acct.login.user)
	// Only the mail user may own mailboxes.
	w("first_valid_uid = %d", acct.mail.uid)
	w("last_valid_uid = %d", acct.mail.uid)
	w("first_valid_gid = %d", acct.mail.gid)
	w("last_valid_gid = %d", acct.mail.gid)
	home := filepath.Join(dir, "mail")
	if v.syntax24() {
		w("auth_allow_cleartext = yes")
		w("mail_driver = maildir")
		w("mail_path = ~/Maildir")
		w("passdb passwd-file {")
		w("  passwd_file_path = %s", filepath.Join(dir, "users"))
		w("}")
		w("userdb static {")
		w("  fields {")
		w("    uid = %d", acct.mail.uid)
		w("    gid = %d", acct.mail.gid)
		w("    home = %s/%%{user}", home)
		w("  }")
		w("}")
	} else {
		// Clear text is allowed from loopback anyway; say it.
		w("disable_plaintext_auth = no")
		w("mail_location = maildir:~/Maildir")
		w("passdb {")
		w("  driver = passwd-file")
		w("  args = %s", filepath.Join(dir, "users"))
		w("}")
		w("userdb {")
		w("  driver = static")
		w("  args = uid=%d gid=%d home=%s/%%u", acct.mail.uid, acct.mail.gid, home)
		w("}")
	}
	w("namespace inbox {")
	w("  inbox = yes")
	w("  separator = /")
	w("}")
	if !acct.root {
		// Only root may chroot: the services that do by default must not.
		for _, svc := range []string{"anvil", "imap-urlauth-login"} {
			w("service %s {", svc)
			w("  chroot =")
			w("}")
		}
	}
	w("service imap-login {")
	if !acct.root {
		w("  chroot =")
	}
	w("  inet_listener imap {")
	w("    port = %d", port)
	w("  }")
	w("  inet_listener imaps {")
	w("    port = 0")
	w("  }")
	w("}")
	return b.String()
}

// process is a running `dovecot -F`.
type process struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed once cmd.Wait returned
	err    error         // cmd.Wait's, once exited is closed
}

var errExited = errors.New("dovecot: exited during start-up")

func launch(bin, conf, dir string) (*process, error) {
	out, err := os.OpenFile(filepath.Join(dir, "stderr.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("dovecot: %w", err)
	}
	defer out.Close() // the child has its own copy
	cmd := exec.Command(bin, "-F", "-c", conf)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Our own process group, to kill Dovecot's children too if it
		// does not stop.
		Setpgid: true,
		// If the test binary dies without cleaning up (a timeout), Dovecot
		// stops with it.
		Pdeathsig: syscall.SIGTERM,
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("dovecot: start %s: %w", bin, err)
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// waitReady waits for the IMAP greeting on addr.
func (p *process) waitReady(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		select {
		case <-p.exited:
			return fmt.Errorf("%w: %v", errExited, p.err)
		default:
		}
		if last = greeting(addr); last == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("dovecot: no IMAP greeting on %s after %s: %w", addr, timeout, last)
		}
		select {
		case <-p.exited:
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// greeting connects to addr and reads the server's first line.
func greeting(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(2 * time.Second)); err != nil {
		return err
	}
	buf := make([]byte, 512)
	var line []byte
	for !bytes.Contains(line, []byte("\n")) {
		n, err := conn.Read(buf)
		line = append(line, buf[:n]...)
		if err != nil {
			return fmt.Errorf("read greeting: %w (got %q)", err, line)
		}
	}
	if !bytes.HasPrefix(line, []byte("* OK")) {
		return fmt.Errorf("unexpected greeting %q", line)
	}
	_, _ = conn.Write([]byte("a LOGOUT\r\n"))
	return nil
}

// stop sends SIGTERM, then kills Dovecot's process group if it has not
// stopped after stopTimeout, and waits for it.
func (p *process) stop() error {
	select {
	case <-p.exited:
		return nil
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return nil
	case <-time.After(stopTimeout):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
		return fmt.Errorf("dovecot: did not stop within %s of SIGTERM, killed", stopTimeout)
	}
}

// logTail is the end of Dovecot's log file and of its stderr.
func logTail(dir string) string {
	var b strings.Builder
	for _, name := range []string{"dovecot.log", "stderr.log"} {
		path := filepath.Join(dir, name)
		data, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintf(&b, "--- %s: %v\n", path, err)
			continue
		}
		fmt.Fprintf(&b, "--- %s (end):\n%s\n", path, lastLines(string(data), 30))
	}
	return b.String()
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// freePort asks the kernel for a free loopback port. Another process may
// take it before Dovecot binds it; Start then tries another.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("dovecot: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
