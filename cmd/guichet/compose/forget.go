package compose

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ampmetropole/guichet/services/cases/retention"
	"github.com/ampmetropole/guichet/services/intake/attachment"
	"github.com/ampmetropole/guichet/services/platform/bus"
	"github.com/ampmetropole/guichet/services/platform/mailer"
	"github.com/ampmetropole/guichet/services/platform/sms"
)

// forgetBudget bounds what one store takes to forget one purge: reading a
// month of a stream the first time, erasing what it finds.
const forgetBudget = 10 * time.Minute

// Forgetters are the stores besides PostgreSQL that a purge tells what it
// erased (retention.New's forget): the streams REQUESTS, CASES and DEAD,
// the attachments object store, and the development outboxes of deps when
// there are. Keep the slice for the life of the retention service: the
// streams' forgetter indexes what it read, so that a purge told in many
// batches reads each message once.
func (p *Parts) Forgetters(deps Deps) []retention.Forgetter {
	log := p.Log.With("service", "retention")
	fs := []retention.Forgetter{
		streamsForgetter{bus.NewForgetter(p.Conn.JS), log},
		filesForgetter{p.Conn.JS, log},
	}
	if deps.Outbox != nil || deps.SMSOutbox != nil {
		fs = append(fs, outboxForgetter{deps.Outbox, deps.SMSOutbox, log})
	}
	return fs
}

// streamsForgetter erases the messages of purged requests and cases from
// REQUESTS and CASES, and their dead copies (and rejected e-mails from
// erased addresses) from DEAD.
type streamsForgetter struct {
	f   *bus.Forgetter
	log *slog.Logger
}

func (s streamsForgetter) Forget(ctx context.Context, p retention.Purged) error {
	if len(p.Requests) == 0 && len(p.Cases) == 0 && len(p.Contacts) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, forgetBudget)
	defer cancel()
	n, err := s.f.Forget(ctx, bus.Erasure{Requests: p.Requests, Cases: p.Cases, Contacts: p.Contacts})
	level := slog.LevelDebug // most purges concern what the streams no longer keep
	if n.Requests+n.Cases+n.Dead > 0 {
		level = slog.LevelInfo
	}
	s.log.Log(ctx, level, "streams forgot a purge", "requests", n.Requests, "events", n.Cases, "dead_letters", n.Dead, "read", n.Scanned)
	if err != nil {
		return fmt.Errorf("flux NATS : %w", err)
	}
	return nil
}

// filesForgetter erases the purged files from the object store.
type filesForgetter struct {
	js  jetstream.JetStream
	log *slog.Logger
}

func (f filesForgetter) Forget(ctx context.Context, p retention.Purged) error {
	if len(p.Files) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, forgetBudget)
	defer cancel()
	n, err := attachment.Forget(ctx, f.js, p.Files)
	f.log.Info("object store forgot a purge", "files", n)
	if err != nil {
		return fmt.Errorf("pièces jointes : %w", err)
	}
	return nil
}

// outboxForgetter deletes the development outboxes' messages to or about
// the erased contacts.
type outboxForgetter struct {
	mail  *mailer.Outbox
	texts *sms.Outbox
	log   *slog.Logger
}

func (o outboxForgetter) Forget(ctx context.Context, p retention.Purged) error {
	if len(p.Contacts) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, forgetBudget)
	defer cancel()
	var mails, texts int
	var err error
	if o.mail != nil {
		if mails, err = o.mail.Forget(ctx, p.Contacts); err != nil {
			return fmt.Errorf("courriels de développement : %w", err)
		}
	}
	if o.texts != nil {
		if texts, err = o.texts.Forget(ctx, p.Contacts); err != nil {
			return fmt.Errorf("SMS de développement : %w", err)
		}
	}
	o.log.Info("outboxes forgot a purge", "emails", mails, "texts", texts)
	return nil
}
