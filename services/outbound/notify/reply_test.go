package notify_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/outbound/notify"
	"github.com/ampmetropole/guichet/services/platform/mailer"
	"github.com/ampmetropole/guichet/services/testkit"
	"github.com/ampmetropole/guichet/services/testkit/stack"
)

// A team's answer by e-mail is sent once; a call-back task is not mailed.
func TestRepliesByEmailAreSent(t *testing.T) {
	ctx := context.Background()
	st := stack.New(t, stack.Options{Router: true})
	outbox, err := mailer.NewOutbox(t.TempDir(), "Métropole <ne-pas-repondre@example.org>")
	if err != nil {
		t.Fatal(err)
	}
	n, err := notify.New(notify.Config{PublicURL: "https://guichet.example.org"}, st.Conn, st.Store, outbox, st.Catalogue, st.Validator, testkit.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Stop)
	rc, err := st.Intake.Submit(ctx, schemas.Request{Channel: "phone", Source: schemas.Source{Adapter: "test"}, Body: "Bac cassé.",
		Hints: &schemas.Hints{Competence: "dechets"}})
	if err != nil {
		t.Fatal(err)
	}
	ref := st.CaseRef(t, rc.ID)
	ch := casestore.Change{Actor: "julie"}
	if _, err := st.Store.Reply(ctx, ref, casestore.ReplyRequest{Channel: casestore.ReplyCallback, To: "+33639981427", Message: "Rappeler pour fixer la livraison."}, ch); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Store.Reply(ctx, ref, casestore.ReplyRequest{Channel: casestore.ReplyEmail, To: "lea@example.net", Subject: "Votre bac", Message: "Un bac neuf arrive jeudi."}, ch); err != nil {
		t.Fatal(err)
	}
	var msgs []mailer.Stored
	testkit.Eventually(t, 20*time.Second, "reply e-mailed", func() bool {
		msgs, _ = outbox.List(ctx, 10)
		return len(msgs) >= 1
	})
	time.Sleep(3 * time.Second) // the relay's next tick, in case a second message came
	if msgs, _ = outbox.List(ctx, 10); len(msgs) != 1 {
		t.Fatalf("%d messages, want the e-mail only", len(msgs))
	}
	if m := msgs[0]; m.To != "lea@example.net" || m.Subject != "Votre bac" || !strings.Contains(m.Body, "Un bac neuf arrive jeudi.") || !strings.Contains(m.Body, ref) ||
		!strings.Contains(m.Body, "votre page de suivi, https://guichet.example.org/suivi/"+rc.TrackingCode+",") {
		t.Errorf("message %+v", m)
	}
	for _, bad := range []casestore.ReplyRequest{{Channel: "pigeon", To: "x", Message: "y"}, {Channel: "email", To: "pas-une-adresse", Message: "y"}, {Channel: "email", To: "a@b.fr"}} {
		if _, err := st.Store.Reply(ctx, ref, bad, ch); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
