package mailer

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/ampmetropole/guichet/services/platform/fault"
)

// defaultTimeout bounds one SMTP send when SMTPConfig.Timeout is zero.
const defaultTimeout = 30 * time.Second

// SMTPConfig configures sending through an SMTP server.
type SMTPConfig struct {
	URL     string        // smtp://user:pass@host:587 (STARTTLS required), smtps://user:pass@host:465 (implicit TLS), smtp+plain://host:2525 (no TLS: only allowed when host is a loopback address), user/pass optional
	From    string        // sender address, e.g. "Métropole Aix-Marseille-Provence <ne-pas-repondre@ampmetropole.fr>"
	Timeout time.Duration // per send; default 30s
}

// String describes the configuration with the password hidden, so that a
// configuration printed or logged by mistake does not leak it.
func (c SMTPConfig) String() string {
	return fmt.Sprintf("{URL:%s From:%s Timeout:%s}", redactURL(c.URL), c.From, c.Timeout)
}

// smtpMode is how the connection to the server is secured.
type smtpMode int

const (
	modeStartTLS    smtpMode = iota // smtp://: STARTTLS required
	modeImplicitTLS                 // smtps://: TLS from the first byte
	modePlain                       // smtp+plain://: no TLS, loopback only
)

// SMTP sends messages through an SMTP server, one connection per message.
// An SMTP is safe for concurrent use.
type SMTP struct {
	mode     smtpMode
	host     string // without brackets for IPv6
	port     int
	user     string
	pass     string
	from     *mail.Address
	timeout  time.Duration
	redacted string         // the URL, password hidden
	rootCAs  *x509.CertPool // trusted roots; nil means the system's (tests set it)
}

// NewSMTP checks cfg and returns a sender. A wrong URL, From or Timeout is a
// fault.Invalid error that names what is wrong and never shows the password.
// Nothing is dialled until Send.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	s, err := newSMTP(cfg)
	if err != nil {
		return nil, fault.E(fault.Invalid, fmt.Errorf("mailer: smtp config: %w", err))
	}
	return s, nil
}

func newSMTP(cfg SMTPConfig) (*SMTP, error) {
	if strings.TrimSpace(cfg.URL) == "" {
		return nil, errors.New("URL is empty")
	}
	u, err := url.Parse(cfg.URL)
	if err != nil {
		// url.Parse errors quote the URL, password included: not repeated.
		return nil, errors.New("URL does not parse (check its syntax, and that the user and password are percent-encoded)")
	}
	s := &SMTP{redacted: u.Redacted()}
	var defaultPort int
	switch u.Scheme {
	case "smtp":
		s.mode, defaultPort = modeStartTLS, 587
	case "smtps":
		s.mode, defaultPort = modeImplicitTLS, 465
	case "smtp+plain":
		s.mode, defaultPort = modePlain, 25
	case "":
		return nil, errors.New("URL has no scheme (want smtp://, smtps:// or smtp+plain://)")
	default:
		return nil, fmt.Errorf("unknown URL scheme %q (want smtp, smtps or smtp+plain)", u.Scheme)
	}
	if u.Opaque != "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("URL %s: only scheme, user, password, host and port are allowed", s.redacted)
	}
	s.host = u.Hostname()
	if s.host == "" {
		return nil, fmt.Errorf("URL %s has no host", s.redacted)
	}
	s.port = defaultPort
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("URL %s: port %q is not between 1 and 65535", s.redacted, p)
		}
		s.port = n
	}
	if s.mode == modePlain && !loopbackHost(s.host) {
		return nil, fmt.Errorf("URL %s: smtp+plain (no TLS) is only allowed to a loopback host, not %q; use smtp:// (STARTTLS) or smtps://", s.redacted, s.host)
	}
	if u.User != nil {
		s.user = u.User.Username()
		s.pass, _ = u.User.Password()
		if s.user == "" && s.pass != "" {
			return nil, fmt.Errorf("URL %s has a password but no user", s.redacted)
		}
	}
	if s.from, err = parseFrom(cfg.From); err != nil {
		return nil, err
	}
	switch {
	case cfg.Timeout < 0:
		return nil, fmt.Errorf("Timeout %s is negative", cfg.Timeout)
	case cfg.Timeout == 0:
		s.timeout = defaultTimeout
	default:
		s.timeout = cfg.Timeout
	}
	return s, nil
}

// String describes the sender with the password hidden.
func (s *SMTP) String() string {
	return "mailer.SMTP(" + s.redacted + ")"
}

// Send delivers m. It returns nil once the server has accepted the message.
// Errors are fault.Invalid when m itself is wrong, fault.Permanent when the
// server refused the recipient or the message for good (5xx answer to RCPT
// or DATA), and fault.Transient otherwise: connection, TLS, authentication,
// temporary 4xx answers, timeout or cancelled ctx — retrying later may work.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg, err := compose(s.from, m, time.Now())
	if err != nil {
		return fmt.Errorf("mailer: send: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var conns connTracker
	defer conns.closeAll()
	client, err := gomail.NewClient(s.host, s.options(ctx, &conns)...)
	if err != nil {
		return fmt.Errorf("mailer: send: smtp client: %w", err)
	}
	err = client.DialAndSendWithContext(ctx, msg)
	if err == nil || msg.IsDelivered() {
		// go-mail reports errors after the server took the message (RSET,
		// QUIT): they do not matter, and a retry would send it twice.
		return nil
	}
	if cause := context.Cause(ctx); cause != nil {
		err = fmt.Errorf("%w: %w", cause, err)
	}
	return fault.E(sendErrorKind(err), fmt.Errorf("mailer: send: %w", err))
}

// options are the go-mail client options for one send.
func (s *SMTP) options(ctx context.Context, conns *connTracker) []gomail.Option {
	opts := []gomail.Option{
		gomail.WithPort(s.port),
		gomail.WithTimeout(s.timeout),
		gomail.WithTLSConfig(&tls.Config{ServerName: s.host, MinVersion: tls.VersionTLS12, RootCAs: s.rootCAs}),
		gomail.WithDialContextFunc(s.dialer(ctx, conns)),
		gomail.WithoutNoop(), // a fresh connection: no need to probe it
		gomail.WithoutRset(), // QUIT follows at once
	}
	switch s.mode {
	case modeStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case modeImplicitTLS:
		opts = append(opts, gomail.WithSSL()) // the dialer below does the TLS
	case modePlain:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if s.user != "" {
		mechs := []gomail.SMTPAuthType{gomail.SMTPAuthPlain, gomail.SMTPAuthLogin}
		if s.mode == modePlain {
			mechs = []gomail.SMTPAuthType{gomail.SMTPAuthPlainNoEnc, gomail.SMTPAuthLoginNoEnc}
		}
		opts = append(opts, gomail.WithOpportunisticSMTPAuth(mechs...),
			gomail.WithUsername(s.user), gomail.WithPassword(s.pass))
	}
	return opts
}

// dialer returns the dial function go-mail uses. It dials host:port itself
// (go-mail's own address has no brackets for IPv6), does the TLS handshake
// for smtps (go-mail skips its own TLS dialer when given a dial function),
// refuses a non-loopback peer for smtp+plain, and ties the connection to
// sendCtx so that cancelling the send closes it (go-mail only watches the
// context while dialling).
func (s *SMTP) dialer(sendCtx context.Context, conns *connTracker) gomail.DialContextFunc {
	return func(ctx context.Context, network, _ string) (net.Conn, error) {
		addr := net.JoinHostPort(s.host, strconv.Itoa(s.port))
		d := &net.Dialer{}
		if s.mode == modePlain {
			d.Control = requireLoopback
		}
		var conn net.Conn
		var err error
		if s.mode == modeImplicitTLS {
			td := &tls.Dialer{NetDialer: d, Config: &tls.Config{ServerName: s.host, MinVersion: tls.VersionTLS12, RootCAs: s.rootCAs}}
			conn, err = td.DialContext(ctx, network, addr)
		} else {
			conn, err = d.DialContext(ctx, network, addr)
		}
		if err != nil {
			return nil, err
		}
		conns.add(sendCtx, conn)
		return conn, nil
	}
}

// requireLoopback is a net.Dialer Control refusing any peer that is not a
// loopback address: smtp+plain sends credentials and mail in clear.
func requireLoopback(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("smtp+plain: cannot check peer %q: %w", address, err)
	}
	if !ap.Addr().Unmap().IsLoopback() {
		return fmt.Errorf("smtp+plain: peer %s is not a loopback address; refusing to talk without TLS", ap.Addr())
	}
	return nil
}

// loopbackHost reports whether host is a loopback IP address or
// "localhost" (whose addresses requireLoopback checks again at dial time).
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// sendErrorKind classifies a failed send: a 5xx answer to RCPT or DATA is
// permanent; anything else may succeed later.
func sendErrorKind(err error) fault.Kind {
	var se *gomail.SendError
	if errors.As(err, &se) {
		switch se.Reason {
		case gomail.ErrSMTPRcptTo, gomail.ErrSMTPData, gomail.ErrSMTPDataClose:
			code := se.ErrorCode()
			var te *textproto.Error
			if code == 0 && errors.As(err, &te) {
				code = te.Code
			}
			if code >= 500 && code < 600 {
				return fault.Permanent
			}
		}
	}
	return fault.Transient
}

// redactURL hides the password of a URL for display.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if raw == "" {
			return ""
		}
		return "(unparsable URL, hidden)"
	}
	return u.Redacted()
}

// connTracker closes the connections of one send when its context ends,
// and at the end of the send in any case.
type connTracker struct {
	mu    sync.Mutex
	conns []net.Conn
	stops []func() bool
}

func (t *connTracker) add(ctx context.Context, c net.Conn) {
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	t.mu.Lock()
	t.conns = append(t.conns, c)
	t.stops = append(t.stops, stop)
	t.mu.Unlock()
}

func (t *connTracker) closeAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, c := range t.conns {
		t.stops[i]()
		_ = c.Close()
	}
	t.conns, t.stops = nil, nil
}
