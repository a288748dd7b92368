package email

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/ampmetropole/guichet/services/platform/fault"
)

func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

const plainQP = `From: =?UTF-8?Q?L=C3=A9a_Martinez?= <Lea.Martinez@example.net>
To: courrier@ampmetropole.fr
Subject: =?UTF-8?Q?Nid-de-poule_rue_Paradis?=
Date: Fri, 27 Nov 2026 09:14:05 +0100
Message-ID: <abc123@example.net>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Bonjour, un trou profond devant le 112 rue Paradis, 13006 Marseille.
Dossier AMP-2026-004213. Merci d'intervenir rapidement =C3=A0 cet endroit.
`

func TestParse(t *testing.T) {
	latin1 := "From: Roger <roger@example.com>\nSubject: =?ISO-8859-1?Q?=C9clairage?=\nContent-Type: text/plain; charset=ISO-8859-1\nContent-Transfer-Encoding: 8bit\n\nLe lampadaire est \xe9teint depuis lundi \xe0 Aubagne.\n"
	cp1252 := "From: Karim <karim@example.org>\nSubject: Facture\nContent-Type: text/plain; charset=windows-1252\n\nL\x92eau co\xfbte 12 \x80 de trop.\n"
	htmlOnly := "From: a@example.org\nSubject: HTML\nContent-Type: text/html; charset=utf-8\n\n<html><head><style>p{}</style></head><body><p>Bonjour&nbsp;!</p><script>alert(1)</script><p>Le bac &eacute;tait <b>cass&eacute;</b>.</p></body></html>\n"
	alternative := "From: b@example.org\nSubject: Alt\nContent-Type: multipart/alternative; boundary=XX\n\n--XX\nContent-Type: text/plain; charset=utf-8\n\nTexte brut.\n--XX\nContent-Type: text/html; charset=utf-8\n\n<p>Texte HTML.</p>\n--XX--\n"
	pdf := base64.StdEncoding.EncodeToString([]byte("%PDF-1.4 fake\n%%EOF\n"))
	withPDF := "From: c@example.org\nSubject: Scan\nContent-Type: multipart/mixed; boundary=YY\n\n--YY\nContent-Type: text/plain\n\nVoir le scan.\n--YY\nContent-Type: application/pdf; name=\"scan.pdf\"\nContent-Disposition: attachment; filename=\"scan-0001.pdf\"\nContent-Transfer-Encoding: base64\n\n" + pdf + "\n--YY--\n"
	tests := []struct {
		name, raw               string
		from, fromName, subject string
		text                    string
		attachments             int
	}{
		{"UTF-8 quoted-printable", plainQP, "lea.martinez@example.net", "Léa Martinez", "Nid-de-poule rue Paradis", "rapidement à cet endroit", 0},
		{"ISO-8859-1", latin1, "roger@example.com", "Roger", "Éclairage", "est éteint depuis lundi à Aubagne", 0},
		{"Windows-1252", cp1252, "karim@example.org", "Karim", "Facture", "L’eau coûte 12 € de trop", 0},
		{"HTML only", htmlOnly, "a@example.org", "", "HTML", "Bonjour !\n\nLe bac était cassé.", 0},
		{"alternative prefers plain", alternative, "b@example.org", "", "Alt", "Texte brut.", 0},
		{"attachment", withPDF, "c@example.org", "", "Scan", "Voir le scan.", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse(strings.NewReader(crlf(tt.raw)), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if m.FromAddress != tt.from || m.FromName != tt.fromName || m.Subject != tt.subject || !strings.Contains(m.Text, tt.text) || len(m.Attachments) != tt.attachments {
				t.Fatalf("got %+v", m)
			}
			if strings.Contains(m.Text, "alert") {
				t.Error("script text kept")
			}
		})
	}
	m, _ := Parse(strings.NewReader(crlf(withPDF)), Limits{})
	if a := m.Attachments[0]; a.Name != "scan-0001.pdf" || a.ContentType != "application/pdf" || !strings.HasPrefix(string(a.Data), "%PDF-1.4") {
		t.Errorf("attachment %+v", a)
	}
	m, _ = Parse(strings.NewReader(crlf(plainQP)), Limits{})
	if m.MessageID != "abc123@example.net" || m.Date.Year() != 2026 {
		t.Errorf("id %q date %v", m.MessageID, m.Date)
	}
}

func TestParseRefuses(t *testing.T) {
	var many strings.Builder
	many.WriteString("From: d@example.org\nContent-Type: multipart/mixed; boundary=ZZ\n\n")
	for i := range 200 {
		fmt.Fprintf(&many, "--ZZ\nContent-Type: application/octet-stream; name=\"f%d.bin\"\nContent-Disposition: attachment\n\nx\n", i)
	}
	many.WriteString("--ZZ--\n")
	tests := []struct {
		name string
		raw  string
		l    Limits
		kind fault.Kind
	}{
		{"200 attachments", many.String(), Limits{}, fault.TooLarge},
		{"over the size limit", plainQP, Limits{MaxBytes: 100}, fault.TooLarge},
		{"multipart without boundary", "From: e@example.org\nContent-Type: multipart/mixed\n\nbody\n", Limits{}, fault.Invalid},
		{"header without colon", "this is not a header line\n\nbody", Limits{}, fault.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(crlf(tt.raw)), tt.l)
			if fault.KindOf(err) != tt.kind {
				t.Fatalf("got %v (kind %v), want %v", err, fault.KindOf(err), tt.kind)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(crlf(plainQP)))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=A\r\n\r\n--A\r\n\r\nx\r\n--A--\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		_, _ = Parse(strings.NewReader(string(raw)), Limits{MaxBytes: 1 << 20, MaxParts: 20})
	})
}

// Messages a machine sent (absence replies, delivery failures, lists) are
// told from a person's, who may well write "je suis absent" themselves.
func TestAutomatic(t *testing.T) {
	person := "From: Léa <lea@example.net>\nSubject: Absent\nContent-Type: text/plain\n\nJe suis absente du 3 au 10, le lampadaire est toujours éteint.\n"
	tests := []struct {
		name, headers, want string
	}{
		{"a person", "", ""},
		{"a person says no", "Auto-Submitted: no\n", ""},
		{"absence reply", "Auto-Submitted: auto-replied\n", "Auto-Submitted: auto-replied"},
		{"generated with a comment", "Auto-Submitted: auto-generated; owner-email=\"x@example.net\"\n", "Auto-Submitted: auto-generated"},
		{"precedence bulk", "Precedence: bulk\n", "Precedence: bulk"},
		{"precedence list", "Precedence: List\n", "Precedence: list"},
		{"X-Autoreply", "X-Autoreply: yes\n", "X-Autoreply"},
		{"mailing list", "List-Id: <voisins.example.net>\n", "List-Id"},
		{"bounce path", "Return-Path: <>\n", "Return-Path: <>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse(strings.NewReader(crlf(tt.headers+person)), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if m.Automatic != tt.want {
				t.Errorf("Automatic = %q, want %q", m.Automatic, tt.want)
			}
		})
	}
	bounce := "From: MAILER-DAEMON@mx.example.net\nSubject: Undelivered Mail\nContent-Type: multipart/report; report-type=delivery-status; boundary=B\n\n--B\nContent-Type: text/plain\n\nÉchec de remise.\n--B--\n"
	if m, err := Parse(strings.NewReader(crlf(bounce)), Limits{}); err != nil || m.Automatic == "" {
		t.Errorf("bounce: %q, %v", m.Automatic, err)
	}
}
