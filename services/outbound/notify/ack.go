package notify

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/personaldata"
	"github.com/ampmetropole/guichet/services/platform/bus"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/platform/frtime"
)

// KindAcknowledgement is the acknowledgement of receipt.
const KindAcknowledgement = "acknowledgement"

// ackTooLate is the age past which a request gets no acknowledgement: it
// comes from a replay or a backlog, and a receipt that late would say
// nothing the citizen does not know.
const ackTooLate = 7 * 24 * time.Hour

// acknowledge sends the acknowledgement of receipt of a request, whatever
// its channel, the way its citizen can be reached: an e-mail (for an
// e-mail, a reply to it), an SMS to a mobile (a call), a letter in the
// mailroom's batch (a letter). With the mentions of articles L112-3 and
// R112-5 of the code des relations entre le public et l'administration:
// the date of receipt, the service in charge and how to reach it.
func (n *Notifier) acknowledge(ctx context.Context, m bus.Message) error {
	req, err := n.validate.DecodeRequest(m.Data)
	if err != nil {
		return nil // the router dead-letters invalid requests; nothing to acknowledge
	}
	if time.Since(req.ReceivedAt) > ackTooLate {
		return nil
	}
	r, ok := n.reachOf(req.Citizen, req.Channel)
	if !ok {
		n.log.Info("request not acknowledged: no way to reach its citizen", "request_id", req.ID, "channel", req.Channel)
		return nil
	}
	// A message sent from a status page belongs to that page's thread: its
	// acknowledgement names the code the citizen already holds.
	thread := casestore.Thread{ID: req.ID, TrackingCode: req.TrackingCode}
	if l := req.Link; l != nil && l.By == schemas.LinkByTrackingCode && l.RequestID != "" {
		switch t, err := n.store.ThreadOf(ctx, l.RequestID); {
		case err == nil:
			thread = t
		case fault.KindOf(err) != fault.NotFound:
			return err
		}
	}
	if r.by == ByLetter {
		// A letter is queued once (per request and kind) and counts no
		// hourly share: the mailroom sees what it posts.
		sent, err := n.store.NotificationSent(ctx, req.ID, KindAcknowledgement)
		if err != nil || sent {
			return err
		}
		// The letter names its request, which the intake records as a rule;
		// should that have failed, recorded here (recording twice is
		// harmless).
		if err := n.store.RecordReceived(ctx, req, m.Data); err != nil {
			return err
		}
	} else {
		switch res, err := n.store.ReserveNotification(ctx, req.ID, KindAcknowledgement, r.to, n.cfg.AcksPerHour, time.Now().Add(-time.Hour)); {
		case err != nil:
			return err
		case res == casestore.Delivered:
			return nil
		case res == casestore.Withheld:
			n.log.Warn("acknowledgement withheld: its address received enough this hour", "request_id", req.ID, "by", r.by, "limit", n.cfg.AcksPerHour)
			n.metrics.withheld.Inc()
			return nil
		}
	}
	if err := n.deliver(ctx, req.ID, KindAcknowledgement, r, n.acknowledgement(req, thread)); err != nil {
		return fmt.Errorf("notify: acknowledgement of %s: %w", req.ID, err)
	}
	n.log.Info("acknowledgement sent", "request_id", req.ID, "by", r.by)
	// Sent but not recorded (database away) means a second copy on retry:
	// better than none.
	return n.store.RecordNotification(ctx, req.ID, KindAcknowledgement, r.to)
}

// channelNoun names what the citizen sent, by channel.
func channelNoun(channel string) string {
	switch channel {
	case schemas.ChannelEmail:
		return "courriel"
	case schemas.ChannelMail:
		return "courrier"
	case schemas.ChannelPhone:
		return "appel"
	case schemas.ChannelOpen311:
		return "signalement"
	case schemas.ChannelCounter:
		return "demande déposée en mairie"
	}
	return "demande"
}

// acknowledgement writes the receipt of req, whose thread starts at thread
// (itself, or the request whose status page it was sent from).
func (n *Notifier) acknowledgement(req schemas.Request, thread casestore.Thread) notice {
	org := n.cat.Organisation
	when := frtime.DateTime(req.ReceivedAt)
	code := thread.TrackingCode
	link := n.cfg.PublicURL + "/suivi/" + code
	followUp := thread.ID != req.ID
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", greeting(req.Citizen))
	m := notice{kind: KindAcknowledgement, code: code}
	noun := channelNoun(req.Channel)
	if followUp {
		m.subject = "Votre message a bien été reçu — demande " + code
		about := "votre demande " + code
		if len(req.CaseRefs) > 0 {
			m.caseRef = req.CaseRefs[0]
			m.subject = "Votre message a bien été reçu — dossier " + m.caseRef
			about += " (dossier " + m.caseRef + ")"
		}
		fmt.Fprintf(&b, "La %s a bien reçu le %s votre message complémentaire sur %s.\nIl a été ajouté à votre dossier et transmis au service qui le traite.\n\n", org.Name, when, about)
		m.sms = fmt.Sprintf("%s : votre message du %s est bien reçu et ajouté à votre demande %s. Suivi : %s", org.Name, frtime.Date(req.ReceivedAt), code, link)
	} else {
		hint := ""
		if req.Hints != nil {
			hint = req.Hints.Competence
		}
		m.subject = "Accusé de réception de votre " + noun + " — code " + code
		fmt.Fprintf(&b, "La %s a bien reçu votre %s le %s.\n\n", org.Name, noun, when)
		if req.Subject != "" {
			fmt.Fprintf(&b, "Objet : %s\n", req.Subject)
		}
		fmt.Fprintf(&b, "Service chargé de votre demande : %s\n", n.cat.ServiceFor(hint))
		b.WriteString("Si elle relève d'un autre service ou d'une autre administration, elle lui sera transmise et vous en serez informé(e).\n\n")
		m.sms = fmt.Sprintf("%s : nous avons bien reçu votre %s du %s. Code de suivi : %s. Suivi : %s", org.Name, noun, frtime.Date(req.ReceivedAt), code, link)
	}
	fmt.Fprintf(&b, "Code de suivi : %s\n", code)
	fmt.Fprintf(&b, "Suivez votre demande et ajoutez-y des informations : %s\n\n", link)
	fmt.Fprintf(&b, "Pour joindre le service : %s, %s, %s.\nPar courrier : %s, %s, en rappelant votre code de suivi.\n", org.ServiceDesk, org.Phone, org.Hours, org.Name, org.Address)
	// What is kept and how to ask for it (RGPD article 13), from the
	// catalogue's retention schedule.
	kept, rights := personaldata.CitizenNotice(n.cat)
	fmt.Fprintf(&b, "\nVos données : %s\n%s Formulaire : %s/demande?competence=%s\n", kept, rights, n.cfg.PublicURL, personaldata.Competence)
	m.body = b.String()
	m.headers = map[string]string{"X-Guichet-Request-Id": req.ID, "X-Guichet-Tracking-Code": code,
		// RFC 3834: a machine's answer, which no machine should answer.
		"Auto-Submitted": "auto-replied"}
	if req.Channel == schemas.ChannelEmail && req.Source.MessageID != "" {
		// The reply to the citizen's e-mail, shown under it.
		m.headers["In-Reply-To"] = "<" + req.Source.MessageID + ">"
		m.headers["References"] = "<" + req.Source.MessageID + ">"
	}
	return m
}

// automaticFooter ends the e-mails Guichet writes by itself.
const automaticFooter = "Ce message est envoyé automatiquement : merci de ne pas y répondre. Pour compléter votre demande, utilisez votre page de suivi ou appelez le service.\n"
