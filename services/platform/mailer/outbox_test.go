package mailer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ampmetropole/guichet/services/platform/fault"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const testFrom = "Métropole Aix-Marseille-Provence <ne-pas-repondre@ampmetropole.fr>"

// newTestOutbox returns an outbox in a fresh folder whose clock starts at
// start and moves one second per message.
func newTestOutbox(t *testing.T, start time.Time) *Outbox {
	t.Helper()
	o, err := NewOutbox(filepath.Join(t.TempDir(), "outbox"), testFrom)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	now := start
	o.now = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Second)
		return now
	}
	return o
}

func TestOutboxSendListGet(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)
	o := newTestOutbox(t, start)
	sent := []Message{
		{
			To:      "lea.martinez@example.net",
			Subject: "Accusé de réception de votre demande — code JVD0-PGQN-831Q (très, très long objet pour qu'il soit plié)",
			Body:    "Bonjour Léa,\n\nLa Métropole a bien reçu votre demande.\nÀ bientôt, et merci d'avoir écrit.\n   \nLigne finie par des espaces   \n.ligne commençant par un point\n",
			Headers: map[string]string{"X-Guichet-Request-Id": "019ac4e2-5b1a-7c3e-9a10-3f2b6d1e8a99", "X-Guichet-Tracking-Code": "JVD0-PGQN-831Q"},
		},
		{
			To:      "Jérôme Côté <jerome.cote@example.org>",
			Subject: "Deuxième message : ça marche = très bien",
			Body:    "Pas de saut de ligne final — œuvre, garçon, «guillemets»",
			Headers: map[string]string{"X-Guichet-Request-Id": "019ac4e2-0000-7c3e-9a10-3f2b6d1e8a99"},
		},
	}
	for _, m := range sent {
		if err := o.Send(ctx, m); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}

	got, err := o.List(ctx, 10)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(got) != 2 {
		t.Fatalf("List returned %d messages, want 2", len(got))
	}
	for i, st := range got {
		want := sent[len(sent)-1-i] // newest first
		if st.To != want.To || st.Subject != want.Subject || st.Body != want.Body || !reflect.DeepEqual(st.Headers, want.Headers) {
			t.Errorf("message %d:\n got  %+v\n want %+v", i, st, want)
		}
		if st.From != testFrom {
			t.Errorf("message %d: From %q, want %q", i, st.From, testFrom)
		}
		if wantDate := start.Add(time.Duration(len(sent)-i) * time.Second); !st.Date.Equal(wantDate) {
			t.Errorf("message %d: Date %v, want %v", i, st.Date, wantDate)
		}
		if !validID(st.ID) || !strings.HasPrefix(st.ID, st.Date.UTC().Format("20060102T150405")) {
			t.Errorf("message %d: ID %q", i, st.ID)
		}
		one, err := o.Get(ctx, st.ID)
		if err != nil {
			t.Fatalf("Get(%s): %v", st.ID, err)
		}
		if !reflect.DeepEqual(one, st) {
			t.Errorf("Get(%s) = %+v, List gave %+v", st.ID, one, st)
		}
	}

	newest, err := o.List(ctx, 1)
	if err != nil || len(newest) != 1 || newest[0].ID != got[0].ID {
		t.Errorf("List(1) = %+v, %v; want only %s", newest, err, got[0].ID)
	}

	// Only the two messages are left in the folder: no temporary file.
	entries, err := os.ReadDir(o.dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Errorf("folder holds %d entries, want 2", len(entries))
	}
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".eml")
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if !ok || !validID(id) || info.Mode().Perm() != 0o644 {
			t.Errorf("unexpected file %s (%v)", e.Name(), info.Mode())
		}
	}
}

func TestOutboxGetRefusesBadIDs(t *testing.T) {
	ctx := context.Background()
	o := newTestOutbox(t, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	// A file outside the outbox that a traversal would reach.
	if err := os.WriteFile(filepath.Join(filepath.Dir(o.dir), "secret.eml"), []byte("Subject: secret\r\n\r\nsecret\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		id   string
		want fault.Kind
	}{
		{"../etc/passwd", fault.Invalid},
		{"../secret", fault.Invalid},
		{"", fault.Invalid},
		{"20260101T000000.000000000Z-deadbee", fault.Invalid},
		{"20260101T000000.000000000Z-DEADBEEF", fault.Invalid},
		{"20260101T000000.000000000Z-deadbeef.eml", fault.Invalid},
		{"20260101T000000.000000000Z-deadbee/", fault.Invalid},
		{"2026010100000.0000000000Z-deadbeef", fault.Invalid},
		{"20261301T000000.000000000Z-deadbeef", fault.Invalid}, // month 13
		{"20260101T000000.000000000Z-../../x", fault.Invalid},
		{"20260101T000000.000000000Z-deadbeef", fault.NotFound},
	}
	for _, tt := range tests {
		_, err := o.Get(ctx, tt.id)
		if err == nil || fault.KindOf(err) != tt.want {
			t.Errorf("Get(%q) = %v (kind %v), want kind %v", tt.id, err, fault.KindOf(err), tt.want)
		}
	}
}

func TestOutboxSkipsUnreadableFiles(t *testing.T) {
	ctx := context.Background()
	o := newTestOutbox(t, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if err := o.Send(ctx, Message{To: "lea.martinez@example.net", Subject: "Le bon", Body: "Bonjour"}); err != nil {
		t.Fatal(err)
	}
	// Newer names than the good message, so that List meets them first.
	garbage := "20991231T235959.999999999Z-00000000"
	big := "20991231T235959.999999999Z-00000001"
	htmlOnly := "20991231T235959.999999999Z-00000002"
	files := map[string][]byte{
		garbage + ".eml":  []byte("ceci n'est pas un courriel\x00\xff\xfe"),
		big + ".eml":      []byte("Subject: gros\r\n\r\n" + strings.Repeat("x", maxStoredSize)),
		htmlOnly + ".eml": []byte("Subject: html\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Bonjour</p>\r\n"),
		"notes.txt":       []byte("Subject: pas un .eml\r\n\r\nx\r\n"),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(o.dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(o.dir, "20991231T235959.999999999Z-00000003.eml"), 0o755); err != nil {
		t.Fatal(err)
	}

	got, err := o.List(ctx, 10)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(got) != 1 || got[0].Subject != "Le bon" || got[0].Body != "Bonjour" {
		t.Fatalf("List = %+v, want only the good message", got)
	}
	for _, tt := range []struct {
		id   string
		want fault.Kind
	}{
		{garbage, fault.Other},
		{big, fault.TooLarge},
		{htmlOnly, fault.Other},
		{"20991231T235959.999999999Z-00000003", fault.NotFound},
	} {
		if _, err := o.Get(ctx, tt.id); err == nil || fault.KindOf(err) != tt.want {
			t.Errorf("Get(%s) = %v (kind %v), want kind %v", tt.id, err, fault.KindOf(err), tt.want)
		}
	}
}

func TestOutboxRefusesBadMessages(t *testing.T) {
	ctx := context.Background()
	o := newTestOutbox(t, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	good := func(edit func(*Message)) Message {
		m := Message{To: "lea.martinez@example.net", Subject: "Objet", Body: "Corps", Headers: map[string]string{"X-Guichet-Request-Id": "1"}}
		edit(&m)
		return m
	}
	tests := []struct {
		name string
		m    Message
	}{
		{"empty recipient", good(func(m *Message) { m.To = "" })},
		{"bad recipient", good(func(m *Message) { m.To = "pas une adresse" })},
		{"two recipients", good(func(m *Message) { m.To = "a@example.org, b@example.org" })},
		{"line break in subject", good(func(m *Message) { m.Subject = "Objet\r\nBcc: victim@example.org" })},
		{"header injection in name", good(func(m *Message) { m.Headers["X-A\r\nBcc"] = "victim@example.org" })},
		{"colon in header name", good(func(m *Message) { m.Headers["X-A:"] = "v" })},
		{"empty header name", good(func(m *Message) { m.Headers[""] = "v" })},
		{"line break in header value", good(func(m *Message) { m.Headers["X-Guichet-Request-Id"] = "1\nBcc: victim@example.org" })},
		{"reserved header", good(func(m *Message) { m.Headers["bcc"] = "victim@example.org" })},
		{"reserved content header", good(func(m *Message) { m.Headers["Content-Type"] = "text/html" })},
		{"same header twice", good(func(m *Message) { m.Headers["x-guichet-request-id"] = "2" })},
	}
	for _, tt := range tests {
		err := o.Send(ctx, tt.m)
		if fault.KindOf(err) != fault.Invalid {
			t.Errorf("%s: Send = %v (kind %v), want kind invalid", tt.name, err, fault.KindOf(err))
		}
	}
	if err := o.Send(ctx, Message{To: "a@example.org", Body: strings.Repeat("é", maxStoredSize/2)}); fault.KindOf(err) != fault.TooLarge {
		t.Errorf("oversized message: Send = %v, want kind too_large", err)
	}
	if entries, err := os.ReadDir(o.dir); err != nil || len(entries) != 0 {
		t.Errorf("refused messages left %d files (%v)", len(entries), err)
	}
	// A header name is kept in canonical form.
	if err := o.Send(ctx, good(func(m *Message) { m.Headers = map[string]string{"x-guichet-request-id": "7"} })); err != nil {
		t.Fatal(err)
	}
	got, err := o.List(ctx, 1)
	if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0].Headers, map[string]string{"X-Guichet-Request-Id": "7"}) {
		t.Errorf("List = %+v, %v", got, err)
	}
}

func TestOutboxCancelledAndLimits(t *testing.T) {
	o := newTestOutbox(t, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := o.Send(ctx, Message{To: "a@example.org"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Send with a cancelled context = %v", err)
	}
	if _, err := o.Get(ctx, "20260101T000000.000000000Z-deadbeef"); !errors.Is(err, context.Canceled) {
		t.Errorf("Get with a cancelled context = %v", err)
	}
	for _, limit := range []int{0, -1} {
		if _, err := o.List(context.Background(), limit); fault.KindOf(err) != fault.Invalid {
			t.Errorf("List(%d) = %v, want kind invalid", limit, err)
		}
	}
}

func TestOutboxConcurrentSends(t *testing.T) {
	ctx := context.Background()
	o, err := NewOutbox(t.TempDir(), testFrom) // the real clock
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			errs <- o.Send(ctx, Message{To: "a@example.org", Subject: fmt.Sprintf("n°%d", i), Body: "é"})
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("sends did not finish within 10s")
	}
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := o.List(ctx, 100)
	if err != nil || len(got) != n {
		t.Fatalf("List = %d messages, %v; want %d", len(got), err, n)
	}
	seen := map[string]bool{}
	for i, st := range got {
		seen[st.Subject] = true
		if i > 0 && got[i-1].ID <= st.ID {
			t.Errorf("not newest first: %s before %s", got[i-1].ID, st.ID)
		}
	}
	if len(seen) != n {
		t.Errorf("%d distinct subjects, want %d", len(seen), n)
	}
}

func TestNewOutboxErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, dir, from string
		want            fault.Kind
	}{
		{"empty folder", "", testFrom, fault.Invalid},
		{"empty from", dir, "", fault.Invalid},
		{"bad from", dir, "Métropole <pas une adresse>", fault.Invalid},
		{"folder is a file", file, testFrom, fault.Other},
	}
	for _, tt := range tests {
		if _, err := NewOutbox(tt.dir, tt.from); err == nil || fault.KindOf(err) != tt.want {
			t.Errorf("%s: NewOutbox = %v (kind %v), want kind %v", tt.name, err, fault.KindOf(err), tt.want)
		}
	}
	nested := filepath.Join(dir, "a", "b")
	if _, err := NewOutbox(nested, testFrom); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(nested); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o755&^umask(t) {
		t.Errorf("outbox folder: %v, %v", fi, err)
	}
}

// umask returns the process umask without changing it for long.
func umask(t *testing.T) os.FileMode {
	t.Helper()
	probe := filepath.Join(t.TempDir(), "probe")
	if err := os.Mkdir(probe, 0o777); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(probe)
	if err != nil {
		t.Fatal(err)
	}
	return 0o777 &^ fi.Mode().Perm()
}
