// Package mailroom turns a scanned letter into a request: the scan's text
// (text layer or OCR), the letter's layout (sender, date, subject), the facts
// it states (case references, place, contact), the original scan in the
// object store, and one request of channel "mail" whose id derives from
// where the scan came from, so that the same scan never makes two requests.
// Scans uploaded by hand (Upload) are answered within a bounded wait, with
// the id their request will have, and read on in the background, a bounded
// number at a time, their failures shown to the mailroom.
package mailroom

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/channels/mail/letter"
	"github.com/ampmetropole/guichet/services/channels/mail/scan"
	"github.com/ampmetropole/guichet/services/intake"
	"github.com/ampmetropole/guichet/services/intake/attachment"
	"github.com/ampmetropole/guichet/services/language/extract"
)

// Reader turns a scan into text.
type Reader interface {
	Read(ctx context.Context, data []byte) (scan.Text, error)
}

// Files stores the original scans.
type Files interface {
	Put(ctx context.Context, f attachment.File) (schemas.Attachment, error)
}

// Intake publishes requests and derives their ids.
type Intake interface {
	Submit(ctx context.Context, req schemas.Request) (intake.Receipt, error)
	DerivedID(namespace, key string, at time.Time) string
}

// Pipeline handles letters.
type Pipeline struct {
	reader  Reader
	files   Files
	intake  Intake
	extract *extract.Extractor
	uploads *uploads // see Upload
}

// Pages shows the pages of a scan as images (scan.Reader does), for the
// person who corrects its text.
type Pages interface {
	PageCount(ctx context.Context, data []byte) (int, error)
	PageImage(ctx context.Context, data []byte, n int) (scan.Page, error)
}

// Pages is the pipeline's reader as a renderer of pages; nil when it
// cannot render them.
func (p *Pipeline) Pages() Pages {
	if pg, ok := p.reader.(Pages); ok {
		return pg
	}
	return nil
}

// New returns the mail pipeline, its uploads bounded by the defaults of
// UploadConfig (see SetUploads).
func New(r Reader, f Files, in Intake, ex *extract.Extractor) *Pipeline {
	p := &Pipeline{reader: r, files: f, intake: in, extract: ex}
	p.SetUploads(UploadConfig{})
	return p
}

// Origin says where a scan came from; its Key makes the request id.
type Origin struct {
	Adapter    string    // "mail-upload", "imap-scan"
	Key        string    // e.g. "imap:INBOX:1732700000:4711:0", or "upload:<sha256>"
	OperatorID string    // mailroom operator, for uploads
	ReceivedAt time.Time // when the letter arrived
}

// Result is a letter handled.
type Result struct {
	Receipt    intake.Receipt
	Text       scan.Text
	Layout     letter.Layout
	Attachment schemas.Attachment
}

// Letter reads one scan and publishes its request. Errors keep their
// fault kind: Invalid or TooLarge for a scan that cannot be read, Transient
// for a tool or dependency that failed.
func (p *Pipeline) Letter(ctx context.Context, data []byte, name string, o Origin) (Result, error) {
	var res Result
	text, err := p.reader.Read(ctx, data)
	if err != nil {
		return res, fmt.Errorf("mailroom: %w", err)
	}
	res.Text = text
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	if res.Attachment, err = p.files.Put(ctx, attachment.File{Name: name, ContentType: text.ContentType, Data: data, SHA256: sha}); err != nil {
		return res, fmt.Errorf("mailroom: %w", err)
	}
	conf := text.Confidence
	res.Attachment.ExtractedText = truncate(text.Text, 200000)
	res.Attachment.OCRConfidence = &conf
	if o.Key == "" {
		o.Key = ScanKey(data)
	}
	res.Layout = letter.Read(text.Text)
	req := p.request(text, res.Layout, o)
	req.Attachments = []schemas.Attachment{res.Attachment}
	if res.Receipt, err = p.intake.Submit(ctx, req); err != nil {
		return res, fmt.Errorf("mailroom: %w", err)
	}
	return res, nil
}

func (p *Pipeline) request(t scan.Text, l letter.Layout, o Origin) schemas.Request {
	f := p.extract.Extract(t.Text)
	req := p.newRequest(schemas.ChannelMail, o, time.Time{}, l.Subject, l.Body, f)
	who := &schemas.Citizen{Name: truncate(firstNonEmpty(l.SenderName, f.Name), 200), Email: f.Email, Phone: f.Phone, PreferredReplyChannel: "mail"}
	if len(l.SenderAddress) > 0 {
		addr := &schemas.PostalAddress{PostalCode: l.PostalCode, City: truncate(l.City, 200), Country: "FR"}
		for _, line := range l.SenderAddress {
			if len(addr.Lines) < 6 && !strings.HasPrefix(strings.ReplaceAll(line, "O", "0"), l.PostalCode) {
				addr.Lines = append(addr.Lines, truncate(line, 200))
			}
		}
		if len(l.PostalCode) != 5 {
			addr.PostalCode = ""
		}
		who.Address = addr
	}
	req.Citizen = who
	return req
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if strings.TrimSpace(x) != "" {
			return strings.TrimSpace(x)
		}
	}
	return ""
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// RequestID is the id of the request Letter publishes for a scan from o,
// known before the scan is read, keyed with the intake's secret so that no
// one can compute it ahead. o.Key and o.ReceivedAt must be set as they will
// be given to Letter: an upload's key is ScanKey(data).
func (p *Pipeline) RequestID(o Origin) string {
	return p.intake.DerivedID("mail", o.Key, idTime(o.Key, o.ReceivedAt))
}

// idTime dates a request's id: the arrival, or its day for an upload, so
// that the same file uploaded twice the same day is one letter.
func idTime(key string, received time.Time) time.Time {
	if strings.HasPrefix(key, "upload:") {
		return received.UTC().Truncate(24 * time.Hour)
	}
	return received
}

// newRequest holds what letters and e-mails share: the id from the origin,
// the arrival, the case references and place found in the text, bounded
// fields. fallback dates the request when the origin does not.
func (p *Pipeline) newRequest(channel string, o Origin, fallback time.Time, subject, body string, f extract.Facts) schemas.Request {
	received := o.ReceivedAt
	if received.IsZero() {
		received = fallback
	}
	if received.IsZero() {
		received = time.Now()
	}
	req := schemas.Request{
		ID:         p.intake.DerivedID("mail", o.Key, idTime(o.Key, received)),
		Channel:    channel,
		ReceivedAt: received.UTC().Truncate(time.Millisecond),
		Source:     schemas.Source{Adapter: o.Adapter, ExternalID: truncate(o.Key, 256), OperatorID: o.OperatorID},
		Subject:    truncate(subject, 300),
		Body:       truncate(body, 100000),
		CaseRefs:   f.CaseRefs,
	}
	if len(req.CaseRefs) > 20 {
		req.CaseRefs = req.CaseRefs[:20]
	}
	if f.PostalCode != "" || f.CommuneINSEE != "" || f.Address != "" {
		req.Location = &schemas.Location{Address: truncate(f.Address, 300), PostalCode: f.PostalCode, CommuneINSEE: f.CommuneINSEE}
	}
	return req
}
