package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/territory"
	"github.com/ampmetropole/guichet/services/platform/bus"
	"github.com/ampmetropole/guichet/services/platform/frtime"
	"github.com/ampmetropole/guichet/services/platform/mailer"
)

// DurableBreaches is the notifier's consumer name on CASES, for deadlines.
const DurableBreaches = "notifier-breaches"

// KindBreach is the message to a supervisor about a passed deadline.
const KindBreach = "deadline_breached"

// breach tells the team's supervisor, once, of a case whose deadline passed
// (the deadline_breached events the router's timer writes).
func (n *Notifier) breach(ctx context.Context, m bus.Message) error {
	var e schemas.CaseEvent
	if err := json.Unmarshal(m.Data, &e); err != nil || e.Type != schemas.EventBreached {
		return nil
	}
	// A case without a team (triage, unknown territory) is the service
	// desk's (the hors_competence teams of the call centre).
	team, ok := n.cat.Team(e.Competence, e.Territory)
	if !ok {
		team, ok = n.cat.Team("hors_competence", e.Territory)
	}
	if !ok {
		team, ok = n.cat.Team("hors_competence", "marseille-provence")
	}
	if !ok {
		n.log.Warn("breached deadline: no supervisor to tell", "case", e.CaseRef)
		return nil
	}
	to := team.SupervisorEmail
	sent, err := n.store.NotificationSent(ctx, e.ID, KindBreach)
	if err != nil || sent {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Bonjour,\n\nLe délai de traitement du dossier %s est dépassé.\n\n", e.CaseRef)
	fmt.Fprintf(&b, "Compétence : %s\n", n.cat.ServiceFor(e.Competence))
	if name := territory.TerritoryName(e.Territory); name != "" {
		fmt.Fprintf(&b, "Territoire : %s\n", name)
	}
	if d, ok := e.Data["deadline"].(string); ok {
		fmt.Fprintf(&b, "Échéance : %s\n", d)
	}
	fmt.Fprintf(&b, "État : %s\nConstaté le : %s\n\nLe dossier : %s/bo/dossiers/%s\n\n-- \nGuichet, %s\n",
		e.State, frtime.DateTime(e.At), n.cfg.PublicURL, e.CaseRef, n.cat.Organisation.Name)
	msg := mailer.Message{To: to, Subject: "Délai dépassé — dossier " + e.CaseRef, Body: b.String(), Headers: map[string]string{"X-Guichet-Case": e.CaseRef}}
	if err := n.send(ctx, "breach", msg); err != nil {
		return fmt.Errorf("notify: breach of %s: %w", e.CaseRef, err)
	}
	n.log.Info("supervisor told of a breached deadline", "case", e.CaseRef, "to", to)
	return n.store.RecordNotification(ctx, e.ID, KindBreach, to)
}
