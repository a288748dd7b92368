package mailer

import (
	"bytes"
	"net/mail"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ampmetropole/guichet/services/platform/fault"
)

// crlf turns "\n" into "\r\n", to write test messages legibly.
func crlf(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

func TestParseStored(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want Stored // ID is "id"; Headers nil means empty
	}{
		{
			name: "single part, base64, encoded subject and names",
			in: crlf(`From: =?utf-8?q?M=C3=A9tropole?= <ne-pas-repondre@ampmetropole.fr>
To: =?UTF-8?B?TMOpYSBNYXJ0aW5leg==?= <lea@example.net>
Subject: =?ISO-8859-1?Q?Accus=E9_de_r=E9ception?=
Date: Sat, 14 Mar 2026 10:26:53 +0100
X-Guichet-Request-Id: =?utf-8?q?r=C3=A9f-1?=
X-Other: ignored
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: base64

Qm9uam91ciBMw6lhLAoKw4AgYmllbnTDtHQuCg==
`),
			want: Stored{From: "Métropole <ne-pas-repondre@ampmetropole.fr>", To: "Léa Martinez <lea@example.net>",
				Subject: "Accusé de réception", Date: time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC),
				Body: "Bonjour Léa,\n\nÀ bientôt.", Headers: map[string]string{"X-Guichet-Request-Id": "réf-1"}},
		},
		{
			name: "no content type: 7bit text",
			in:   crlf("Subject: plain\n\nline 1\nline 2\n"),
			want: Stored{Subject: "plain", Body: "line 1\nline 2"},
		},
		{
			name: "multipart/alternative, html first, quoted-printable text",
			in: crlf(`Subject: alt
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="b1"

preamble
--b1
Content-Type: text/html; charset=utf-8

<p>HTML</p>
--b1
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Voil=C3=A0 une ligne tr=C3=A8s longue coup=C3=A9e par un saut de ligne dou=
x.
--b1--
`),
			want: Stored{Subject: "alt", Body: "Voilà une ligne très longue coupée par un saut de ligne doux."},
		},
		{
			name: "multipart/mixed holding multipart/alternative",
			in: crlf(`Subject: nested
Content-Type: multipart/mixed; boundary=outer

--outer
Content-Type: multipart/alternative; boundary=inner

--inner
Content-Type: text/plain; charset=us-ascii

inner text
--inner--
--outer
Content-Type: text/plain

second text
--outer--
`),
			want: Stored{Subject: "nested", Body: "inner text"},
		},
		{
			name: "address that does not parse is kept as text",
			in:   crlf("To: not an address\nSubject: =?x-unknown?q?abc?=\n\nbody\n"),
			want: Stored{To: "not an address", Subject: "=?x-unknown?q?abc?=", Body: "body"},
		},
		{
			name: "CRLF and bare CR in body",
			in:   []byte("Subject: s\r\n\r\na\r\nb\rc\r\n"),
			want: Stored{Subject: "s", Body: "a\nb\nc"},
		},
	}
	for _, tt := range tests {
		got, err := parseStored("id", tt.in)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		tt.want.ID = "id"
		if tt.want.Headers == nil {
			tt.want.Headers = map[string]string{}
		}
		if !got.Date.Equal(tt.want.Date) {
			t.Errorf("%s: Date %v, want %v", tt.name, got.Date, tt.want.Date)
		}
		got.Date, tt.want.Date = time.Time{}, time.Time{}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s:\n got  %#v\n want %#v", tt.name, got, tt.want)
		}
	}
}

func TestParseStoredErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		kind fault.Kind
	}{
		{"empty", nil, fault.Other},
		{"not a message", []byte("garbage\x00\xff"), fault.Other},
		{"too large", append(crlf("Subject: x\n\n"), bytes.Repeat([]byte("x"), maxStoredSize)...), fault.TooLarge},
		{"html only", crlf("Content-Type: text/html\n\n<p>x</p>\n"), fault.Other},
		{"bad content type", crlf("Content-Type: text/plain; charset\n\nx\n"), fault.Other},
		{"multipart without boundary", crlf("Content-Type: multipart/mixed\n\nx\n"), fault.Other},
		{"multipart without text", crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: image/png\n\nx\n--b--\n"), fault.Other},
		{"unterminated multipart", crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: image/png\n\nx\n"), fault.Other},
		{"unknown transfer encoding", crlf("Content-Transfer-Encoding: x-uuencode\n\nx\n"), fault.Other},
		{"unsupported charset", crlf("Content-Type: text/plain; charset=koi8-r\n\nx\n"), fault.Other},
		{"bad base64", crlf("Content-Transfer-Encoding: base64\n\n!!!!\n"), fault.Other},
		{"multipart too deep", deepMultipart(maxPartDepth + 1), fault.Other},
	}
	for _, tt := range tests {
		st, err := parseStored("id", tt.in)
		if err == nil || fault.KindOf(err) != tt.kind {
			t.Errorf("%s: parseStored = %+v, %v (kind %v); want an error of kind %v", tt.name, st, err, fault.KindOf(err), tt.kind)
		}
	}
	if _, err := parseStored("id", deepMultipart(maxPartDepth)); err != nil {
		t.Errorf("multipart %d deep: %v", maxPartDepth, err)
	}
}

// deepMultipart nests n multipart entities around a text/plain one.
func deepMultipart(n int) []byte {
	var b strings.Builder
	b.WriteString("Subject: deep\n")
	for i := range n {
		b.WriteString("Content-Type: multipart/mixed; boundary=b" + strings.Repeat("x", i) + "\n\n--b" + strings.Repeat("x", i) + "\n")
	}
	b.WriteString("Content-Type: text/plain\n\ntext\n")
	for i := n - 1; i >= 0; i-- {
		b.WriteString("--b" + strings.Repeat("x", i) + "--\n")
	}
	return crlf(b.String())
}

// composed returns m as the outbox and SMTP write it.
func composed(t testing.TB, m Message) []byte {
	t.Helper()
	from, err := mail.ParseAddress(testFrom)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := compose(from, m, time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := msg.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func FuzzParseStored(f *testing.F) {
	f.Add(composed(f, Message{To: "lea@example.net", Subject: "Accusé — réception", Body: "Bonjour Léa,\n\nÀ bientôt.\n",
		Headers: map[string]string{"X-Guichet-Request-Id": "019ac4e2"}}))
	f.Add(crlf("Content-Type: multipart/alternative; boundary=b\n\n--b\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\nVoil=C3=A0=\n\n--b--\n"))
	f.Add(crlf("Subject: =?utf-8?b?w6k=?=\nContent-Transfer-Encoding: base64\n\nw6k=\n"))
	f.Add(deepMultipart(3))
	f.Add([]byte("garbage\x00\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := parseStored("id", data)
		if err != nil {
			return
		}
		for name, s := range map[string]string{"From": st.From, "To": st.To, "Subject": st.Subject, "Body": st.Body} {
			if !utf8.ValidString(s) {
				t.Fatalf("%s is not valid UTF-8: %q", name, s)
			}
		}
		if strings.ContainsRune(st.Body, '\r') {
			t.Fatalf("body keeps a carriage return: %q", st.Body)
		}
		if st.Headers == nil || len(st.Body) > maxStoredSize {
			t.Fatalf("headers %v, body of %d bytes", st.Headers, len(st.Body))
		}
		for name, v := range st.Headers {
			if !strings.HasPrefix(name, "X-Guichet-") || !utf8.ValidString(v) {
				t.Fatalf("header %q: %q", name, v)
			}
		}
	})
}
