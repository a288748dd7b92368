package scan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/ampmetropole/guichet/services/fault"
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

// run runs one tool in dir with r's timeout, a minimal environment and
// bounded output, and returns its standard output. A timeout, a cancelled
// context, a missing program or a killed process is fault.Transient; output
// over maxStdout is fault.TooLarge; a failure exit is a bare *toolError,
// which the caller wraps with a kind and the "scan:" prefix.
func (r *Reader) run(ctx context.Context, dir, tool string, args ...string) ([]byte, error) {
	path := r.tools[tool]
	if path == "" {
		return nil, fault.E(fault.Transient, fmt.Errorf("scan: %s introuvable (paquet Debian %s)", tool, packages[tool]))
	}
	tctx, cancel := context.WithTimeout(ctx, r.l.Timeout)
	defer cancel()
	cmd := exec.CommandContext(tctx, path, args...)
	cmd.Dir = dir
	cmd.Env = toolEnv(dir)
	cmd.WaitDelay = waitDelay
	stdout, stderr := &capped{max: maxStdout}, &capped{max: maxStderr}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err := cmd.Run()
	switch {
	case ctx.Err() != nil:
		return nil, fault.E(fault.Transient, fmt.Errorf("scan: %s: %w", tool, ctx.Err()))
	case tctx.Err() != nil:
		return nil, fault.E(fault.Transient, fmt.Errorf("scan: %s: délai de %s dépassé: %w", tool, r.l.Timeout, context.DeadlineExceeded))
	case err == nil:
	case errors.Is(err, exec.ErrNotFound), errors.Is(err, os.ErrNotExist), errors.Is(err, os.ErrPermission):
		return nil, fault.E(fault.Transient, fmt.Errorf("scan: %s introuvable (paquet Debian %s): %w", tool, packages[tool], err))
	default:
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() >= 0 {
			return stdout.buf.Bytes(), &toolError{tool: tool, line: firstLine(stderr.buf.String())}
		}
		// Killed by a signal (out of memory…) or not started.
		return nil, fault.E(fault.Transient, fmt.Errorf("scan: %s: %w", tool, err))
	}
	if stdout.truncated {
		return nil, fault.E(fault.TooLarge, fmt.Errorf("scan: %s: sortie de plus de %d octets", tool, maxStdout))
	}
	return stdout.buf.Bytes(), nil
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
