package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/cmd/guichet/compose"
	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/retention"
	"github.com/ampmetropole/guichet/services/intake/attachment"
	"github.com/ampmetropole/guichet/services/platform/bus"
	"github.com/ampmetropole/guichet/services/platform/mailer"
	"github.com/ampmetropole/guichet/services/platform/sms"
	"github.com/ampmetropole/guichet/services/testkit"
	"github.com/ampmetropole/guichet/services/testkit/stack"
)

// REQUESTS and CASES keep messages as long as the catalogue's schedule says
// of streams — 30 days as shipped, what a catalogue file says otherwise,
// and an existing stream follows when the schedule changes — and DEAD keeps
// them until a person removes them.
func TestStreamsKeepWhatTheScheduleSays(t *testing.T) {
	ctx := context.Background()
	natsURL, dbURL := testkit.NATS(t).ClientURL(), testkit.Database(t)
	maxAge := func(p *compose.Parts, stream string) time.Duration {
		t.Helper()
		s, err := p.Conn.JS.Stream(ctx, stream)
		if err != nil {
			t.Fatal(err)
		}
		return s.CachedInfo().Config.MaxAge
	}
	p, err := compose.NewParts(ctx, compose.Config{}, natsURL, dbURL, "streams-shipped", testkit.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if got := p.Catalogue.Retention.Streams.KeepDays; got != 30 {
		t.Errorf("the shipped catalogue keeps streams %d days, want 30", got)
	}
	for stream, want := range map[string]time.Duration{bus.StreamRequests: 30 * 24 * time.Hour, bus.StreamCases: 30 * 24 * time.Hour, bus.StreamDead: 0} {
		if got := maxAge(p, stream); got != want {
			t.Errorf("%s keeps messages %s, want %s", stream, got, want)
		}
	}
	// A catalogue that keeps them a week: the streams already there follow.
	raw, err := os.ReadFile(filepath.Join("..", "..", "services", "cases", "catalogue", "catalogue.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cat map[string]any
	if err := json.Unmarshal(raw, &cat); err != nil {
		t.Fatal(err)
	}
	cat["retention"].(map[string]any)["streams"].(map[string]any)["keep_days"] = 7
	path := filepath.Join(t.TempDir(), "catalogue.json")
	if raw, err = json.Marshal(cat); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	var cfg compose.Config
	cfg.Router.Catalogue = path
	week, err := compose.NewParts(ctx, cfg, natsURL, dbURL, "streams-week", testkit.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer week.Close()
	for stream, want := range map[string]time.Duration{bus.StreamRequests: 7 * 24 * time.Hour, bus.StreamCases: 7 * 24 * time.Hour, bus.StreamDead: 0} {
		if got := maxAge(week, stream); got != want {
			t.Errorf("after the schedule changed, %s keeps messages %s, want %s", stream, got, want)
		}
	}
}

// What the composition root gives the retention service to tell, told what
// a purge erased, leaves none of it in the JetStream store files (the
// request, its case's events, a dead copy, its photo) nor in the
// development outboxes, and leaves another citizen's alone.
func TestForgettersEraseAPurgeOutsidePostgreSQL(t *testing.T) {
	ctx := context.Background()
	st := stack.New(t, stack.Options{Router: true})
	files, err := attachment.NewStore(ctx, st.Conn.JS)
	if err != nil {
		t.Fatal(err)
	}
	put := func(lines ...string) schemas.Attachment {
		t.Helper()
		f, err := attachment.Check(bytes.NewReader(testkit.TextPDF(lines)), "lettre.pdf")
		if err != nil {
			t.Fatal(err)
		}
		a, err := files.Put(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	const email, mobile = "oubliee.purgee@example.net", "+33687654321"
	letter := put("Madame Oubliee-Lettre", "Rue des Purges-Anciennes")
	ref, rc := st.Route(t, schemas.Request{Channel: schemas.ChannelWeb, Source: schemas.Source{Adapter: "webform"},
		Citizen: &schemas.Citizen{Name: "Oubliee-Nom", Email: email, Phone: mobile},
		Subject: "Oubliee-Objet", Body: "Oubliee-Texte devant chez moi.", Hints: &schemas.Hints{Competence: "voirie"},
		Location:    &schemas.Location{Address: "12 rue Oubliee-Rue", PostalCode: "13001"},
		Attachments: []schemas.Attachment{letter}})
	keptFile := put("Monsieur Garde-Lettre")
	keptRef, _ := st.Route(t, schemas.Request{Channel: schemas.ChannelWeb, Source: schemas.Source{Adapter: "webform"},
		Citizen: &schemas.Citizen{Name: "Garde-Nom", Email: "garde@example.net"},
		Subject: "Garde-Objet", Body: "Garde-Texte.", Hints: &schemas.Hints{Competence: "voirie"}, Attachments: []schemas.Attachment{keptFile}})
	if ref == keptRef {
		t.Fatal("two citizens in one case")
	}
	// A dead copy of the request, as a consumer that gave up would leave.
	tracked, err := st.Store.Tracking(ctx, rc.TrackingCode)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(tracked.Request)
	if _, err := bus.NewPublisher(st.Conn.JS).Publish(ctx, bus.SubjectDead+".requests.web", "dead:test:REQUESTS:1", raw, nil); err != nil {
		t.Fatal(err)
	}
	mailFolder, smsFolder := t.TempDir(), t.TempDir()
	mail, err := mailer.NewOutbox(mailFolder, "Guichet <ne-pas-repondre@ampmetropole.fr>")
	if err != nil {
		t.Fatal(err)
	}
	texts, err := sms.NewOutbox(smsFolder)
	if err != nil {
		t.Fatal(err)
	}
	if err := mail.Send(ctx, mailer.Message{To: email, Subject: "Accusé de réception", Body: "Bonjour Oubliee-Nom, " + ref}); err != nil {
		t.Fatal(err)
	}
	if err := mail.Send(ctx, mailer.Message{To: "garde@example.net", Subject: "Accusé de réception", Body: "Bonjour Garde-Nom, " + keptRef}); err != nil {
		t.Fatal(err)
	}
	if err := texts.Send(ctx, sms.Message{To: mobile, Text: "Votre demande " + ref + " est reçue."}); err != nil {
		t.Fatal(err)
	}
	gone := []string{"Oubliee-Lettre", "Purges-Anciennes", "Oubliee-Nom", email, mobile, "Oubliee-Objet", "Oubliee-Texte", "Oubliee-Rue"}
	kept := []string{"Garde-Lettre", "Garde-Nom", "Garde-Objet", "Garde-Texte"}
	dir := st.NATS.StoreDir()
	testkit.Eventually(t, 15*time.Second, "the requests, their events and files in the store files", func() bool {
		found := testkit.FilesContaining(t, dir, append(gone, kept...)...)
		return len(found) == len(gone)+len(kept) && testkit.StreamMsgs(t, st.Conn, bus.StreamCases) >= 2
	})

	p, err := compose.NewParts(ctx, compose.Config{}, st.NATS.ClientURL(), st.DBURL, "forget", testkit.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	forgetters := p.Forgetters(compose.Deps{Outbox: mail, SMSOutbox: texts})
	purged := retention.Purged{Cases: []string{ref}, Requests: []string{rc.ID}, Files: []string{letter.ObjectKey}, Contacts: []string{email, mobile}}
	for range 2 { // sent again after a failure elsewhere: harmless
		for _, f := range forgetters {
			if err := f.Forget(ctx, purged); err != nil {
				t.Fatal(err)
			}
		}
	}
	if found := testkit.FilesContaining(t, dir, gone...); len(found) > 0 {
		t.Errorf("still in the JetStream store files: %v", found)
	}
	if found := testkit.FilesContaining(t, dir, kept...); len(found) != len(kept) {
		t.Errorf("another citizen's data went too: only %v left", found)
	}
	for _, outbox := range []string{mailFolder, smsFolder} {
		if found := testkit.FilesContaining(t, outbox, gone...); len(found) > 0 {
			t.Errorf("still in an outbox: %v", found)
		}
	}
	if left, _ := mail.List(ctx, 10); len(left) != 1 || left[0].To != "garde@example.net" {
		t.Errorf("the mail outbox holds %+v", left)
	}
	if _, err := files.Get(ctx, keptFile.ObjectKey); err != nil {
		t.Errorf("the other citizen's file: %v", err)
	}
}
