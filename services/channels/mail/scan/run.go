package scan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ampmetropole/guichet/services/platform/fault"
)

// Bounds of what is captured from an external program.
const (
	maxStdout = 2 << 20
	maxStderr = 64 << 10
)

// capped keeps the first max bytes written to it and notes the rest.
type capped struct {
	buf       bytes.Buffer
	max       int
	truncated bool
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - c.buf.Len(); room < len(p) {
		c.truncated = true
		if room > 0 {
			c.buf.Write(p[:room])
		}
		return len(p), nil
	}
	c.buf.Write(p)
	return len(p), nil
}

// toolError is an external program that ran and failed: its first stderr
// line says why. Callers give it a kind.
type toolError struct {
	tool string
	line string
}

func (e *toolError) Error() string {
	if e.line == "" {
		return e.tool + " a échoué"
	}
	return e.tool + ": " + e.line
}

// run runs one tool in dir under prlimit (address space r.l.MaxMemory, CPU
// time from the time left, no core file, bounded file size), with r's
// timeout, a minimal environment and bounded output, and returns its
// standard output. A tool stopped by a limit — the scan's budget ending, a
// signal (SIGKILL, SIGXCPU, SIGABRT from a failed allocation…) or a
// complaint of memory — is fault.TooLarge: the same file would fail again.
// A timeout of the tool itself, a cancelled context or a missing program is
// fault.Transient; output over maxStdout is fault.TooLarge; a failure exit
// is a bare *toolError, which the caller wraps with a kind and the "scan:"
// prefix.
func (r *Reader) run(ctx context.Context, dir, tool string, args ...string) ([]byte, error) {
	path := r.tools[tool]
	if path == "" {
		return nil, fault.E(fault.Transient, fmt.Errorf("scan: %s introuvable (paquet Debian %s)", tool, packages[tool]))
	}
	if err := ctx.Err(); err != nil {
		return nil, r.stopped(ctx, tool)
	}
	tctx, cancel := context.WithTimeout(ctx, r.l.Timeout)
	defer cancel()
	cmd := exec.CommandContext(tctx, r.prlimit, append(r.limitArgs(tctx, path), args...)...)
	cmd.Dir = dir
	cmd.Env = toolEnv(dir)
	cmd.WaitDelay = waitDelay
	stdout, stderr := &capped{max: maxStdout}, &capped{max: maxStderr}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return nil, r.stopped(ctx, tool)
	case tctx.Err() != nil:
		return nil, fault.E(fault.Transient, fmt.Errorf("scan: %s: délai de %s dépassé: %w", tool, r.l.Timeout, context.DeadlineExceeded))
	case err == nil:
		if outOfMemory(stderr.buf.String()) {
			// pdftoppm says "Bogus memory allocation size" and exits 0.
			return nil, r.overLimit(fmt.Sprintf("%s : limite de mémoire de %d Mio atteinte", tool, r.l.MaxMemory>>20))
		}
	case errors.Is(err, exec.ErrNotFound), errors.Is(err, os.ErrNotExist), errors.Is(err, os.ErrPermission):
		return nil, fault.E(fault.Transient, fmt.Errorf("scan: prlimit introuvable (paquet Debian util-linux): %w", err))
	case !errors.As(err, &ee):
		return nil, fault.E(fault.Transient, fmt.Errorf("scan: %s: %w", tool, err))
	default:
		return stdout.buf.Bytes(), r.exitError(tool, ee, stderr.buf.String())
	}
	if stdout.truncated {
		return nil, fault.E(fault.TooLarge, fmt.Errorf("scan: %s: sortie de plus de %d octets", tool, maxStdout))
	}
	return stdout.buf.Bytes(), nil
}

// errBudget is the cause of a scan's context when its budget ran out.
var errBudget = errors.New("scan: budget de lecture épuisé")

// stopped is the error of a tool whose scan context ended: the budget of the
// scan (the file asks too much) or the caller's context (try again later).
func (r *Reader) stopped(ctx context.Context, tool string) error {
	if errors.Is(context.Cause(ctx), errBudget) {
		return r.overLimit(fmt.Sprintf("arrêtée après %s, pendant %s", seconds(r.l.Budget), tool))
	}
	return fault.E(fault.Transient, fmt.Errorf("scan: %s: %w", tool, ctx.Err()))
}

// overLimit is the error of a scan stopped by a limit; detail says which.
func (r *Reader) overLimit(detail string) error {
	return fault.E(fault.TooLarge, fmt.Errorf("scan: lecture interrompue, le fichier demande trop de calcul ou de mémoire (%s)", detail))
}

// exitError tells a tool stopped by a limit (a signal, or an exit after a
// failed allocation) from a tool that refused its input (*toolError).
func (r *Reader) exitError(tool string, ee *exec.ExitError, stderr string) error {
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		switch sig := ws.Signal(); {
		case sig == syscall.SIGXCPU || sig == syscall.SIGKILL:
			return r.overLimit(fmt.Sprintf("%s : limite de temps de calcul atteinte (%s)", tool, signalName(sig)))
		case outOfMemory(stderr):
			return r.overLimit(fmt.Sprintf("%s : limite de mémoire de %d Mio atteinte", tool, r.l.MaxMemory>>20))
		default:
			// A crash on a crafted file, often an allocation left unchecked:
			// reading it again would crash again.
			return r.overLimit(fmt.Sprintf("%s arrêté par le signal %s", tool, signalName(sig)))
		}
	}
	line := firstLine(stderr)
	if ee.ExitCode() == 127 && strings.HasPrefix(line, "prlimit:") {
		return fault.E(fault.Transient, fmt.Errorf("scan: %s introuvable (paquet Debian %s): %s", tool, packages[tool], line))
	}
	if outOfMemory(stderr) {
		return r.overLimit(fmt.Sprintf("%s : limite de mémoire de %d Mio atteinte", tool, r.l.MaxMemory>>20))
	}
	if strings.HasPrefix(line, "prlimit:") {
		return fault.E(fault.Transient, fmt.Errorf("scan: %s: %s", tool, line))
	}
	return &toolError{tool: tool, line: line}
}

// outOfMemory recognizes what poppler, leptonica, libpng and the C++
// runtime print when an allocation fails under the address-space limit.
func outOfMemory(stderr string) bool {
	s := strings.ToLower(stderr)
	for _, m := range []string{"out of memory", "bad_alloc", "cannot allocate memory", "malloc fail",
		"bogus memory allocation", "memory exhausted", "not enough memory", "failed to allocate"} {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}

// signalName names the signals a limit or a crash sends.
func signalName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGKILL:
		return "SIGKILL"
	case syscall.SIGXCPU:
		return "SIGXCPU"
	case syscall.SIGXFSZ:
		return "SIGXFSZ"
	case syscall.SIGABRT:
		return "SIGABRT"
	case syscall.SIGSEGV:
		return "SIGSEGV"
	case syscall.SIGBUS:
		return "SIGBUS"
	}
	return strconv.Itoa(int(sig))
}

// limitArgs are prlimit's arguments before the tool's own. The CPU limit is
// the time left to the tool rounded up, plus one second: the wall-clock
// deadline normally stops the tool first with a clearer reason, and the
// limit still holds a tool that outlives this process. The file size limit
// bounds what a tool writes to disk at twice what pdftoppm's largest page
// needs (MaxPixels bytes of gray, and PNG's small overhead).
func (r *Reader) limitArgs(ctx context.Context, path string) []string {
	left := r.l.Timeout
	if dl, ok := ctx.Deadline(); ok {
		left = min(left, time.Until(dl))
	}
	cpu := max(int64(math.Ceil(left.Seconds())), 0) + 1
	return []string{
		"--as=" + strconv.FormatInt(r.l.MaxMemory, 10),
		fmt.Sprintf("--cpu=%d:%d", cpu, cpu+1),
		"--core=0",
		"--fsize=" + strconv.FormatInt(2*r.l.MaxPixels+maxStdout, 10),
		"--", path,
	}
}

// toolEnv is the environment of a tool: no inherited secrets, one OpenMP
// thread for tesseract, a private HOME.
func toolEnv(dir string) []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"TMPDIR=" + dir,
		"LC_ALL=C",
		"OMP_THREAD_LIMIT=1",
	}
	if p := os.Getenv("TESSDATA_PREFIX"); p != "" {
		env = append(env, "TESSDATA_PREFIX="+p)
	}
	return env
}

// firstLine returns the first non-empty line of s, trimmed and bounded.
func firstLine(s string) string {
	for line := range strings.SplitSeq(s, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			if len(line) > 200 {
				line = strings.ToValidUTF8(line[:200], "") + "…"
			}
			return line
		}
	}
	return ""
}

// workDir makes the private temporary directory of one Read.
func (r *Reader) workDir() (string, error) {
	dir, err := os.MkdirTemp(r.tmpRoot, "guichet-scan-*")
	if err != nil {
		return "", fmt.Errorf("scan: répertoire temporaire: %w", err)
	}
	return dir, nil
}

// writeInput writes the scan into dir with an extension tools recognize.
func writeInput(dir, name string, data []byte) (string, error) {
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		return "", fmt.Errorf("scan: écriture du fichier temporaire: %w", err)
	}
	return p, nil
}

// seconds writes d in seconds, the French way ("3 s", "0,5 s").
func seconds(d time.Duration) string {
	return strings.Replace(strconv.FormatFloat(d.Seconds(), 'f', -1, 64), ".", ",", 1) + " s"
}
