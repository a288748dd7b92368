package mailroom

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/channels/mail/letter"
	"github.com/ampmetropole/guichet/services/channels/mail/scan"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

// MaxCorrectedText bounds a corrected letter text, as the OCR text is.
const MaxCorrectedText = 200000

// ErrUnchanged refuses a correction whose text is the letter's own, but for
// white space: sending it would only make a second request saying the same.
var ErrUnchanged = errors.New("mailroom: le texte n'a pas été modifié : corrigez-le avant de le renvoyer")

// Requests finds the request being corrected and records its replacement.
type Requests interface {
	Request(ctx context.Context, id string) (schemas.Request, error)
	MarkSuperseded(ctx context.Context, old, by string) error
}

// Corrector lets the mailroom fix a letter's OCR text: the corrected text
// is read again (sender, subject, case references, place) and sent as a new
// request that supersedes the first and keeps its scan; the router puts it
// in the first one's case unless the corrected text cites another.
type Corrector struct {
	p        *Pipeline
	requests Requests
}

// NewCorrector returns a Corrector publishing through p.
func NewCorrector(p *Pipeline, r Requests) *Corrector { return &Corrector{p: p, requests: r} }

// Correct sends the corrected text of letter requestID. The same correction
// sent twice is one request (its id derives from the original and the text).
func (c *Corrector) Correct(ctx context.Context, requestID, text, operator string) (Result, error) {
	var res Result
	text = strings.TrimSpace(strings.ReplaceAll(text, "\r\n", "\n"))
	switch {
	case text == "":
		return res, fault.E(fault.Invalid, errors.New("mailroom: le texte corrigé est vide"))
	case !utf8.ValidString(text):
		return res, fault.E(fault.Invalid, errors.New("mailroom: le texte corrigé n'est pas de l'UTF-8 valide"))
	case utf8.RuneCountInString(text) > MaxCorrectedText:
		return res, fault.E(fault.TooLarge, fmt.Errorf("mailroom: texte corrigé de plus de %d caractères", MaxCorrectedText))
	}
	orig, err := c.requests.Request(ctx, requestID)
	if err != nil {
		return res, fmt.Errorf("mailroom: %w", err)
	}
	if orig.Channel != schemas.ChannelMail || len(orig.Attachments) == 0 {
		return res, fault.E(fault.Invalid, errors.New("mailroom: seul le texte d'un courrier numérisé se corrige"))
	}
	if sameText(text, orig.Attachments[0].ExtractedText) {
		return res, fault.E(fault.Invalid, ErrUnchanged)
	}
	sum := sha256.Sum256([]byte(text))
	key := orig.Source.ExternalID
	if key == "" {
		key = orig.ID
	}
	o := Origin{Adapter: "mail-correction", Key: key + ":correction:" + hex.EncodeToString(sum[:8]),
		OperatorID: strings.TrimSpace(operator), ReceivedAt: orig.ReceivedAt}
	res.Text = scan.Text{Text: text, Method: "correction", ContentType: orig.Attachments[0].ContentType}
	res.Layout = letter.Read(text)
	req := c.p.request(res.Text, res.Layout, o)
	req.Supersedes = orig.ID
	res.Attachment = orig.Attachments[0]
	res.Attachment.ExtractedText = text
	res.Attachment.OCRConfidence = nil // read by a person
	req.Attachments = append([]schemas.Attachment{res.Attachment}, orig.Attachments[1:]...)
	if res.Receipt, err = c.p.intake.Submit(ctx, req); err != nil {
		return res, fmt.Errorf("mailroom: %w", err)
	}
	if err := c.requests.MarkSuperseded(ctx, orig.ID, res.Receipt.ID); err != nil {
		return res, fmt.Errorf("mailroom: %w", err)
	}
	return res, nil
}

// sameText says whether two texts differ only in white space that does not
// change how a letter reads: line endings (CR LF, CR, form feeds between
// pages), spaces and tabs at the start or end of a line or repeated within
// one, blank lines repeated or at the ends. A line split or joined, a word
// changed, is a correction: the letter's layout is read line by line.
func sameText(a, b string) bool { return normalize(a) == normalize(b) }

// normalize is a text as sameText compares it.
func normalize(s string) string {
	s = strings.NewReplacer("\r\n", "\n", "\r", "\n", "\f", "\n\n", "\v", "\n").Replace(s)
	lines := strings.Split(s, "\n")
	out := lines[:0]
	blank := true // drops blank lines at the start, and repeated ones
	for _, l := range lines {
		l = strings.Join(strings.FieldsFunc(l, isBlank), " ")
		if l == "" {
			if blank {
				continue
			}
			blank = true
		} else {
			blank = false
		}
		out = append(out, l)
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return strings.Join(out, "\n")
}

// isBlank is white space within a line (spaces, tabs, no-break spaces).
func isBlank(r rune) bool { return r != '\n' && unicode.IsSpace(r) }
