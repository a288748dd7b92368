package mailroom

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/citizen"
	"github.com/ampmetropole/guichet/services/channels/mail/email"
	"github.com/ampmetropole/guichet/services/intake/attachment"
)

// maxEmailAttachments bounds the files a citizen's e-mail carries into a
// request (request.v1 allows 20).
const maxEmailAttachments = 20

// Email publishes a citizen's e-mail (one without scans) as a request of
// channel "email": sender from the headers, text from the body, facts from
// both subject and text, attachments stored when they are photos or PDFs.
func (p *Pipeline) Email(ctx context.Context, m email.Message, o Origin) (Result, error) {
	var res Result
	f := p.extract.Extract(m.Subject + "\n" + m.Text)
	req := p.newRequest(schemas.ChannelEmail, o, m.Date, m.Subject, m.Text, f)
	if id := strings.TrimSpace(m.MessageID); messageID(id) {
		req.Source.MessageID = id
	}
	who := &schemas.Citizen{Name: truncate(firstNonEmpty(m.FromName, f.Name), 200), Phone: f.Phone, PreferredReplyChannel: "email"}
	if addr, err := citizen.NormalizeEmail(m.FromAddress); err == nil {
		who.Email = addr
	}
	req.Citizen = who
	for _, a := range m.Attachments {
		if len(req.Attachments) == maxEmailAttachments {
			break
		}
		checked, err := attachment.Check(bytes.NewReader(a.Data), a.Name)
		if err != nil {
			continue // not a photo or a PDF: kept in the mailbox, not in the request
		}
		stored, err := p.files.Put(ctx, checked)
		if err != nil {
			return res, fmt.Errorf("mailroom: %w", err)
		}
		req.Attachments = append(req.Attachments, stored)
	}
	var err error
	if res.Receipt, err = p.intake.Submit(ctx, req); err != nil {
		return res, fmt.Errorf("mailroom: %w", err)
	}
	return res, nil
}

// ScanKey names a scan by its content, for origins without a stable key.
func ScanKey(data []byte) string {
	sum := sha256.Sum256(data)
	return "upload:" + hex.EncodeToString(sum[:])
}

// messageID says whether id can name the e-mail in a reply's In-Reply-To
// (and passes request.v1's pattern): printable ASCII without spaces or
// angle brackets, 256 bytes at most. Any other is left out.
func messageID(id string) bool {
	if id == "" || len(id) > 256 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c < '!' || c > '~' || c == '<' || c == '>' {
			return false
		}
	}
	return true
}
