package notify_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/outbound/notify"
	"github.com/ampmetropole/guichet/services/platform/bus"
	"github.com/ampmetropole/guichet/services/platform/mailer"
	"github.com/ampmetropole/guichet/services/testkit"
	"github.com/ampmetropole/guichet/services/testkit/stack"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// TestOneAcknowledgementPerRequest replays a request on the bus (as a
// redelivery past the deduplication window would) and expects one e-mail.
func TestOneAcknowledgementPerRequest(t *testing.T) {
	ctx := context.Background()
	st := stack.New(t, stack.Options{})
	conn, store, cat, v, in := st.Conn, st.Store, st.Catalogue, st.Validator, st.Intake
	outbox, err := mailer.NewOutbox(t.TempDir(), "Métropole <ne-pas-repondre@example.org>")
	if err != nil {
		t.Fatal(err)
	}
	n, err := notify.New(notify.Config{PublicURL: "https://demarches.example.org/"}, conn, store, outbox, cat, v, testkit.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Stop)

	rc, err := in.Submit(ctx, schemas.Request{Channel: "web", Source: schemas.Source{Adapter: "test"}, Subject: "Lampadaire",
		Body: "Éteint.", Citizen: &schemas.Citizen{Name: "Karim", Email: "karim@example.org"}, Hints: &schemas.Hints{Competence: "eclairage"}})
	if err != nil {
		t.Fatal(err)
	}
	follow, err := in.Submit(ctx, schemas.Request{Channel: "web", Source: schemas.Source{Adapter: "webform", ExternalID: "suivi:" + rc.TrackingCode},
		Body: "Toujours éteint.", Citizen: &schemas.Citizen{Email: "karim@example.org"}, CaseRefs: []string{"AMP-2026-000001"},
		Link: &schemas.Link{CaseRef: "AMP-2026-000001", By: schemas.LinkByTrackingCode, RequestID: rc.ID}})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []mailer.Stored
	testkit.Eventually(t, 10*time.Second, "two acknowledgements", func() bool {
		msgs, _ = outbox.List(ctx, 10)
		return len(msgs) == 2
	})
	// The same first request again, under another message id.
	tr, err := store.Tracking(ctx, rc.TrackingCode)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(tr.Request)
	if _, err := bus.NewPublisher(conn.JS).Publish(ctx, bus.RequestSubject("web"), "replay-"+rc.ID, raw, nil); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, "replay handled", func() bool {
		c, err := conn.JS.Consumer(ctx, bus.StreamRequests, notify.Durable)
		if err != nil {
			return false
		}
		info, err := c.Info(ctx)
		return err == nil && info.Delivered.Stream == 3 && info.NumAckPending == 0
	})
	if msgs, _ = outbox.List(ctx, 10); len(msgs) != 2 {
		t.Fatalf("%d messages after a replay, want 2", len(msgs))
	}
	byTo := map[string]mailer.Stored{}
	for _, m := range msgs {
		byTo[m.Headers["X-Guichet-Request-Id"]] = m
	}
	first, second := byTo[rc.ID], byTo[follow.ID]
	if !strings.Contains(first.Subject, rc.TrackingCode) || !strings.Contains(first.Body, "Service de l'éclairage public") ||
		!strings.Contains(first.Body, "https://demarches.example.org/suivi/"+rc.TrackingCode) || !strings.HasPrefix(first.Body, "Bonjour Karim,") {
		t.Errorf("acknowledgement:\n%s\n%s", first.Subject, first.Body)
	}
	if !strings.Contains(second.Subject, "AMP-2026-000001") || !strings.Contains(second.Body, "message complémentaire") {
		t.Errorf("follow-up acknowledgement:\n%s\n%s", second.Subject, second.Body)
	}
}
