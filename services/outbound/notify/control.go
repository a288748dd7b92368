package notify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/control"
	"github.com/ampmetropole/guichet/services/cases/scope"
	"github.com/ampmetropole/guichet/services/platform/mailer"
)

// KindControl is the message to a supervisor about a share of the
// router's decisions out of its usual band (the dashboard's human
// control).
const KindControl = "routing_control_alert"

// Defaults of the control watch.
const (
	DefaultControlEvery = time.Hour
	DefaultControlFirst = 30 * time.Second
)

// ControlWatch tunes the watch over the automatic routing: every interval,
// the notifier compares the last whole week's shares of requests left to
// triage and of routings changed by a person with their usual band, and
// e-mails the supervisors concerned, once, of those that left it.
type ControlWatch struct {
	Every time.Duration    // between checks; 0: DefaultControlEvery; negative: no watch
	First time.Duration    // from Start to the first check; 0: DefaultControlFirst
	Now   func() time.Time // the clock; nil: time.Now
}

func (w *ControlWatch) setDefaults() {
	if w.Every == 0 {
		w.Every = DefaultControlEvery
	}
	if w.First <= 0 {
		w.First = DefaultControlFirst
	}
	if w.Now == nil {
		w.Now = time.Now
	}
}

// controlSpace is the namespace of the notification ids of control alerts
// (the ledger's ids are UUIDs): the same alert to the same address has
// the same id in every notifier, so that it is sent once.
var controlSpace = uuid.MustParse("5b0f3c1e-8a47-4d6e-9a53-2f1c7d0e6b94")

// startControl runs the watch until Stop or ctx ends; it needs no consumer.
func (n *Notifier) startControl(ctx context.Context) {
	if n.cfg.Control.Every < 0 {
		return
	}
	ctx, n.controlStop = context.WithCancel(ctx)
	n.controlDone = make(chan struct{})
	go func() {
		defer close(n.controlDone)
		t := time.NewTimer(n.cfg.Control.First)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if _, err := n.CheckControl(ctx); err != nil && ctx.Err() == nil {
				n.log.Error("routing control check", "err", err)
			}
			t.Reset(n.cfg.Control.Every)
		}
	}()
}

// stopControl ends the watch and waits for a check under way; safe twice.
func (n *Notifier) stopControl() {
	if n.controlStop != nil {
		n.controlStop()
		<-n.controlDone
	}
}

// CheckControl compares the last whole week's shares — overall, per
// competence and per channel — with their usual band and e-mails the
// supervisors concerned of those that left it: a competence's to the
// supervisors of its teams, the others to the service desk's (the
// hors_competence teams, who triage). Each alert goes to each address
// once, whichever notifier checks and however often. It returns how many
// e-mails went out; the watch runs it every interval.
func (n *Notifier) CheckControl(ctx context.Context) (int, error) {
	now := n.cfg.Control.Now()
	counts, err := n.store.Control(ctx, scope.Everything(), control.Weeks, now)
	if err != nil {
		return 0, fmt.Errorf("notify: control: %w", err)
	}
	rep := control.Compute(control.Ended(counts, now), control.Labels{Competence: n.competenceLabel, Channel: schemas.ChannelName})
	// One e-mail per address and check, listing what concerns it.
	byTo := map[string][]control.Alert{}
	var order []string
	for _, a := range rep.Alerts {
		for _, to := range n.controlRecipients(a) {
			if byTo[to] == nil {
				order = append(order, to)
			}
			byTo[to] = append(byTo[to], a)
		}
	}
	sent := 0
	var errs []error
	for _, to := range order {
		ok, err := n.controlAlert(ctx, to, byTo[to], now)
		if err != nil {
			errs = append(errs, err)
		}
		if ok {
			sent++
		}
	}
	return sent, errors.Join(errs...)
}

// controlAlert e-mails an address the alerts it was not sent yet.
func (n *Notifier) controlAlert(ctx context.Context, to string, alerts []control.Alert, now time.Time) (bool, error) {
	var fresh []control.Alert
	var ids []string
	for _, a := range alerts {
		id := uuid.NewSHA1(controlSpace, []byte(a.ID()+"\x00"+to)).String()
		// The reservation (under a lock of the address) keeps two notifiers
		// checking at the same moment from both sending it; no limit.
		res, err := n.store.ReserveNotification(ctx, id, KindControl, to, 1<<30, now)
		if err != nil {
			// Being sent by another notifier, or the database away: the
			// next check sees.
			n.log.Warn("routing control alert not sent this time", "alert", a.ID(), "to", to, "err", err)
			continue
		}
		if res == casestore.Reserved {
			fresh, ids = append(fresh, a), append(ids, id)
		}
	}
	if len(fresh) == 0 {
		return false, nil
	}
	if err := n.send(ctx, "control", n.controlMessage(to, fresh)); err != nil {
		return false, fmt.Errorf("notify: control alert to %s: %w", to, err)
	}
	for i, id := range ids {
		n.log.Info("supervisor told of a routing share out of its band", "alert", fresh[i].ID(), "to", to)
		// Sent but not recorded (database away) means a second copy at a
		// later check: better than none.
		if err := n.store.RecordNotification(ctx, id, KindControl, to); err != nil {
			return true, err
		}
	}
	return true, nil
}

// controlRecipients are the supervisors an alert concerns, each once: of
// every team of the competence, or of the service desk.
func (n *Notifier) controlRecipients(a control.Alert) []string {
	k, ok := n.cat.Competence(a.Key)
	if a.Dimension != control.Competence || !ok || len(k.Teams) == 0 {
		k, _ = n.cat.Competence("hors_competence")
	}
	var out []string
	seen := map[string]bool{}
	for _, t := range k.Teams {
		if t.SupervisorEmail != "" && !seen[t.SupervisorEmail] {
			seen[t.SupervisorEmail] = true
			out = append(out, t.SupervisorEmail)
		}
	}
	return out
}

// controlMessage writes the alerts of a week to a supervisor.
func (n *Notifier) controlMessage(to string, alerts []control.Alert) mailer.Message {
	week := control.WeekLabel(alerts[0].Week)
	var b strings.Builder
	b.WriteString("Bonjour,\n\n")
	if len(alerts) == 1 {
		fmt.Fprintf(&b, "Le contrôle humain du routage automatique relève un écart pour la %s :\n\n", week)
	} else {
		fmt.Fprintf(&b, "Le contrôle humain du routage automatique relève %d écarts pour la %s :\n\n", len(alerts), week)
	}
	for _, a := range alerts {
		fmt.Fprintf(&b, "- %s\n", a.Text)
	}
	b.WriteString("\nLa fourchette habituelle d'une part est sa moyenne des semaines précédentes, à deux écarts types près " +
		"(cinq points au moins) ; une semaine de moins de dix décisions ne compte pas.\n\n")
	b.WriteString("Rien n'a été changé automatiquement : le programme continue d'orienter les demandes comme avant. " +
		"À vous de voir s'il faut reprendre des orientations, ou signaler le problème pour que ses règles soient revues.\n\n")
	fmt.Fprintf(&b, "Le tableau de bord : %s/bo/tableau#controle\n\n", n.cfg.PublicURL)
	b.WriteString("Ce message n'est envoyé qu'une fois par écart.\n\n")
	fmt.Fprintf(&b, "-- \nGuichet, %s\n", n.cat.Organisation.Name)
	subject := fmt.Sprintf("Routage automatique : une part hors de sa fourchette habituelle (%s)", week)
	if len(alerts) > 1 {
		subject = fmt.Sprintf("Routage automatique : %d parts hors de leur fourchette habituelle (%s)", len(alerts), week)
	}
	return mailer.Message{To: to, Subject: subject, Body: b.String(), Headers: map[string]string{"X-Guichet-Kind": KindControl}}
}

// competenceLabel names a competence in an alert.
func (n *Notifier) competenceLabel(code string) string {
	if k, ok := n.cat.Competence(code); ok {
		return k.Label
	}
	return code
}
