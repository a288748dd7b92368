// Package sms owns Guichet's outgoing text messages: it checks the
// recipient (a mobile number in E.164 form, nothing else), encodes the text
// for the air (GSM 03.38 or UCS-2, split into concatenated parts), and either
// sends it to an SMS centre over SMPP 3.4 (SMPP) or, in development, writes
// it as a JSON file to a folder (Outbox) and reads it back for a page that
// lists it, as services/platform/mailer does for e-mail.
//
// # Recipients
//
// Message.To is an E.164 number ("+33612345678"). It must be valid and, for
// libphonenumber (github.com/nyaruka/phonenumbers), of type MOBILE or
// FIXED_LINE_OR_MOBILE (the type of some countries' numbers, the United
// States' among them): a landline, a premium-rate or a toll-free number is
// refused with fault.Invalid before anything is sent.
//
// # Encoding
//
// A text is first normalised: invalid UTF-8 is refused, the text is put in
// Unicode NFC form (so that an "e" followed by a combining acute accent is
// the GSM-7 "é"), CRLF and lone CR become LF, a tab becomes a space,
// zero-width spaces, byte-order marks and soft hyphens are removed, and any
// other control character is refused. Then:
//
//   - If every character is in the GSM 03.38 default alphabet or its
//     extension table, the message is GSM-7 (data_coding 0x00). French keeps
//     é è ù à ì ò É Ç as they are; the extension characters € [ ] { } ~ \ ^ |
//     count as two septets (an escape and the character).
//   - Otherwise the characters that have an obvious GSM-7 equivalent are
//     transliterated: ê ë → e, â á ã → a, î ï í → i, ô ó õ → o, û ú → u,
//     ÿ ý → y, ç → c (GSM-7 has only the capital Ç, which phones show as
//     "Ç": "recu" reads better than "reÇu"), À Â Á Ã → A, È Ê Ë → E,
//     Î Ï Í Ì → I, Ô Ó Ò Õ → O, Ù Û Ú → U, Ÿ Ý → Y, œ → oe, Œ → OE,
//     typographic apostrophes and single quotes (’ ‘ ‚ ‛ ′ ` ´ ‹ ›) → ',
//     double quotes and guillemets (“ ” „ ‟ ″ « ») → ", the non-breaking and
//     thin spaces French typography puts before : ; ! ? and inside « »
//     (U+00A0, U+202F, U+2007, U+2009…) → a space, dashes (‐ ‑ – — −) → -,
//     and … → "...". If the result is all GSM-7, it is sent so.
//   - A text that still has a character outside GSM-7 (an emoji, ° or a
//     non-Latin script) is sent as UCS-2 (data_coding 0x08, UTF-16
//     big-endian, surrogate pairs for characters beyond U+FFFF), untouched by
//     the transliteration: it costs as much with the accents as without. So a
//     caller writes "no 12" rather than "n° 12": 160 characters, not 70.
//
// # Lengths
//
// One SMS carries 160 septets in GSM-7 or 70 UTF-16 code units in UCS-2. A
// longer text is split into concatenated parts of at most 153 septets (GSM-7)
// or 67 code units (UCS-2), each starting with a six-octet user data header
// (05 00 03 ref total index: IEI 0x00, an 8-bit reference shared by the parts
// of one message) and sent with the UDHI bit (0x40) of esm_class. A part never
// ends inside an escape sequence nor between the two halves of a surrogate
// pair. A message has at most MaxParts (6) parts: 918 GSM-7 septets or 402
// UCS-2 code units (a little less when an escape sequence or a surrogate pair
// has to move to the next part); a longer text is fault.Invalid, with a
// French message that gives its length and the limits.
//
// GSM-7 travels unpacked, one septet per octet, as data_coding 0x00 (the SMS
// centre's default alphabet) means GSM 03.38 for most operators: one that
// reads 0x00 as Latin-1 would need a setting here.
//
// # Sender name
//
// The sender shown on the phone is an alphanumeric originator ("Metropole";
// "AMPMetropole" is one character too long):
// 1 to 11 ASCII letters or digits, with at least one letter, checked when the
// sender is built, and sent with TON 5 (alphanumeric) and NPI 0.
//
// # SMPP and the library
//
// SMPP speaks to the SMS centre through github.com/linxGnu/gosmpp (v0.3.1):
// of the Go SMPP clients, it is the one still maintained (releases in 2024,
// fixes and dependency updates on its main branch through November 2025,
// where github.com/fiorix/go-smpp has had no commit since May 2021 and
// github.com/ajankovic/smpp none since 2019), it covers SMPP 3.4 whole, and
// its PDU codec, bind and GSM 03.38 tables (default alphabet and extension
// table) are used here as they are. Its session type
// is not: it rebinds at a fixed interval with no back-off, cannot be stopped
// while it waits to rebind, and hands submit_sm_resp to a callback rather than
// to the caller. So this package keeps its own link over the library's
// Connection: a bind_transmitter, one submit_sm per part whose
// submit_sm_resp the sender waits for (each Send bounded by its context and
// SMPPConfig.Timeout), enquire_link every SMPPConfig.EnquireLink, and a new
// bind with exponential back-off (SMPPConfig.MinBackoff to MaxBackoff) when
// the link drops. The library's own splitting is not used either: it counts
// characters rather than septets.
//
// Errors carry a fault kind: fault.Invalid for a message or configuration that
// can never work (the messages that a person may read are in French),
// fault.Transient for a delivery that may work later (no link, time-out,
// throttling, a full queue, a system error at the SMS centre), fault.Permanent
// for a message the SMS centre refused for good (invalid destination or
// source address, invalid message).
package sms

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nyaruka/phonenumbers"

	"github.com/ampmetropole/guichet/services/platform/fault"
)

// Message is one outgoing SMS.
type Message struct {
	To   string // the recipient's mobile number in E.164 form, e.g. "+33612345678"
	Text string // UTF-8, encoded and split by this package
}

// maxSenderLen is the longest alphanumeric originator phones display.
const maxSenderLen = 11

// CheckRecipient says whether to is a number this package can send to: an
// E.164 number ("+33612345678", no spaces) that is valid and a mobile. It is
// what a caller checks before it accepts a number, so that a message is
// refused when written, not dead-lettered later. Errors are fault.Invalid, in
// French.
func CheckRecipient(to string) error {
	_, err := parseRecipient(to)
	return err
}

// parseRecipient checks to (see CheckRecipient) and returns its digits
// without the "+", as SMPP wants them with TON 1 (international).
func parseRecipient(to string) (string, error) {
	if strings.TrimSpace(to) == "" {
		return "", fault.E(fault.Invalid, errors.New("numéro du destinataire vide"))
	}
	digits, ok := strings.CutPrefix(to, "+")
	if !ok || len(digits) < 7 || len(digits) > 15 || digits[0] == '0' || strings.Trim(digits, "0123456789") != "" {
		return "", fault.E(fault.Invalid, fmt.Errorf("le numéro %q n'est pas au format international E.164 (par exemple +33612345678)", to))
	}
	n, err := phonenumbers.Parse(to, "")
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return "", fault.E(fault.Invalid, fmt.Errorf("le numéro %s n'est pas un numéro de téléphone valide", to))
	}
	if e164 := phonenumbers.Format(n, phonenumbers.E164); e164 != to {
		return "", fault.E(fault.Invalid, fmt.Errorf("le numéro %s n'est pas au format international E.164 : %s", to, e164))
	}
	switch phonenumbers.GetNumberType(n) {
	case phonenumbers.MOBILE, phonenumbers.FIXED_LINE_OR_MOBILE:
		return digits, nil
	}
	return "", fault.E(fault.Invalid, fmt.Errorf("le numéro %s n'est pas un mobile : pas de SMS", to))
}

// checkSender checks an alphanumeric originator given in configuration.
func checkSender(name string) error {
	if name == "" {
		return fault.E(fault.Invalid, errors.New("le nom d'expéditeur des SMS est vide"))
	}
	if len(name) > maxSenderLen {
		return fault.E(fault.Invalid, fmt.Errorf("le nom d'expéditeur %q dépasse %d caractères", name, maxSenderLen))
	}
	letter := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
			letter = true
		case c >= '0' && c <= '9':
		default:
			return fault.E(fault.Invalid, fmt.Errorf("le nom d'expéditeur %q ne doit contenir que des lettres sans accent et des chiffres", name))
		}
	}
	if !letter {
		return fault.E(fault.Invalid, fmt.Errorf("le nom d'expéditeur %q doit contenir au moins une lettre", name))
	}
	return nil
}
