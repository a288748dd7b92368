package sms

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/linxGnu/gosmpp"
	"github.com/linxGnu/gosmpp/data"
	"github.com/linxGnu/gosmpp/pdu"

	"github.com/ampmetropole/guichet/services/platform/fault"
)

// Defaults of SMPPConfig.
const (
	defaultTimeout     = 30 * time.Second
	defaultEnquireLink = 30 * time.Second
	defaultMinBackoff  = time.Second
	defaultMaxBackoff  = time.Minute
	// unbindTimeout bounds the unbind sent when the sender stops.
	unbindTimeout = 2 * time.Second
)

// SMPP addressing: the sender is alphanumeric, the recipient international.
const (
	tonAlphanumeric  = 0x05
	npiUnknown       = 0x00
	tonInternational = 0x01
	npiISDN          = 0x01
)

// SMPPConfig configures sending through an SMS centre (SMSC) over SMPP 3.4.
type SMPPConfig struct {
	Addr        string        // host:port of the SMS centre, e.g. "smpp.example.net:2775"; plain TCP, so a private link or a VPN (the password travels in clear)
	SystemID    string        // system_id of bind_transmitter, given by the operator
	Password    string        // password of bind_transmitter
	SystemType  string        // system_type of bind_transmitter, when the operator asks for one; optional
	Sender      string        // alphanumeric originator shown on the phone: 1 to 11 letters or digits, e.g. "Metropole"
	Timeout     time.Duration // bounds each Send (waiting for the link, then every part's answer) and each bind; default 30s
	EnquireLink time.Duration // period of the enquire_link keep-alive; default 30s
	MinBackoff  time.Duration // wait before binding again after a failure, doubled at each failure; default 1s
	MaxBackoff  time.Duration // longest wait between two binds; default 1min
}

// String describes the configuration with the password hidden, so that a
// configuration printed or logged by mistake does not leak it.
func (c SMPPConfig) String() string {
	pass := ""
	if c.Password != "" {
		pass = "xxxxx"
	}
	return fmt.Sprintf("{Addr:%s SystemID:%s Password:%s SystemType:%s Sender:%s Timeout:%s EnquireLink:%s MinBackoff:%s MaxBackoff:%s}",
		c.Addr, c.SystemID, pass, c.SystemType, c.Sender, c.Timeout, c.EnquireLink, c.MinBackoff, c.MaxBackoff)
}

// Lifecycle of an SMPP sender.
const (
	stateNew = iota
	stateStarted
	stateStopped
)

// stoppedError is why a link ends when the sender stops.
func stoppedError() error { return errors.New("le service SMS est arrêté") }

// SMPP sends messages to an SMS centre over one SMPP 3.4 transmitter bind,
// kept up between Start and Stop: bound again, with back-off, whenever it
// drops. An SMPP is safe for concurrent use; the parts of one message are
// submitted in order, and concurrent messages share the link.
type SMPP struct {
	addr        string
	auth        gosmpp.Auth
	sender      string
	timeout     time.Duration
	enquireLink time.Duration
	minBackoff  time.Duration
	maxBackoff  time.Duration
	log         *slog.Logger
	ref         atomic.Uint32 // concatenation reference of the last message

	mu      sync.Mutex
	state   int
	link    *link         // the bound link, nil while there is none
	lastErr error         // why the last bind failed or the last link ended
	changed chan struct{} // closed, and replaced, whenever state, link or lastErr change
	cancel  context.CancelFunc
	done    chan struct{} // closed when the link's goroutine has ended
}

// NewSMPP checks cfg and returns a sender; log receives the link's events
// (bound, lost, bind refused), never a message's text nor its recipient.
// A wrong configuration is a fault.Invalid error. Nothing is dialled until
// Start.
func NewSMPP(cfg SMPPConfig, log *slog.Logger) (*SMPP, error) {
	s, err := newSMPP(cfg, log)
	if err != nil {
		return nil, fault.E(fault.Invalid, fmt.Errorf("sms: smpp config: %w", err))
	}
	return s, nil
}

func newSMPP(cfg SMPPConfig, log *slog.Logger) (*SMPP, error) {
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil || host == "" || port == "" {
		return nil, fmt.Errorf("Addr %q is not host:port", cfg.Addr)
	}
	if cfg.SystemID == "" {
		return nil, errors.New("SystemID is empty")
	}
	if err := checkSender(cfg.Sender); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &SMPP{
		addr:    cfg.Addr,
		auth:    gosmpp.Auth{SMSC: cfg.Addr, SystemID: cfg.SystemID, Password: cfg.Password, SystemType: cfg.SystemType},
		sender:  cfg.Sender,
		log:     log.With("smsc", cfg.Addr),
		changed: make(chan struct{}),
		done:    make(chan struct{}),
	}
	for _, d := range []struct {
		name  string
		value time.Duration
		def   time.Duration
		dst   *time.Duration
	}{
		{"Timeout", cfg.Timeout, defaultTimeout, &s.timeout},
		{"EnquireLink", cfg.EnquireLink, defaultEnquireLink, &s.enquireLink},
		{"MinBackoff", cfg.MinBackoff, defaultMinBackoff, &s.minBackoff},
		{"MaxBackoff", cfg.MaxBackoff, defaultMaxBackoff, &s.maxBackoff},
	} {
		switch {
		case d.value < 0:
			return nil, fmt.Errorf("%s %s is negative", d.name, d.value)
		case d.value == 0:
			*d.dst = d.def
		default:
			*d.dst = d.value
		}
	}
	if s.maxBackoff < s.minBackoff {
		return nil, fmt.Errorf("MaxBackoff %s is shorter than MinBackoff %s", s.maxBackoff, s.minBackoff)
	}
	var seed [4]byte
	_, _ = rand.Read(seed[:]) // never fails (crypto/rand crashes the program instead)
	s.ref.Store(uint32(seed[0]))
	return s, nil
}

// String describes the sender without its password.
func (s *SMPP) String() string {
	return "sms.SMPP(" + s.auth.SystemID + "@" + s.addr + ")"
}

// Start binds to the SMS centre in the background and keeps the link up
// until Stop (or until ctx is cancelled; Stop must still be called). It
// returns at once: an SMS centre that cannot be reached yet does not stop
// Guichet from starting, and Send waits for the link within its time-out.
func (s *SMPP) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.state {
	case stateStarted:
		return errors.New("sms: smpp start: already started")
	case stateStopped:
		return errors.New("sms: smpp start: stopped")
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sms: smpp start: %w", err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	s.state, s.cancel = stateStarted, cancel
	s.notifyLocked()
	go s.run(runCtx)
	return nil
}

// Stop unbinds, closes the link and waits for its goroutines. Sends under way
// fail with fault.Transient. Safe to call twice, and without Start.
func (s *SMPP) Stop() {
	s.mu.Lock()
	state := s.state
	s.state = stateStopped
	if state != stateStopped {
		s.notifyLocked()
	}
	cancel := s.cancel // nil when Start was never called
	s.mu.Unlock()
	if cancel != nil {
		cancel()
		<-s.done
	}
}

// notifyLocked wakes the Sends waiting for a change; s.mu is held.
func (s *SMPP) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Send submits m, one submit_sm per part, and returns nil once the SMS
// centre has accepted every part. Errors are fault.Invalid when m itself is
// wrong (checked before anything is sent), fault.Permanent when the SMS
// centre refused it for good (invalid address or message), and
// fault.Transient otherwise: no link, a time-out, throttling, a full queue, a
// system error. A part that timed out may still have been taken: as with any
// SMS gateway, a retry may then deliver a part twice.
func (s *SMPP) Send(ctx context.Context, m Message) error {
	dest, err := parseRecipient(m.To)
	if err != nil {
		return fmt.Errorf("sms: smpp send: %w", err)
	}
	enc, err := Encode(m.Text)
	if err != nil {
		return fmt.Errorf("sms: smpp send: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	l, err := s.waitLink(ctx)
	if err != nil {
		return fault.E(fault.Transient, fmt.Errorf("sms: smpp send: %w", err))
	}
	ref := byte(s.ref.Add(1))
	ids := make([]string, 0, len(enc.Parts))
	for i := range enc.Parts {
		p, err := s.submitSM(dest, enc, i, ref)
		if err != nil {
			return fmt.Errorf("sms: smpp send: part %d/%d: %w", i+1, len(enc.Parts), err)
		}
		resp, err := l.request(ctx, p)
		if err != nil {
			if ctx.Err() != nil {
				err = fmt.Errorf("pas de réponse du centre SMS à temps : %w", err)
			}
			return fault.E(fault.Transient, fmt.Errorf("sms: smpp send: part %d/%d: %w", i+1, len(enc.Parts), err))
		}
		status := resp.GetHeader().CommandStatus
		if status != data.ESME_ROK {
			if status == data.ESME_RINVBNDSTS {
				l.fail(fmt.Errorf("submit_sm answered %s", status)) // bind again
			}
			return fault.E(statusKind(status), fmt.Errorf("sms: smpp send: part %d/%d: le centre SMS a refusé le message : %s (%s, 0x%08X)",
				i+1, len(enc.Parts), frenchStatus(status), status, uint32(status)))
		}
		if r, ok := resp.(*pdu.SubmitSMResp); ok {
			ids = append(ids, r.MessageID)
		}
	}
	s.log.DebugContext(ctx, "sms submitted", "coding", enc.Coding, "parts", len(enc.Parts), "message_ids", ids)
	return nil
}

// submitSM builds the submit_sm of part i of enc, to the international
// number dest (digits only), with the concatenation reference ref.
func (s *SMPP) submitSM(dest string, enc Encoded, i int, ref byte) (*pdu.SubmitSM, error) {
	p := pdu.NewSubmitSM().(*pdu.SubmitSM)
	var err error
	if p.SourceAddr, err = pdu.NewAddressWithTonNpiAddr(tonAlphanumeric, npiUnknown, s.sender); err != nil {
		return nil, fmt.Errorf("source address: %w", err)
	}
	if p.DestAddr, err = pdu.NewAddressWithTonNpiAddr(tonInternational, npiISDN, dest); err != nil {
		return nil, fmt.Errorf("destination address: %w", err)
	}
	coding := data.GSM7BIT
	if enc.Coding == UCS2 {
		coding = data.UCS2
	}
	msg, err := pdu.NewBinaryShortMessageWithEncoding(enc.Parts[i].Data, coding)
	if err != nil {
		return nil, fmt.Errorf("short message: %w", err)
	}
	p.EsmClass = data.SM_ESM_DEFAULT
	if n := len(enc.Parts); n > 1 {
		msg.SetUDH(pdu.UDH{pdu.NewIEConcatMessage(byte(n), byte(i+1), ref)})
		p.EsmClass |= data.SM_UDH_GSM
	}
	p.Message = msg
	// A transmitter bind cannot receive delivery receipts: none asked for.
	p.RegisteredDelivery = data.SM_SMSC_RECEIPT_NOT_REQUESTED
	return p, nil
}

// statusKind classifies the command_status of a refused submit_sm.
func statusKind(status data.CommandStatusType) fault.Kind {
	switch status {
	case data.ESME_RINVDSTADR, data.ESME_RINVDSTTON, data.ESME_RINVDSTNPI,
		data.ESME_RINVSRCADR, data.ESME_RINVSRCTON, data.ESME_RINVSRCNPI,
		data.ESME_RINVMSGLEN, data.ESME_RINVCMDLEN, data.ESME_RINVCMDID, data.ESME_RINVESMCLASS,
		data.ESME_RINVSERTYP, data.ESME_RINVPRTFLG, data.ESME_RINVREGDLVFLG, data.ESME_RINVREPFLAG,
		data.ESME_RINVPARAM, data.ESME_RINVOPTPARSTREAM, data.ESME_ROPTPARNOTALLWD, data.ESME_RINVPARLEN,
		data.ESME_RMISSINGOPTPARAM, data.ESME_RINVOPTPARAMVAL, data.ESME_RINVDFTMSGID,
		data.ESME_RX_P_APPN, data.ESME_RX_R_APPN, data.ESME_RPROVNOTALLWD:
		return fault.Permanent
	}
	// Throttling, a full queue, a system error, a temporary application
	// error, a wrong bind state, and the codes an operator adds: may work later.
	return fault.Transient
}

// frenchStatus says in French what a command_status means, for the statuses
// an SMS centre answers to submit_sm most often.
func frenchStatus(status data.CommandStatusType) string {
	switch status {
	case data.ESME_RTHROTTLED:
		return "trop de messages envoyés, débit limité"
	case data.ESME_RMSGQFUL:
		return "file d'attente pleine"
	case data.ESME_RSYSERR:
		return "erreur du système"
	case data.ESME_RX_T_APPN:
		return "erreur temporaire"
	case data.ESME_RINVBNDSTS:
		return "liaison dans un mauvais état"
	case data.ESME_RINVDSTADR, data.ESME_RINVDSTTON, data.ESME_RINVDSTNPI:
		return "numéro du destinataire refusé"
	case data.ESME_RINVSRCADR, data.ESME_RINVSRCTON, data.ESME_RINVSRCNPI:
		return "nom d'expéditeur refusé"
	case data.ESME_RINVMSGLEN:
		return "longueur du message refusée"
	case data.ESME_RPROVNOTALLWD:
		return "envoi non autorisé par le contrat"
	}
	return "refus"
}

// waitLink returns the bound link, waiting for it until ctx ends.
func (s *SMPP) waitLink(ctx context.Context) (*link, error) {
	for {
		s.mu.Lock()
		state, l, changed, last := s.state, s.link, s.changed, s.lastErr
		s.mu.Unlock()
		switch state {
		case stateNew:
			return nil, errors.New("not started: Start was not called")
		case stateStopped:
			return nil, stoppedError()
		}
		if l != nil && !l.isDead() {
			return l, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			if last != nil {
				return nil, fmt.Errorf("pas de liaison avec le centre SMS (%w), dernière erreur : %w", context.Cause(ctx), last)
			}
			return nil, fmt.Errorf("pas de liaison avec le centre SMS : %w", context.Cause(ctx))
		}
	}
}

// setLink records the bound link, or its absence and why.
func (s *SMPP) setLink(l *link, err error) {
	s.mu.Lock()
	s.link, s.lastErr = l, err
	s.notifyLocked()
	s.mu.Unlock()
}

// run binds, serves the link until it drops, and binds again with back-off,
// until ctx ends.
func (s *SMPP) run(ctx context.Context) {
	defer close(s.done)
	backoff := s.minBackoff
	for {
		l, err := s.bind(ctx)
		if err == nil {
			s.log.Info("smpp bound")
			s.setLink(l, nil)
			boundAt := time.Now()
			err = l.serve(ctx, s.enquireLink, s.timeout)
			s.setLink(nil, err)
			if ctx.Err() != nil {
				s.log.Info("smpp unbound")
				return
			}
			if time.Since(boundAt) >= s.maxBackoff {
				backoff = s.minBackoff // the link was healthy
			}
			s.log.Warn("smpp link lost", "err", err, "retry_in", backoff)
		} else {
			if ctx.Err() != nil {
				return
			}
			s.setLink(nil, err)
			s.log.Warn("smpp bind failed", "err", err, "retry_in", backoff)
		}
		// Up to a quarter more, so that several instances do not bind in step.
		t := time.NewTimer(backoff + mrand.N(backoff/4+1))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, s.maxBackoff)
	}
}

// bind dials the SMS centre and binds as a transmitter, within s.timeout.
func (s *SMPP) bind(ctx context.Context) (*link, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var stopWatch func() bool
	dial := func(addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		// gosmpp writes bind_transmitter and reads its answer with no
		// deadline of its own.
		deadline, _ := ctx.Deadline()
		if err := c.SetDeadline(deadline); err != nil {
			_ = c.Close()
			return nil, err
		}
		stopWatch = context.AfterFunc(ctx, func() { _ = c.Close() })
		return c, nil
	}
	conn, err := gosmpp.TXConnector(dial, s.auth).Connect()
	if stopWatch != nil && !stopWatch() && err == nil {
		// ctx ended as the bind succeeded: the connection is closed.
		err = context.Cause(ctx)
		_ = conn.Close()
	}
	if err != nil {
		var be gosmpp.BindError
		if errors.As(err, &be) {
			return nil, fmt.Errorf("bind_transmitter refusé par le centre SMS : %s (%s)", be.CommandStatus, be.CommandStatus.Desc())
		}
		if ctx.Err() != nil {
			err = fmt.Errorf("%w: %w", context.Cause(ctx), err)
		}
		return nil, fmt.Errorf("bind_transmitter: %w", err)
	}
	if err := conn.SetDeadline(time.Time{}); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("bind_transmitter: %w", err)
	}
	return newLink(conn, s.log, s.timeout), nil
}

// link is one bound SMPP connection: requests matched to their answers by
// sequence number, the SMS centre's own requests answered.
type link struct {
	conn    *gosmpp.Connection
	log     *slog.Logger
	timeout time.Duration

	wmu sync.Mutex // one PDU written at a time

	mu      sync.Mutex
	seq     int32
	pending map[int32]chan pdu.PDU
	err     error         // why the link ended, set before dead is closed
	dead    chan struct{} // closed when the link has ended
}

func newLink(conn *gosmpp.Connection, log *slog.Logger, timeout time.Duration) *link {
	return &link{conn: conn, log: log, timeout: timeout, pending: make(map[int32]chan pdu.PDU), dead: make(chan struct{})}
}

// isDead reports whether the link has ended.
func (l *link) isDead() bool {
	select {
	case <-l.dead:
		return true
	default:
		return false
	}
}

// fail ends the link for err (the first reason is kept) and closes the
// connection, which ends the reader.
func (l *link) fail(err error) {
	l.mu.Lock()
	if l.isDead() {
		l.mu.Unlock()
		return
	}
	l.err = err
	close(l.dead)
	l.mu.Unlock()
	_ = l.conn.Close()
}

// cause returns why the link ended.
func (l *link) cause() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Errorf("liaison avec le centre SMS coupée : %w", l.err)
}

// request writes p with the link's next sequence number and waits for the
// answer with the same number, until ctx ends or the link does.
func (l *link) request(ctx context.Context, p pdu.PDU) (pdu.PDU, error) {
	answer := make(chan pdu.PDU, 1)
	l.mu.Lock()
	if l.isDead() {
		l.mu.Unlock()
		return nil, l.cause()
	}
	if l.seq == 0x7FFFFFFF {
		l.seq = 0
	}
	l.seq++
	seq := l.seq
	p.SetSequenceNumber(seq)
	l.pending[seq] = answer
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		delete(l.pending, seq)
		l.mu.Unlock()
	}()
	if err := l.write(ctx, p); err != nil {
		l.fail(fmt.Errorf("write: %w", err))
		return nil, l.cause()
	}
	select {
	case r := <-answer:
		return r, nil
	case <-l.dead:
		select {
		case r := <-answer:
			return r, nil
		default:
			return nil, l.cause()
		}
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

// write writes one PDU, within the link's time-out and ctx's deadline.
func (l *link) write(ctx context.Context, p pdu.PDU) error {
	deadline := time.Now().Add(l.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if err := l.conn.SetWriteDeadline(deadline); err != nil {
		return err
	}
	_, err := l.conn.WritePDU(p)
	return err
}

// serve reads the link and keeps it alive until it ends, or until ctx ends:
// then it unbinds. It returns why the link ended.
func (l *link) serve(ctx context.Context, enquireLink, timeout time.Duration) error {
	var wg sync.WaitGroup
	wg.Go(func() { l.fail(l.read(enquireLink + timeout)) })
	wg.Go(func() { l.keepAlive(enquireLink) })
	select {
	case <-l.dead:
	case <-ctx.Done():
		uctx, cancel := context.WithTimeout(context.Background(), min(timeout, unbindTimeout))
		_, _ = l.request(uctx, pdu.NewUnbind())
		cancel()
		l.fail(stoppedError())
	}
	wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// read reads PDUs until the connection fails, or nothing came for idle (the
// keep-alive makes the SMS centre answer at least every enquire_link period).
func (l *link) read(idle time.Duration) error {
	for {
		if err := l.conn.SetReadDeadline(time.Now().Add(idle)); err != nil {
			return fmt.Errorf("read: %w", err)
		}
		p, err := pdu.Parse(l.conn)
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
		if err := l.handle(p); err != nil {
			return err
		}
	}
}

// handle hands an answer to its request, and answers the SMS centre's own
// requests.
func (l *link) handle(p pdu.PDU) error {
	h := p.GetHeader()
	if uint32(h.CommandID)&0x80000000 != 0 { // an answer, generic_nack included
		l.mu.Lock()
		answer, ok := l.pending[h.SequenceNumber]
		l.mu.Unlock()
		if !ok {
			l.log.Debug("smpp answer to no request", "command", h.CommandID, "sequence", h.SequenceNumber)
			return nil
		}
		select {
		case answer <- p:
		default:
		}
		return nil
	}
	switch p.(type) {
	case *pdu.Unbind:
		_ = l.write(context.Background(), p.GetResponse())
		return errors.New("le centre SMS a mis fin à la liaison (unbind)")
	case *pdu.EnquireLink:
		return l.write(context.Background(), p.GetResponse())
	}
	if p.CanResponse() {
		// deliver_sm and the like, which a transmitter should not get:
		// acknowledged so that the SMS centre does not resend them.
		return l.write(context.Background(), p.GetResponse())
	}
	return nil
}

// keepAlive sends enquire_link every period and ends the link when one is
// not answered in time.
func (l *link) keepAlive(period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-l.dead:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
		_, err := l.request(ctx, pdu.NewEnquireLink())
		cancel()
		if err != nil {
			l.fail(fmt.Errorf("enquire_link: %w", err))
			return
		}
	}
}
