// Package notify sends citizens the messages Guichet owes them, on the way
// they asked for or came by — e-mail, SMS to a mobile, or a letter the
// mailroom prints: the acknowledgement of receipt of every request
// (ack.go), a notice when their case changes state (status.go), the teams'
// e-mailed replies, merges; and tells supervisors of breached deadlines
// and of the router's decisions leaving their usual band (control.go). It
// follows the REQUESTS and CASES streams with its own durable consumers, so
// a mail server or an SMS centre that is away delays messages without
// losing them: each is sent once, retried, and dead-lettered past its
// attempts.
package notify

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/catalogue"
	"github.com/ampmetropole/guichet/services/cases/scope"
	"github.com/ampmetropole/guichet/services/platform/bus"
	"github.com/ampmetropole/guichet/services/platform/mailer"
)

// Durable is the notifier's consumer name on REQUESTS.
const Durable = "notifier"

// Sender delivers an e-mail (SMTP, or the development outbox).
type Sender interface {
	Send(ctx context.Context, m mailer.Message) error
}

// Store remembers what was sent, so that a redelivery does not send twice,
// counts what an address was sent, and reads the requests a notice is
// about.
type Store interface {
	NotificationSent(ctx context.Context, requestID, kind string) (bool, error)
	RecordNotification(ctx context.Context, requestID, kind, recipient string) error
	ReserveNotification(ctx context.Context, requestID, kind, recipient string, limit int, since time.Time) (casestore.Reservation, error)
	Request(ctx context.Context, id string) (schemas.Request, error)
	ThreadOf(ctx context.Context, requestID string) (casestore.Thread, error)
	CaseThreads(ctx context.Context, ref string) (state string, threads []casestore.Thread, err error)
	QueuePostalNotice(ctx context.Context, n casestore.PostalNotice) (bool, error)
	RecordReceived(ctx context.Context, r schemas.Request, raw []byte) error
	CommuneContact(ctx context.Context, insee string) (string, error)
	Control(ctx context.Context, sc scope.Scope, weeks int, now time.Time) ([]casestore.ControlCount, error)
}

// Config tunes the notifier.
type Config struct {
	PublicURL   string // base of the links in messages, e.g. https://demarches.ampmetropole.fr
	MaxAttempts int
	Backoff     []time.Duration
	AckWait     time.Duration
	// Metrics registers the notifier's figures (guichet_notifier_*); nil:
	// counted, not exported.
	Metrics prometheus.Registerer
	// AcksPerHour bounds the acknowledgements one address or mobile
	// receives in an hour (default DefaultAcksPerHour): whoever types
	// someone else's address into forms cannot flood their mailbox through
	// Guichet.
	AcksPerHour int
	// SMS sends text messages; nil: nobody is reached by SMS (e-mail or
	// letter instead, when they gave one).
	SMS SMS
	// Control tunes the watch over the automatic routing (control.go).
	Control ControlWatch
}

// DefaultAcksPerHour is how many acknowledgements an address receives in
// an hour at most; the requests past it are taken all the same, their
// acknowledgement withheld (and logged).
const DefaultAcksPerHour = 5

// Notifier sends acknowledgements to citizens and tells supervisors of
// breached deadlines and of the automatic routing out of its usual band.
type Notifier struct {
	cfg      Config
	conn     *bus.Conn
	store    Store
	sender   Sender
	cat      *catalogue.Catalogue
	validate *schemas.Validator
	log      *slog.Logger
	sms      SMS
	consumer *bus.Consumer
	statuses *bus.Consumer
	breaches *bus.Consumer
	replies  *bus.Consumer
	merges   *bus.Consumer
	metrics  *metrics
	// controlStop ends the control watch, which closes controlDone.
	controlStop context.CancelFunc
	controlDone chan struct{}
}

// New builds a notifier; Start runs it.
func New(cfg Config, conn *bus.Conn, store Store, sender Sender, cat *catalogue.Catalogue, v *schemas.Validator, log *slog.Logger) (*Notifier, error) {
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if cfg.AcksPerHour <= 0 {
		cfg.AcksPerHour = DefaultAcksPerHour
	}
	cfg.Control.setDefaults()
	m, err := newMetrics(cfg.Metrics)
	if err != nil {
		return nil, err
	}
	return &Notifier{cfg: cfg, conn: conn, store: store, sender: sender, sms: cfg.SMS, cat: cat, validate: v,
		log: log.With("service", "notifier"), metrics: m}, nil
}

// Start creates the durable consumers — acknowledgements of requests on
// every channel, status notices, supervisors told of breached deadlines,
// teams' e-mailed replies, merges — and handles messages until Stop; and
// starts the watch over the automatic routing (control.go).
func (n *Notifier) Start(ctx context.Context) error {
	var err error
	if n.consumer, err = n.startConsumer(ctx, bus.StreamRequests, Durable, bus.SubjectRequests+".>", 2, n.acknowledge); err != nil {
		return err
	}
	if n.statuses, err = n.startConsumer(ctx, bus.StreamCases, DurableStatus, bus.SubjectCases+".*."+schemas.EventStateChanged, 1, n.status); err != nil {
		return err
	}
	if n.breaches, err = n.startConsumer(ctx, bus.StreamCases, DurableBreaches, bus.SubjectCases+".*."+schemas.EventBreached, 1, n.breach); err != nil {
		return err
	}
	if n.replies, err = n.startConsumer(ctx, bus.StreamCases, DurableReplies, bus.SubjectCases+".*."+schemas.EventReplied, 1, n.reply); err != nil {
		return err
	}
	if n.merges, err = n.startConsumer(ctx, bus.StreamCases, DurableMerges, bus.SubjectCases+".*."+schemas.EventMerged, 1, n.merged); err != nil {
		return err
	}
	n.startControl(ctx)
	return nil
}

// startConsumer starts one durable consumer with the notifier's retry
// settings.
func (n *Notifier) startConsumer(ctx context.Context, stream, durable, subject string, workers int, h bus.Handler) (*bus.Consumer, error) {
	c, err := bus.NewConsumer(n.conn.JS, bus.ConsumerConfig{
		Stream: stream, Durable: durable, FilterSubject: subject,
		MaxAttempts: n.cfg.MaxAttempts, Backoff: n.cfg.Backoff, AckWait: n.cfg.AckWait, Workers: workers,
	}, h, n.log)
	if err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	if err := c.Start(ctx); err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	return c, nil
}

// Stop stops the consumers and the control watch; safe twice.
func (n *Notifier) Stop() {
	n.stopControl()
	if n.consumer != nil {
		n.consumer.Stop()
	}
	if n.statuses != nil {
		n.statuses.Stop()
	}
	if n.breaches != nil {
		n.breaches.Stop()
	}
	if n.replies != nil {
		n.replies.Stop()
	}
	if n.merges != nil {
		n.merges.Stop()
	}
}
