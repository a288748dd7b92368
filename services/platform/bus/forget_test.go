package bus_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ampmetropole/guichet/services/platform/bus"
	"github.com/ampmetropole/guichet/services/testkit"
)

// storeBus starts NATS in a folder the test knows, with Guichet's streams.
func storeBus(t *testing.T) (*bus.Embedded, *bus.Conn) {
	t.Helper()
	srv, err := bus.StartEmbedded(bus.EmbeddedConfig{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	conn, err := bus.Connect(context.Background(), srv.ClientURL(), t.Name(), testkit.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	if err := bus.EnsureTopology(context.Background(), conn.JS, bus.TopologyConfig{DuplicateWindow: time.Minute}); err != nil {
		t.Fatal(err)
	}
	return srv, conn
}

// onDisk waits until every needle is in the store files (the server writes
// them a moment after it acknowledges).
func onDisk(t *testing.T, dir string, needles ...string) {
	t.Helper()
	testkit.Eventually(t, 10*time.Second, "messages written to the store files", func() bool {
		return len(testkit.FilesContaining(t, dir, needles...)) == len(needles)
	})
}

func TestForgetErasesMessagesFromTheStoreFiles(t *testing.T) {
	srv, conn := storeBus(t)
	ctx := context.Background()
	pub := bus.NewPublisher(conn.JS)
	const (
		goneReq  = "019ac4e2-5b1a-7c3e-9a10-3f2b6d1e8a01"
		keptReq  = "019ac4e2-5b1a-7c3e-9a10-3f2b6d1e8a02"
		goneCase = "AMP-2025-000101"
		keptCase = "AMP-2025-000102"
	)
	request := func(id, who string) []byte {
		b, _ := json.Marshal(map[string]any{"id": id, "schema": "request.v1", "channel": "web",
			"citizen": map[string]string{"name": who, "email": "quelqu.un@example.net"}, "body": "Nid de poule devant chez " + who})
		return b
	}
	event := func(id, ref, req, words string) []byte {
		b, _ := json.Marshal(map[string]any{"id": id, "schema": "case-event.v1", "case_ref": ref, "request_id": req,
			"type": "replied", "summary": words})
		return b
	}
	// A request and its events to forget, others to keep, and dead copies of each.
	publish := func(subject, id string, data []byte, h nats.Header) {
		t.Helper()
		if _, err := pub.Publish(ctx, subject, id, data, h); err != nil {
			t.Fatal(err)
		}
	}
	publish("guichet.requests.web", goneReq, request(goneReq, "Oubliette-Requete"), nil)
	publish("guichet.requests.web", keptReq, request(keptReq, "Gardien-Requete"), nil)
	for i := range 300 { // enough to fill more than one pull of the scan
		id := fmt.Sprintf("019ac4e2-5b1a-7c3e-9a10-%012d", 1000+i)
		publish("guichet.requests.phone", id, request(id, "Autre"), nil)
	}
	publish("guichet.cases.voirie.created", "019ac4e2-0000-7c3e-9a10-000000000001", event("019ac4e2-0000-7c3e-9a10-000000000001", goneCase, goneReq, "Oubliette-Creation"), nil)
	publish("guichet.cases.voirie.replied", "019ac4e2-0000-7c3e-9a10-000000000002", event("019ac4e2-0000-7c3e-9a10-000000000002", goneCase, "", "Oubliette-Reponse"), nil)
	publish("guichet.cases.voirie.replied", "019ac4e2-0000-7c3e-9a10-000000000003", event("019ac4e2-0000-7c3e-9a10-000000000003", keptCase, keptReq, "Gardien-Reponse"), nil)
	dead := nats.Header{bus.HeaderDeadReason: {"invalide"}}
	publish("guichet.dead.requests.web", "dead:router:REQUESTS:1", request(goneReq, "Oubliette-MortRequete"), dead)
	publish("guichet.dead.cases.voirie.replied", "dead:notify:CASES:2", event("x", goneCase, "", "Oubliette-MortEvenement"), dead)
	publish("guichet.dead.mail.imap", "dead:imap:1", []byte("From: Oubliette <Oubliette.Courriel@Example.net>\r\nSubject: Oubliette-MortCourriel\r\n\r\nbonjour"), dead)
	publish("guichet.dead.requests.web", "dead:router:REQUESTS:3", request(keptReq, "Gardien-MortRequete"), dead)

	gone := []string{"Oubliette-Requete", "Oubliette-Creation", "Oubliette-Reponse", "Oubliette-MortRequete", "Oubliette-MortEvenement", "Oubliette-MortCourriel"}
	kept := []string{"Gardien-Requete", "Gardien-Reponse", "Gardien-MortRequete"}
	onDisk(t, srv.StoreDir(), append(gone, kept...)...)

	f, err := bus.Forget(ctx, conn.JS, bus.Erasure{Requests: []string{goneReq}, Cases: []string{goneCase},
		Contacts: []string{"oubliette.courriel@example.net"}})
	if err != nil {
		t.Fatal(err)
	}
	if f.Requests != 1 || f.Cases != 2 || f.Dead != 3 {
		t.Errorf("erased %+v, want 1 request, 2 events, 3 dead letters", f)
	}
	if want := 302 + 3 + 4; f.Scanned != want {
		t.Errorf("read %d messages, want %d (each stream once)", f.Scanned, want)
	}
	if found := testkit.FilesContaining(t, srv.StoreDir(), gone...); len(found) > 0 {
		t.Errorf("still in the store files after Forget: %v", found)
	}
	if found := testkit.FilesContaining(t, srv.StoreDir(), kept...); len(found) != len(kept) {
		t.Errorf("what is kept must stay: found only %v", found)
	}
	for stream, want := range map[string]uint64{bus.StreamRequests: 301, bus.StreamCases: 1, bus.StreamDead: 1} {
		if n := testkit.StreamMsgs(t, conn, stream); n != want {
			t.Errorf("%s holds %d messages, want %d", stream, n, want)
		}
	}
	// Once more: nothing left to erase, nothing fails.
	if again, err := bus.Forget(ctx, conn.JS, bus.Erasure{Requests: []string{goneReq}, Cases: []string{goneCase}}); err != nil || again.Requests+again.Cases+again.Dead != 0 {
		t.Errorf("second Forget: %+v %v", again, err)
	}
	// The bytes stay gone once the server has restarted from its files.
	dir := srv.StoreDir()
	conn.Close()
	srv.Shutdown()
	if found := testkit.FilesContaining(t, dir, gone...); len(found) > 0 {
		t.Errorf("in the store files after shutdown: %v", found)
	}
}

func TestForgetNothing(t *testing.T) {
	_, conn := testkit.Bus(t)
	f, err := bus.Forget(context.Background(), conn.JS, bus.Erasure{})
	if err != nil || f != (bus.Forgotten{}) {
		t.Fatalf("empty erasure: %+v %v", f, err)
	}
	// Empty streams are not waited on.
	start := time.Now()
	if _, err := bus.Forget(context.Background(), conn.JS, bus.Erasure{Requests: []string{"x"}, Cases: []string{"y"}}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("forgetting on empty streams took %s", d)
	}
}

// A purge told in batches reads each message of REQUESTS and CASES once.
func TestForgetterReadsEachMessageOnce(t *testing.T) {
	srv, conn := storeBus(t)
	ctx := context.Background()
	pub := bus.NewPublisher(conn.JS)
	request := func(i int, words string) string {
		t.Helper()
		id := fmt.Sprintf("019ac4e2-5b1a-7c3e-9a10-%012d", i)
		if _, err := pub.Publish(ctx, "guichet.requests.web", id, []byte(`{"id":"`+id+`","body":"`+words+`"}`), nil); err != nil {
			t.Fatal(err)
		}
		ev := fmt.Sprintf(`{"id":"e%d","case_ref":"AMP-2025-%06d","request_id":"%s","summary":"%s"}`, i, i, id, words)
		if _, err := pub.Publish(ctx, "guichet.cases.voirie.created", fmt.Sprintf("e%d", i), []byte(ev), nil); err != nil {
			t.Fatal(err)
		}
		return id
	}
	var ids []string
	for i := range 50 {
		ids = append(ids, request(i, fmt.Sprintf("Lot-Mot-%03d", i)))
	}
	f := bus.NewForgetter(conn.JS)
	first, err := f.Forget(ctx, bus.Erasure{Requests: ids[:10]})
	if err != nil || first.Requests != 10 || first.Cases != 10 || first.Scanned != 100 {
		t.Fatalf("first batch: %+v %v; want 10 requests and 10 events erased, 100 messages read", first, err)
	}
	second, err := f.Forget(ctx, bus.Erasure{Requests: ids[10:20], Cases: []string{"AMP-2025-000020"}})
	if err != nil || second.Requests != 10 || second.Cases != 11 || second.Scanned != 0 {
		t.Fatalf("second batch: %+v %v; want 10 requests and 11 events erased, nothing read again", second, err)
	}
	late := request(99, "Lot-Mot-Tardif")
	third, err := f.Forget(ctx, bus.Erasure{Requests: []string{late}})
	if err != nil || third.Requests != 1 || third.Cases != 1 || third.Scanned != 2 {
		t.Fatalf("third batch: %+v %v; want only the 2 new messages read", third, err)
	}
	var gone, kept []string
	for i := range 20 {
		gone = append(gone, fmt.Sprintf("Lot-Mot-%03d", i))
	}
	for i := 21; i < 50; i++ {
		kept = append(kept, fmt.Sprintf("Lot-Mot-%03d", i))
	}
	onDisk(t, srv.StoreDir(), kept...)
	if found := testkit.FilesContaining(t, srv.StoreDir(), append(gone, "Lot-Mot-Tardif")...); len(found) > 0 {
		t.Errorf("still in the store files: %v", found)
	}
	// Case 20 is erased, not its request, which was not named.
	if found := testkit.FilesContaining(t, srv.StoreDir(), "Lot-Mot-020")["Lot-Mot-020"]; len(found) != 1 || !strings.Contains(found[0], "REQUESTS") {
		t.Errorf("request 20 (kept) and case 20 (erased) are in %v", found)
	}
}
