package sms

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

	"github.com/ampmetropole/guichet/services/platform/fault"
)

// newTestOutbox returns an outbox in a fresh folder whose clock starts at
// start and moves one second per message.
func newTestOutbox(t *testing.T, start time.Time) *Outbox {
	t.Helper()
	o, err := NewOutbox(filepath.Join(t.TempDir(), "outbox"))
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
	sent := []struct {
		m      Message
		text   string
		coding Coding
		parts  int
	}{
		{Message{To: "+33612345678", Text: "Votre demande a été reçue. À bientôt !"}, "Votre demande a été recue. A bientot !", GSM7, 1},
		{Message{To: "+33756123456", Text: "Merci 🙂 " + strings.Repeat("ж", 80)}, "Merci 🙂 " + strings.Repeat("ж", 80), UCS2, 2},
		{Message{To: "+262692123456", Text: strings.Repeat("Rendez-vous le 3 [salle B]. ", 8)}, strings.Repeat("Rendez-vous le 3 [salle B]. ", 8), GSM7, 2},
	}
	for _, s := range sent {
		if err := o.Send(ctx, s.m); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	got, err := o.List(ctx, 10)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(got) != len(sent) {
		t.Fatalf("List returned %d messages, want %d", len(got), len(sent))
	}
	for i, st := range got {
		want := sent[len(sent)-1-i] // newest first
		if st.To != want.m.To || st.Text != want.text || st.Coding != want.coding || st.Parts != want.parts {
			t.Errorf("message %d: got %+v, want %+v", i, st, want)
		}
		if wantAt := start.Add(time.Duration(len(sent)-i) * time.Second); !st.At.Equal(wantAt) {
			t.Errorf("message %d: At %v, want %v", i, st.At, wantAt)
		}
		if !validID(st.ID) || !strings.HasPrefix(st.ID, st.At.Format("20060102T150405")) {
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
	// The file is the JSON the brief asks for, and nothing is left behind.
	entries, err := os.ReadDir(o.dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(sent) {
		t.Errorf("folder holds %d entries, want %d", len(entries), len(sent))
	}
	raw, err := os.ReadFile(filepath.Join(o.dir, got[len(got)-1].ID+".json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{`"to": "+33612345678"`, `"text": "Votre demande a été recue. A bientot !"`, `"encoding": "GSM-7"`, `"parts": 1`, `"at": "2026-03-14T09:26:54Z"`} {
		if !strings.Contains(string(raw), field) {
			t.Errorf("file lacks %s:\n%s", field, raw)
		}
	}
}

func TestOutboxRefusesBadMessages(t *testing.T) {
	ctx := context.Background()
	o := newTestOutbox(t, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	tests := []struct {
		name string
		m    Message
		want string
	}{
		{"landline", Message{To: "+33491123456", Text: "Bonjour"}, "n'est pas un mobile"},
		{"national number", Message{To: "0612345678", Text: "Bonjour"}, "E.164"},
		{"empty text", Message{To: "+33612345678", Text: " "}, "vide"},
		{"too long", Message{To: "+33612345678", Text: strings.Repeat("a", 919)}, "trop long"},
	}
	for _, tt := range tests {
		err := o.Send(ctx, tt.m)
		if fault.KindOf(err) != fault.Invalid || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Send = %v, want fault.Invalid saying %q", tt.name, err, tt.want)
		}
	}
	if entries, err := os.ReadDir(o.dir); err != nil || len(entries) != 0 {
		t.Errorf("refused messages left %d files (%v)", len(entries), err)
	}
}

func TestOutboxGetRefusesBadIDs(t *testing.T) {
	ctx := context.Background()
	o := newTestOutbox(t, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	// A file outside the outbox that a traversal would reach.
	secret := `{"to":"+33612345678","text":"secret","encoding":"GSM-7","parts":1,"at":"2026-01-01T00:00:00Z"}`
	if err := os.WriteFile(filepath.Join(filepath.Dir(o.dir), "secret.json"), []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		id   string
		want fault.Kind
	}{
		{"../secret", fault.Invalid},
		{"", fault.Invalid},
		{"20260101T000000.000000000Z-deadbee", fault.Invalid},
		{"20260101T000000.000000000Z-DEADBEEF", fault.Invalid},
		{"20260101T000000.000000000Z-deadbeef.json", fault.Invalid},
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
	if err := o.Send(ctx, Message{To: "+33612345678", Text: "Le bon"}); err != nil {
		t.Fatal(err)
	}
	// Newer names than the good message, so that List meets them first.
	garbage := "20991231T235959.999999999Z-00000000"
	big := "20991231T235959.999999999Z-00000001"
	wrong := "20991231T235959.999999999Z-00000002"
	link := "20991231T235959.999999999Z-00000004"
	files := map[string][]byte{
		garbage + ".json": []byte("ceci n'est pas du JSON\x00\xff"),
		big + ".json":     []byte(`{"text":"` + strings.Repeat("x", maxStoredSize) + `"}`),
		wrong + ".json":   []byte(`{"to":"+33612345678","text":"x","encoding":"latin1","parts":1,"at":"2026-01-01T00:00:00Z"}`),
		"notes.txt":       []byte(`{}`),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(o.dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(o.dir, "20991231T235959.999999999Z-00000003.json"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(o.dir, "notes.txt"), filepath.Join(o.dir, link+".json")); err != nil {
		t.Fatal(err)
	}
	got, err := o.List(ctx, 10)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(got) != 1 || got[0].Text != "Le bon" {
		t.Fatalf("List = %+v, want only the good message", got)
	}
	for _, tt := range []struct {
		id   string
		want fault.Kind
	}{
		{garbage, fault.Other},
		{big, fault.TooLarge},
		{wrong, fault.Other},
		{"20991231T235959.999999999Z-00000003", fault.NotFound},
		{link, fault.NotFound},
	} {
		if _, err := o.Get(ctx, tt.id); err == nil || fault.KindOf(err) != tt.want {
			t.Errorf("Get(%s) = %v (kind %v), want kind %v", tt.id, err, fault.KindOf(err), tt.want)
		}
	}
}

func TestOutboxCancelledAndLimits(t *testing.T) {
	o := newTestOutbox(t, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := o.Send(ctx, Message{To: "+33612345678", Text: "x"}); !errors.Is(err, context.Canceled) || fault.KindOf(err) != fault.Transient {
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
	if _, err := NewOutbox(""); fault.KindOf(err) != fault.Invalid {
		t.Errorf("NewOutbox(\"\") = %v, want kind invalid", err)
	}
}

func TestOutboxConcurrentSends(t *testing.T) {
	ctx := context.Background()
	o, err := NewOutbox(t.TempDir()) // the real clock
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			errs <- o.Send(ctx, Message{To: "+33612345678", Text: fmt.Sprintf("message n %d", i)})
		})
	}
	wg.Wait()
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
		seen[st.Text] = true
		if i > 0 && got[i-1].ID <= st.ID {
			t.Errorf("not newest first: %s before %s", got[i-1].ID, st.ID)
		}
	}
	if len(seen) != n {
		t.Errorf("%d distinct texts, want %d", len(seen), n)
	}
}

func TestParseStored(t *testing.T) {
	const ok = `{"to":"+33612345678","text":"Bonjour","encoding":"GSM-7","parts":1,"at":"2026-01-01T10:00:00+01:00"}`
	st, err := parseStored("id", []byte(ok))
	if err != nil {
		t.Fatal(err)
	}
	want := Stored{ID: "id", To: "+33612345678", Text: "Bonjour", Coding: GSM7, Parts: 1, At: time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)}
	if !reflect.DeepEqual(st, want) {
		t.Errorf("parseStored = %+v, want %+v", st, want)
	}
	for _, bad := range []string{
		``,
		`[]`,
		`{}`,
		ok + ` {}`,
		`{"to":"33612345678","text":"Bonjour","encoding":"GSM-7","parts":1,"at":"2026-01-01T10:00:00Z"}`,
		`{"to":"+33612345678","text":"","encoding":"GSM-7","parts":1,"at":"2026-01-01T10:00:00Z"}`,
		`{"to":"+33612345678","text":"Bonjour","encoding":"UTF-8","parts":1,"at":"2026-01-01T10:00:00Z"}`,
		`{"to":"+33612345678","text":"Bonjour","encoding":"GSM-7","parts":7,"at":"2026-01-01T10:00:00Z"}`,
		`{"to":"+33612345678","text":"Bonjour","encoding":"GSM-7","parts":0,"at":"2026-01-01T10:00:00Z"}`,
		`{"to":"+33612345678","text":"Bonjour","encoding":"GSM-7","parts":1}`,
	} {
		if _, err := parseStored("id", []byte(bad)); err == nil {
			t.Errorf("parseStored(%s) accepted", bad)
		}
	}
}

// FuzzParseStored: an outbox file is outside input (whatever is in the
// folder). parseStored never panics, and what it accepts holds its rules.
func FuzzParseStored(f *testing.F) {
	f.Add([]byte(`{"to":"+33612345678","text":"Bonjour","encoding":"GSM-7","parts":1,"at":"2026-01-01T10:00:00Z"}`))
	f.Add([]byte(`{"to":"+33612345678","text":"🙂","encoding":"UCS-2","parts":6,"at":"2026-01-01T10:00:00.123+02:00"}`))
	f.Add([]byte(`{"to":1}`))
	f.Add([]byte("\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := parseStored("id", data)
		if err != nil {
			return
		}
		if st.To == "" || st.To[0] != '+' || st.Text == "" || (st.Coding != GSM7 && st.Coding != UCS2) ||
			st.Parts < 1 || st.Parts > MaxParts || st.At.IsZero() || st.At.Location() != time.UTC {
			t.Fatalf("parseStored accepted %+v", st)
		}
	})
}
