package casestore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/citizen"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/platform/mailer"
)

// Reply channels.
const (
	ReplyEmail    = "email"    // sent by the notifier
	ReplyLetter   = "letter"   // printed and posted by the mailroom
	ReplyCallback = "callback" // a task for the call centre to call back
)

// ReplyRequest is an answer to the citizen.
type ReplyRequest struct {
	Channel string // ReplyEmail, ReplyLetter or ReplyCallback
	To      string // the e-mail address, the postal address or the phone number
	Subject string
	Message string
	// RequestID is the contact answered: only its thread's status pages
	// show the reply. Empty: the case's first request whose citizen has
	// the address or number To (none matching: no status page shows it).
	RequestID string
}

// AddNote adds an internal note (never shown to the citizen) to a case.
func (s *Store) AddNote(ctx context.Context, ref, text string, ch Change) ([]OutboxMsg, error) {
	text = strings.TrimSpace(text)
	if text == "" || utf8.RuneCountInString(text) > 5000 {
		return nil, fault.E(fault.Invalid, errors.New("casestore: note vide ou de plus de 5 000 caractères"))
	}
	if strings.TrimSpace(ch.Actor) == "" {
		return nil, fault.E(fault.Invalid, errors.New("casestore: qui écrit la note (actor) est obligatoire"))
	}
	if err := storable(text, ch.Actor); err != nil {
		return nil, err
	}
	return s.Route(ctx, func(ctx context.Context, t *RouteTx) error {
		c, err := t.LockCase(ctx, ref)
		if err != nil {
			return err
		}
		ev := humanEvent(schemas.EventNoteAdded, c, ch, "note interne", map[string]any{"text": text, "internal": true})
		delete(ev.Data, "reason")
		_, err = t.AppendEvent(ctx, c, ev)
		return err
	})
}

// Reply records an answer to the citizen in the case history; its event
// on CASES makes the notifier send an e-mail, the mailroom print a letter,
// or the call centre call back. The status pages of the request it answers
// (and of that request's follow-ups) show it, and no other. What the mailer
// would refuse (several addresses, a subject on two lines) is refused here,
// before anything is recorded as sent.
func (s *Store) Reply(ctx context.Context, ref string, r ReplyRequest, ch Change) ([]OutboxMsg, error) {
	r.Message, r.Subject, r.To = strings.TrimSpace(r.Message), strings.TrimSpace(r.Subject), strings.TrimSpace(r.To)
	switch {
	case r.Channel != ReplyEmail && r.Channel != ReplyLetter && r.Channel != ReplyCallback:
		return nil, fault.E(fault.Invalid, fmt.Errorf("casestore: canal de réponse « %s » inconnu (email, letter, callback)", r.Channel))
	case r.Message == "" || utf8.RuneCountInString(r.Message) > 20000:
		return nil, fault.E(fault.Invalid, errors.New("casestore: réponse vide ou de plus de 20 000 caractères"))
	case r.To == "" || len(r.To) > 500:
		return nil, fault.E(fault.Invalid, errors.New("casestore: destinataire manquant (adresse électronique, postale ou téléphone)"))
	case storable(r.Message, r.To, r.Subject, ch.Actor) != nil:
		return nil, fault.E(fault.Invalid, errors.New("casestore: caractère non permis (nul ou encodage invalide) dans la réponse"))
	case strings.TrimSpace(ch.Actor) == "":
		return nil, fault.E(fault.Invalid, errors.New("casestore: qui répond (actor) est obligatoire"))
	}
	if err := mailer.CheckSubject(r.Subject); err != nil {
		return nil, fault.E(fault.Invalid, fmt.Errorf("casestore: %w", err))
	}
	var email, phone string
	switch r.Channel {
	case ReplyEmail:
		if err := mailer.CheckRecipient(r.To); err != nil {
			return nil, fault.E(fault.Invalid, fmt.Errorf("casestore: %w", err))
		}
		email, _ = citizen.NormalizeEmail(r.To)
	case ReplyCallback:
		p, err := citizen.NormalizePhone(r.To)
		if err != nil {
			return nil, fault.E(fault.Invalid, errors.New("casestore: numéro à rappeler invalide"))
		}
		phone = p
	}
	if r.Subject == "" {
		r.Subject = "Votre demande " + ref
	}
	return s.Route(ctx, func(ctx context.Context, t *RouteTx) error {
		c, err := t.LockCase(ctx, ref)
		if err != nil {
			return err
		}
		to, err := t.replyRecipient(ctx, c.ID, r, email, phone)
		if err != nil {
			return err
		}
		summary := map[string]string{ReplyEmail: "réponse par courriel", ReplyLetter: "réponse par courrier", ReplyCallback: "rappel téléphonique à faire"}[r.Channel]
		data := map[string]any{"channel": r.Channel, "to": r.To, "subject": r.Subject, "message": r.Message}
		if to != "" {
			data["in_reply_to"] = to
		}
		ev := humanEvent(schemas.EventReplied, c, ch, summary, data)
		delete(ev.Data, "reason")
		_, err = t.appendEvent(ctx, c, ev, to)
		return err
	})
}

// replyRecipient is the request of case caseID a reply answers: the one
// given, which must be in the case, else the first whose citizen has the
// e-mail address or phone number replied to, or whose postal address the
// letter is sent to, else the case's only thread when it has one; "" when
// none of these says.
func (t *RouteTx) replyRecipient(ctx context.Context, caseID int64, r ReplyRequest, email, phone string) (string, error) {
	if r.RequestID != "" {
		var id string
		err := t.tx.QueryRow(ctx, `SELECT id::text FROM requests WHERE id = $1::uuid AND case_id = $2`, r.RequestID, caseID).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return "", fault.E(fault.Invalid, errors.New("casestore: la demande à laquelle vous répondez n'est pas dans ce dossier"))
		}
		if err != nil {
			return "", fault.E(fault.Transient, fmt.Errorf("casestore: reply recipient: %w", err))
		}
		return id, nil
	}
	var id string
	err := t.tx.QueryRow(ctx, `
		SELECT r.id::text FROM requests r LEFT JOIN citizens z ON z.id = r.citizen_id
		WHERE r.case_id = $1 AND (
		      ($2 <> '' AND z.email = $2) OR ($3 <> '' AND z.phone = $3)
		   OR ($4 AND r.payload->'citizen'->'address'->>'postal_code' <> ''
		          AND strpos($5, r.payload->'citizen'->'address'->>'postal_code') > 0
		          AND strpos(lower($5), lower(COALESCE(r.payload->'citizen'->>'name', '§'))) > 0))
		ORDER BY r.received_at, r.id LIMIT 1`, caseID, email, phone, r.Channel == ReplyLetter, r.To).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		// Nobody else's thread is in the case: the reply is to its own.
		err = t.tx.QueryRow(ctx, `
			SELECT min(COALESCE(thread_id, id)::text) FROM requests WHERE case_id = $1
			HAVING count(DISTINCT COALESCE(thread_id, id)) = 1`, caseID).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return "", nil
		}
	}
	if err != nil {
		return "", fault.E(fault.Transient, fmt.Errorf("casestore: reply recipient: %w", err))
	}
	return id, nil
}

// Assign gives a case to a person of its team ("" takes it back).
func (s *Store) Assign(ctx context.Context, ref, assignee string, ch Change) ([]OutboxMsg, error) {
	assignee = strings.TrimSpace(assignee)
	if len(assignee) > 128 || strings.TrimSpace(ch.Actor) == "" || storable(assignee, ch.Actor) != nil {
		return nil, fault.E(fault.Invalid, errors.New("casestore: attribution invalide (identifiant de 128 caractères au plus)"))
	}
	return s.Route(ctx, func(ctx context.Context, t *RouteTx) error {
		c, err := t.LockCase(ctx, ref)
		if err != nil {
			return err
		}
		if _, err := t.tx.Exec(ctx, `UPDATE cases SET assignee = NULLIF($2, ''), updated_at = now() WHERE id = $1`, c.ID, assignee); err != nil {
			return fault.E(fault.Transient, fmt.Errorf("casestore: assign %s: %w", ref, err))
		}
		summary := "attribué à " + assignee
		if assignee == "" {
			summary = "attribution retirée"
		}
		ev := humanEvent(schemas.EventAssigned, c, ch, summary, map[string]any{"assignee": assignee})
		if ch.Reason == "" {
			delete(ev.Data, "reason")
		}
		_, err = t.AppendEvent(ctx, c, ev)
		return err
	})
}

// ReplyTask is a reply by post to print and send, or a call-back to make.
type ReplyTask struct {
	EventID string
	CaseRef string
	Channel string
	To      string
	Subject string
	Message string
	At      time.Time
	Actor   string // who wrote the reply
}

// ReplyTasks lists the replies of a channel (letter or callback) not done
// yet, oldest first.
func (s *Store) ReplyTasks(ctx context.Context, channel string, limit int) ([]ReplyTask, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT e.id::text, c.ref, e.payload->'data'->>'channel', COALESCE(e.payload->'data'->>'to', ''),
		       COALESCE(e.payload->'data'->>'subject', ''), COALESCE(e.payload->'data'->>'message', ''), e.at, COALESCE(e.actor_id, '')
		FROM case_events e JOIN cases c ON c.id = e.case_id
		WHERE e.type = 'replied' AND e.payload->'data'->>'channel' = $1
		  AND NOT EXISTS (SELECT 1 FROM reply_tasks_done d WHERE d.event_id = e.id)
		ORDER BY e.at LIMIT $2`, channel, limit)
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: reply tasks: %w", err))
	}
	tasks, err := pgx.CollectRows(rows, pgx.RowToStructByPos[ReplyTask])
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: reply tasks: %w", err))
	}
	return tasks, nil
}

// ReplyTaskDone records that a letter was posted or a call-back made, and
// adds it to the case history.
func (s *Store) ReplyTaskDone(ctx context.Context, eventID string, ch Change) ([]OutboxMsg, error) {
	if strings.TrimSpace(ch.Actor) == "" {
		return nil, fault.E(fault.Invalid, errors.New("casestore: qui l'a fait (actor) est obligatoire"))
	}
	return s.Route(ctx, func(ctx context.Context, t *RouteTx) error {
		var ref, channel string
		err := t.tx.QueryRow(ctx, `
			SELECT c.ref, e.payload->'data'->>'channel' FROM case_events e JOIN cases c ON c.id = e.case_id
			WHERE e.id = $1 AND e.type = 'replied'`, eventID).Scan(&ref, &channel)
		if errors.Is(err, pgx.ErrNoRows) || channel == ReplyEmail {
			return notFound("reply task", eventID)
		}
		if err != nil {
			return fault.E(fault.Transient, fmt.Errorf("casestore: reply task %s: %w", eventID, err))
		}
		tag, err := t.tx.Exec(ctx, `INSERT INTO reply_tasks_done (event_id, done_by) VALUES ($1, $2) ON CONFLICT DO NOTHING`, eventID, ch.Actor)
		if err != nil {
			return fault.E(fault.Transient, fmt.Errorf("casestore: reply task %s: %w", eventID, err))
		}
		if tag.RowsAffected() == 0 {
			return nil // already done: once is enough
		}
		c, err := t.LockCase(ctx, ref)
		if err != nil {
			return err
		}
		summary := map[string]string{ReplyLetter: "courrier de réponse posté", ReplyCallback: "rappel téléphonique fait"}[channel]
		ev := humanEvent(schemas.EventNoteAdded, c, ch, summary, map[string]any{"text": summary, "reply": eventID})
		if ch.Reason == "" {
			delete(ev.Data, "reason")
		}
		_, err = t.AppendEvent(ctx, c, ev)
		return err
	})
}
