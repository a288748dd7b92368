// Package email reads an incoming e-mail message (RFC 5322, MIME): who sent
// it, its subject and date, its text — from the plain part, or from the HTML
// part turned into text — and its attachments, in every charset real mail
// uses (go-message's charset tables: ISO-8859-1, Windows-1252…). Everything
// it reads is bounded: message size, number of parts, nesting.
package email

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"
	"time"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // decode the charsets letters and e-mails use
	"github.com/emersion/go-message/mail"
	"golang.org/x/net/html"

	"github.com/ampmetropole/guichet/services/platform/fault"
)

// Limits bound the work on one message.
type Limits struct {
	MaxBytes int64 // whole message; default 30 MiB
	MaxParts int   // parts read, attachments included; default 50
}

func (l *Limits) setDefaults() {
	if l.MaxBytes <= 0 {
		l.MaxBytes = 30 << 20
	}
	if l.MaxParts <= 0 {
		l.MaxParts = 50
	}
}

// Attachment is a file carried by the message.
type Attachment struct {
	Name        string
	ContentType string // as declared; check the content before trusting it
	Data        []byte
}

// Message is an e-mail as Guichet needs it.
type Message struct {
	MessageID   string
	FromName    string
	FromAddress string
	Subject     string
	Date        time.Time
	Text        string
	Attachments []Attachment
	// Automatic says why the message was sent by a machine — an absence
	// reply, a delivery failure, a mailing list (RFC 3834) — and is empty
	// for a message a person wrote. Nobody answers those: answering an
	// absence reply with an acknowledgement is how mail loops start.
	Automatic string
}

// Parse reads one message. A malformed message, one over the limits or in
// an unknown charset is refused with an error of kind fault.Invalid or
// fault.TooLarge saying why.
func Parse(r io.Reader, l Limits) (Message, error) {
	l.setDefaults()
	raw, err := io.ReadAll(io.LimitReader(r, l.MaxBytes+1))
	if err != nil {
		return Message{}, fmt.Errorf("email: read: %w", err)
	}
	if int64(len(raw)) > l.MaxBytes {
		return Message{}, fault.E(fault.TooLarge, fmt.Errorf("email: message de plus de %d octets", l.MaxBytes))
	}
	mr, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil && !message.IsUnknownCharset(err) {
		return Message{}, fault.E(fault.Invalid, fmt.Errorf("email: message mal formé : %w", err))
	}
	if mr == nil {
		return Message{}, fault.E(fault.Invalid, fmt.Errorf("email: message illisible : %w", err))
	}
	defer mr.Close()
	var m Message
	h := mr.Header
	m.MessageID, _ = h.MessageID()
	m.Subject, _ = h.Subject()
	m.Date, _ = h.Date()
	if from, err := h.AddressList("From"); err == nil && len(from) > 0 {
		m.FromName, m.FromAddress = from[0].Name, strings.ToLower(from[0].Address)
	}
	m.Automatic = automatic(h, m.FromAddress)
	var plain, htmlText []string
	budget := l.MaxBytes
	for parts := 0; ; parts++ {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil && !message.IsUnknownCharset(err) {
			return m, fault.E(fault.Invalid, fmt.Errorf("email: partie %d mal formée : %w", parts+1, err))
		}
		if parts >= l.MaxParts {
			return m, fault.E(fault.TooLarge, fmt.Errorf("email: plus de %d parties", l.MaxParts))
		}
		body, err := io.ReadAll(io.LimitReader(p.Body, budget+1))
		if err != nil {
			return m, fault.E(fault.Invalid, fmt.Errorf("email: partie %d illisible : %w", parts+1, err))
		}
		// Decoding (base64, quoted-printable, a zip bomb in disguise) must
		// not grow past the message's own bound.
		if budget -= int64(len(body)); budget < 0 {
			return m, fault.E(fault.TooLarge, fmt.Errorf("email: contenu décodé de plus de %d octets", l.MaxBytes))
		}
		switch ph := p.Header.(type) {
		case *mail.InlineHeader:
			ct, _, _ := ph.ContentType()
			switch ct {
			case "text/plain", "":
				plain = append(plain, string(body))
			case "text/html":
				htmlText = append(htmlText, HTMLToText(string(body)))
			default:
				name := partName(ph.Header)
				m.Attachments = append(m.Attachments, Attachment{Name: name, ContentType: ct, Data: body})
			}
		case *mail.AttachmentHeader:
			name, _ := ph.Filename()
			if name == "" {
				name = partName(ph.Header)
			}
			ct, _, _ := ph.ContentType()
			m.Attachments = append(m.Attachments, Attachment{Name: name, ContentType: ct, Data: body})
		}
	}
	switch {
	case len(plain) > 0:
		m.Text = strings.TrimSpace(strings.Join(plain, "\n\n"))
	default:
		m.Text = strings.TrimSpace(strings.Join(htmlText, "\n\n"))
	}
	return m, nil
}

// partName names an inline part from its Content-Type "name" parameter.
// automatic tells a message a machine sent, from the headers RFC 3834 and
// the common mail servers set: why, or "" for a person's message.
func automatic(h mail.Header, from string) string {
	if v := strings.ToLower(strings.TrimSpace(h.Get("Auto-Submitted"))); v != "" {
		if kind, _, _ := strings.Cut(v, ";"); strings.TrimSpace(kind) != "no" {
			return "Auto-Submitted: " + strings.TrimSpace(kind)
		}
	}
	switch v := strings.ToLower(strings.TrimSpace(h.Get("Precedence"))); v {
	case "bulk", "junk", "list", "auto_reply":
		return "Precedence: " + v
	}
	for _, k := range []string{"X-Autoreply", "X-Autorespond", "List-Id", "List-Unsubscribe"} {
		if h.Get(k) != "" {
			return k
		}
	}
	if strings.TrimSpace(h.Get("Return-Path")) == "<>" {
		return "Return-Path: <>"
	}
	if ct, _, _ := h.ContentType(); ct == "multipart/report" {
		return "Content-Type: multipart/report"
	}
	local, _, _ := strings.Cut(from, "@")
	switch local {
	case "mailer-daemon", "postmaster":
		return "expéditeur " + local
	}
	return ""
}

func partName(h message.Header) string {
	if _, params, err := mime.ParseMediaType(h.Get("Content-Type")); err == nil && params["name"] != "" {
		return params["name"]
	}
	return "piece-jointe"
}

// HTMLToText keeps the text of an HTML body, one line per block, without
// scripts or styles.
func HTMLToText(s string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	var b strings.Builder
	skip := 0
	for {
		switch z.Next() {
		case html.ErrorToken:
			return tidy(b.String())
		case html.StartTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "script", "style", "head", "title":
				skip++
			case "br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "blockquote":
				b.WriteByte('\n')
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "script", "style", "head", "title":
				if skip > 0 {
					skip--
				}
			case "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "blockquote":
				b.WriteByte('\n')
			}
		case html.TextToken:
			if skip == 0 {
				b.Write(z.Text())
			}
		}
	}
}

// tidy collapses spaces within lines and runs of blank lines.
func tidy(s string) string {
	var out []string
	blank := false
	for _, line := range strings.Split(s, "\n") {
		line = strings.Join(strings.Fields(line), " ")
		if line == "" {
			if !blank && len(out) > 0 {
				out = append(out, "")
			}
			blank = true
			continue
		}
		blank = false
		out = append(out, line)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}
