// Package notify sends citizens the messages Guichet owes them — for now the
// acknowledgement of receipt of a web request, by e-mail when an address was
// given. It follows the REQUESTS stream with its own durable consumer, so a
// mail server that is away delays messages without losing them.
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
	"github.com/ampmetropole/guichet/services/platform/bus"
	"github.com/ampmetropole/guichet/services/platform/frtime"
	"github.com/ampmetropole/guichet/services/platform/mailer"
)

// Durable is the notifier's consumer name on REQUESTS.
const Durable = "notifier"

// KindAcknowledgement is the acknowledgement of receipt.
const KindAcknowledgement = "acknowledgement"

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
	// AcksPerHour bounds the acknowledgements one address receives in an
	// hour (default DefaultAcksPerHour): whoever types someone else's
	// address into forms cannot flood their mailbox through Guichet.
	AcksPerHour int
}

// DefaultAcksPerHour is how many acknowledgements an address receives in
// an hour at most; the requests past it are taken all the same, their
// acknowledgement withheld (and logged).
const DefaultAcksPerHour = 5

// Notifier sends acknowledgements to citizens and tells supervisors of
// breached deadlines.
type Notifier struct {
	cfg      Config
	conn     *bus.Conn
	store    Store
	sender   Sender
	cat      *catalogue.Catalogue
	validate *schemas.Validator
	log      *slog.Logger
	consumer *bus.Consumer
	breaches *bus.Consumer
	replies  *bus.Consumer
	merges   *bus.Consumer
	metrics  *metrics
}

// New builds a notifier; Start runs it.
func New(cfg Config, conn *bus.Conn, store Store, sender Sender, cat *catalogue.Catalogue, v *schemas.Validator, log *slog.Logger) (*Notifier, error) {
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if cfg.AcksPerHour <= 0 {
		cfg.AcksPerHour = DefaultAcksPerHour
	}
	m, err := newMetrics(cfg.Metrics)
	if err != nil {
		return nil, err
	}
	return &Notifier{cfg: cfg, conn: conn, store: store, sender: sender, cat: cat, validate: v,
		log: log.With("service", "notifier"), metrics: m}, nil
}

// Start creates the durable consumers — acknowledgements of web requests,
// supervisors told of breached deadlines, teams' e-mailed replies — and
// handles messages until Stop.
func (n *Notifier) Start(ctx context.Context) error {
	var err error
	if n.consumer, err = n.startConsumer(ctx, bus.StreamRequests, Durable, bus.RequestSubject(schemas.ChannelWeb), 2, n.handle); err != nil {
		return err
	}
	if n.breaches, err = n.startConsumer(ctx, bus.StreamCases, DurableBreaches, bus.SubjectCases+".*."+schemas.EventBreached, 1, n.breach); err != nil {
		return err
	}
	if n.replies, err = n.startConsumer(ctx, bus.StreamCases, DurableReplies, bus.SubjectCases+".*."+schemas.EventReplied, 1, n.reply); err != nil {
		return err
	}
	n.merges, err = n.startConsumer(ctx, bus.StreamCases, DurableMerges, bus.SubjectCases+".*."+schemas.EventMerged, 1, n.merged)
	return err
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

// Stop stops the consumer; safe twice.
func (n *Notifier) Stop() {
	if n.consumer != nil {
		n.consumer.Stop()
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

func (n *Notifier) handle(ctx context.Context, m bus.Message) error {
	req, err := n.validate.DecodeRequest(m.Data)
	if err != nil {
		return nil // the router dead-letters invalid requests; nothing to acknowledge
	}
	if req.Citizen == nil || req.Citizen.Email == "" {
		return nil
	}
	to := strings.ToLower(req.Citizen.Email)
	switch res, err := n.store.ReserveNotification(ctx, req.ID, KindAcknowledgement, to, n.cfg.AcksPerHour, time.Now().Add(-time.Hour)); {
	case err != nil:
		return err
	case res == casestore.Delivered:
		return nil
	case res == casestore.Withheld:
		n.log.Warn("acknowledgement withheld: its address received enough this hour", "request_id", req.ID, "limit", n.cfg.AcksPerHour)
		n.metrics.withheld.Inc()
		return nil
	}
	msg := n.acknowledgement(req)
	if err := n.send(ctx, KindAcknowledgement, msg); err != nil {
		return fmt.Errorf("notify: acknowledgement of %s: %w", req.ID, err)
	}
	n.log.Info("acknowledgement sent", "request_id", req.ID)
	// Sent but not recorded (database away) means a second copy on retry:
	// better than none.
	return n.store.RecordNotification(ctx, req.ID, KindAcknowledgement, to)
}

func (n *Notifier) acknowledgement(req schemas.Request) mailer.Message {
	org := n.cat.Organisation
	when := frtime.DateTime(req.ReceivedAt)
	link := n.cfg.PublicURL + "/suivi/" + req.TrackingCode
	var b strings.Builder
	greeting := "Bonjour,"
	if name := strings.TrimSpace(req.Citizen.Name); name != "" {
		greeting = "Bonjour " + name + ","
	}
	fmt.Fprintf(&b, "%s\n\n", greeting)
	var subject string
	if strings.HasPrefix(req.Source.ExternalID, "suivi:") && len(req.CaseRefs) > 0 {
		subject = "Votre message a bien été reçu — dossier " + req.CaseRefs[0]
		fmt.Fprintf(&b, "La %s a bien reçu le %s votre message complémentaire sur le dossier %s.\nIl a été ajouté à votre dossier et transmis au service qui le traite.\n\n", org.Name, when, req.CaseRefs[0])
	} else {
		hint := ""
		if req.Hints != nil {
			hint = req.Hints.Competence
		}
		subject = "Accusé de réception de votre demande — code " + req.TrackingCode
		fmt.Fprintf(&b, "La %s a bien reçu votre demande le %s.\n\n", org.Name, when)
		if req.Subject != "" {
			fmt.Fprintf(&b, "Objet : %s\n", req.Subject)
		}
		fmt.Fprintf(&b, "Service chargé de votre demande : %s\n", n.cat.ServiceFor(hint))
		b.WriteString("Si elle relève d'un autre service ou d'une autre administration, elle lui sera transmise et vous en serez informé(e).\n\n")
	}
	fmt.Fprintf(&b, "Code de suivi : %s\n", req.TrackingCode)
	fmt.Fprintf(&b, "Suivez votre demande et ajoutez-y des informations : %s\n\n", link)
	fmt.Fprintf(&b, "Pour joindre le service : %s, %s, %s.\nPar courrier : %s, %s, en rappelant votre code de suivi.\n\n", org.ServiceDesk, org.Phone, org.Hours, org.Name, org.Address)
	b.WriteString("Ce message est envoyé automatiquement : merci de ne pas y répondre.\n")
	return mailer.Message{To: req.Citizen.Email, Subject: subject, Body: b.String(),
		Headers: map[string]string{"X-Guichet-Request-Id": req.ID, "X-Guichet-Tracking-Code": req.TrackingCode}}
}
