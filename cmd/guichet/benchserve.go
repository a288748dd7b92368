package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"time"
)

// benchServer is Guichet measured by the bench in a process of its own —
// `guichet serve api router` —, so that the load generator's CPU (and the
// embedded NATS's, which the bench hosts) is not counted as Guichet's.
type benchServer struct {
	cmd  *exec.Cmd
	addr string
	done chan error
}

// startBenchServer starts `guichet serve api router` on NATS and PostgreSQL
// with the bench's credential and waits until it is ready.
func startBenchServer(ctx context.Context, natsURL, dbURL, token string, stderr io.Writer) (*benchServer, error) {
	return startServe(ctx, []string{"api", "router"}, []string{"NATS_URL=" + natsURL, "DATABASE_URL=" + dbURL,
		"GUICHET_SECRET=bench-secret-0123456789abcdef", "GUICHET_DEV_TOKEN=" + token,
		"GUICHET_API_RATE=" + strconv.Itoa(1<<30), "GUICHET_LOG_LEVEL=warn"}, stderr)
}

// startServe starts `guichet serve SERVICES` as a process of its own,
// with env added to this process's and an address of its own
// (GUICHET_ADDR, GUICHET_PUBLIC_URL), and waits until it is ready (at most
// a minute). The child is this executable; under `go test` the test
// binary, whose TestMain runs the command when GUICHET_RUN_MAIN is set.
func startServe(ctx context.Context, services, env []string, stderr io.Writer) (*benchServer, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("guichet serve : %w", err)
	}
	// A free port, chosen here so that the address is known before the
	// child listens.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("guichet serve : %w", err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(exe, append([]string{"serve"}, services...)...)
	cmd.Env = append(append(os.Environ(), "GUICHET_RUN_MAIN=1", "GUICHET_ADDR="+addr, "GUICHET_PUBLIC_URL=http://"+addr), env...)
	cmd.Stdout, cmd.Stderr = io.Discard, stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("guichet serve : %w", err)
	}
	s := &benchServer{cmd: cmd, addr: addr, done: make(chan error, 1)}
	go func() { s.done <- cmd.Wait() }()
	deadline := time.Now().Add(time.Minute)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := client.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case err := <-s.done:
			return nil, fmt.Errorf("guichet serve %v s'est arrêté avant d'être prêt : %v", services, err)
		case <-ctx.Done():
			s.Stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("guichet serve %v n'est pas prêt après une minute", services)
		}
	}
}

// CPU is the CPU time the server has used so far.
func (s *benchServer) CPU() (time.Duration, bool) { return processCPU(s.cmd.Process.Pid) }

// Kill ends the server at once, as a crash would.
func (s *benchServer) Kill() {
	s.cmd.Process.Kill()
	<-s.done
	s.done <- nil // Stop, later, finds it ended
}

// Stop interrupts the server and waits for it (killed after 30 s).
func (s *benchServer) Stop() {
	s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}
