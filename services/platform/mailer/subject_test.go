package mailer

import (
	"bytes"
	"mime"
	"net/mail"
	"strings"
	"testing"
	"time"
)

// A subject is written so that its first word sits on the Subject: line
// (never a line break right after the colon, which some clients show as a
// leading space), every line within 76 characters, and it reads back as
// written.
func TestSubjectOnItsLine(t *testing.T) {
	from, err := parseFrom("Métropole <ne-pas-repondre@example.org>")
	if err != nil {
		t.Fatal(err)
	}
	for _, subject := range []string{
		"Bonjour",
		"Accusé de réception de votre demande — code JVD0-PGQN-831Q",
		"Votre dossier AMP-2026-000123 devient le dossier AMP-2026-000456 : lisez ceci avant de rappeler le service",
		"Question = réponse ? 100 % _ souligné",
		"Avis d'état : votre demande est résolue 🎉",
		strings.Repeat("é", 200),
		"",
	} {
		msg, err := compose(from, Message{To: "lea@example.net", Subject: subject, Body: "x"}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		var raw bytes.Buffer
		if _, err := msg.WriteTo(&raw); err != nil {
			t.Fatal(err)
		}
		head, _, _ := strings.Cut(raw.String(), "\r\n\r\n")
		i := strings.Index(head, "Subject:")
		if i < 0 {
			t.Fatalf("%q: no Subject header:\n%s", subject, head)
		}
		if subject != "" && strings.HasPrefix(head[i:], "Subject:\r\n") {
			t.Errorf("%q: folded right after the colon:\n%s", subject, head)
		}
		for _, line := range strings.Split(head, "\r\n") {
			if len(line) > 78 {
				t.Errorf("%q: line of %d characters: %s", subject, len(line), line)
			}
		}
		m, err := mail.ReadMessage(strings.NewReader(raw.String()))
		if err != nil {
			t.Fatal(err)
		}
		got, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
		if err != nil {
			t.Fatal(err)
		}
		if got != subject {
			t.Errorf("subject read back %q, want %q", got, subject)
		}
	}
}
