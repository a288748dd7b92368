package notify

import (
	"context"
	"fmt"
	"strings"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/platform/frtime"
	"github.com/ampmetropole/guichet/services/platform/mailer"
)

// KindHandoff is the e-mail that hands a case over to a mairie, for the
// figures.
const KindHandoff = "handoff"

// handoff tells the mairie a case was handed over to it (redirected as a
// communal matter), once, by e-mail to the address an admin gave for the
// commune. The message names the case and the matter and links to the
// mairie's desk, where its staff read the request once signed in: no
// one's data travels by e-mail. A commune without an address gets none;
// its desk still lists the case.
func (n *Notifier) handoff(ctx context.Context, e schemas.CaseEvent, threads []casestore.Thread) error {
	insee, _ := e.Data["redirected_commune"].(string)
	if insee == "" || len(threads) == 0 {
		return nil
	}
	to, err := n.store.CommuneContact(ctx, insee)
	if fault.KindOf(err) == fault.NotFound {
		n.log.Warn("handoff not e-mailed: no address for the commune", "case", e.CaseRef, "commune", insee)
		return nil
	}
	if err != nil {
		return err
	}
	key, kind := threads[0].ID, KindHandoff+":"+e.ID
	if sent, err := n.store.NotificationSent(ctx, key, kind); err != nil || sent {
		return err
	}
	who, _ := e.Data["redirect_to"].(string)
	matter := ""
	if code, _ := e.Data["communal_matter"].(string); code != "" {
		for _, m := range n.cat.CommunalMatters {
			if m.Code == code {
				matter = m.Label
			}
		}
	}
	by := "un agent de la Métropole"
	if e.Actor.Kind == "router" {
		by = "le routage automatique de la Métropole (relu par ses équipes)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Bonjour,\n\nLa %s vous transmet la demande du dossier %s, reçue le %s : elle relève de la compétence de %s",
		n.cat.Organisation.Name, e.CaseRef, frtime.DateTime(e.At), orDefault(who, "votre commune"))
	if matter != "" {
		fmt.Fprintf(&b, " (%s)", matter)
	}
	b.WriteString(".\n\n")
	fmt.Fprintf(&b, "Transmise par : %s.\nLe demandeur a été informé que votre mairie prend sa demande en charge.\n\n", by)
	fmt.Fprintf(&b, "Lisez la demande et les coordonnées du demandeur sur l'espace mairie de Guichet (connexion requise) :\n%s/mairie/dossiers/%s\n\n", n.cfg.PublicURL, e.CaseRef)
	fmt.Fprintf(&b, "Ce message ne contient pas de données personnelles. Pour toute question : %s, %s.\n", n.cat.Organisation.ServiceDesk, n.cat.Organisation.Phone)
	msg := mailer.Message{To: to, Subject: "Demande transmise à votre mairie — dossier " + e.CaseRef, Body: b.String() + "\n" + automaticFooter,
		Headers: map[string]string{"X-Guichet-Case": e.CaseRef, "Auto-Submitted": "auto-generated"}}
	if err := n.sender.Send(ctx, msg); err != nil {
		n.metrics.failed.WithLabelValues(KindHandoff, ByEmail).Inc()
		return fmt.Errorf("notify: handoff of %s: %w", e.CaseRef, err)
	}
	n.metrics.sent.WithLabelValues(KindHandoff, ByEmail).Inc()
	n.log.Info("handoff sent to the mairie", "case", e.CaseRef, "commune", insee)
	return n.store.RecordNotification(ctx, key, kind, to)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
