// Package imapin reads the mailroom's mailbox over IMAP (go-imap v2): each
// message becomes requests through the mail pipeline — one per scanned
// letter, or one for a citizen's e-mail — and is moved to the processed
// folder only once JetStream has acknowledged all of them; a message that
// cannot be read goes to the rejected folder. It processes what is there,
// then waits with IDLE (or polls), and reconnects with back-off.
package imapin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/nats-io/nats.go"

	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/channels/mail/email"
	"github.com/ampmetropole/guichet/services/channels/mail/mailroom"
	"github.com/ampmetropole/guichet/services/platform/bus"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

// Pipeline turns letters and e-mails into requests.
type Pipeline interface {
	Letter(ctx context.Context, data []byte, name string, o mailroom.Origin) (mailroom.Result, error)
	Email(ctx context.Context, m email.Message, o mailroom.Origin) (mailroom.Result, error)
}

// DeadLetters keeps a copy of what is rejected, with the reason (the DEAD
// stream), so that the mailroom can see and replay it.
type DeadLetters interface {
	Publish(ctx context.Context, subject, msgID string, data []byte, header nats.Header) (bus.Published, error)
}

// Rejections shows the mailroom what was rejected and why.
type Rejections interface {
	RecordMailRejection(ctx context.Context, r casestore.MailRejection) error
}

// Config says which mailbox to read and how.
type Config struct {
	URL          string // imaps://user:pass@host:993/INBOX, imap://… (STARTTLS), imap+plain://… (loopback only)
	Processed    string // default "Traites"
	Rejected     string // default "Rejetes"
	PollInterval time.Duration
	MaxMessage   int64 // bytes; bigger messages are rejected unread; default 30 MiB
	MaxAttempts  int   // transient failures before a message is rejected; default 5
	// Scanners are the senders (addresses, or "@domain") whose messages are
	// scans. Without them, a message carrying a PDF or TIFF and almost no
	// text is taken for a scanner's.
	Scanners []string
}

type endpoint struct {
	scheme, addr, user, pass, mailbox string
}

func parseURL(raw string) (endpoint, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return endpoint{}, fault.E(fault.Invalid, errors.New("imapin: URL IMAP illisible"))
	}
	e := endpoint{scheme: u.Scheme, mailbox: strings.TrimPrefix(u.Path, "/")}
	if e.mailbox == "" {
		e.mailbox = "INBOX"
	}
	if u.User == nil {
		return e, fault.E(fault.Invalid, errors.New("imapin: l'URL IMAP doit porter l'utilisateur et le mot de passe"))
	}
	e.user = u.User.Username()
	e.pass, _ = u.User.Password()
	port := u.Port()
	switch e.scheme {
	case "imaps":
		if port == "" {
			port = "993"
		}
	case "imap", "imap+plain":
		if port == "" {
			port = "143"
		}
	default:
		return e, fault.E(fault.Invalid, fmt.Errorf("imapin: schéma %q inconnu (imaps, imap, imap+plain)", e.scheme))
	}
	if e.scheme == "imap+plain" {
		if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return e, fault.E(fault.Invalid, errors.New("imapin: imap+plain (sans chiffrement) seulement sur la boucle locale"))
		}
	}
	e.addr = net.JoinHostPort(u.Hostname(), port)
	return e, nil
}

// Adapter reads the mailbox.
type Adapter struct {
	cfg      Config
	dead     DeadLetters
	rejected Rejections
	ep       endpoint
	pipeline Pipeline
	log      *slog.Logger
	attempts map[string]int // transient failures by message key
}

// New checks the configuration.
func New(cfg Config, p Pipeline, dead DeadLetters, rejected Rejections, log *slog.Logger) (*Adapter, error) {
	ep, err := parseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	if cfg.Processed == "" {
		cfg.Processed = "Traites"
	}
	if cfg.Rejected == "" {
		cfg.Rejected = "Rejetes"
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 30 * time.Second
	}
	if cfg.MaxMessage <= 0 {
		cfg.MaxMessage = 30 << 20
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 5
	}
	return &Adapter{cfg: cfg, dead: dead, rejected: rejected, ep: ep, pipeline: p, log: log.With("service", "imap", "mailbox", ep.mailbox), attempts: map[string]int{}}, nil
}

// Run reads the mailbox until ctx ends, reconnecting with back-off.
func (a *Adapter) Run(ctx context.Context) error {
	backoff := time.Second
	for ctx.Err() == nil {
		err := a.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		a.log.Warn("IMAP session ended, reconnecting", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 2*time.Minute)
	}
	return nil
}

func (a *Adapter) dial(h *imapclient.UnilateralDataHandler) (*imapclient.Client, error) {
	opts := &imapclient.Options{UnilateralDataHandler: h, Dialer: &net.Dialer{Timeout: 15 * time.Second}}
	switch a.ep.scheme {
	case "imaps":
		return imapclient.DialTLS(a.ep.addr, opts)
	case "imap":
		return imapclient.DialStartTLS(a.ep.addr, opts)
	}
	return imapclient.DialInsecure(a.ep.addr, opts)
}

// session connects, processes the mailbox, then waits for new mail.
func (a *Adapter) session(ctx context.Context) error {
	arrived := make(chan struct{}, 1)
	c, err := a.dial(&imapclient.UnilateralDataHandler{Mailbox: func(d *imapclient.UnilateralDataMailbox) {
		if d.NumMessages != nil {
			select {
			case arrived <- struct{}{}:
			default:
			}
		}
	}})
	if err != nil {
		return fmt.Errorf("imapin: connect %s: %w", a.ep.addr, err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if err := c.Login(a.ep.user, a.ep.pass).Wait(); err != nil {
		return fmt.Errorf("imapin: login: %w", err)
	}
	for _, folder := range []string{a.cfg.Processed, a.cfg.Rejected} {
		// Already there is fine: the server says so and we go on.
		_ = c.Create(folder, nil).Wait()
	}
	sel, err := c.Select(a.ep.mailbox, nil).Wait()
	if err != nil {
		return fmt.Errorf("imapin: select %s: %w", a.ep.mailbox, err)
	}
	idle := c.Caps().Has(imap.CapIdle)
	for ctx.Err() == nil {
		if err := a.drain(ctx, c, sel.UIDValidity); err != nil {
			return err
		}
		if idle {
			cmd, err := c.Idle()
			if err != nil {
				return fmt.Errorf("imapin: idle: %w", err)
			}
			select {
			case <-ctx.Done():
			case <-arrived:
			case <-time.After(a.cfg.PollInterval): // servers drop long IDLEs; re-check anyway
			}
			if err := cmd.Close(); err != nil {
				return fmt.Errorf("imapin: end idle: %w", err)
			}
			if err := cmd.Wait(); err != nil {
				return fmt.Errorf("imapin: idle: %w", err)
			}
		} else {
			select {
			case <-ctx.Done():
			case <-time.After(a.cfg.PollInterval):
			}
			if err := c.Noop().Wait(); err != nil {
				return fmt.Errorf("imapin: noop: %w", err)
			}
		}
	}
	return nil
}

// drain handles every message in the mailbox, one at a time so that memory
// holds at most one message.
func (a *Adapter) drain(ctx context.Context, c *imapclient.Client, validity uint32) error {
	found, err := c.UIDSearch(&imap.SearchCriteria{}, nil).Wait()
	if err != nil {
		return fmt.Errorf("imapin: search: %w", err)
	}
	for _, uid := range found.AllUIDs() {
		if ctx.Err() != nil {
			return nil
		}
		if err := a.handle(ctx, c, validity, uid); err != nil {
			return err
		}
	}
	return nil
}

// handle processes one message; it returns an error only when the IMAP
// session itself failed.
func (a *Adapter) handle(ctx context.Context, c *imapclient.Client, validity uint32, uid imap.UID) error {
	key := fmt.Sprintf("imap:%s:%d:%d", a.ep.mailbox, validity, uid)
	log := a.log.With("uid", uid)
	set := imap.UIDSetNum(uid)
	sizes, err := c.Fetch(set, &imap.FetchOptions{UID: true, RFC822Size: true, InternalDate: true, Envelope: true}).Collect()
	if err != nil || len(sizes) == 0 {
		return fmt.Errorf("imapin: fetch size of %d: %w", uid, err)
	}
	rej := rejection(key, sizes[0])
	if sizes[0].RFC822Size > a.cfg.MaxMessage {
		rej.Reason = fmt.Sprintf("message de %d octets (limite %d)", sizes[0].RFC822Size, a.cfg.MaxMessage)
		return a.reject(ctx, c, set, nil, log, rej)
	}
	section := &imap.FetchItemBodySection{Peek: true}
	msgs, err := c.Fetch(set, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	if err != nil || len(msgs) == 0 {
		return fmt.Errorf("imapin: fetch %d: %w", uid, err)
	}
	raw := msgs[0].FindBodySection(section)
	err = a.process(ctx, raw, key, sizes[0].InternalDate)
	switch {
	case err == nil:
		delete(a.attempts, key)
		return a.move(c, set, a.cfg.Processed, log, "")
	case fault.KindOf(err) == fault.Invalid || fault.KindOf(err) == fault.TooLarge:
		rej.Reason = err.Error()
		return a.reject(ctx, c, set, raw, log, rej)
	default:
		a.attempts[key]++
		if a.attempts[key] >= a.cfg.MaxAttempts {
			delete(a.attempts, key)
			rej.Reason = fmt.Sprintf("échec après %d essais : %v", a.cfg.MaxAttempts, err)
			return a.reject(ctx, c, set, raw, log, rej)
		}
		// Left in the inbox: the next pass tries again.
		log.Warn("message not processed, will retry", "err", err, "attempt", a.attempts[key])
		return nil
	}
}

// rejection names a message for the mailroom from its IMAP envelope.
func rejection(key string, m *imapclient.FetchMessageBuffer) casestore.MailRejection {
	r := casestore.MailRejection{MessageKey: key, ReceivedAt: m.InternalDate}
	if e := m.Envelope; e != nil {
		r.Subject = e.Subject
		if len(e.From) > 0 {
			if f := e.From[0]; f.Name == "" {
				r.Sender = f.Addr()
			} else {
				r.Sender = f.Name + " <" + f.Addr() + ">"
			}
		}
	}
	return r
}

// reject copies the message and its reason to DEAD, shows it to the
// mailroom, then moves it to the rejected folder; if DEAD or the record
// cannot be reached the message stays in the inbox for the next pass.
func (a *Adapter) reject(ctx context.Context, c *imapclient.Client, set imap.UIDSet, raw []byte, log *slog.Logger, r casestore.MailRejection) error {
	if a.dead != nil {
		if len(raw) > 1<<20 {
			raw = raw[:1<<20] // the whole message stays in the rejected folder
		}
		h := nats.Header{}
		h.Set(bus.HeaderDeadReason, r.Reason)
		h.Set(bus.HeaderDeadConsumer, "imap")
		h.Set("Guichet-Dead-Message", r.MessageKey)
		if _, err := a.dead.Publish(ctx, bus.SubjectDead+".mail.imap", "dead:"+r.MessageKey, raw, h); err != nil {
			log.Warn("rejected message kept in the inbox: DEAD unreachable", "err", err)
			return nil
		}
	}
	if a.rejected != nil {
		if err := a.rejected.RecordMailRejection(ctx, r); err != nil {
			log.Warn("rejected message kept in the inbox: cannot record the rejection", "err", err)
			return nil
		}
	}
	return a.move(c, set, a.cfg.Rejected, log, r.Reason)
}

func (a *Adapter) move(c *imapclient.Client, set imap.UIDSet, folder string, log *slog.Logger, reason string) error {
	if _, err := c.Move(set, folder).Wait(); err != nil {
		return fmt.Errorf("imapin: move to %s: %w", folder, err)
	}
	if reason != "" {
		log.Error("message rejected", "folder", folder, "reason", reason)
	} else {
		log.Info("message processed", "folder", folder)
	}
	return nil
}

// process sends a message's requests: one per scan when the message comes
// from a scanner, else one e-mail request.
func (a *Adapter) process(ctx context.Context, raw []byte, key string, arrived time.Time) error {
	m, err := email.Parse(bytes.NewReader(raw), email.Limits{MaxBytes: a.cfg.MaxMessage})
	if err != nil {
		return err
	}
	var scans []email.Attachment
	for _, att := range m.Attachments {
		if isScan(att.Data) {
			scans = append(scans, att)
		}
	}
	if a.fromScanner(m, scans) {
		if len(scans) == 0 {
			return fault.E(fault.Invalid, errors.New("imapin: message du numériseur sans scan (PDF, TIFF, JPEG ou PNG)"))
		}
		for i, s := range scans {
			o := mailroom.Origin{Adapter: "imap-scan", Key: fmt.Sprintf("%s:%d", key, i), ReceivedAt: arrived}
			if _, err := a.pipeline.Letter(ctx, s.Data, s.Name, o); err != nil {
				return err
			}
		}
		return nil
	}
	if m.Automatic != "" {
		// An absence reply or a bounce, often to one of our own notices:
		// no request, and above all no acknowledgement in return.
		return fault.E(fault.Invalid, fmt.Errorf("imapin: message automatique (%s) : ni demande ni accusé de réception", m.Automatic))
	}
	_, err = a.pipeline.Email(ctx, m, mailroom.Origin{Adapter: "imap-mail", Key: key, ReceivedAt: arrived})
	return err
}

// fromScanner tells a scanner's message from a citizen's.
func (a *Adapter) fromScanner(m email.Message, scans []email.Attachment) bool {
	if len(a.cfg.Scanners) == 0 {
		// A citizen's photo with a short note is an e-mail, not a letter:
		// only PDF and TIFF files count here.
		documents := 0
		for _, s := range scans {
			if bytes.HasPrefix(s.Data, []byte("%PDF-")) || bytes.HasPrefix(s.Data, []byte("II*\x00")) || bytes.HasPrefix(s.Data, []byte("MM\x00*")) {
				documents++
			}
		}
		return documents > 0 && len(strings.TrimSpace(m.Text)) < 200
	}
	from := strings.ToLower(m.FromAddress)
	for _, s := range a.cfg.Scanners {
		if from == s || (strings.HasPrefix(s, "@") && strings.HasSuffix(from, s)) {
			return true
		}
	}
	return false
}

// isScan recognizes the files scanners send: PDF, TIFF, JPEG and PNG.
func isScan(b []byte) bool {
	for _, magic := range []string{"%PDF-", "II*\x00", "MM\x00*", "\xff\xd8\xff", "\x89PNG\r\n\x1a\n"} {
		if bytes.HasPrefix(b, []byte(magic)) {
			return true
		}
	}
	return false
}
