package mailer

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/ampmetropole/guichet/services/platform/fault"
)

// received is one transaction the test server accepted.
type received struct {
	from string
	to   []string
	data []byte
}

// recorder is a go-smtp Backend that records what it receives. When user is
// set, it requires PLAIN authentication with user and pass before MAIL.
type recorder struct {
	user, pass string
	rcptErr    error // answer to every RCPT, if set
	dataErr    error // answer at the end of DATA, if set

	mu       sync.Mutex
	mails    []received
	authSeen int // AUTH attempts, successful or not
}

func (b *recorder) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{be: b}, nil }

func (b *recorder) received() ([]received, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]received(nil), b.mails...), b.authSeen
}

type session struct {
	be     *recorder
	authed bool
	cur    received
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(string) (sasl.Server, error) {
	s.be.mu.Lock()
	s.be.authSeen++
	s.be.mu.Unlock()
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.be.user || pass != s.be.pass {
			return errors.New("bad credentials")
		}
		s.authed = true
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.be.user != "" && !s.authed {
		return smtp.ErrAuthRequired
	}
	s.cur = received{from: from}
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.be.rcptErr != nil {
		return s.be.rcptErr
	}
	s.cur.to = append(s.cur.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if s.be.dataErr != nil {
		return s.be.dataErr
	}
	s.cur.data = b
	s.be.mu.Lock()
	s.be.mails = append(s.be.mails, s.cur)
	s.be.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.cur = received{} }
func (s *session) Logout() error { return nil }

// serverTLS says how the test server secures connections.
type serverTLS int

const (
	noTLS       serverTLS = iota // plain, AUTH allowed without TLS
	noTLSNoAuth                  // plain, AUTH refused without TLS
	startTLS                     // STARTTLS offered, AUTH only after it
	implicitTLS                  // TLS from the first byte
)

// startServer runs a real go-smtp server on 127.0.0.1 until the test ends
// and returns its port.
func startServer(t *testing.T, be smtp.Backend, mode serverTLS, cert *tls.Certificate) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := smtp.NewServer(be)
	srv.Domain = "localhost"
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.MaxMessageBytes = 2 << 20
	srv.ErrorLog = log.New(io.Discard, "", 0)
	switch mode {
	case noTLS:
		srv.AllowInsecureAuth = true
	case startTLS:
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*cert}, MinVersion: tls.VersionTLS12}
	case implicitTLS:
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{*cert}, MinVersion: tls.VersionTLS12})
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		// Close only closes the listeners Serve has registered: if Serve has
		// not started yet, closing ln is what makes it return.
		_ = srv.Close()
		_ = ln.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("SMTP server did not stop within 10s")
		}
	})
	return ln.Addr().(*net.TCPAddr).Port
}

// testCert returns a self-signed certificate for 127.0.0.1 and localhost,
// and a pool that trusts it.
func testCert(t *testing.T) (*tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "guichet test smtp"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return port
}

func newTestSMTP(t *testing.T, url string, timeout time.Duration) *SMTP {
	t.Helper()
	s, err := NewSMTP(SMTPConfig{URL: url, From: testFrom, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var testMessage = Message{
	To:      "lea.martinez@example.net",
	Subject: "Accusé de réception de votre demande — code JVD0-PGQN-831Q",
	Body:    "Bonjour Léa,\n\nLa Métropole a bien reçu votre demande le 14 mars 2026 à 10 h 26.\n.Une ligne qui commence par un point.\nÀ bientôt.\n",
	Headers: map[string]string{"X-Guichet-Request-Id": "019ac4e2-5b1a-7c3e-9a10-3f2b6d1e8a99"},
}

// checkDelivered asserts that be received exactly testMessage, once.
func checkDelivered(t *testing.T, be *recorder) {
	t.Helper()
	mails, _ := be.received()
	if len(mails) != 1 {
		t.Fatalf("server received %d messages, want 1", len(mails))
	}
	got := mails[0]
	if got.from != "ne-pas-repondre@ampmetropole.fr" || !reflect.DeepEqual(got.to, []string{"lea.martinez@example.net"}) {
		t.Errorf("envelope MAIL FROM %q RCPT TO %q", got.from, got.to)
	}
	st, err := parseStored("", got.data)
	if err != nil {
		t.Fatalf("DATA does not parse: %v\n%s", err, got.data)
	}
	if st.Subject != testMessage.Subject || st.Body != testMessage.Body || st.To != testMessage.To || st.From != testFrom ||
		!reflect.DeepEqual(st.Headers, testMessage.Headers) {
		t.Errorf("received %+v\nwant %+v", st, testMessage)
	}
	if time.Since(st.Date) > time.Minute || time.Since(st.Date) < -time.Minute {
		t.Errorf("Date %v is not now", st.Date)
	}
}

func TestSMTPSendPlainLoopback(t *testing.T) {
	be := &recorder{user: "user", pass: "p@ss:wörd"}
	port := startServer(t, be, noTLS, nil)
	s := newTestSMTP(t, fmt.Sprintf("smtp+plain://user:p%%40ss%%3Aw%%C3%%B6rd@127.0.0.1:%d", port), 10*time.Second)
	if err := s.Send(context.Background(), testMessage); err != nil {
		t.Fatalf("Send: %v", err)
	}
	checkDelivered(t, be)
}

func TestSMTPSendTLS(t *testing.T) {
	cert, pool := testCert(t)
	tests := []struct {
		name   string
		mode   serverTLS
		scheme string
	}{
		{"STARTTLS", startTLS, "smtp"},
		{"implicit TLS", implicitTLS, "smtps"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			be := &recorder{user: "user", pass: "pass"}
			port := startServer(t, be, tt.mode, cert)
			s := newTestSMTP(t, fmt.Sprintf("%s://user:pass@127.0.0.1:%d", tt.scheme, port), 10*time.Second)
			s.rootCAs = pool
			if err := s.Send(context.Background(), testMessage); err != nil {
				t.Fatalf("Send: %v", err)
			}
			checkDelivered(t, be)
		})
	}
}

func TestSMTPRefusesInsecureServers(t *testing.T) {
	cert, _ := testCert(t)
	tests := []struct {
		name   string
		mode   serverTLS
		scheme string
	}{
		// The server would even take the password in clear: the client must not offer it.
		{"no STARTTLS offered", noTLS, "smtp"},
		{"untrusted certificate, STARTTLS", startTLS, "smtp"},
		{"untrusted certificate, implicit TLS", implicitTLS, "smtps"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			be := &recorder{user: "user", pass: "pass"}
			port := startServer(t, be, tt.mode, cert)
			s := newTestSMTP(t, fmt.Sprintf("%s://user:pass@127.0.0.1:%d", tt.scheme, port), 10*time.Second)
			err := s.Send(context.Background(), testMessage)
			if fault.KindOf(err) != fault.Transient {
				t.Fatalf("Send = %v (kind %v), want kind transient", err, fault.KindOf(err))
			}
			if mails, auths := be.received(); len(mails) != 0 || auths != 0 {
				t.Errorf("server saw %d messages and %d AUTH attempts, want none", len(mails), auths)
			}
		})
	}
}

func TestSMTPServerAnswers(t *testing.T) {
	tests := []struct {
		name             string
		rcptErr, dataErr error
		want             fault.Kind
	}{
		{"RCPT 550", &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user"}, nil, fault.Permanent},
		{"RCPT 450", &smtp.SMTPError{Code: 450, EnhancedCode: smtp.EnhancedCode{4, 2, 1}, Message: "Mailbox busy"}, nil, fault.Transient},
		{"DATA 554", nil, &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Message refused"}, fault.Permanent},
		{"DATA 451", nil, &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Try again later"}, fault.Transient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			be := &recorder{rcptErr: tt.rcptErr, dataErr: tt.dataErr}
			port := startServer(t, be, noTLS, nil)
			s := newTestSMTP(t, fmt.Sprintf("smtp+plain://127.0.0.1:%d", port), 10*time.Second)
			err := s.Send(context.Background(), testMessage)
			if err == nil || fault.KindOf(err) != tt.want {
				t.Fatalf("Send = %v (kind %v), want kind %v", err, fault.KindOf(err), tt.want)
			}
			if !strings.HasPrefix(err.Error(), "mailer: send: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
	// Wrong credentials: go-smtp answers 454, a temporary failure.
	be := &recorder{user: "user", pass: "pass"}
	port := startServer(t, be, noTLS, nil)
	s := newTestSMTP(t, fmt.Sprintf("smtp+plain://user:wrong@127.0.0.1:%d", port), 10*time.Second)
	if err := s.Send(context.Background(), testMessage); fault.KindOf(err) != fault.Transient || strings.Contains(err.Error(), "wrong") {
		t.Errorf("bad password: Send = %v (kind %v), want kind transient without the password", err, fault.KindOf(err))
	}
}

func TestSMTPNotListening(t *testing.T) {
	s := newTestSMTP(t, fmt.Sprintf("smtp+plain://user:pass@127.0.0.1:%d", closedPort(t)), 5*time.Second)
	err := s.Send(context.Background(), testMessage)
	if fault.KindOf(err) != fault.Transient {
		t.Fatalf("Send = %v (kind %v), want kind transient", err, fault.KindOf(err))
	}
	if strings.Contains(err.Error(), "pass") {
		t.Errorf("error %q shows the password", err)
	}
}

// silentServer accepts connections and never says a word, until the test ends.
func silentServer(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("silent server did not stop within 10s")
		}
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().(*net.TCPAddr).Port
}

func TestSMTPTimeoutAndCancel(t *testing.T) {
	port := silentServer(t)
	url := fmt.Sprintf("smtp+plain://127.0.0.1:%d", port)

	start := time.Now()
	err := newTestSMTP(t, url, 300*time.Millisecond).Send(context.Background(), testMessage)
	if fault.KindOf(err) != fault.Transient || time.Since(start) > 5*time.Second {
		t.Errorf("timeout: Send = %v (kind %v) after %v, want kind transient within 5s", err, fault.KindOf(err), time.Since(start))
	}

	// The default 30s timeout is not what ends this send: the caller's context is.
	ctx, cancel := context.WithCancel(context.Background())
	timer := time.AfterFunc(200*time.Millisecond, cancel)
	defer timer.Stop()
	start = time.Now()
	err = newTestSMTP(t, url, 0).Send(ctx, testMessage)
	if fault.KindOf(err) != fault.Transient || !errors.Is(err, context.Canceled) || time.Since(start) > 5*time.Second {
		t.Errorf("cancel: Send = %v (kind %v) after %v, want kind transient, context.Canceled, within 5s", err, fault.KindOf(err), time.Since(start))
	}
}

func TestSMTPSendInvalidMessage(t *testing.T) {
	be := &recorder{}
	port := startServer(t, be, noTLS, nil)
	s := newTestSMTP(t, fmt.Sprintf("smtp+plain://127.0.0.1:%d", port), 10*time.Second)
	for _, m := range []Message{{To: ""}, {To: "pas une adresse"}, {To: "a@example.org", Headers: map[string]string{"To": "b@example.org"}}} {
		if err := s.Send(context.Background(), m); fault.KindOf(err) != fault.Invalid {
			t.Errorf("Send(%+v) = %v, want kind invalid", m, err)
		}
	}
	if mails, _ := be.received(); len(mails) != 0 {
		t.Errorf("server received %d messages", len(mails))
	}
}

func TestNewSMTPErrors(t *testing.T) {
	tests := []struct {
		name, url, from string
		timeout         time.Duration
		want            string // in the error message
	}{
		{"plain to a remote host", "smtp+plain://user:s3cret@mail.example.org:2525", testFrom, 0, "only allowed to a loopback host"},
		{"plain to a private address", "smtp+plain://user:s3cret@10.0.0.1:2525", testFrom, 0, "only allowed to a loopback host"},
		{"unknown scheme", "imap://user:s3cret@mail.example.org", testFrom, 0, `unknown URL scheme "imap"`},
		{"no scheme", "mail.example.org:587", testFrom, 0, "scheme"},
		{"empty From", "smtp://user:s3cret@mail.example.org", "", 0, "From is empty"},
		{"bad From", "smtp://user:s3cret@mail.example.org", "Métropole <pas une adresse>", 0, "is not a valid address"},
		{"empty URL", "", testFrom, 0, "URL is empty"},
		{"no host", "smtps://user:s3cret@:465", testFrom, 0, "has no host"},
		{"bad port", "smtp://user:s3cret@mail.example.org:99999", testFrom, 0, "port"},
		{"path", "smtp://user:s3cret@mail.example.org/x?y=1", testFrom, 0, "only scheme, user, password, host and port"},
		{"unparsable", "smtp://user:s3cr%zzet@mail.example.org", testFrom, 0, "does not parse"},
		{"password without user", "smtp://:s3cret@mail.example.org", testFrom, 0, "password but no user"},
		{"negative timeout", "smtp://user:s3cret@mail.example.org", testFrom, -time.Second, "negative"},
	}
	for _, tt := range tests {
		_, err := NewSMTP(SMTPConfig{URL: tt.url, From: tt.from, Timeout: tt.timeout})
		if err == nil || fault.KindOf(err) != fault.Invalid || !strings.Contains(err.Error(), tt.want) ||
			!strings.HasPrefix(err.Error(), "mailer: smtp config: ") {
			t.Errorf("%s: NewSMTP = %v (kind %v), want kind invalid mentioning %q", tt.name, err, fault.KindOf(err), tt.want)
			continue
		}
		if strings.Contains(err.Error(), "s3cr") {
			t.Errorf("%s: error %q shows the password", tt.name, err)
		}
	}
}

func TestNewSMTPAccepts(t *testing.T) {
	tests := []struct {
		url  string
		mode smtpMode
		host string
		port int
	}{
		{"smtp://user:pass@mail.example.org", modeStartTLS, "mail.example.org", 587},
		{"SMTP://mail.example.org:25/", modeStartTLS, "mail.example.org", 25},
		{"smtps://user:pass@mail.example.org", modeImplicitTLS, "mail.example.org", 465},
		{"smtp+plain://127.0.0.1:2525", modePlain, "127.0.0.1", 2525},
		{"smtp+plain://127.0.0.2", modePlain, "127.0.0.2", 25},
		{"smtp+plain://[::1]:2525", modePlain, "::1", 2525},
		{"smtp+plain://localhost:1025", modePlain, "localhost", 1025},
	}
	for _, tt := range tests {
		s, err := NewSMTP(SMTPConfig{URL: tt.url, From: testFrom})
		if err != nil {
			t.Errorf("NewSMTP(%s): %v", tt.url, err)
			continue
		}
		if s.mode != tt.mode || s.host != tt.host || s.port != tt.port || s.timeout != defaultTimeout {
			t.Errorf("NewSMTP(%s) = mode %v host %q port %d timeout %v", tt.url, s.mode, s.host, s.port, s.timeout)
		}
	}
}

func TestSMTPPrintingHidesPassword(t *testing.T) {
	cfg := SMTPConfig{URL: "smtps://user:s3cret@mail.example.org", From: testFrom}
	s, err := NewSMTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v", s), fmt.Sprintf("%+v", s), fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg)} {
		if strings.Contains(out, "s3cret") || !strings.Contains(out, "mail.example.org") {
			t.Errorf("printed as %q", out)
		}
	}
}

func TestRequireLoopback(t *testing.T) {
	tests := []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:25", true},
		{"127.3.2.1:25", true},
		{"[::1]:25", true},
		{"[::ffff:127.0.0.1]:25", true},
		{"10.0.0.1:25", false},
		{"[2001:db8::1]:25", false},
		{"localhost:25", false}, // the dialler passes resolved addresses only
	}
	for _, tt := range tests {
		if err := requireLoopback("tcp", tt.addr, nil); (err == nil) != tt.ok {
			t.Errorf("requireLoopback(%s) = %v, want ok=%v", tt.addr, err, tt.ok)
		}
	}
}
