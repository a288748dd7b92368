package notify

import (
	"context"
	"fmt"
	"strings"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/platform/mailer"
	"github.com/ampmetropole/guichet/services/platform/sms"
)

// The ways a citizen is reached.
const (
	ByEmail  = "email"
	BySMS    = "sms"
	ByLetter = "letter"
)

// SMS sends a text message to a mobile (SMPP, or the development outbox).
type SMS interface {
	Send(ctx context.Context, m sms.Message) error
}

// reach is how one citizen is told something: by e-mail, SMS or letter,
// and where (an address, an E.164 mobile number, a postal address block).
type reach struct {
	by, to string
}

// reachOf chooses how to tell a citizen something: the way they asked to
// be answered, else the way they came (a letter for those who wrote), then
// any other way they gave. False when none works: no address, a landline
// only, no SMS sender, a postal address without its postal code or town.
func (n *Notifier) reachOf(c *schemas.Citizen, channel string) (reach, bool) {
	if c == nil {
		return reach{}, false
	}
	pref := c.PreferredReplyChannel
	if pref == "" || pref == "none" {
		pref = map[string]string{schemas.ChannelPhone: "phone", schemas.ChannelMail: "mail"}[channel]
	}
	order := []string{ByEmail, BySMS, ByLetter}
	switch pref {
	case "phone":
		order = []string{BySMS, ByEmail, ByLetter}
	case "mail":
		order = []string{ByLetter, ByEmail, BySMS}
	}
	for _, by := range order {
		switch by {
		case ByEmail:
			if c.Email != "" && mailer.CheckRecipient(c.Email) == nil {
				return reach{ByEmail, strings.ToLower(c.Email)}, true
			}
		case BySMS:
			if n.sms != nil && c.Phone != "" && sms.CheckRecipient(c.Phone) == nil {
				return reach{BySMS, c.Phone}, true
			}
		case ByLetter:
			if block := postalBlock(c); block != "" {
				return reach{ByLetter, block}, true
			}
		}
	}
	return reach{}, false
}

// postalBlock is the address a letter goes to, one line each (name,
// street lines, postal code and town, country when not France); "" when
// the post could not deliver it.
func postalBlock(c *schemas.Citizen) string {
	a := c.Address
	if a == nil || len(a.Lines) == 0 || a.PostalCode == "" || strings.TrimSpace(a.City) == "" {
		return ""
	}
	var lines []string
	if name := strings.TrimSpace(c.Name); name != "" {
		lines = append(lines, name)
	}
	for _, l := range a.Lines {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	lines = append(lines, a.PostalCode+" "+strings.ToUpper(strings.TrimSpace(a.City)))
	if a.Country != "" && a.Country != "FR" {
		lines = append(lines, strings.ToUpper(a.Country))
	}
	return strings.Join(lines, "\n")
}

// notice is one message to a citizen in the forms each way of reaching
// them takes.
type notice struct {
	kind    string // what it is, for the figures: acknowledgement, status…
	subject string
	body    string // the e-mail's and the letter's text
	sms     string // the short form
	headers map[string]string
	caseRef string
	code    string // the tracking code the citizen keeps
}

// deliver sends a notice to a request's citizen the way r says: an e-mail,
// an SMS, or a letter put in the mailroom's batch (once per request and
// record kind).
func (n *Notifier) deliver(ctx context.Context, requestID, recordKind string, r reach, m notice) error {
	var err error
	switch r.by {
	case ByEmail:
		err = n.sender.Send(ctx, mailer.Message{To: r.to, Subject: m.subject, Body: m.body + "\n" + automaticFooter, Headers: m.headers})
	case BySMS:
		err = n.sms.Send(ctx, sms.Message{To: r.to, Text: m.sms})
	case ByLetter:
		_, err = n.store.QueuePostalNotice(ctx, casestore.PostalNotice{RequestID: requestID, Kind: recordKind, Recipient: r.to,
			Subject: m.subject, Body: m.body, CaseRef: m.caseRef, TrackingCode: m.code})
	default:
		err = fmt.Errorf("notify: no way %q", r.by)
	}
	if err != nil {
		n.metrics.failed.WithLabelValues(m.kind, r.by).Inc()
		return fmt.Errorf("notify: %s by %s: %w", m.kind, r.by, err)
	}
	n.metrics.sent.WithLabelValues(m.kind, r.by).Inc()
	return nil
}

// greeting opens a message to a citizen.
func greeting(c *schemas.Citizen) string {
	if c != nil {
		if name := strings.TrimSpace(c.Name); name != "" {
			return "Bonjour " + name + ","
		}
	}
	return "Bonjour,"
}
