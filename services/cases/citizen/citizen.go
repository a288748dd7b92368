// Package citizen normalizes the identifiers a citizen is known by across
// channels, so that the same person is recognized whichever way they write
// their e-mail address or phone number.
package citizen

import (
	"fmt"
	"net/mail"
	"strings"

	"github.com/nyaruka/phonenumbers"

	"github.com/ampmetropole/guichet/services/platform/fault"
)

// DefaultRegion is the region assumed for numbers written without a country
// code ("06 39 98 14 27").
const DefaultRegion = "FR"

// NormalizeEmail trims and lower-cases an address and checks it is one bare
// address ("Léa <lea@example.net>" is refused: adapters pass the address).
func NormalizeEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return "", nil
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || !strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".") {
		return "", fault.E(fault.Invalid, fmt.Errorf("citizen: adresse e-mail invalide : %q", s))
	}
	return s, nil
}

// NormalizePhone parses a phone number written any usual way and returns it
// in E.164 ("+33639981427"). Numbers without a country code are French.
func NormalizePhone(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	if len(s) > 40 {
		return "", fault.E(fault.Invalid, fmt.Errorf("citizen: numéro de téléphone trop long"))
	}
	n, err := phonenumbers.Parse(s, DefaultRegion)
	// "Possible" (right length for the country) rather than "valid": the
	// library's range tables lag behind new allocations, and the ranges
	// reserved for fiction used in tests are not in them.
	if err != nil || !phonenumbers.IsPossibleNumber(n) {
		return "", fault.E(fault.Invalid, fmt.Errorf("citizen: numéro de téléphone invalide : %q", s))
	}
	out := phonenumbers.Format(n, phonenumbers.E164)
	// Odd national numbers (leading zeros kept by some plans) may not read
	// back the same; an identifier must be stable, so refuse those.
	if back, err := phonenumbers.Parse(out, DefaultRegion); err != nil || phonenumbers.Format(back, phonenumbers.E164) != out {
		return "", fault.E(fault.Invalid, fmt.Errorf("citizen: numéro de téléphone invalide : %q", s))
	}
	return out, nil
}

// DisplayPhone writes an E.164 number as people read it: "06 87 65 43 21"
// in France, the international form elsewhere ("+44 20 7946 0958"); what
// is no number stays as it is.
func DisplayPhone(e164 string) string {
	if !strings.HasPrefix(e164, "+") {
		return e164
	}
	n, err := phonenumbers.Parse(e164, "FR")
	if err != nil {
		return e164
	}
	if n.GetCountryCode() == 33 {
		return phonenumbers.Format(n, phonenumbers.NATIONAL)
	}
	return phonenumbers.Format(n, phonenumbers.INTERNATIONAL)
}
