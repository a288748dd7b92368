// Package extract owns reading facts out of French free text — call-centre
// transcripts (speech-to-text: lower case, little punctuation, numbers in
// words, "euh", repeated words) and written or OCR'd letters and messages:
// case references, postal code and commune, street address, e-mail address,
// the speaker's name and call-back number. It only reads; deciding what the
// facts mean for a request (linking, routing) belongs to the router.
//
// Work is bounded: only the first MaxInput bytes of a text are read, and
// every search looks at a bounded window of words, so Extract takes time
// linear in the text.
//
// Spoken numbers are read every way French allows and the reading that
// makes sense is kept: ten digits starting with 0 for a phone, a Métropole
// postal code for a place ("treize cent un" is 13001 because 13101 does not
// exist), at most six digits after the year of an AMP reference. Known
// limits: a name is taken only after an introduction ("je m'appelle", "moi
// c'est", a title after "je suis", "c'est" or "ici"), never from a letter's
// signature block; a street name is cut at the first word that cannot be
// part of one but may run on into a noun ("rue des lilas trottoir"); a
// phone number said again from the start is repaired, a group repeated in
// the middle is not; when a text states a postal code and a commune that
// never agree, both are kept as said.
package extract

import (
	"strings"
	"unicode/utf8"

	"github.com/ampmetropole/guichet/services/cases/territory"
)

// MaxInput is the number of bytes of a text Extract reads; the rest is
// ignored (a call transcript or a letter is far shorter).
const MaxInput = 200_000

// Facts are what a text says about a request.
type Facts struct {
	CaseRefs     []string // canonical "AMP-2026-004213", in order of appearance, no duplicates
	PostalCode   string   // 5 digits, only codes of the Métropole
	CommuneINSEE string   // the commune's INSEE code (Marseille 13055 for arrondissements)
	CommuneName  string
	// PlaceWeak marks a commune named only as where someone travels to
	// ("le car pour Marseille"): the place of the request only when
	// nothing else says where it is.
	PlaceWeak bool
	Address   string // street address with the number in digits, e.g. "12 avenue de la Fontaine"
	Email     string // normalized
	Name      string // as said, capitalized: "Marcel Giraud", "Madame Dupont"
	Phone     string // call-back number, E.164
}

// Extractor finds facts in French text, spoken (transcribed) or written. It
// holds read-only tables built by New and is safe for concurrent use.
type Extractor struct {
	places   *territory.Directory
	names    map[string][]placeName // commune names and aliases by first folded word, longest first
	codes    map[string]bool        // the Métropole's postal codes
	prefixes map[string]bool        // every prefix of those codes
}

// New builds an extractor that knows the communes and postal codes of
// places. With a nil directory it loads the embedded one (territory.Load);
// should that fail, it finds no places but every other fact.
func New(places *territory.Directory) *Extractor {
	if places == nil {
		if p, err := territory.Load(); err == nil {
			places = p
		}
	}
	e := &Extractor{places: places}
	e.buildPlaces()
	return e
}

// Extract finds the facts text states. It never fails: what it cannot read
// stays empty. Only the first MaxInput bytes are read.
//
// Facts are read in an order that keeps one from being taken for another:
// e-mail addresses, case references, phone numbers, the name, the street
// address, then the place; each takes its words, which the later ones skip.
func (e *Extractor) Extract(text string) Facts {
	if e == nil {
		return Facts{}
	}
	if len(text) > MaxInput {
		cut := MaxInput
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut]
	}
	text = strings.ToValidUTF8(text, "\uFFFD")
	d := newDoc(text)
	var f Facts
	f.Email = d.email(text)
	f.CaseRefs = d.caseRefs()
	f.Phone = d.phone()
	f.Name = d.name()
	f.Address = e.address(d)
	e.place(d, &f)
	return f
}
