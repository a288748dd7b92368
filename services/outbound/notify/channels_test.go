package notify_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/deadline"
	"github.com/ampmetropole/guichet/services/cases/lifecycle"
	"github.com/ampmetropole/guichet/services/outbound/notify"
	"github.com/ampmetropole/guichet/services/platform/frtime"
	"github.com/ampmetropole/guichet/services/platform/mailer"
	"github.com/ampmetropole/guichet/services/platform/sms"
	"github.com/ampmetropole/guichet/services/testkit"
	"github.com/ampmetropole/guichet/services/testkit/stack"
)

// outlets are where a test notifier's messages land.
type outlets struct {
	mail *mailer.Outbox
	sms  *sms.Outbox
}

// startWithSMS runs a notifier that sends e-mail and SMS to fresh outboxes.
func startWithSMS(t *testing.T, st stack.Stack) outlets {
	t.Helper()
	o := outlets{}
	var err error
	if o.mail, err = mailer.NewOutbox(t.TempDir(), "Métropole <ne-pas-repondre@example.org>"); err != nil {
		t.Fatal(err)
	}
	if o.sms, err = sms.NewOutbox(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	n, err := notify.New(notify.Config{PublicURL: "https://demarches.example.org", SMS: o.sms}, st.Conn, st.Store, o.mail, st.Catalogue, st.Validator, testkit.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Stop)
	return o
}

func (o outlets) mailTo(t *testing.T, to string) []mailer.Stored {
	t.Helper()
	msgs, err := o.mail.List(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []mailer.Stored
	for _, m := range msgs {
		if m.To == to {
			out = append(out, m)
		}
	}
	return out
}

func (o outlets) smsTo(t *testing.T, to string) []sms.Stored {
	t.Helper()
	msgs, err := o.sms.List(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []sms.Stored
	for _, m := range msgs {
		if m.To == to {
			out = append(out, m)
		}
	}
	return out
}

// pendingLetters lists the letters waiting for the mailroom, by request.
func pendingLetters(t *testing.T, st stack.Stack) map[string][]casestore.PostalNotice {
	t.Helper()
	ns, err := st.Store.PendingPostalNotices(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]casestore.PostalNotice{}
	for _, n := range ns {
		out[n.RequestID] = append(out[n.RequestID], n)
	}
	return out
}

// Every channel gets its receipt, the way its citizen can be reached: an
// e-mail (for an e-mail, a reply under it), an SMS to a mobile, a letter in
// the mailroom's batch; a landline alone gets none (the agent reads the code
// out), and nobody gets two.
func TestAcknowledgementOnEveryChannel(t *testing.T) {
	st := stack.New(t, stack.Options{})
	out := startWithSMS(t, st)
	ctx := context.Background()
	address := &schemas.PostalAddress{Lines: []string{"14 chemin des Oliviers"}, PostalCode: "13300", City: "Salon-de-Provence", Country: "FR"}
	submit := func(req schemas.Request) string {
		t.Helper()
		req.Source.Adapter = "test"
		rc, err := st.Intake.Submit(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return rc.TrackingCode
	}
	webCode := submit(schemas.Request{Channel: "web", Subject: "Lampadaire", Body: "Éteint.",
		Citizen: &schemas.Citizen{Name: "Karim", Email: "karim@example.org", PreferredReplyChannel: "email"}})
	mailCode := submit(schemas.Request{Channel: "email", Subject: "Dépôt sauvage", Body: "Matelas rue Paradis.",
		Source: schemas.Source{MessageID: "CAF7x9=2b@mail.example.net"}, Citizen: &schemas.Citizen{Name: "Hélène", Email: "helene@example.net", PreferredReplyChannel: "email"}})
	callCode := submit(schemas.Request{Channel: "phone", Subject: "Appel", Body: "Bac cassé.",
		Citizen: &schemas.Citizen{Phone: "+33687654321", PreferredReplyChannel: "phone"}})
	submit(schemas.Request{Channel: "phone", Subject: "Appel d'un fixe", Body: "Bac cassé.",
		Citizen: &schemas.Citizen{Phone: "+33491000000", PreferredReplyChannel: "phone"}})
	letterCode := submit(schemas.Request{Channel: "mail", Subject: "Demande de composteur", Body: "Madame, Monsieur, …",
		Citizen: &schemas.Citizen{Name: "Simone Aubert", Email: "simone@example.org", Address: address, PreferredReplyChannel: "mail"}})
	webPhoneCode := submit(schemas.Request{Channel: "web", Subject: "Graffiti", Body: "Sur l'école.",
		Citizen: &schemas.Citizen{Phone: "+33756123456", PreferredReplyChannel: "phone"}})

	testkit.Eventually(t, 15*time.Second, "every receipt", func() bool {
		return len(out.mailTo(t, "karim@example.org")) == 1 && len(out.mailTo(t, "helene@example.net")) == 1 &&
			len(out.smsTo(t, "+33687654321")) == 1 && len(out.smsTo(t, "+33756123456")) == 1 && len(pendingLetters(t, st)) == 1
	})
	web := out.mailTo(t, "karim@example.org")[0]
	if !strings.HasPrefix(web.Subject, "Accusé de réception de votre demande — code "+webCode) || web.Headers["Auto-Submitted"] != "auto-replied" ||
		!strings.Contains(web.Body, "https://demarches.example.org/suivi/"+webCode) {
		t.Errorf("web receipt:\n%s\n%v\n%s", web.Subject, web.Headers, web.Body)
	}
	// What is kept, how long, and how to ask for it (RGPD article 13).
	if !strings.Contains(web.Body, "Vos données : Vos coordonnées, le texte de votre demande et les pièces jointes sont conservés 1 an après la clôture") ||
		!strings.Contains(web.Body, "dpd@ampmetropole.fr") || !strings.Contains(web.Body, "https://demarches.example.org/demande?competence=donnees_personnelles") {
		t.Errorf("the web receipt says nothing of the data kept:\n%s", web.Body)
	}
	reply := out.mailTo(t, "helene@example.net")[0]
	if reply.Headers["In-Reply-To"] != "<CAF7x9=2b@mail.example.net>" || reply.Headers["References"] != "<CAF7x9=2b@mail.example.net>" ||
		!strings.Contains(reply.Subject, "votre courriel — code "+mailCode) || !strings.Contains(reply.Body, "a bien reçu votre courriel le ") {
		t.Errorf("e-mail receipt is no reply to it:\n%s\n%v\n%s", reply.Subject, reply.Headers, reply.Body)
	}
	text := out.smsTo(t, "+33687654321")[0]
	if !strings.Contains(text.Text, "Code de suivi : "+callCode) || !strings.Contains(text.Text, "votre appel du ") ||
		!strings.Contains(text.Text, "https://demarches.example.org/suivi/"+callCode) || text.Coding != sms.GSM7 || text.Parts > 2 {
		t.Errorf("call receipt: %+v", text)
	}
	if got := out.smsTo(t, "+33756123456")[0].Text; !strings.Contains(got, webPhoneCode) {
		t.Errorf("web request with a mobile only: %q", got)
	}
	for _, l := range pendingLetters(t, st) {
		n := l[0]
		if n.Kind != notify.KindAcknowledgement || n.TrackingCode != letterCode || n.Recipient != "Simone Aubert\n14 chemin des Oliviers\n13300 SALON-DE-PROVENCE" ||
			!strings.Contains(n.Body, "a bien reçu votre courrier le ") || !strings.Contains(n.Body, "Code de suivi : "+letterCode) ||
			strings.Contains(n.Body, "merci de ne pas y répondre") || !strings.Contains(n.Body, "conservés 1 an après la clôture") {
			t.Errorf("letter receipt: %+v", n)
		}
	}
	if got := out.mailTo(t, "simone@example.org"); len(got) != 0 {
		t.Errorf("the letter writer got an e-mail too: %v", got)
	}
	time.Sleep(time.Second) // a second copy, or a receipt to the landline, would have come
	if n := len(out.smsTo(t, "+33491000000")); n != 0 {
		t.Errorf("%d SMS to a landline", n)
	}
	all, _ := out.sms.List(ctx, 100)
	mails, _ := out.mail.List(ctx, 100)
	if len(all) != 2 || len(mails) != 2 || len(pendingLetters(t, st)) != 1 {
		t.Errorf("%d SMS, %d e-mails, %d letters: want 2, 2, 1", len(all), len(mails), len(pendingLetters(t, st)))
	}
}

// A citizen hears of each change of their case's state they care about,
// the way they came, with their code and link; the resolved notice asks
// their opinion; one who turned notices off hears nothing more; a letter
// writer's notices go to the mailroom's batch.
func TestStatusNotices(t *testing.T) {
	st := stack.New(t, stack.Options{Router: true})
	out := startWithSMS(t, st)
	ctx := context.Background()
	ref, rc := st.Route(t, schemas.Request{Channel: "web", Source: schemas.Source{Adapter: "test"}, Body: "Nid-de-poule rue Breteuil, 13006 Marseille.",
		Citizen: &schemas.Citizen{Name: "Anne", Email: "anne@example.org", PreferredReplyChannel: "email"}, Hints: &schemas.Hints{Competence: "voirie"}})
	link := func(req schemas.Request) schemas.Request {
		req.Source.Adapter = "test"
		req.Link = &schemas.Link{CaseRef: ref, By: schemas.LinkByAgent}
		return req
	}
	_, call := st.Route(t, link(schemas.Request{Channel: "phone", Body: "Même trou, rue Breteuil.", Source: schemas.Source{OperatorID: "agent-1"},
		Citizen: &schemas.Citizen{Phone: "+33687654321", PreferredReplyChannel: "phone"}}))
	_, letter := st.Route(t, link(schemas.Request{Channel: "mail", Body: "Le trou de la rue Breteuil.",
		Citizen: &schemas.Citizen{Name: "Paul Roux", Address: &schemas.PostalAddress{Lines: []string{"8 avenue de la Gare"}, PostalCode: "13400", City: "Aubagne"}}}))
	cal := deadline.New(frtime.Paris())
	move := func(to, waitingOn string) {
		t.Helper()
		if _, err := st.Store.Transition(ctx, casestore.TransitionRequest{Ref: ref, To: to, Role: lifecycle.RoleTeam, WaitingOn: waitingOn,
			Change: casestore.Change{Actor: "camille", Reason: "suite"}}, cal); err != nil {
			t.Fatal(err)
		}
	}
	statusMails := func() []mailer.Stored { // oldest first
		var out2 []mailer.Stored
		for _, m := range out.mailTo(t, "anne@example.org") {
			if m.Headers["X-Guichet-Case"] == ref {
				out2 = append(out2, m)
			}
		}
		slices.SortFunc(out2, func(a, b mailer.Stored) int { return strings.Compare(a.ID, b.ID) }) // IDs start with the time written
		return out2
	}
	move(lifecycle.Qualified, "")
	testkit.Eventually(t, 15*time.Second, "qualified told", func() bool { return len(statusMails()) == 1 })
	q := statusMails()[0]
	if !strings.Contains(q.Subject, rc.TrackingCode) || !strings.Contains(q.Body, "Réponse attendue avant le ") ||
		!strings.Contains(q.Body, "https://demarches.example.org/suivi/"+rc.TrackingCode) || q.Headers["Auto-Submitted"] != "auto-generated" {
		t.Errorf("qualified notice:\n%s\n%s", q.Subject, q.Body)
	}
	move(lifecycle.Waiting, "citizen")
	testkit.Eventually(t, 15*time.Second, "waiting told", func() bool { return len(statusMails()) == 2 })
	if body := statusMails()[1].Body; !strings.Contains(body, "besoin d'une information de votre part") {
		t.Errorf("waiting notice:\n%s", body)
	}
	// The caller hears by SMS, the letter writer by letter, each with
	// their own code.
	testkit.Eventually(t, 15*time.Second, "SMS and letters", func() bool {
		n := 0
		for _, m := range out.smsTo(t, "+33687654321") {
			if strings.Contains(m.Text, "est en attente") && strings.Contains(m.Text, "/suivi/"+call.TrackingCode) {
				n++
			}
		}
		return n == 1 && len(pendingLetters(t, st)[letter.ID]) == 3 // the receipt, qualified, waiting
	})
	for _, l := range pendingLetters(t, st)[letter.ID] {
		if l.Kind == notify.KindAcknowledgement {
			continue
		}
		if l.TrackingCode != letter.TrackingCode || l.CaseRef != ref || !strings.HasPrefix(l.Recipient, "Paul Roux\n8 avenue de la Gare\n13400 AUBAGNE") {
			t.Errorf("letter notice: %+v", l)
		}
	}

	// Anne turns the notices off; the others are still told.
	if err := st.Store.SetNoticesOff(ctx, rc.TrackingCode, true); err != nil {
		t.Fatal(err)
	}
	move(lifecycle.InProgress, "")
	// The service is named with its article (the letter writer still hears).
	testkit.Eventually(t, 15*time.Second, "in progress told by letter", func() bool {
		for _, l := range pendingLetters(t, st)[letter.ID] {
			if strings.Contains(l.Body, "\nLa Direction de la voirie s'en occupe.\n") {
				return true
			}
		}
		return false
	})
	move(lifecycle.Resolved, "")
	testkit.Eventually(t, 15*time.Second, "resolved told to the caller", func() bool {
		for _, m := range out.smsTo(t, "+33687654321") {
			if strings.Contains(m.Text, "est résolue. Donnez votre avis : https://demarches.example.org/suivi/"+call.TrackingCode+"/avis") {
				return true
			}
		}
		return false
	})
	time.Sleep(time.Second)
	if n := len(statusMails()); n != 2 {
		t.Errorf("%d notices to Anne, who turned them off after 2", n)
	}
	// Turned on again, she hears of the next change, once.
	if err := st.Store.SetNoticesOff(ctx, rc.TrackingCode, false); err != nil {
		t.Fatal(err)
	}
	move(lifecycle.Closed, "")
	testkit.Eventually(t, 15*time.Second, "closed told", func() bool { return len(statusMails()) == 3 })
	if s := statusMails()[2].Subject; !strings.Contains(s, "est close") {
		t.Errorf("closed notice: %s", s)
	}
	if err := st.Store.SetNoticesOff(ctx, "ZZZZ-ZZZZ-ZZZZ", true); err == nil {
		t.Error("notices turned off for an unknown code")
	}
}

// A follow-up sent from a status page is acknowledged under the code the
// citizen already holds, never under a new one.
func TestFollowUpAcknowledgedUnderTheThreadCode(t *testing.T) {
	st := stack.New(t, stack.Options{Router: true})
	out := startWithSMS(t, st)
	ctx := context.Background()
	ref, first := st.Route(t, schemas.Request{Channel: "web", Source: schemas.Source{Adapter: "test"}, Body: "Lampadaire éteint.",
		Citizen: &schemas.Citizen{Email: "karim@example.org"}, Hints: &schemas.Hints{Competence: "eclairage"}})
	follow, err := st.Intake.Submit(ctx, schemas.Request{Channel: "web", Source: schemas.Source{Adapter: "webform", ExternalID: "suivi:" + first.TrackingCode},
		Body: "Toujours éteint.", Citizen: &schemas.Citizen{Email: "karim@example.org"}, CaseRefs: []string{ref},
		Link: &schemas.Link{CaseRef: ref, By: schemas.LinkByTrackingCode, RequestID: first.ID}})
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 15*time.Second, "two acknowledgements", func() bool { return len(out.mailTo(t, "karim@example.org")) == 2 })
	for _, m := range out.mailTo(t, "karim@example.org") {
		if m.Headers["X-Guichet-Request-Id"] != follow.ID {
			continue
		}
		if strings.Contains(m.Body, follow.TrackingCode) || m.Headers["X-Guichet-Tracking-Code"] != first.TrackingCode ||
			!strings.Contains(m.Body, "/suivi/"+first.TrackingCode) || !strings.Contains(m.Subject, ref) || !strings.Contains(m.Body, "message complémentaire") {
			t.Errorf("follow-up acknowledgement:\n%s\n%v\n%s", m.Subject, m.Headers, m.Body)
		}
		return
	}
	t.Fatal("no acknowledgement of the follow-up")
}
