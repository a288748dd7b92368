package notify_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/outbound/notify"
	"github.com/ampmetropole/guichet/services/platform/mailer"
	"github.com/ampmetropole/guichet/services/testkit"
	"github.com/ampmetropole/guichet/services/testkit/stack"
)

// A case whose deadline passes: the router's timer marks it, and the
// notifier e-mails the supervisor of the team once, even after a restart.
func TestSupervisorToldOfABreachOnce(t *testing.T) {
	ctx := context.Background()
	st := stack.New(t, stack.Options{Router: true})
	outbox, err := mailer.NewOutbox(t.TempDir(), "Métropole <ne-pas-repondre@example.org>")
	if err != nil {
		t.Fatal(err)
	}
	start := func() *notify.Notifier {
		n, err := notify.New(notify.Config{PublicURL: "https://guichet.example.org"}, st.Conn, st.Store, outbox, st.Catalogue, st.Validator, testkit.Logger(t))
		if err != nil {
			t.Fatal(err)
		}
		if err := n.Start(ctx); err != nil {
			t.Fatal(err)
		}
		return n
	}
	n := start()
	rc, err := st.Intake.Submit(ctx, schemas.Request{Channel: "web", Source: schemas.Source{Adapter: "test"}, Body: "Lampadaire éteint.",
		Location: &schemas.Location{PostalCode: "13400"}, Hints: &schemas.Hints{Competence: "eclairage"}})
	if err != nil {
		t.Fatal(err)
	}
	ref := st.CaseRef(t, rc.ID)
	testkit.Exec(t, st.DBURL, `UPDATE cases SET deadline = now() - interval '1 minute' WHERE ref = $1`, ref)
	var msgs []mailer.Stored
	testkit.Eventually(t, 20*time.Second, "supervisor e-mailed", func() bool {
		msgs, _ = outbox.List(ctx, 10)
		return len(msgs) == 1
	})
	m := msgs[0]
	if m.To != "encadrement.eclairage.aubagne@ampmetropole.fr" || !strings.Contains(m.Subject, ref) || !strings.Contains(m.Body, "/bo/dossiers/"+ref) {
		t.Errorf("message to %s: %s\n%s", m.To, m.Subject, m.Body)
	}
	// A restart of the notifier and more timer ticks send nothing more.
	n.Stop()
	n = start()
	t.Cleanup(n.Stop)
	time.Sleep(5 * time.Second)
	if msgs, _ = outbox.List(ctx, 10); len(msgs) != 1 {
		t.Errorf("%d messages, want 1", len(msgs))
	}
	if c := testkit.Count(t, st.DBURL, `SELECT count(*) FROM case_events WHERE type = 'deadline_breached'`); c != 1 {
		t.Errorf("%d breach events", c)
	}
}
