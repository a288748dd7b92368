package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/platform/bus"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/platform/frtime"
	"github.com/ampmetropole/guichet/services/platform/mailer"
)

// DurableMerges is the notifier's consumer name on CASES, for merges.
const DurableMerges = "notifier-merges"

// kindMerged is the notice of a merge, per request and merge event.
func kindMerged(eventID string) string { return "merged:" + eventID }

// merged tells each citizen whose request a team merged into another case
// (the merged event of the case it left, which names the case it went
// into) the new reference, once, by e-mail when they gave an address. Their
// status page says it too.
func (n *Notifier) merged(ctx context.Context, m bus.Message) error {
	var e schemas.CaseEvent
	if err := json.Unmarshal(m.Data, &e); err != nil || e.Type != schemas.EventMerged {
		return nil
	}
	into, _ := e.Data["into"].(string)
	if into == "" {
		return nil // the event of the case that received the requests
	}
	ids, _ := e.Data["requests"].([]any)
	told := map[string]bool{} // one message per address, however many requests
	for _, x := range ids {
		id, _ := x.(string)
		if id == "" {
			continue
		}
		sent, err := n.store.NotificationSent(ctx, id, kindMerged(e.ID))
		if err != nil {
			return err
		}
		if sent {
			continue
		}
		req, err := n.store.Request(ctx, id)
		if fault.KindOf(err) == fault.NotFound {
			continue
		}
		if err != nil {
			return err
		}
		if req.Citizen == nil || req.Citizen.Email == "" || told[req.Citizen.Email] {
			continue
		}
		if err := n.send(ctx, "merged", n.mergeNotice(req, e.CaseRef, into)); err != nil {
			return fmt.Errorf("notify: merge notice of %s: %w", id, err)
		}
		told[req.Citizen.Email] = true
		n.log.Info("merge notice sent", "request_id", id, "case", into)
		if err := n.store.RecordNotification(ctx, id, kindMerged(e.ID), req.Citizen.Email); err != nil {
			return err
		}
	}
	return nil
}

func (n *Notifier) mergeNotice(req schemas.Request, from, into string) mailer.Message {
	org := n.cat.Organisation
	var b strings.Builder
	greeting := "Bonjour,"
	if name := strings.TrimSpace(req.Citizen.Name); name != "" {
		greeting = "Bonjour " + name + ","
	}
	fmt.Fprintf(&b, "%s\n\n", greeting)
	fmt.Fprintf(&b, "Votre demande du %s (dossier %s) porte sur le même problème qu'un autre dossier : le service les a regroupées pour les traiter ensemble.\n\n",
		frtime.DateTime(req.ReceivedAt), from)
	fmt.Fprintf(&b, "Nouvelle référence de votre dossier : %s\n", into)
	fmt.Fprintf(&b, "Votre code de suivi ne change pas : %s\n", req.TrackingCode)
	fmt.Fprintf(&b, "Suivez votre demande : %s/suivi/%s\n\n", n.cfg.PublicURL, req.TrackingCode)
	b.WriteString("Vous seul voyez vos messages et les réponses qui vous sont adressées : le regroupement ne les montre à personne d'autre.\n\n")
	fmt.Fprintf(&b, "Pour joindre le service : %s, %s, %s.\n\n", org.ServiceDesk, org.Phone, org.Hours)
	b.WriteString("Ce message est envoyé automatiquement : merci de ne pas y répondre.\n")
	return mailer.Message{To: req.Citizen.Email, Subject: "Votre dossier " + from + " devient le dossier " + into, Body: b.String(),
		Headers: map[string]string{"X-Guichet-Request-Id": req.ID, "X-Guichet-Case": into}}
}
