package mailer

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"

	"github.com/ampmetropole/guichet/services/platform/fault"
)

// Stored is a message read back from the outbox.
type Stored struct {
	ID      string
	From    string
	To      string
	Subject string            // decoded (RFC 2047)
	Date    time.Time         // zero when the message has no valid Date header
	Body    string            // decoded text (quoted-printable/base64 undone, charset utf-8), line breaks as "\n"
	Headers map[string]string // the X-Guichet-* headers and those that thread or mark a message (In-Reply-To, References, Auto-Submitted), names in canonical MIME form; never nil
}

// maxPartDepth bounds the nesting of multipart bodies.
const maxPartDepth = 8

// parseStored parses an RFC 5322 message: headers decoded (RFC 2047), body
// taken from the message itself when it is text/plain or from its first
// text/plain part when it is multipart. Header values that cannot be decoded
// are kept as they are; a message whose structure or body cannot be read is
// an error.
func parseStored(id string, data []byte) (Stored, error) {
	if len(data) > maxStoredSize {
		return Stored{}, fault.E(fault.TooLarge, fmt.Errorf("message is %d bytes, over the %d limit", len(data), maxStoredSize))
	}
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return Stored{}, fmt.Errorf("not an e-mail message: %w", err)
	}
	dec := &mime.WordDecoder{}
	body, found, err := textBody(textproto.MIMEHeader(msg.Header), msg.Body, 0)
	if err != nil {
		return Stored{}, err
	}
	if !found {
		return Stored{}, errors.New("message has no text/plain body")
	}
	st := Stored{
		ID:      id,
		From:    addressHeader(dec, msg.Header.Get("From")),
		To:      addressHeader(dec, msg.Header.Get("To")),
		Subject: decodeHeader(dec, msg.Header.Get("Subject")),
		Body:    body,
		Headers: map[string]string{},
	}
	if d, err := msg.Header.Date(); err == nil {
		st.Date = d
	}
	for name, values := range msg.Header {
		if (strings.HasPrefix(name, "X-Guichet-") || keptHeader(name)) && len(values) > 0 {
			st.Headers[name] = decodeHeader(dec, values[0])
		}
	}
	return st, nil
}

// keptHeader says which headers other than X-Guichet-* a stored message
// is read back with: how it threads under the citizen's message, and that a
// machine sent it.
func keptHeader(name string) bool {
	switch name {
	case "In-Reply-To", "References", "Auto-Submitted":
		return true
	}
	return false
}

// textBody returns the text of the first text/plain entity in (h, r);
// found is false when there is none.
func textBody(h textproto.MIMEHeader, r io.Reader, depth int) (text string, found bool, err error) {
	mediaType, params := "text/plain", map[string]string{}
	if ct := h.Get("Content-Type"); ct != "" {
		mediaType, params, err = mime.ParseMediaType(ct)
		if err != nil {
			return "", false, fmt.Errorf("content type %q: %w", ct, err)
		}
	}
	switch {
	case strings.HasPrefix(mediaType, "multipart/"):
		if depth >= maxPartDepth {
			return "", false, fmt.Errorf("multipart nested more than %d deep", maxPartDepth)
		}
		boundary := params["boundary"]
		if boundary == "" {
			return "", false, fmt.Errorf("%s without a boundary", mediaType)
		}
		mr := multipart.NewReader(r, boundary)
		for {
			// Raw: decodeText undoes every transfer encoding the same way.
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return "", false, nil
			}
			if err != nil {
				return "", false, fmt.Errorf("multipart: %w", err)
			}
			text, found, err := textBody(p.Header, p, depth+1)
			if err != nil || found {
				return text, found, err
			}
		}
	case mediaType == "text/plain":
		text, err := decodeText(h.Get("Content-Transfer-Encoding"), params["charset"], r)
		return text, err == nil, err
	}
	return "", false, nil
}

// decodeText undoes the transfer encoding of a text/plain body and returns
// it with "\n" line breaks, without the line break that ends its last line.
func decodeText(encoding, charset string, r io.Reader) (string, error) {
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "", "7bit", "8bit", "binary":
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, r)
	default:
		return "", fmt.Errorf("unsupported content transfer encoding %q", encoding)
	}
	switch strings.ToLower(strings.TrimSpace(charset)) {
	case "", "utf-8", "utf8", "us-ascii":
	default:
		return "", fmt.Errorf("unsupported charset %q", charset)
	}
	b, err := io.ReadAll(io.LimitReader(r, maxStoredSize+1))
	if err != nil {
		return "", fmt.Errorf("body: %w", err)
	}
	if len(b) > maxStoredSize {
		return "", fmt.Errorf("body over %d bytes", maxStoredSize)
	}
	text := normalizeNewlines(strings.ToValidUTF8(string(b), "\uFFFD"))
	return strings.TrimSuffix(text, "\n"), nil
}

// decodeHeader decodes RFC 2047 encoded words; a value that cannot be
// decoded is returned as it is.
func decodeHeader(dec *mime.WordDecoder, raw string) string {
	s, err := dec.DecodeHeader(raw)
	if err != nil {
		s = raw
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// addressHeader decodes an address list for display: "Name <addr>" or
// "addr". A value that does not parse is returned decoded as text.
func addressHeader(dec *mime.WordDecoder, raw string) string {
	if raw == "" {
		return ""
	}
	p := mail.AddressParser{WordDecoder: dec}
	list, err := p.ParseList(raw)
	if err != nil {
		return decodeHeader(dec, raw)
	}
	out := make([]string, len(list))
	for i, a := range list {
		out[i] = formatAddress(a)
	}
	return strings.ToValidUTF8(strings.Join(out, ", "), "\uFFFD")
}

// formatAddress writes an address the way a person would, display name
// unencoded and quoted only when needed.
func formatAddress(a *mail.Address) string {
	if a.Name == "" {
		return a.Address
	}
	name := a.Name
	if strings.ContainsAny(name, "()<>[]:;@\\,.\"") || strings.ContainsFunc(name, func(r rune) bool { return r < ' ' || r == 0x7f }) ||
		strings.TrimSpace(name) != name {
		name = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(name) + `"`
	}
	return name + " <" + a.Address + ">"
}
