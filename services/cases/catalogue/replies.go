package catalogue

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Filling is what a reply template is filled in with for one case.
type Filling struct {
	Ref        string // the case's reference
	Competence string // the case's competence: its service signs and is named
	Name       string // the citizen's name as they gave it; "" when unknown
	Details    string // what the person answering must write; "…" when empty
	RedirectTo string // the body to contact, for a case sent elsewhere; "…" when empty
}

// Fill writes a template out for a case: {{greeting}} greets the citizen
// ([Greeting]), {{ref}} is the reference, {{service}} the service's name
// alone (to sign), {{the_service}} with its article ("examinée par
// {{the_service}}"), {{phone}} the service desk's number, {{details}} and
// {{redirect_to}} what the person answering gave, else "…" for them to
// complete.
func (c *Catalogue) Fill(t Template, f Filling) string {
	orDots := func(s string) string {
		if strings.TrimSpace(s) == "" {
			return "…"
		}
		return s
	}
	return strings.NewReplacer(
		"{{greeting}}", Greeting(f.Name),
		"{{ref}}", f.Ref,
		"{{service}}", c.ServiceFor(f.Competence),
		"{{the_service}}", c.TheService(f.Competence),
		"{{phone}}", c.Organisation.Phone,
		"{{details}}", orDots(f.Details),
		"{{redirect_to}}", orDots(f.RedirectTo),
	).Replace(t.Body)
}

// TheService names the service of a competence with its definite article
// ("la Direction de la voirie", "le Service de l'éclairage public"), the
// service desk for an unknown competence (triage).
func (c *Catalogue) TheService(code string) string {
	if k, ok := c.byCode[code]; ok {
		return WithArticle(k.ServiceArticle, k.Service)
	}
	return WithArticle(c.Organisation.ServiceDeskArticle, c.Organisation.ServiceDesk)
}

// WithArticle puts a definite article before a name: "la" + "Direction de
// la voirie", "l'" + "Agence" without a space. With no article given, it
// takes [Article]'s; when that cannot tell, the name alone.
func WithArticle(article, name string) string {
	name = strings.TrimSpace(name)
	if article == "" {
		article = Article(name)
	}
	switch {
	case name == "" || article == "":
		return name
	case strings.HasSuffix(article, "'"):
		return article + name
	}
	return article + " " + name
}

// feminine, masculine and aspirated list the first words of the names of
// public bodies whose gender (or aspirated h) Article cannot guess.
var (
	feminine = map[string]bool{"direction": true, "division": true, "mission": true, "délégation": true, "cellule": true,
		"maison": true, "mairie": true, "métropole": true, "régie": true, "plateforme": true, "plate-forme": true,
		"sous-direction": true, "préfecture": true, "commune": true, "ville": true, "cité": true, "caisse": true,
		"chambre": true, "permanence": true, "police": true, "brigade": true, "subdivision": true, "circonscription": true}
	masculine = map[string]bool{"service": true, "centre": true, "pôle": true, "département": true, "bureau": true,
		"secrétariat": true, "guichet": true, "conseil": true, "cabinet": true, "syndicat": true, "standard": true,
		"point": true, "laboratoire": true, "musée": true, "parc": true, "port": true, "comité": true, "groupement": true}
	plural = map[string]bool{"services": true, "directions": true, "ateliers": true, "archives": true}
	// An aspirated h takes no elision: la halle, le hameau.
	aspirated = map[string]string{"halle": "la", "halles": "les", "hameau": "le", "hangar": "le", "hall": "le", "haut": "le", "haute": "la"}
)

// Article guesses the definite article of a public body's name from its
// first word: "l'" before a vowel or a mute h, "les" for a plural, "la" or
// "le" for the usual words of administrations (direction, service, centre,
// pôle…), and "" when it cannot tell — French gender cannot be guessed
// safely, so an unknown word gets no article rather than a wrong one.
func Article(name string) string {
	first, _, _ := strings.Cut(strings.TrimSpace(name), " ")
	first = strings.ToLower(strings.TrimRight(first, ",.;:"))
	if first == "" {
		return ""
	}
	if plural[first] {
		return "les"
	}
	if a, ok := aspirated[first]; ok {
		return a
	}
	r, _ := utf8.DecodeRuneInString(first)
	if strings.ContainsRune("aâàäeéèêëiîïoôöuûùüyh", r) {
		return "l'"
	}
	switch {
	case feminine[first]:
		return "la"
	case masculine[first]:
		return "le"
	}
	return ""
}

// Greeting opens a reply to a citizen: "Bonjour Karim Benali," with the
// name as they gave it, "Madame, Monsieur," when it is unknown or does not
// read as a name (an e-mail address, a number, a whole sentence). No
// civility is guessed from a first name.
func Greeting(name string) string {
	name = strings.Join(strings.Fields(name), " ")
	if !looksLikeName(name) {
		return "Madame, Monsieur,"
	}
	return "Bonjour " + name + ","
}

// looksLikeName says whether a name as given can be written after
// "Bonjour": letters, spaces, hyphens, apostrophes and dots, 2 to 80 of
// them, not all punctuation.
func looksLikeName(name string) bool {
	n := utf8.RuneCountInString(name)
	if n < 2 || n > 80 {
		return false
	}
	letters := 0
	for _, r := range name {
		switch {
		case unicode.IsLetter(r):
			letters++
		case r == ' ' || r == '-' || r == '\'' || r == '’' || r == '.':
		default:
			return false
		}
	}
	return letters >= 2
}
