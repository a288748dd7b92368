package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/platform/bus"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/platform/mailer"
)

// DurableReplies is the notifier's consumer name on CASES, for replies.
const DurableReplies = "notifier-replies"

// KindReply is a team's answer sent by e-mail.
const KindReply = "reply"

// reply sends, once, an answer a team wrote to a citizen by e-mail
// (replied events with channel "email").
func (n *Notifier) reply(ctx context.Context, m bus.Message) error {
	var e schemas.CaseEvent
	if err := json.Unmarshal(m.Data, &e); err != nil || e.Type != schemas.EventReplied {
		return nil
	}
	if ch, _ := e.Data["channel"].(string); ch != "email" {
		return nil // letters are printed by the mailroom, call-backs made by the call centre
	}
	to, _ := e.Data["to"].(string)
	subject, _ := e.Data["subject"].(string)
	message, _ := e.Data["message"].(string)
	if to == "" || message == "" {
		return nil
	}
	sent, err := n.store.NotificationSent(ctx, e.ID, KindReply)
	if err != nil || sent {
		return err
	}
	// The page to answer on: the status page of the thread the reply
	// answers, when the team's reply names its request.
	page := "la page de suivi de votre demande"
	if id, _ := e.Data["in_reply_to"].(string); id != "" {
		switch t, err := n.store.ThreadOf(ctx, id); {
		case err == nil:
			page = "votre page de suivi, " + n.cfg.PublicURL + "/suivi/" + t.TrackingCode + ","
		case fault.KindOf(err) != fault.NotFound:
			return err
		}
	}
	var b strings.Builder
	b.WriteString(message)
	fmt.Fprintf(&b, "\n\n-- \n%s — %s\nDossier %s. Ce message est envoyé par une adresse qui ne reçoit pas de réponse : pour nous écrire, utilisez %s ou appelez le %s (%s).\n",
		n.cat.Organisation.Name, n.cat.ServiceFor(e.Competence), e.CaseRef, page, n.cat.Organisation.Phone, n.cat.Organisation.Hours)
	msg := mailer.Message{To: to, Subject: subject, Body: b.String(), Headers: map[string]string{"X-Guichet-Case": e.CaseRef}}
	if err := n.send(ctx, KindReply, msg); err != nil {
		return fmt.Errorf("notify: reply on %s: %w", e.CaseRef, err)
	}
	n.log.Info("reply sent", "case", e.CaseRef)
	return n.store.RecordNotification(ctx, e.ID, KindReply, to)
}
