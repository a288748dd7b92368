package webhook

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/catalogue"
	"github.com/ampmetropole/guichet/services/cases/territory"
)

// Bounds of a subscription.
const (
	MaxName    = 100
	MaxURL     = 2000
	MaxFilters = 100 // codes in one filter
)

// secretBytes is the length of a generated signing key: the spec asks for
// 24 to 64 bytes.
const secretBytes = 32

// Fields of a draft, as FieldError names them.
const (
	FieldName        = "name"
	FieldURL         = "url"
	FieldCompetences = "competences"
	FieldTerritories = "territories"
	FieldCommunes    = "communes"
	FieldEventTypes  = "event_types"
)

// FieldError is what is wrong with one field of a draft, in French.
type FieldError struct {
	Field, Message string
	TooLong        bool
}

// Invalid lists what is wrong with a draft.
type Invalid []FieldError

func (v Invalid) Error() string {
	msgs := make([]string, len(v))
	for i, e := range v {
		msgs[i] = e.Field + " : " + e.Message
	}
	return "webhook: " + strings.Join(msgs, " ; ")
}

// Draft is a subscription as an admin asks for it. Communes may be INSEE
// codes or names; Check turns them into codes.
type Draft struct {
	Name, URL                                      string
	Competences, Territories, Communes, EventTypes []string
}

// EventType is a kind of case event a partner may subscribe to.
type EventType struct{ Code, Label string }

// EventTypes are the case events sent, with their French names.
var EventTypes = []EventType{
	{schemas.EventCreated, "Dossier créé"},
	{schemas.EventStateChanged, "Changement d'état (dont les réorientations)"},
	{schemas.EventAssigned, "Dossier attribué"},
	{schemas.EventRerouted, "Dossier réorienté vers une autre compétence"},
	{schemas.EventRequestLinked, "Demande rattachée"},
	{schemas.EventUnlinked, "Demande détachée"},
	{schemas.EventReplied, "Réponse envoyée"},
	{schemas.EventNoteAdded, "Note interne ajoutée"},
	{schemas.EventMerged, "Dossiers fusionnés"},
	{schemas.EventUnmerged, "Fusion annulée"},
	{schemas.EventBreached, "Délai dépassé"},
	{schemas.EventIncidentLinked, "Rattaché à un incident"},
	{schemas.EventIncidentDetached, "Détaché d'un incident"},
}

// Rules say which subscriptions are acceptable: which endpoints, which
// codes in the filters.
type Rules struct {
	// AllowHTTP accepts http:// endpoints on the loopback interface
	// (development and tests); otherwise only https:// is.
	AllowHTTP bool
	Catalogue *catalogue.Catalogue
	Places    *territory.Directory
}

// Check normalizes a draft (trimmed, communes as INSEE codes, filters
// sorted and without repeats) and says what is wrong with it.
func (r Rules) Check(d Draft) (Draft, Invalid) {
	var bad Invalid
	d.Name = strings.TrimSpace(d.Name)
	switch n := utf8.RuneCountInString(d.Name); {
	case !utf8.ValidString(d.Name) || strings.ContainsFunc(d.Name, unicode.IsControl):
		bad = append(bad, FieldError{Field: FieldName, Message: "Le nom contient des caractères non permis."})
	case n == 0:
		bad = append(bad, FieldError{Field: FieldName, Message: "Donnez un nom à l'abonnement, par exemple celui du partenaire."})
	case n > MaxName:
		bad = append(bad, FieldError{Field: FieldName, Message: fmt.Sprintf("Le nom est trop long : %d caractères au plus.", MaxName), TooLong: true})
	}
	d.URL = strings.TrimSpace(d.URL)
	if msg, long := r.checkURL(d.URL); msg != "" {
		bad = append(bad, FieldError{Field: FieldURL, Message: msg, TooLong: long})
	} else if i := strings.Index(d.URL, ":"); i > 0 {
		// HTTPS://… is https://… (url.Parse reads the scheme either way).
		d.URL = strings.ToLower(d.URL[:i]) + d.URL[i:]
	}
	var msg string
	var known func(string) bool
	if r.Catalogue != nil {
		known = r.Catalogue.Known
	}
	if d.Competences, msg = codes(d.Competences, known, "compétence"); msg != "" {
		bad = append(bad, FieldError{Field: FieldCompetences, Message: msg})
	}
	territories := territory.Codes()
	if d.Territories, msg = codes(d.Territories, func(c string) bool { return slices.Contains(territories, c) }, "territoire"); msg != "" {
		bad = append(bad, FieldError{Field: FieldTerritories, Message: msg})
	}
	if d.Communes, msg = r.communes(d.Communes); msg != "" {
		bad = append(bad, FieldError{Field: FieldCommunes, Message: msg})
	}
	if d.EventTypes, msg = codes(d.EventTypes, func(c string) bool {
		return slices.ContainsFunc(EventTypes, func(t EventType) bool { return t.Code == c })
	}, "type d'événement"); msg != "" {
		bad = append(bad, FieldError{Field: FieldEventTypes, Message: msg})
	}
	return d, bad
}

// checkURL says what is wrong with an endpoint ("" when nothing) and
// whether it is its length.
func (r Rules) checkURL(s string) (string, bool) {
	const example = " Écrivez-la en entier, par exemple https://partenaire.example.fr/guichet/webhooks."
	if s == "" {
		return "Indiquez l'adresse (URL) où envoyer les événements." + example, false
	}
	if len(s) > MaxURL {
		return fmt.Sprintf("L'adresse est trop longue : %d caractères au plus.", MaxURL), true
	}
	if !utf8.ValidString(s) || strings.ContainsFunc(s, func(c rune) bool { return unicode.IsSpace(c) || unicode.IsControl(c) }) {
		return "L'adresse contient des espaces ou des caractères non permis." + example, false
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Opaque != "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "Cette adresse n'est pas une URL web valable." + example, false
	}
	if u.User != nil {
		return "L'adresse ne doit pas contenir d'identifiant ni de mot de passe : les envois sont authentifiés par leur signature.", false
	}
	if u.Fragment != "" || strings.Contains(s, "#") {
		return "L'adresse ne doit pas contenir de fragment (#…).", false
	}
	if u.Scheme == "http" && !r.plainAllowed(u) {
		return "L'adresse doit commencer par https:// : les événements ne partent que chiffrés.", false
	}
	return "", false
}

// plainAllowed says whether an http:// endpoint may be called: only on the
// loopback, and only when the configuration allows it.
func (r Rules) plainAllowed(u *url.URL) bool {
	if !r.AllowHTTP {
		return false
	}
	host := u.Hostname()
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// allowed says whether an endpoint stored earlier may still be called
// under the present configuration.
func (r Rules) allowed(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http" && r.plainAllowed(u))
}

// codes normalizes a filter: codes trimmed, sorted, each once, every one
// known.
func codes(in []string, known func(string) bool, what string) ([]string, string) {
	var out []string
	for _, c := range in {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		if len(c) > 64 || known == nil || !known(c) {
			return nil, fmt.Sprintf("%s inconnu(e) : « %s ».", strings.ToUpper(what[:1])+what[1:], clip(c, 64))
		}
		out = append(out, c)
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > MaxFilters {
		return nil, fmt.Sprintf("Trop de valeurs : %d au plus.", MaxFilters)
	}
	return out, ""
}

// communes turns INSEE codes and names of the Métropole's communes into
// their codes (Marseille's arrondissements are Marseille, 13055).
func (r Rules) communes(in []string) ([]string, string) {
	var out, unknown []string
	for _, c := range in {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		if r.Places == nil {
			return nil, "Les communes ne peuvent pas être vérifiées."
		}
		if k, ok := r.Places.ByINSEE(c); ok {
			out = append(out, k.INSEE)
			continue
		}
		found := false
		for _, k := range r.Places.Communes() {
			if fold(k.Name) == fold(c) {
				out, found = append(out, k.INSEE), true
				break
			}
		}
		if !found {
			unknown = append(unknown, "« "+clip(c, 64)+" »")
		}
	}
	if len(unknown) > 0 {
		return nil, "Commune inconnue dans la Métropole : " + strings.Join(unknown, ", ") + ". Écrivez son nom ou son code INSEE (ex. 13001 ou Aix-en-Provence)."
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > MaxFilters {
		return nil, fmt.Sprintf("Trop de communes : %d au plus.", MaxFilters)
	}
	return out, ""
}

// fold compares names without case, accents, hyphens or apostrophes.
func fold(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(strings.ToLower(s)) {
		switch {
		case unicode.Is(unicode.Mn, r):
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		default:
			b.WriteByte(' ')
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// NewSecret makes a Standard Webhooks signing secret: whsec_ and the
// base64 of 32 random bytes.
func NewSecret() string {
	b := make([]byte, secretBytes)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}
