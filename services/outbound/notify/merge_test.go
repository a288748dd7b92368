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

// startNotifier runs a notifier writing to a fresh outbox.
func startNotifier(t *testing.T, st stack.Stack, cfg notify.Config) *mailer.Outbox {
	t.Helper()
	outbox, err := mailer.NewOutbox(t.TempDir(), "Métropole <ne-pas-repondre@example.org>")
	if err != nil {
		t.Fatal(err)
	}
	n, err := notify.New(cfg, st.Conn, st.Store, outbox, st.Catalogue, st.Validator, testkit.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Stop)
	return outbox
}

// A citizen whose case a team merges into another is told, once, the new
// reference, with the code that keeps working.
func TestMergedCitizenIsTold(t *testing.T) {
	st := stack.New(t, stack.Options{Router: true})
	outbox := startNotifier(t, st, notify.Config{PublicURL: "https://demarches.example.org"})
	ctx := context.Background()
	web := func(email, body string) schemas.Request {
		return schemas.Request{Channel: "web", Source: schemas.Source{Adapter: "test"}, Body: body,
			Citizen: &schemas.Citizen{Name: "Bruno", Email: email}, Hints: &schemas.Hints{Competence: "voirie"}}
	}
	into, _ := routedCode(t, st, web("anne@example.org", "Nid-de-poule rue Breteuil."))
	from, code := routedCode(t, st, web("bruno@example.org", "Trou rue Breteuil."))
	if _, err := st.Store.Merge(ctx, from, into, casestore.Change{Actor: "sup", Reason: "même trou"}); err != nil {
		t.Fatal(err)
	}
	var notice mailer.Stored
	testkit.Eventually(t, 10*time.Second, "merge notice", func() bool {
		msgs, _ := outbox.List(ctx, 20)
		for _, m := range msgs {
			if m.To == "bruno@example.org" && strings.Contains(m.Subject, into) {
				notice = m
				return true
			}
		}
		return false
	})
	if !strings.Contains(notice.Body, from) || !strings.Contains(notice.Body, code) || !strings.Contains(notice.Body, "https://demarches.example.org/suivi/"+code) {
		t.Errorf("the notice lacks the old reference, the code or its link:\n%s", notice.Body)
	}
	time.Sleep(time.Second) // a second notice would have come
	msgs, _ := outbox.List(ctx, 20)
	n := 0
	for _, m := range msgs {
		if m.To == "anne@example.org" && strings.Contains(m.Subject, "devient") {
			t.Errorf("Anne, whose case received Bruno's, was told of a merge: %s", m.Subject)
		}
		if m.To == "bruno@example.org" && strings.Contains(m.Subject, "devient") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d merge notices to Bruno, want 1", n)
	}
}

// One address receives AcksPerHour acknowledgements an hour, however many
// requests carry it.
func TestAcknowledgementsLimitedPerAddress(t *testing.T) {
	st := stack.New(t, stack.Options{})
	outbox := startNotifier(t, st, notify.Config{PublicURL: "https://demarches.example.org", AcksPerHour: 2})
	ctx := context.Background()
	for i := range 6 {
		if _, err := st.Intake.Submit(ctx, schemas.Request{Channel: "web", Source: schemas.Source{Adapter: "test"}, Body: "Envoi " + string(rune('a'+i)),
			Citizen: &schemas.Citizen{Email: "cible@example.org"}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.Intake.Submit(ctx, schemas.Request{Channel: "web", Source: schemas.Source{Adapter: "test"}, Body: "Autre",
		Citizen: &schemas.Citizen{Email: "autre@example.org"}}); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, "the other address acknowledged", func() bool {
		msgs, _ := outbox.List(ctx, 20)
		for _, m := range msgs {
			if m.To == "autre@example.org" {
				return true
			}
		}
		return false
	})
	time.Sleep(time.Second)
	msgs, _ := outbox.List(ctx, 20)
	n := 0
	for _, m := range msgs {
		if m.To == "cible@example.org" {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("%d acknowledgements to one address, limit 2", n)
	}
}

// routedCode routes a request and returns its case and tracking code.
func routedCode(t *testing.T, st stack.Stack, req schemas.Request) (string, string) {
	t.Helper()
	ref, rc := st.Route(t, req)
	return ref, rc.TrackingCode
}
