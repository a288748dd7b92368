package sms

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/testkit"
)

// waitTimeout bounds every wait of these tests for the test SMS centre.
const waitTimeout = 15 * time.Second

// smscEvent is one line the test SMS centre wrote: an event, or a PDU it
// received with its fields as node-smpp read them.
type smscEvent struct {
	Event           string   `json:"event"`
	Port            int      `json:"port"`
	Command         string   `json:"command"`
	SystemID        string   `json:"system_id"`
	SystemType      string   `json:"system_type"`
	SourceAddrTON   int      `json:"source_addr_ton"`
	SourceAddrNPI   int      `json:"source_addr_npi"`
	SourceAddr      string   `json:"source_addr"`
	DestAddrTON     int      `json:"dest_addr_ton"`
	DestAddrNPI     int      `json:"dest_addr_npi"`
	DestinationAddr string   `json:"destination_addr"`
	EsmClass        int      `json:"esm_class"`
	DataCoding      int      `json:"data_coding"`
	RegisteredDlv   int      `json:"registered_delivery"`
	ShortMessage    string   `json:"short_message"` // hex, user data header included
	UDH             []string `json:"udh"`           // hex, as node-smpp split it
	Message         string   `json:"message"`       // as node-smpp decoded it
	Line            string   `json:"-"`
}

// smsc is the test SMS centre: testdata/smsc/server.js, an SMPP server
// written with the npm package smpp, run by Node.js.
type smsc struct {
	addr   string
	mu     sync.Mutex
	events []smscEvent
	more   chan struct{} // closed and replaced at each event
	stderr bytes.Buffer  // under mu
}

// lockedWriter writes the server's standard error into s.stderr.
type lockedWriter struct{ s *smsc }

func (w lockedWriter) Write(p []byte) (int, error) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	return w.s.stderr.Write(p)
}

// startSMSC starts the test SMS centre in the given SMSC_MODE and stops it
// when the test ends. Node.js and the package's node_modules are installed
// by deploy/setup.sh test: without them the test fails, it never skips.
func startSMSC(t *testing.T, mode string) *smsc {
	t.Helper()
	node, dir := testkit.NodeTool(t, filepath.Join("testdata", "smsc"), "smpp")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	cmd := exec.CommandContext(ctx, node, "server.js", "0")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SMSC_MODE="+mode)
	cmd.WaitDelay = 5 * time.Second
	s := &smsc{more: make(chan struct{})}
	cmd.Stderr = lockedWriter{s}
	stdin, err := cmd.StdinPipe() // closing it stops the server
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start the test SMS centre: %v", err)
	}
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var e smscEvent
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				e = smscEvent{Event: "unparsable"}
			}
			e.Line = sc.Text()
			s.mu.Lock()
			s.events = append(s.events, e)
			close(s.more)
			s.more = make(chan struct{})
			s.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-readDone:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-readDone
		}
		_ = cmd.Wait()
		cancel()
		if t.Failed() {
			s.mu.Lock()
			defer s.mu.Unlock()
			var lines []string
			for _, e := range s.events {
				lines = append(lines, e.Line)
			}
			t.Logf("test SMS centre (%s) wrote:\n%s\nstderr:\n%s", mode, strings.Join(lines, "\n"), s.stderr.String())
		}
	})
	listening := s.wait(t, 0, func(e smscEvent) bool { return e.Event == "listening" })
	s.addr = net.JoinHostPort("127.0.0.1", fmt.Sprint(listening.Port))
	return s
}

// wait returns the first event from index from on that matches, waiting
// for it up to waitTimeout.
func (s *smsc) wait(t *testing.T, from int, match func(smscEvent) bool) smscEvent {
	t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		for _, e := range s.events[min(from, len(s.events)):] {
			if match(e) {
				s.mu.Unlock()
				return e
			}
		}
		more := s.more
		s.mu.Unlock()
		select {
		case <-more:
		case <-deadline.C:
			t.Fatalf("the test SMS centre did not report what was awaited within %s", waitTimeout)
		}
	}
}

// pdus returns the PDUs of the given command received so far.
func (s *smsc) pdus(command string) []smscEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []smscEvent
	for _, e := range s.events {
		if e.Event == "pdu" && e.Command == command {
			out = append(out, e)
		}
	}
	return out
}

// waitPDUs waits until n PDUs of the given command have been received, and
// returns them all.
func (s *smsc) waitPDUs(t *testing.T, command string, n int) []smscEvent {
	t.Helper()
	count := 0
	s.wait(t, 0, func(e smscEvent) bool {
		if e.Event == "pdu" && e.Command == command {
			count++
		}
		return count >= n
	})
	return s.pdus(command)
}

// testConfig is a configuration for the test SMS centre at addr.
func testConfig(addr string) SMPPConfig {
	return SMPPConfig{
		Addr:        addr,
		SystemID:    "guichet",
		Password:    "secret",
		SystemType:  "GUICHET",
		Sender:      "Metropole",
		Timeout:     5 * time.Second,
		EnquireLink: 300 * time.Millisecond,
		MinBackoff:  20 * time.Millisecond,
		MaxBackoff:  200 * time.Millisecond,
	}
}

// startSMPP builds and starts a sender for cfg, stopped when the test ends.
func startSMPP(t *testing.T, cfg SMPPConfig) *SMPP {
	t.Helper()
	s, err := NewSMPP(cfg, slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// checkSubmits checks the submit_sm PDUs the SMS centre received for one
// message against what Encode makes of text: addresses, data_coding,
// esm_class, the user data header of each part, the bytes, and node-smpp's
// own decoding of the parts, put together, against the text.
func checkSubmits(t *testing.T, got []smscEvent, to, text string) {
	t.Helper()
	enc, err := Encode(text)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(enc.Parts) {
		t.Fatalf("the SMS centre received %d submit_sm, want %d", len(got), len(enc.Parts))
	}
	wantCoding := map[Coding]int{GSM7: 0x00, UCS2: 0x08}[enc.Coding]
	var ref string
	var decoded strings.Builder
	for i, p := range got {
		if p.SourceAddr != "Metropole" || p.SourceAddrTON != 5 || p.SourceAddrNPI != 0 {
			t.Errorf("part %d: source %q TON %d NPI %d, want \"Metropole\" TON 5 NPI 0", i+1, p.SourceAddr, p.SourceAddrTON, p.SourceAddrNPI)
		}
		if p.DestinationAddr != strings.TrimPrefix(to, "+") || p.DestAddrTON != 1 || p.DestAddrNPI != 1 {
			t.Errorf("part %d: destination %q TON %d NPI %d, want %q TON 1 NPI 1", i+1, p.DestinationAddr, p.DestAddrTON, p.DestAddrNPI, strings.TrimPrefix(to, "+"))
		}
		if p.DataCoding != wantCoding || p.RegisteredDlv != 0 {
			t.Errorf("part %d: data_coding %#x registered_delivery %d, want %#x and 0", i+1, p.DataCoding, p.RegisteredDlv, wantCoding)
		}
		raw, err := hex.DecodeString(p.ShortMessage)
		if err != nil {
			t.Fatalf("part %d: short_message %q: %v", i+1, p.ShortMessage, err)
		}
		userData := raw
		if len(got) == 1 {
			if p.EsmClass != 0 || len(p.UDH) != 0 {
				t.Errorf("single part: esm_class %#x, UDH %v; want 0 and none", p.EsmClass, p.UDH)
			}
		} else {
			if p.EsmClass != 0x40 {
				t.Errorf("part %d: esm_class %#x, want 0x40 (UDHI)", i+1, p.EsmClass)
			}
			if len(raw) < 6 || raw[0] != 0x05 || raw[1] != 0x00 || raw[2] != 0x03 || int(raw[4]) != len(got) || int(raw[5]) != i+1 {
				t.Fatalf("part %d: user data header % x, want 05 00 03 ref %02x %02x", i+1, raw[:min(6, len(raw))], len(got), i+1)
			}
			if i == 0 {
				ref = p.ShortMessage[6:8]
			} else if p.ShortMessage[6:8] != ref {
				t.Errorf("part %d: reference %s, part 1 had %s", i+1, p.ShortMessage[6:8], ref)
			}
			if len(p.UDH) != 1 || p.UDH[0] != p.ShortMessage[2:12] {
				t.Errorf("part %d: node-smpp read the UDH as %v", i+1, p.UDH)
			}
			userData = raw[6:]
		}
		if !bytes.Equal(userData, enc.Parts[i].Data) {
			t.Errorf("part %d: user data % x, want % x", i+1, userData, enc.Parts[i].Data)
		}
		limit := map[Coding]int{GSM7: gsm7Single, UCS2: 2 * ucs2Single}[enc.Coding]
		if len(got) > 1 {
			limit = map[Coding]int{GSM7: gsm7Part, UCS2: 2 * ucs2Part}[enc.Coding]
		}
		if len(userData) > limit {
			t.Errorf("part %d: %d octets of user data, over %d", i+1, len(userData), limit)
		}
		decoded.WriteString(p.Message)
	}
	if decoded.String() != enc.Text {
		t.Errorf("node-smpp decoded the parts as\n%q\nwant\n%q", decoded.String(), enc.Text)
	}
}

func TestSMPPSend(t *testing.T) {
	t.Parallel()
	srv := startSMSC(t, "normal")
	s := startSMPP(t, testConfig(srv.addr))
	ctx := context.Background()

	bind := srv.waitPDUs(t, "bind_transmitter", 1)[0]
	if bind.SystemID != "guichet" || bind.SystemType != "GUICHET" {
		t.Errorf("bind_transmitter system_id %q system_type %q", bind.SystemID, bind.SystemType)
	}

	tests := []struct {
		name, to, text, want string // want: node-smpp's decoding, put together
		first                int    // octets of user data in the first part
		parts                int
	}{
		{
			name:  "short French text, transliterated, GSM-7",
			to:    "+33612345678",
			text:  "Votre demande AMP-2026-000123 a été reçue : réponse sous 10 jours. À bientôt !",
			want:  "Votre demande AMP-2026-000123 a été recue : réponse sous 10 jours. A bientot !",
			first: 78,
			parts: 1,
		},
		{
			name:  "extension characters, concatenated GSM-7, a euro across the boundary",
			to:    "+33756123456",
			text:  strings.Repeat("a", 152) + "€ [réf. {42}] ~ \\ ^ | " + strings.Repeat("Paiement reçu : 12,50 €. ", 8),
			want:  strings.Repeat("a", 152) + "€ [réf. {42}] ~ \\ ^ | " + strings.Repeat("Paiement recu : 12,50 €. ", 8),
			first: 152, // the euro's escape would be the 153rd septet: it goes to part 2
			parts: 3,
		},
		{
			name:  "emoji, concatenated UCS-2, surrogate pairs kept whole",
			to:    "+262692123456",
			text:  "Bonjour 👋 " + strings.Repeat("ж", 55) + "🙂🙂🙂 " + strings.Repeat("prêt ", 10) + "🎉",
			want:  "Bonjour 👋 " + strings.Repeat("ж", 55) + "🙂🙂🙂 " + strings.Repeat("prêt ", 10) + "🎉",
			first: 2 * 66, // the first 🙂 would straddle units 67 and 68: it goes to part 2
			parts: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(srv.pdus("submit_sm"))
			if err := s.Send(ctx, Message{To: tt.to, Text: tt.text}); err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := srv.waitPDUs(t, "submit_sm", before+tt.parts)[before:]
			checkSubmits(t, got, tt.to, tt.text)
			var decoded strings.Builder
			for _, p := range got {
				decoded.WriteString(p.Message)
			}
			if decoded.String() != tt.want {
				t.Errorf("the phone would show\n%q\nwant\n%q", decoded.String(), tt.want)
			}
			udh := 0
			if tt.parts > 1 {
				udh = 6
			}
			if n := len(got[0].ShortMessage)/2 - udh; n != tt.first {
				t.Errorf("first part: %d octets of user data, want %d", n, tt.first)
			}
		})
	}

	t.Run("two messages have different references", func(t *testing.T) {
		before := len(srv.pdus("submit_sm"))
		text := strings.Repeat("Deux parties. ", 13)
		for range 2 {
			if err := s.Send(ctx, Message{To: "+33612345678", Text: text}); err != nil {
				t.Fatal(err)
			}
		}
		got := srv.waitPDUs(t, "submit_sm", before+4)[before:]
		checkSubmits(t, got[:2], "+33612345678", text)
		checkSubmits(t, got[2:], "+33612345678", text)
		if got[0].ShortMessage[6:8] == got[2].ShortMessage[6:8] {
			t.Errorf("both messages use the reference %s", got[0].ShortMessage[6:8])
		}
	})

	t.Run("a landline is refused before anything is sent", func(t *testing.T) {
		before := len(srv.pdus("submit_sm"))
		err := s.Send(ctx, Message{To: "+33491123456", Text: "Bonjour"})
		if fault.KindOf(err) != fault.Invalid || !strings.Contains(err.Error(), "n'est pas un mobile : pas de SMS") {
			t.Fatalf("Send to a landline = %v, want fault.Invalid", err)
		}
		// The next message is the next submit_sm the SMS centre sees.
		if err := s.Send(ctx, Message{To: "+33612345678", Text: "Après le fixe"}); err != nil {
			t.Fatal(err)
		}
		got := srv.waitPDUs(t, "submit_sm", before+1)[before:]
		if len(got) != 1 || got[0].DestinationAddr != "33612345678" || got[0].Message != "Après le fixe" {
			t.Errorf("the SMS centre received %+v", got)
		}
		for _, p := range srv.pdus("submit_sm") {
			if p.DestinationAddr == "33491123456" {
				t.Error("a submit_sm went to the landline")
			}
		}
	})

	t.Run("a text too long is refused before anything is sent", func(t *testing.T) {
		before := len(srv.pdus("submit_sm"))
		err := s.Send(ctx, Message{To: "+33612345678", Text: strings.Repeat("a", 919)})
		if fault.KindOf(err) != fault.Invalid || !strings.Contains(err.Error(), "trop long") {
			t.Fatalf("Send = %v, want fault.Invalid", err)
		}
		if n := len(srv.pdus("submit_sm")); n != before {
			t.Errorf("%d submit_sm sent for a refused text", n-before)
		}
	})

	t.Run("concurrent sends share the link", func(t *testing.T) {
		before := len(srv.pdus("submit_sm"))
		const n = 8
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				errs <- s.Send(ctx, Message{To: "+33612345678", Text: fmt.Sprintf("Message %d, en même temps", i)})
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		got := srv.waitPDUs(t, "submit_sm", before+n)[before:]
		seen := map[string]bool{}
		for _, p := range got {
			seen[p.Message] = true
		}
		if len(seen) != n {
			t.Errorf("%d distinct messages received, want %d", len(seen), n)
		}
	})

	t.Run("enquire_link keeps the link alive", func(t *testing.T) {
		srv.waitPDUs(t, "enquire_link", 2)
		if n := len(srv.pdus("bind_transmitter")); n != 1 {
			t.Errorf("%d binds, want 1", n)
		}
	})

	t.Run("stop unbinds", func(t *testing.T) {
		s.Stop()
		srv.waitPDUs(t, "unbind", 1)
		s.Stop() // safe twice
		err := s.Send(ctx, Message{To: "+33612345678", Text: "Trop tard"})
		if fault.KindOf(err) != fault.Transient {
			t.Errorf("Send after Stop = %v, want fault.Transient", err)
		}
	})
}

func TestSMPPThrottled(t *testing.T) {
	t.Parallel()
	srv := startSMSC(t, "throttle")
	s := startSMPP(t, testConfig(srv.addr))
	err := s.Send(context.Background(), Message{To: "+33612345678", Text: "Bonjour"})
	if fault.KindOf(err) != fault.Transient || !fault.Retryable(err) {
		t.Fatalf("Send = %v (kind %v), want fault.Transient", err, fault.KindOf(err))
	}
	if !strings.Contains(err.Error(), "ESME_RTHROTTLED") || !strings.Contains(err.Error(), "débit limité") {
		t.Errorf("error %q does not say throttled", err)
	}
	if n := len(srv.pdus("bind_transmitter")); n != 1 {
		t.Errorf("%d binds after a throttled submit, want 1 (the link stays)", n)
	}
}

func TestSMPPRejected(t *testing.T) {
	t.Parallel()
	srv := startSMSC(t, "reject")
	s := startSMPP(t, testConfig(srv.addr))
	err := s.Send(context.Background(), Message{To: "+33612345678", Text: "Bonjour"})
	if fault.KindOf(err) != fault.Permanent || fault.Retryable(err) {
		t.Fatalf("Send = %v (kind %v), want fault.Permanent", err, fault.KindOf(err))
	}
	if !strings.Contains(err.Error(), "ESME_RINVDSTADR") || !strings.Contains(err.Error(), "numéro du destinataire refusé") {
		t.Errorf("error %q does not say the destination was refused", err)
	}
}

func TestSMPPReconnects(t *testing.T) {
	t.Parallel()
	srv := startSMSC(t, "drop-first")
	s := startSMPP(t, testConfig(srv.addr))
	ctx := context.Background()
	err := s.Send(ctx, Message{To: "+33612345678", Text: "Coupé en route"})
	if fault.KindOf(err) != fault.Transient {
		t.Fatalf("Send on a dropped connection = %v (kind %v), want fault.Transient", err, fault.KindOf(err))
	}
	srv.wait(t, 0, func(e smscEvent) bool { return e.Event == "dropping" })
	// The next Send waits for the new bind and goes through.
	if err := s.Send(ctx, Message{To: "+33612345678", Text: "Après la coupure"}); err != nil {
		t.Fatalf("Send after the drop: %v", err)
	}
	got := srv.waitPDUs(t, "submit_sm", 2)
	checkSubmits(t, got[1:], "+33612345678", "Après la coupure")
	if n := len(srv.pdus("bind_transmitter")); n != 2 {
		t.Errorf("%d binds, want 2", n)
	}
}

func TestSMPPTimeout(t *testing.T) {
	t.Parallel()
	srv := startSMSC(t, "silent")
	cfg := testConfig(srv.addr)
	cfg.Timeout = 500 * time.Millisecond
	cfg.EnquireLink = 5 * time.Second
	s := startSMPP(t, cfg)
	start := time.Now()
	err := s.Send(context.Background(), Message{To: "+33612345678", Text: "Sans réponse"})
	if fault.KindOf(err) != fault.Transient || !strings.Contains(err.Error(), "pas de réponse du centre SMS à temps") {
		t.Fatalf("Send = %v (kind %v), want fault.Transient after the time-out", err, fault.KindOf(err))
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Send took %s, beyond its 500ms time-out", d)
	}
	// The caller's context bounds a Send too.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start = time.Now()
	if err := s.Send(ctx, Message{To: "+33612345678", Text: "Sans réponse"}); fault.KindOf(err) != fault.Transient {
		t.Errorf("Send = %v, want fault.Transient", err)
	}
	if d := time.Since(start); d > 400*time.Millisecond {
		t.Errorf("Send took %s, beyond its context's 100ms", d)
	}
}

func TestSMPPBindRefused(t *testing.T) {
	t.Parallel()
	srv := startSMSC(t, "normal")
	cfg := testConfig(srv.addr)
	cfg.Password = "wrong"
	cfg.Timeout = time.Second
	s := startSMPP(t, cfg)
	err := s.Send(context.Background(), Message{To: "+33612345678", Text: "Bonjour"})
	if fault.KindOf(err) != fault.Transient {
		t.Fatalf("Send = %v (kind %v), want fault.Transient", err, fault.KindOf(err))
	}
	if !strings.Contains(err.Error(), "bind_transmitter refusé") || !strings.Contains(err.Error(), "ESME_RINVPASWD") {
		t.Errorf("error %q does not say the bind was refused", err)
	}
	// Binding again with back-off: more than one try, far fewer than a busy loop.
	if n := len(srv.pdus("bind_transmitter")); n < 2 || n > 15 {
		t.Errorf("%d binds in a second, want a few", n)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("error %q shows the password", err)
	}
}

func TestSMPPNoServer(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	cfg := testConfig(addr)
	cfg.Timeout = 300 * time.Millisecond
	s := startSMPP(t, cfg)
	err = s.Send(context.Background(), Message{To: "+33612345678", Text: "Bonjour"})
	if fault.KindOf(err) != fault.Transient || !strings.Contains(err.Error(), "pas de liaison avec le centre SMS") {
		t.Fatalf("Send = %v (kind %v), want fault.Transient", err, fault.KindOf(err))
	}
}

func TestSMPPLifecycle(t *testing.T) {
	t.Parallel()
	s, err := NewSMPP(testConfig("127.0.0.1:1"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), Message{To: "+33612345678", Text: "x"}); err == nil {
		t.Error("Send before Start succeeded")
	}
	s.Stop() // without Start
	s.Stop()
	if err := s.Start(context.Background()); err == nil {
		t.Error("Start after Stop succeeded")
	}
	s2, err := NewSMPP(testConfig("127.0.0.1:1"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s2.Start(context.Background()); err == nil {
		t.Error("Start twice succeeded")
	}
	s2.Stop()
}

func TestNewSMPPConfig(t *testing.T) {
	good := testConfig("smpp.example.net:2775")
	tests := []struct {
		name string
		edit func(*SMPPConfig)
	}{
		{"no address", func(c *SMPPConfig) { c.Addr = "" }},
		{"no port", func(c *SMPPConfig) { c.Addr = "smpp.example.net" }},
		{"no system_id", func(c *SMPPConfig) { c.SystemID = "" }},
		{"no sender", func(c *SMPPConfig) { c.Sender = "" }},
		{"sender too long", func(c *SMPPConfig) { c.Sender = "AMPMetropole" }},
		{"sender with a space", func(c *SMPPConfig) { c.Sender = "AMP Metro" }},
		{"negative timeout", func(c *SMPPConfig) { c.Timeout = -time.Second }},
		{"back-off upside down", func(c *SMPPConfig) { c.MinBackoff, c.MaxBackoff = time.Minute, time.Second }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.edit(&cfg)
			if _, err := NewSMPP(cfg, nil); fault.KindOf(err) != fault.Invalid {
				t.Errorf("NewSMPP = %v, want fault.Invalid", err)
			}
		})
	}
	s, err := NewSMPP(SMPPConfig{Addr: "smpp.example.net:2775", SystemID: "guichet", Password: "secret", Sender: "Metropole"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.timeout != defaultTimeout || s.enquireLink != defaultEnquireLink || s.minBackoff != defaultMinBackoff || s.maxBackoff != defaultMaxBackoff {
		t.Errorf("defaults: %s %s %s %s", s.timeout, s.enquireLink, s.minBackoff, s.maxBackoff)
	}
	for _, shown := range []string{good.String(), fmt.Sprint(good), fmt.Sprintf("%+v", good), s.String()} {
		if strings.Contains(shown, "secret") {
			t.Errorf("the password shows in %s", shown)
		}
	}
}
