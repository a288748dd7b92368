package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/lifecycle"
	"github.com/ampmetropole/guichet/services/platform/bus"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/platform/frtime"
)

// DurableStatus is the notifier's consumer name on CASES, for the notices
// of state changes.
const DurableStatus = "notifier-status"

// KindStatus is a notice of a change of state, for the figures.
const KindStatus = "status"

// kindStatus records the notice of one state change to one thread.
func kindStatus(eventID string) string { return "status:" + eventID }

// statusTooLate is the age past which a state change is not told: the
// notifier was away long enough that the status page says more.
const statusTooLate = 3 * 24 * time.Hour

// status tells every citizen with a request in a case that its state
// changed — qualified, in progress, waiting, resolved, closed, rejected,
// redirected — once per thread, the way each can be reached, unless they
// turned notices off. A change already overtaken (the case moved on since)
// is not told: the next one will be.
func (n *Notifier) status(ctx context.Context, m bus.Message) error {
	var e schemas.CaseEvent
	if err := json.Unmarshal(m.Data, &e); err != nil || e.Type != schemas.EventStateChanged || time.Since(e.At) > statusTooLate {
		return nil
	}
	to, _ := e.Data["to"].(string)
	if _, ok := statusSentence(to); !ok {
		return nil
	}
	state, threads, err := n.store.CaseThreads(ctx, e.CaseRef)
	if fault.KindOf(err) == fault.NotFound {
		return nil
	}
	if err != nil {
		return err
	}
	if to == lifecycle.Redirected {
		// The mairie takes the matter over whatever the case became since.
		if err := n.handoff(ctx, e, threads); err != nil {
			return err
		}
	}
	if state != to {
		n.log.Info("state change not told: the case moved on since", "case", e.CaseRef, "to_state", to, "now", state)
		return nil
	}
	told := map[reach]bool{} // one notice per address, however many threads
	for _, t := range threads {
		if t.NoticesOff {
			continue
		}
		r, ok := n.reachOf(&t.Citizen, t.Channel)
		if !ok || told[r] {
			continue
		}
		kind := kindStatus(e.ID)
		sent, err := n.store.NotificationSent(ctx, t.ID, kind)
		if err != nil {
			return err
		}
		if !sent {
			err := n.deliver(ctx, t.ID, kind, r, n.statusNotice(e, t))
			if err != nil && fault.Retryable(err) {
				return fmt.Errorf("notify: status of %s: %w", e.CaseRef, err)
			}
			if err != nil {
				// Refused for good (a number the SMS centre does not
				// know…): the others are still told.
				n.log.Error("status notice refused", "case", e.CaseRef, "request_id", t.ID, "by", r.by, "err", err)
				continue
			}
			if err := n.store.RecordNotification(ctx, t.ID, kind, r.to); err != nil {
				return err
			}
			n.log.Info("status notice sent", "case", e.CaseRef, "request_id", t.ID, "by", r.by, "state", to)
		}
		told[r] = true
	}
	return nil
}

// statusSentence says in a sentence what a state means for the citizen;
// false for the states nobody is told of (received: the acknowledgement
// said it; merged: the merge notice does).
func statusSentence(state string) (string, bool) {
	switch state {
	case lifecycle.Qualified:
		return "a été examinée et confiée au service compétent", true
	case lifecycle.InProgress:
		return "est en cours de traitement", true
	case lifecycle.Waiting:
		return "est en attente", true
	case lifecycle.Resolved:
		return "est résolue", true
	case lifecycle.Closed:
		return "est close", true
	case lifecycle.Rejected:
		return "ne peut pas être traitée par la Métropole", true
	case lifecycle.Redirected:
		return "relève d'un autre organisme", true
	}
	return "", false
}

// statusNotice writes the notice of e to the citizen of thread t.
func (n *Notifier) statusNotice(e schemas.CaseEvent, t casestore.Thread) notice {
	org := n.cat.Organisation
	to, _ := e.Data["to"].(string)
	sentence, _ := statusSentence(to)
	link := n.cfg.PublicURL + "/suivi/" + t.TrackingCode
	m := notice{kind: KindStatus, caseRef: e.CaseRef, code: t.TrackingCode,
		subject: fmt.Sprintf("Votre demande %s %s", t.TrackingCode, sentence)}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", greeting(&t.Citizen))
	fmt.Fprintf(&b, "Votre demande (code de suivi %s, dossier %s) %s.\n\n", t.TrackingCode, e.CaseRef, sentence)
	switch to {
	case lifecycle.Qualified:
		fmt.Fprintf(&b, "Service chargé de votre demande : %s.\n", n.cat.ServiceFor(e.Competence))
		if d, ok := deadline(e); ok {
			fmt.Fprintf(&b, "Réponse attendue avant le %s.\n", frtime.DateTime(d))
		}
	case lifecycle.InProgress:
		who := n.cat.TheService(e.Competence) // "la Direction de la voirie", at the start of a sentence
		first, size := utf8.DecodeRuneInString(who)
		fmt.Fprintf(&b, "%c%s s'en occupe.\n", unicode.ToUpper(first), who[size:])
	case lifecycle.Waiting:
		if w, _ := e.Data["waiting_on"].(string); w == "citizen" {
			b.WriteString("Le service a besoin d'une information de votre part pour avancer : lisez son message sur votre page de suivi et répondez-y depuis cette page. Le délai de traitement est suspendu jusqu'à votre réponse.\n")
		} else {
			b.WriteString("Le service attend la réponse d'un autre organisme ; le délai de traitement est suspendu en attendant.\n")
		}
	case lifecycle.Resolved:
		if done, _ := e.Data["public_message"].(string); done != "" {
			fmt.Fprintf(&b, "Ce qui a été fait : %s\n\n", done)
		}
		b.WriteString("Si le problème persiste, dites-le-nous sur votre page de suivi : le dossier sera rouvert.\n")
		fmt.Fprintf(&b, "\nVotre avis nous aide : une question, une minute.\nDonnez votre avis : %s/avis\n", link)
	case lifecycle.Redirected:
		who, _ := e.Data["redirect_to"].(string)
		switch commune, _ := e.Data["redirected_commune"].(string); {
		case commune != "" && who != "":
			// Handed over: the citizen has nothing to do again.
			fmt.Fprintf(&b, "Elle relève de %s, à qui nous l'avons transmise : la mairie la prend en charge et vous répondra. Vous n'avez pas à la refaire.\n", who)
		case who != "":
			fmt.Fprintf(&b, "Adressez-vous à : %s.\n", who)
		}
	case lifecycle.Rejected:
		b.WriteString("Le service vous en explique le motif par un message, sur votre page de suivi.\n")
	}
	fmt.Fprintf(&b, "\nSuivez votre demande : %s\n", link)
	fmt.Fprintf(&b, "Pour joindre le service : %s, %s, %s.\n\n", org.ServiceDesk, org.Phone, org.Hours)
	fmt.Fprintf(&b, "Vous ne souhaitez plus recevoir ces avis ? Désactivez-les sur votre page de suivi.\n")
	m.body = b.String()
	m.sms = fmt.Sprintf("%s : votre demande %s %s. Suivi : %s", org.Name, t.TrackingCode, sentence, link)
	if to == lifecycle.Resolved {
		m.sms = fmt.Sprintf("%s : votre demande %s est résolue. Donnez votre avis : %s/avis", org.Name, t.TrackingCode, link)
	}
	m.headers = map[string]string{"X-Guichet-Case": e.CaseRef, "X-Guichet-Tracking-Code": t.TrackingCode, "Auto-Submitted": "auto-generated"}
	return m
}

// deadline reads the deadline a state change set, if any.
func deadline(e schemas.CaseEvent) (time.Time, bool) {
	s, _ := e.Data["deadline"].(string)
	d, err := time.Parse(time.RFC3339, s)
	return d, err == nil
}
