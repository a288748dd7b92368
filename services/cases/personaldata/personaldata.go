// Package personaldata answers for what Guichet holds about people (RGPD):
// [Exporter.Export] gathers everything held about one person — their
// identity and contacts, every request they made with its text, place,
// files, call transcript and scanned letter, their cases and what
// happened to them, what was sent to them, their opinions, their
// sign-ins to « Mes demandes », and who among the staff looked at their
// data — as JSON with stable field names and as a French document
// ([Export.Text]); [BuildRegister] writes the register of processing of
// article 30 from the catalogue and the configuration. The erasure and
// the retention schedule are services/cases/retention's.
//
// Every lookup goes through an index (citizens by e-mail, phone and name,
// requests by citizen and by the contact they carry, events by case, the
// audit log by target), so that an export takes milliseconds on a million
// cases.
package personaldata

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/ampmetropole/guichet/services/cases/citizen"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

// Competence is the catalogue's competence of the requests citizens send
// about their data (access, rectification, erasure): the data protection
// officer's queue.
const Competence = "donnees_personnelles"

// Subject names the person looked for: exactly one of its fields is set.
// Its fields are those of retention.Subject, so that one converts to the
// other.
type Subject struct {
	Email string `json:"email,omitempty"`
	Phone string `json:"phone,omitempty"`
	Name  string `json:"name,omitempty"`
}

// Kinds of subject, as [Subject.Kind] says.
const (
	ByEmail = "email"
	ByPhone = "phone"
	ByName  = "name"
)

// Kind says which field names the person.
func (s Subject) Kind() string {
	switch {
	case s.Email != "":
		return ByEmail
	case s.Phone != "":
		return ByPhone
	}
	return ByName
}

// Value is the identifier looked for.
func (s Subject) Value() string {
	switch s.Kind() {
	case ByEmail:
		return s.Email
	case ByPhone:
		return s.Phone
	}
	return s.Name
}

// Describe says in French whom the subject names: « l'adresse
// électronique x@y », « le numéro 06 12 34 56 78 », « le nom Léa Martin ».
func (s Subject) Describe() string {
	switch s.Kind() {
	case ByEmail:
		return "l'adresse électronique " + s.Email
	case ByPhone:
		if strings.Contains(s.Phone, "•") {
			return "le numéro " + s.Phone
		}
		return "le numéro " + citizen.DisplayPhone(s.Phone)
	}
	return "le nom « " + s.Name + " »"
}

// Masked is the subject with its identifier hidden but for a hint
// (« z•••@example.net », « +33•••••••56 », « Z••• »): what an export and
// the audit log say of someone of whom nothing is held, so that looking
// for a person after their erasure writes their identifier nowhere again.
func (s Subject) Masked() Subject {
	mask := func(v string, keepEnd int) string {
		r := []rune(v)
		if len(r) <= keepEnd+1 {
			return strings.Repeat("•", len(r))
		}
		return string(r[0]) + strings.Repeat("•", min(len(r)-1-keepEnd, 7)) + string(r[len(r)-keepEnd:])
	}
	switch s.Kind() {
	case ByEmail:
		local, domain, ok := strings.Cut(s.Email, "@")
		if !ok {
			return Subject{Email: mask(s.Email, 0)}
		}
		return Subject{Email: mask(local, 0) + "@" + domain}
	case ByPhone:
		return Subject{Phone: mask(s.Phone, 2)}
	}
	return Subject{Name: mask(s.Name, 0)}
}

// Name bounds: shorter names would match too many people, longer ones are
// no names.
const (
	minName = 3
	maxName = 200
)

// Normalize checks that exactly one field is set and writes it as Guichet
// stores it: the e-mail address trimmed and in lower case, the phone in
// E.164, the name trimmed with its inner spaces single. A wrong subject is
// a fault.Invalid with a French reason.
func (s Subject) Normalize() (Subject, error) {
	set := 0
	for _, v := range []string{s.Email, s.Phone, s.Name} {
		if strings.TrimSpace(v) != "" {
			set++
		}
	}
	if set != 1 {
		return Subject{}, fault.E(fault.Invalid, errors.New("personaldata: indiquez une seule façon de désigner la personne : une adresse électronique, un numéro de téléphone ou un nom"))
	}
	for _, v := range []string{s.Email, s.Phone, s.Name} {
		if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
			return Subject{}, fault.E(fault.Invalid, errors.New("personaldata: caractère non permis (nul ou encodage invalide)"))
		}
	}
	switch {
	case strings.TrimSpace(s.Email) != "":
		if len(s.Email) > 320 {
			return Subject{}, fault.E(fault.Invalid, errors.New("personaldata: adresse électronique trop longue (320 caractères au plus)"))
		}
		e, err := citizen.NormalizeEmail(s.Email)
		if err != nil {
			return Subject{}, fault.E(fault.Invalid, fmt.Errorf("personaldata: adresse électronique invalide, par exemple nom@exemple.fr"))
		}
		return Subject{Email: e}, nil
	case strings.TrimSpace(s.Phone) != "":
		p, err := citizen.NormalizePhone(s.Phone)
		if err != nil {
			return Subject{}, fault.E(fault.Invalid, fmt.Errorf("personaldata: numéro de téléphone invalide, par exemple 06 12 34 56 78"))
		}
		return Subject{Phone: p}, nil
	}
	name := strings.Join(strings.Fields(s.Name), " ")
	switch n := utf8.RuneCountInString(name); {
	case n < minName:
		return Subject{}, fault.E(fault.Invalid, fmt.Errorf("personaldata: nom trop court (%d caractères au moins)", minName))
	case n > maxName:
		return Subject{}, fault.E(fault.Invalid, fmt.Errorf("personaldata: nom trop long (%d caractères au plus)", maxName))
	}
	return Subject{Name: name}, nil
}
