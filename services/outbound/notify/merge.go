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
)

// DurableMerges is the notifier's consumer name on CASES, for merges.
const DurableMerges = "notifier-merges"

// kindMerged is the notice of a merge, per request and merge event.
func kindMerged(eventID string) string { return "merged:" + eventID }

// merged tells each citizen whose request a team merged into another case
// (the merged event of the case it left, which names the case it went
// into) the new reference, once, the way they can be reached. Their status
// page says it too.
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
	told := map[reach]bool{} // one message per address, however many requests
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
		r, ok := n.reachOf(req.Citizen, req.Channel)
		if !ok || told[r] {
			continue
		}
		if err := n.deliver(ctx, id, kindMerged(e.ID), r, n.mergeNotice(req, e.CaseRef, into)); err != nil {
			return fmt.Errorf("notify: merge notice of %s: %w", id, err)
		}
		told[r] = true
		n.log.Info("merge notice sent", "request_id", id, "case", into, "by", r.by)
		if err := n.store.RecordNotification(ctx, id, kindMerged(e.ID), r.to); err != nil {
			return err
		}
	}
	return nil
}

func (n *Notifier) mergeNotice(req schemas.Request, from, into string) notice {
	org := n.cat.Organisation
	link := n.cfg.PublicURL + "/suivi/" + req.TrackingCode
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", greeting(req.Citizen))
	fmt.Fprintf(&b, "Votre demande du %s (dossier %s) porte sur le même problème qu'un autre dossier : le service les a regroupées pour les traiter ensemble.\n\n",
		frtime.DateTime(req.ReceivedAt), from)
	fmt.Fprintf(&b, "Nouvelle référence de votre dossier : %s\n", into)
	fmt.Fprintf(&b, "Votre code de suivi ne change pas : %s\n", req.TrackingCode)
	fmt.Fprintf(&b, "Suivez votre demande : %s\n\n", link)
	b.WriteString("Vous seul voyez vos messages et les réponses qui vous sont adressées : le regroupement ne les montre à personne d'autre.\n\n")
	fmt.Fprintf(&b, "Pour joindre le service : %s, %s, %s.\n", org.ServiceDesk, org.Phone, org.Hours)
	return notice{kind: "merged", subject: "Votre dossier " + from + " devient le dossier " + into, body: b.String(), caseRef: into, code: req.TrackingCode,
		sms:     fmt.Sprintf("%s : votre dossier %s est regroupé avec le dossier %s, qui traite le même problème. Votre code %s ne change pas. Suivi : %s", org.Name, from, into, req.TrackingCode, link),
		headers: map[string]string{"X-Guichet-Request-Id": req.ID, "X-Guichet-Case": into, "Auto-Submitted": "auto-generated"}}
}
