package notify_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/outbound/notify"
	"github.com/ampmetropole/guichet/services/platform/frtime"
	"github.com/ampmetropole/guichet/services/platform/mailer"
	"github.com/ampmetropole/guichet/services/testkit"
	"github.com/ampmetropole/guichet/services/testkit/stack"
)

// TestControlAlertToSupervisorsOnce: weeks of the router's
// decisions in the database. While the last whole week is like the ones
// before, nothing is sent. When a third of its requests were left to
// triage (people then gave them to the Voirie), the watch e-mails the
// Voirie's supervisors and the service desk's, once each — not again at
// the next checks, nor after a restart.
func TestControlAlertToSupervisorsOnce(t *testing.T) {
	ctx := context.Background()
	st := stack.New(t, stack.Options{Router: true})
	outbox, err := mailer.NewOutbox(t.TempDir(), "Métropole <ne-pas-repondre@example.org>")
	if err != nil {
		t.Fatal(err)
	}
	paris := frtime.Paris()
	// A Monday morning: the week of 23 November has just ended.
	now := time.Date(2026, 11, 30, 10, 0, 0, 0, paris)
	clock := func() time.Time { return now }
	notifier := func(w notify.ControlWatch) *notify.Notifier {
		w.Now = clock
		n, err := notify.New(notify.Config{PublicURL: "https://guichet.example.org", Control: w}, st.Conn, st.Store, outbox, st.Catalogue, st.Validator, testkit.Logger(t))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	// route submits requests (voirie, or none: left to triage), waits for
	// the router and dates its decisions in the week of the Monday given.
	seq := 0
	route := func(monday time.Time, k int, competence string) []string {
		var ids, refs []string
		for range k {
			seq++
			req := schemas.Request{Channel: "web", Body: fmt.Sprintf("Nid-de-poule numéro %d devant l'école.", seq),
				Location: &schemas.Location{PostalCode: "13006"}}
			if competence != "" {
				req.Hints = &schemas.Hints{Competence: competence}
			}
			ids = append(ids, st.Submit(t, req).ID)
		}
		for _, id := range ids {
			refs = append(refs, st.CaseRef(t, id))
		}
		at := monday.AddDate(0, 0, 1).Add(10 * time.Hour)
		testkit.Exec(t, st.DBURL, `UPDATE routing_decisions SET decided_at = $2 WHERE request_id = ANY($1::uuid[]) AND decided_by = 'router'`, ids, at)
		return refs
	}
	last := time.Date(2026, 11, 23, 0, 0, 0, 0, paris)
	for k := 3; k >= 0; k-- {
		route(last.AddDate(0, 0, -7*k), 10, "voirie")
	}
	var sent int
	if sent, err = notifier(notify.ControlWatch{Every: -1}).CheckControl(ctx); err != nil || sent != 0 {
		t.Fatalf("usual weeks: %d sent, %v", sent, err)
	}

	// Five more of the last week left to triage, which gave them to the
	// Voirie: 5 of 15, against none before.
	for _, ref := range route(last, 5, "") {
		if _, err := st.Store.Reroute(ctx, ref, "voirie", "", casestore.Change{Actor: "nadia", Reason: "une chaussée"}); err != nil {
			t.Fatal(err)
		}
	}
	testkit.Exec(t, st.DBURL, `UPDATE routing_decisions SET decided_at = $1 WHERE decided_by <> 'router'`, last.AddDate(0, 0, 2))
	// The running watch finds it.
	n := notifier(notify.ControlWatch{Every: 100 * time.Millisecond, First: time.Millisecond})
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Stop)
	var msgs []mailer.Stored
	testkit.Eventually(t, 20*time.Second, "supervisors e-mailed", func() bool {
		msgs, _ = outbox.List(ctx, 100)
		return len(msgs) >= 12
	})
	time.Sleep(time.Second) // ten more checks
	n.Stop()
	if sent, err = notifier(notify.ControlWatch{Every: -1}).CheckControl(ctx); err != nil || sent != 0 {
		t.Errorf("after a restart: %d sent, %v", sent, err)
	}
	if msgs, _ = outbox.List(ctx, 100); len(msgs) != 12 {
		t.Fatalf("%d messages, want 12", len(msgs))
	}

	var to []string
	for _, m := range msgs {
		to = append(to, m.To)
		if m.Headers["X-Guichet-Kind"] != notify.KindControl || !strings.Contains(m.Subject, "semaine du 23 novembre 2026") ||
			!strings.Contains(m.Body, "https://guichet.example.org/bo/tableau#controle") || !strings.Contains(m.Body, "Rien n'a été changé automatiquement") {
			t.Errorf("message to %s: %s\n%s", m.To, m.Subject, m.Body)
		}
		body := strings.ReplaceAll(m.Body, "\u00a0", " ")
		switch {
		case strings.HasPrefix(m.To, "encadrement.voirie."):
			if !strings.Contains(body, "- Voirie : la part des demandes laissées au tri, 33 % la semaine du 23 novembre 2026, sort de sa fourchette habituelle (0 % à 5 %).") ||
				strings.Contains(body, "Canal") {
				t.Errorf("Voirie's supervisor told:\n%s", body)
			}
		case strings.HasPrefix(m.To, "encadrement.crc."):
			// The week as a whole and the web form, all of it here.
			if !strings.Contains(body, "- La part des demandes laissées au tri, 33 %") || !strings.Contains(body, "- Canal formulaire web : la part des demandes laissées au tri, 33 %") ||
				strings.Contains(body, "Voirie") {
				t.Errorf("service desk's supervisor told:\n%s", body)
			}
		}
	}
	slices.Sort(to)
	var want []string
	for _, c := range []string{"voirie", "hors_competence"} {
		k, _ := st.Catalogue.Competence(c)
		for _, team := range k.Teams {
			want = append(want, team.SupervisorEmail)
		}
	}
	slices.Sort(want)
	if !slices.Equal(to, want) {
		t.Errorf("sent to %q\nwant %q", to, want)
	}
	if c := testkit.Count(t, st.DBURL, `SELECT count(*) FROM notifications WHERE kind = 'routing_control_alert' AND delivered`); c != 18 {
		t.Errorf("%d alerts recorded, want 18 (6 to Voirie, 2 to each of the service desk's 6)", c)
	}
}
