package webhook_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/services/outbound/webhook"
	"github.com/ampmetropole/guichet/services/testkit"
)

// line is one request the Node.js receiver saw.
type line struct {
	Path      string            `json:"path"`
	OK        bool              `json:"ok"`
	ID        string            `json:"id"`
	Type      string            `json:"type"`
	Error     string            `json:"error"`
	Body      webhook.Body      `json:"body"`
	Raw       json.RawMessage   `json:"-"`
	Headers   map[string]string `json:"headers"`
	Listening int               `json:"listening"`
}

// receiver is a partner's endpoint written with the npm package
// standardwebhooks (testdata/receiver): it verifies every request with the
// secret of its path, answers 204 or 400, and reports each request.
type receiver struct {
	t       *testing.T
	node    string
	dir     string
	Port    int
	secrets map[string]string

	mu    sync.Mutex
	lines []line
	cmd   *exec.Cmd
	done  chan struct{}
}

// freePort returns a loopback port nobody listens on.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	node, dir := testkit.NodeTool(t, filepath.Join("testdata", "receiver"), "standardwebhooks")
	r := &receiver{t: t, node: node, dir: dir, Port: freePort(t), secrets: map[string]string{}}
	t.Cleanup(r.stop)
	return r
}

// URL is the endpoint of a path.
func (r *receiver) URL(path string) string { return fmt.Sprintf("http://127.0.0.1:%d%s", r.Port, path) }

// start runs the receiver with the secrets given so far, and waits until
// it listens.
func (r *receiver) start() {
	r.t.Helper()
	args := []string{"receiver.js", fmt.Sprint(r.Port)}
	for p, s := range r.secrets {
		args = append(args, p+"="+s)
	}
	cmd := exec.Command(r.node, args...)
	cmd.Dir = r.dir
	cmd.WaitDelay = 5 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		r.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		r.t.Fatalf("start the receiver: %v", err)
	}
	listening := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		once := sync.OnceFunc(func() { close(listening) })
		for sc.Scan() {
			var l line
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				l = line{Error: "unparsable: " + sc.Text()}
			}
			if l.Listening != 0 {
				once()
				continue
			}
			var raw struct {
				Body json.RawMessage `json:"body"`
			}
			_ = json.Unmarshal(sc.Bytes(), &raw)
			l.Raw = raw.Body
			r.mu.Lock()
			r.lines = append(r.lines, l)
			r.mu.Unlock()
		}
		_ = cmd.Wait()
	}()
	select {
	case <-listening:
	case <-done:
		r.t.Fatal("the receiver ended before listening")
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		r.t.Fatal("the receiver does not listen")
	}
	r.mu.Lock()
	r.cmd, r.done = cmd, done
	r.mu.Unlock()
}

// stop ends the receiver (nothing listens on its port any more).
func (r *receiver) stop() {
	r.mu.Lock()
	cmd, done := r.cmd, r.done
	r.cmd, r.done = nil, nil
	r.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// seen returns the requests received on a path so far.
func (r *receiver) seen(path string) []line {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []line
	for _, l := range r.lines {
		if l.Path == path {
			out = append(out, l)
		}
	}
	return out
}

// verified returns the requests of a path that the library accepted.
func (r *receiver) verified(path string) []line {
	var out []line
	for _, l := range r.seen(path) {
		if l.OK {
			out = append(out, l)
		}
	}
	return out
}
