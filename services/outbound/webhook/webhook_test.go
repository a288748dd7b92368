package webhook_test

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/deadline"
	"github.com/ampmetropole/guichet/services/outbound/webhook"
	"github.com/ampmetropole/guichet/services/platform/bus"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/platform/frtime"
	"github.com/ampmetropole/guichet/services/testkit"
	"github.com/ampmetropole/guichet/services/testkit/stack"
)

// bundle is a test's Guichet (NATS, PostgreSQL, intake, router), the
// webhook service on it and a Node.js receiver.
type bundle struct {
	st    stack.Stack
	store *webhook.Store
	svc   *webhook.Service
	recv  *receiver
}

func setup(t *testing.T, backoff []time.Duration) bundle {
	t.Helper()
	return setupWith(t, stack.Options{Router: true}, backoff)
}

// setupWith is setup on a stack of given options.
func setupWith(t *testing.T, opts stack.Options, backoff []time.Duration) bundle {
	t.Helper()
	st := stack.New(t, opts)
	store := webhook.NewStore(st.Store.DB(), webhook.Rules{AllowHTTP: true, Catalogue: st.Catalogue, Places: st.Places})
	svc, err := webhook.New(webhook.Config{PublicURL: "https://guichet.example.org/", Backoff: backoff, Poll: 100 * time.Millisecond,
		Timeout: 5 * time.Second, Metrics: prometheus.NewRegistry()}, st.Conn, store, testkit.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Stop)
	return bundle{st: st, store: store, svc: svc, recv: newReceiver(t)}
}

// subscribe creates a subscription whose endpoint is the receiver's path,
// and gives the receiver its secret.
func (b bundle) subscribe(t *testing.T, path string, d webhook.Draft) webhook.Subscription {
	t.Helper()
	d.URL = b.recv.URL(path)
	sub, secret, err := b.store.Create(context.Background(), d, "root")
	if err != nil {
		t.Fatal(err)
	}
	b.recv.secrets[path] = secret
	return sub
}

const (
	citizenName  = "Zéphyrin Quenouille-Arbogast"
	citizenEmail = "zephyrin.quenouille@example.net"
)

// route submits a request about a place of a commune and returns its case.
func (b bundle) route(t *testing.T, competence, insee, subject string) string {
	t.Helper()
	ref, _ := b.st.Route(t, schemas.Request{Channel: schemas.ChannelWeb, Subject: subject,
		Body:     "Devant le 37 impasse des Tamaris-Bleus. " + subject,
		Citizen:  &schemas.Citizen{Name: citizenName, Email: citizenEmail, Phone: "+33756123456"},
		Hints:    &schemas.Hints{Competence: competence},
		Location: &schemas.Location{Address: "37 impasse des Tamaris-Bleus", CommuneINSEE: insee}})
	return ref
}

func (b bundle) transition(t *testing.T, tr casestore.TransitionRequest) {
	t.Helper()
	tr.Role = "team"
	tr.Change = casestore.Change{Actor: "julie", Reason: "motif confidentiel de julie"}
	if _, err := b.st.Store.Transition(context.Background(), tr, deadline.New(frtime.Paris())); err != nil {
		t.Fatal(err)
	}
}

func (b bundle) deliveries(t *testing.T, sub webhook.Subscription) []webhook.Delivery {
	t.Helper()
	ds, err := b.store.Deliveries(context.Background(), sub.ID, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func has(ls []line, cond func(line) bool) bool { return slices.ContainsFunc(ls, cond) }

// onceEach fails unless every webhook-id verified was verified once.
func onceEach(t *testing.T, what string, ls []line) map[string]bool {
	t.Helper()
	ids := map[string]bool{}
	for _, l := range ls {
		if ids[l.ID] {
			t.Errorf("%s: %s received twice", what, l.ID)
		}
		ids[l.ID] = true
	}
	return ids
}

var dataKeys = []string{"at", "case_ref", "channel", "commune", "competence", "event", "redirected_commune", "seq", "state", "territory", "url"}

// TestDeliveriesAreSignedAndFiltered: the receiver's own library verifies
// every delivery; a subscription gets its commune's events and not
// another's — a case redirected to its commune included —, and only the
// event types it asked for; a receiver holding the wrong secret refuses
// (400), which Guichet records and retries; a redelivered event is not
// sent twice; no body carries personal data.
func TestDeliveriesAreSignedAndFiltered(t *testing.T) {
	t.Parallel()
	b := setup(t, slices.Repeat([]time.Duration{300 * time.Millisecond}, 20))
	aix := b.subscribe(t, "/aix", webhook.Draft{Name: "Mairie d'Aix", Communes: []string{"13001"}})
	aubagne := b.subscribe(t, "/aubagne", webhook.Draft{Name: "Mairie d'Aubagne", Communes: []string{"aubagne"}, EventTypes: []string{schemas.EventStateChanged}})
	wrong := b.subscribe(t, "/faux", webhook.Draft{Name: "Secret altéré"})
	b.recv.secrets["/faux"] = webhook.NewSecret() // not the one Guichet signs with
	b.recv.start()

	refAix := b.route(t, "voirie", "13001", "Nid-de-poule cours Mirabeau")
	refAubagne := b.route(t, "eclairage", "13005", "Lampadaire éteint")
	b.transition(t, casestore.TransitionRequest{Ref: refAubagne, To: "qualified"})
	// A team hands the Aix case over to the mairie of Aubagne (a communal
	// matter): Aubagne's subscription gets it.
	b.transition(t, casestore.TransitionRequest{Ref: refAix, To: "redirected", RedirectTo: "la mairie d'Aubagne", RedirectCommune: "13005"})

	testkit.Eventually(t, 30*time.Second, "Aubagne's state changes", func() bool {
		v := b.recv.verified("/aubagne")
		return has(v, func(l line) bool { return l.Body.Data.CaseRef == refAubagne && l.Body.Data.State == "qualified" }) &&
			has(v, func(l line) bool { return l.Body.Data.CaseRef == refAix && l.Body.Data.State == "redirected" })
	})
	testkit.Eventually(t, 30*time.Second, "Aix's events", func() bool {
		v := b.recv.verified("/aix")
		return has(v, func(l line) bool { return l.Body.Data.CaseRef == refAix && l.Type == "case.created" }) &&
			has(v, func(l line) bool { return l.Body.Data.CaseRef == refAix && l.Body.Data.State == "redirected" })
	})
	testkit.Eventually(t, 30*time.Second, "the wrong secret refused, recorded and retried", func() bool {
		ds := b.deliveries(t, wrong)
		return len(ds) > 0 && slices.ContainsFunc(ds, func(d webhook.Delivery) bool {
			return d.Attempts >= 2 && d.Status == webhook.StatusPending && d.LastStatusCode == 400 && strings.Contains(d.LastError, "400")
		})
	})
	if v := b.recv.verified("/faux"); len(v) != 0 {
		t.Errorf("a request verified with the wrong secret: %+v", v)
	}
	if refused := b.recv.seen("/faux"); len(refused) < 2 || !strings.Contains(refused[0].Error, "signature") {
		t.Errorf("the receiver's refusals: %+v", refused)
	}

	// A redelivered event (the same one published again under another
	// Nats-Msg-Id) files nothing more.
	before := len(b.deliveries(t, aix))
	stream, err := b.st.Conn.JS.Stream(context.Background(), bus.StreamCases)
	if err != nil {
		t.Fatal(err)
	}
	first, err := stream.GetMsg(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.st.Conn.JS.Publish(context.Background(), first.Subject, first.Data, jetstream.WithMsgID("again")); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, "the copy consumed", func() bool {
		c, err := b.st.Conn.JS.Consumer(context.Background(), bus.StreamCases, webhook.Durable)
		if err != nil {
			return false
		}
		info, err := c.Info(context.Background())
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0
	})
	time.Sleep(time.Second) // a second delivery, if filed, would be sent by now
	if after := len(b.deliveries(t, aix)); after != before {
		t.Errorf("a redelivered event filed again: %d deliveries, then %d", before, after)
	}

	aixSeen := b.recv.verified("/aix")
	aixIDs := onceEach(t, "Aix", aixSeen)
	aubagneSeen := b.recv.verified("/aubagne")
	onceEach(t, "Aubagne", aubagneSeen)
	for _, l := range aixSeen {
		if l.Body.Data.Commune != "13001" || l.Body.Data.CaseRef != refAix {
			t.Errorf("Aix got another commune's event: %s", l.Raw)
		}
	}
	for _, l := range aubagneSeen {
		if l.Type != "case.state_changed" || (l.Body.Data.Commune != "13005" && l.Body.Data.RedirectedCommune != "13005") {
			t.Errorf("Aubagne got an event it did not ask for: %s", l.Raw)
		}
	}
	for _, d := range b.deliveries(t, aix) {
		if d.Status != webhook.StatusDelivered || d.Attempts != 1 || d.DeliveredAt == nil || !aixIDs[d.ID] {
			t.Errorf("Aix's delivery %+v (received: %v)", d, aixIDs[d.ID])
		}
	}
	for _, l := range append(aixSeen, aubagneSeen...) {
		raw := string(l.Raw)
		for _, private := range []string{"Zéphyrin", "Quenouille", "zephyrin", "+33", "Tamaris", "Mirabeau", "Lampadaire", "tranquillité", "confidentiel", "julie"} {
			if strings.Contains(raw, private) {
				t.Errorf("%s carries %q: %s", l.ID, private, raw)
			}
		}
		var body struct {
			Type, Timestamp string
			Data            map[string]any
		}
		if err := json.Unmarshal(l.Raw, &body); err != nil {
			t.Fatal(err)
		}
		for k := range maps.Keys(body.Data) {
			if !slices.Contains(dataKeys, k) {
				t.Errorf("%s: data.%s sent", l.ID, k)
			}
		}
		if _, err := time.Parse(time.RFC3339, body.Timestamp); err != nil || !strings.HasPrefix(body.Type, "case.") {
			t.Errorf("%s: type %q timestamp %q", l.ID, body.Type, body.Timestamp)
		}
		if l.Headers["user-agent"] != "Guichet" || l.Body.Data.URL != "https://guichet.example.org/bo/dossiers/"+l.Body.Data.CaseRef ||
			l.ID != webhook.WebhookID(strings.TrimPrefix(l.ID, "msg_")) || !strings.HasPrefix(l.ID, "msg_") {
			t.Errorf("%s: headers %v url %s", l.ID, l.Headers, l.Body.Data.URL)
		}
	}
	if red := aubagneSeen[slices.IndexFunc(aubagneSeen, func(l line) bool { return l.Body.Data.State == "redirected" })]; red.Body.Data.Commune != "13001" || red.Body.Data.RedirectedCommune != "13005" {
		t.Errorf("the redirection: %s", red.Raw)
	}

	// The last status and the counts, as the desk shows them.
	subs, err := b.store.Subscriptions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range subs {
		switch s.ID {
		case aix.ID:
			if s.Counts.Delivered != len(aixSeen) || s.Counts.Pending != 0 || s.Last == nil || s.Last.StatusCode != 204 || s.Last.Error != "" {
				t.Errorf("Aix: %+v %+v", s.Counts, s.Last)
			}
		case aubagne.ID:
			if s.Counts.Delivered != len(aubagneSeen) || s.Last == nil || s.Last.StatusCode != 204 {
				t.Errorf("Aubagne: %+v %+v", s.Counts, s.Last)
			}
		case wrong.ID:
			if s.Counts.Pending == 0 || s.Counts.Delivered != 0 || s.Last == nil || s.Last.StatusCode != 400 {
				t.Errorf("the wrong secret: %+v %+v", s.Counts, s.Last)
			}
		}
	}
}

// TestReceiverDownForAMinute: the receiver goes away for more than a
// minute while cases are made and change; once it is back on the same
// port, every event reaches it, each webhook-id verified exactly once,
// after several attempts each.
func TestReceiverDownForAMinute(t *testing.T) {
	t.Parallel()
	backoff := append([]time.Duration{time.Second, 2 * time.Second, 4 * time.Second}, slices.Repeat([]time.Duration{5 * time.Second}, 20)...)
	b := setup(t, backoff)
	sub := b.subscribe(t, "/tout", webhook.Draft{Name: "Tout"})
	b.recv.start()
	b.route(t, "voirie", "13001", "Avant la panne")
	testkit.Eventually(t, 30*time.Second, "a first delivery", func() bool { return len(b.recv.verified("/tout")) > 0 })

	b.recv.stop()
	down := time.Now()
	refs := []string{b.route(t, "voirie", "13005", "Pendant la panne, 1"), b.route(t, "eclairage", "13001", "Pendant la panne, 2"),
		b.route(t, "proprete", "13055", "Pendant la panne, 3")}
	b.transition(t, casestore.TransitionRequest{Ref: refs[0], To: "qualified"})
	b.transition(t, casestore.TransitionRequest{Ref: refs[1], To: "rejected"})
	testkit.Eventually(t, 30*time.Second, "the failures recorded", func() bool {
		n := 0
		for _, d := range b.deliveries(t, sub) {
			if d.Status == webhook.StatusPending && d.Attempts >= 1 && d.LastStatusCode == 0 && d.LastError != "" && slices.Contains(refs, d.CaseRef) {
				n++
			}
		}
		return n >= 5 // three created, two state changes at least
	})
	time.Sleep(time.Until(down.Add(61 * time.Second)))
	for _, d := range b.deliveries(t, sub) {
		if d.Status == webhook.StatusDead {
			t.Fatalf("dead during the outage: %+v", d)
		}
	}
	b.recv.start()
	testkit.Eventually(t, 30*time.Second, "every event delivered", func() bool {
		ds := b.deliveries(t, sub)
		return !slices.ContainsFunc(ds, func(d webhook.Delivery) bool { return d.Status != webhook.StatusDelivered })
	})
	time.Sleep(time.Second) // a duplicate, if any, would arrive now
	ids := onceEach(t, "after the outage", b.recv.verified("/tout"))
	ds := b.deliveries(t, sub)
	retried := 0
	for _, d := range ds {
		if !ids[d.ID] {
			t.Errorf("%s (%s of %s) delivered but never verified", d.ID, d.EventType, d.CaseRef)
		}
		if slices.Contains(refs, d.CaseRef) {
			if d.Attempts < 2 {
				t.Errorf("%s: %d attempt(s) across the outage", d.ID, d.Attempts)
			}
			retried++
		}
	}
	if len(ids) != len(ds) || retried < 5 {
		t.Errorf("%d verified, %d deliveries, %d across the outage", len(ids), len(ds), retried)
	}
	if n := len(b.recv.seen("/tout")) - len(b.recv.verified("/tout")); n != 0 {
		t.Errorf("%d requests refused by the receiver", n)
	}
}

// TestDeadThenRequeued: a delivery whose schedule runs out is dead; sent
// again by an admin, it reaches the receiver. A disabled subscription gets
// nothing.
func TestDeadThenRequeued(t *testing.T) {
	t.Parallel()
	b := setup(t, []time.Duration{100 * time.Millisecond, 100 * time.Millisecond})
	sub := b.subscribe(t, "/mort", webhook.Draft{Name: "Mort", EventTypes: []string{schemas.EventCreated}})
	off := b.subscribe(t, "/coupe", webhook.Draft{Name: "Coupé"})
	if d, err := b.store.Disable(context.Background(), off.ID, "root"); err != nil || d.Active || d.DisabledBy != "root" || d.DisabledAt == nil {
		t.Fatalf("disable: %+v %v", d, err)
	}
	ref := b.route(t, "voirie", "13001", "Trottoir")
	var dead webhook.Delivery
	testkit.Eventually(t, 30*time.Second, "the delivery dead", func() bool {
		ds := b.deliveries(t, sub)
		if len(ds) == 1 && ds[0].Status == webhook.StatusDead {
			dead = ds[0]
			return true
		}
		return false
	})
	if dead.Attempts != 3 || dead.CaseRef != ref || dead.EventType != schemas.EventCreated || dead.LastError == "" {
		t.Errorf("dead: %+v", dead)
	}
	if _, err := b.store.Requeue(context.Background(), sub.ID, "msg_inconnu"); fault.KindOf(err) != fault.NotFound {
		t.Errorf("requeue of an unknown delivery: %v", err)
	}
	b.recv.start()
	if d, err := b.store.Requeue(context.Background(), sub.ID, dead.ID); err != nil || d.Status != webhook.StatusPending {
		t.Fatalf("requeue: %+v %v", d, err)
	}
	b.svc.Kick()
	testkit.Eventually(t, 15*time.Second, "the delivery sent again", func() bool {
		ds := b.deliveries(t, sub)
		return len(ds) == 1 && ds[0].Status == webhook.StatusDelivered
	})
	if v := b.recv.verified("/mort"); len(v) != 1 || v[0].ID != dead.ID || v[0].Body.Data.CaseRef != ref {
		t.Errorf("received: %+v", v)
	}
	if _, err := b.store.Requeue(context.Background(), sub.ID, dead.ID); fault.KindOf(err) != fault.NotFound {
		t.Errorf("requeue of a delivered one: %v", err)
	}
	if ds := b.deliveries(t, off); len(ds) != 0 || len(b.recv.seen("/coupe")) != 0 {
		t.Errorf("the disabled subscription got %d deliveries", len(ds))
	}
}

// TestRouterHandoverReachesTheCommune: a citizen's report of neighbours'
// noise in Gardanne is handed over to the mairie by the router (a
// communal matter); the partner system subscribed to Gardanne's events
// receives the redirection, signed, naming the commune; Cassis's
// subscription receives nothing of it.
func TestRouterHandoverReachesTheCommune(t *testing.T) {
	t.Parallel()
	b := setupWith(t, stack.Options{Router: true, Model: true}, slices.Repeat([]time.Duration{300 * time.Millisecond}, 20))
	gardanne := b.subscribe(t, "/gardanne", webhook.Draft{Name: "Mairie de Gardanne", Communes: []string{"13041"}, EventTypes: []string{schemas.EventStateChanged}})
	b.subscribe(t, "/cassis", webhook.Draft{Name: "Mairie de Cassis", Communes: []string{"13022"}})
	b.recv.start()
	ref, _ := b.st.Route(t, schemas.Request{Channel: schemas.ChannelWeb, Subject: "Voisins bruyants",
		Body:     "Mes voisins font du tapage nocturne toutes les nuits, musique à fond jusqu'à trois heures.",
		Citizen:  &schemas.Citizen{Name: citizenName, Email: citizenEmail},
		Location: &schemas.Location{Address: "5 rue Jules Ferry", PostalCode: "13120"}})
	testkit.Eventually(t, 30*time.Second, "the handover at Gardanne's partner", func() bool {
		return has(b.recv.verified("/gardanne"), func(l line) bool {
			return l.Body.Data.CaseRef == ref && l.Body.Data.State == "redirected" && l.Body.Data.RedirectedCommune == "13041"
		})
	})
	for _, l := range b.recv.verified("/gardanne") {
		if strings.Contains(string(l.Raw), "Quenouille") || strings.Contains(string(l.Raw), "tapage") {
			t.Errorf("the handover carries the citizen's data: %s", l.Raw)
		}
	}
	if len(b.deliveries(t, gardanne)) != 1 {
		t.Errorf("Gardanne's deliveries: %+v", b.deliveries(t, gardanne))
	}
	if v := b.recv.seen("/cassis"); len(v) != 0 {
		t.Errorf("Cassis received Gardanne's events: %+v", v)
	}
}
