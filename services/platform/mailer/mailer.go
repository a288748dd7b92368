// Package mailer owns Guichet's outgoing e-mail: it composes plain-text
// UTF-8 messages (with go-mail) and either sends them through an SMTP server
// (SMTP) or, in development, writes them as .eml files to a folder (Outbox)
// and reads them back for a page that lists them.
//
// The caller writes the text; this package only shapes it into RFC 5322 /
// MIME and delivers it. Errors carry a fault kind: fault.Invalid for a
// message or configuration that can never work, fault.Transient for a
// delivery that may work later, fault.Permanent for a message the server
// refused for good.
package mailer

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/mail"
	"net/textproto"
	"slices"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/ampmetropole/guichet/services/platform/fault"
)

// Message is one outgoing plain-text e-mail.
type Message struct {
	To      string            // one address, already validated by the caller
	Subject string            // UTF-8, may contain accents
	Body    string            // text/plain; charset=utf-8, may contain accents
	Headers map[string]string // extra headers, e.g. "X-Guichet-Request-Id"; optional
}

// maxStoredSize bounds an .eml file read back from the outbox, and what the
// outbox agrees to write.
const maxStoredSize = 1 << 20

// parseFrom checks a sender address given in configuration.
func parseFrom(from string) (*mail.Address, error) {
	if strings.TrimSpace(from) == "" {
		return nil, fault.E(fault.Invalid, errors.New("From is empty"))
	}
	a, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fault.E(fault.Invalid, fmt.Errorf("From %q is not a valid address: %w", from, err))
	}
	return a, nil
}

// CheckRecipient says whether to is one address this package can send to:
// what the case store checks before it records a reply to send, so that a
// reply is refused when written, not dead-lettered later. Errors are
// fault.Invalid, in French.
func CheckRecipient(to string) error {
	if strings.TrimSpace(to) == "" {
		return fault.E(fault.Invalid, errors.New("destinataire vide"))
	}
	if strings.ContainsAny(to, "\r\n\x00") {
		return fault.E(fault.Invalid, errors.New("adresse du destinataire sur plusieurs lignes"))
	}
	list, err := mail.ParseAddressList(to)
	if err != nil {
		return fault.E(fault.Invalid, fmt.Errorf("adresse électronique du destinataire invalide : %q", to))
	}
	if len(list) != 1 {
		return fault.E(fault.Invalid, errors.New("une seule adresse électronique de destinataire, pas plusieurs"))
	}
	return nil
}

// CheckSubject says whether a subject can be sent: one line, no NUL.
func CheckSubject(subject string) error {
	if strings.ContainsAny(subject, "\r\n\x00") {
		return fault.E(fault.Invalid, errors.New("l'objet doit tenir sur une ligne"))
	}
	return nil
}

// compose builds the go-mail message for m, sent by from at now. Errors are
// fault.Invalid: the message itself is wrong.
func compose(from *mail.Address, m Message, now time.Time) (*gomail.Msg, error) {
	if err := CheckRecipient(m.To); err != nil {
		return nil, err
	}
	if err := CheckSubject(m.Subject); err != nil {
		return nil, err
	}
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	sender := *from
	msg.FromMailAddress(&sender)
	if err := msg.To(m.To); err != nil {
		return nil, fault.E(fault.Invalid, fmt.Errorf("recipient %q is not a valid address: %w", m.To, err))
	}
	names := make([]string, 0, len(m.Headers))
	for name := range m.Headers {
		names = append(names, name)
	}
	slices.Sort(names)
	seen := make(map[string]bool, len(names))
	for _, name := range names {
		canon, err := headerName(name)
		if err != nil {
			return nil, err
		}
		if seen[canon] {
			return nil, fault.E(fault.Invalid, fmt.Errorf("header %q is given twice", canon))
		}
		seen[canon] = true
		value := m.Headers[name]
		if strings.ContainsAny(value, "\r\n") {
			return nil, fault.E(fault.Invalid, fmt.Errorf("header %q contains a line break", canon))
		}
		msg.SetGenHeader(gomail.Header(canon), value)
	}
	msg.SetGenHeaderPreformatted(gomail.HeaderSubject, encodeSubject(m.Subject))
	msg.SetDateWithValue(now)
	msg.SetMessageIDWithValue(rand.Text() + "@" + domainOf(from.Address))
	// Every line of a text body ends with a line break on the wire; the
	// extra one added here is removed when reading back, so that a body
	// round-trips whether or not it ended with a line break.
	msg.SetBodyString(gomail.TypeTextPlain, normalizeNewlines(m.Body)+"\n")
	return msg, nil
}

// encodeSubject writes a subject as RFC 2047 encoded words, folded so that
// the first stays on the "Subject:" line: folded straight after the colon,
// as the mail library does with a long first word, the subject reads with a
// leading space in some mail clients. A short ASCII subject is left as is.
func encodeSubject(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e || s[i] == '=' || s[i] == '?' {
			ascii = false
			break
		}
	}
	if ascii && len("Subject: ")+len(s) <= 76 {
		return s
	}
	const open, end = "=?UTF-8?q?", "?="
	limit := 76 - len("Subject: ") // the first line; the next ones start with a space
	var words []string
	var w strings.Builder
	for _, r := range s {
		var enc strings.Builder
		for _, b := range []byte(string(r)) {
			switch {
			case b == ' ':
				enc.WriteByte('_')
			case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9', strings.IndexByte("!*+-/", b) >= 0:
				enc.WriteByte(b)
			default:
				fmt.Fprintf(&enc, "=%02X", b)
			}
		}
		// A character's bytes stay in one word: a word is whole UTF-8.
		if w.Len() > 0 && len(open)+w.Len()+enc.Len()+len(end) > limit {
			words = append(words, open+w.String()+end)
			w.Reset()
			limit = 76 - 1
		}
		w.WriteString(enc.String())
	}
	if w.Len() > 0 || len(words) == 0 {
		words = append(words, open+w.String()+end)
	}
	return strings.Join(words, "\r\n ")
}

// headerName checks an extra header name and returns its canonical form.
// Address headers and the headers that give the message its structure
// belong to this package.
func headerName(name string) (string, error) {
	if name == "" || len(name) > 76 {
		return "", fault.E(fault.Invalid, fmt.Errorf("header name %q: empty or too long", name))
	}
	for i := 0; i < len(name); i++ {
		// RFC 5322 field-name: printable US-ASCII except colon.
		if c := name[i]; c < 33 || c > 126 || c == ':' {
			return "", fault.E(fault.Invalid, fmt.Errorf("header name %q: invalid character", name))
		}
	}
	canon := textproto.CanonicalMIMEHeaderKey(name)
	switch canon {
	case "From", "To", "Cc", "Bcc", "Sender", "Reply-To", "Subject", "Date", "Message-Id",
		"Mime-Version", "Return-Path", "Received":
		return "", fault.E(fault.Invalid, fmt.Errorf("header %q is set by the mailer, not by the caller", canon))
	}
	if strings.HasPrefix(canon, "Content-") {
		return "", fault.E(fault.Invalid, fmt.Errorf("header %q is set by the mailer, not by the caller", canon))
	}
	return canon, nil
}

// domainOf returns the domain of an address, for Message-IDs.
func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 && i+1 < len(addr) {
		return addr[i+1:]
	}
	return "localhost"
}

// normalizeNewlines turns CRLF and lone CR into LF.
func normalizeNewlines(s string) string {
	if !strings.ContainsRune(s, '\r') {
		return s
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\r", "\n")
}
