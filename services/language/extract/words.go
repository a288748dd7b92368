package extract

import "strings"

// The word lists below are folded (lower case, no accents), as tokens are.

// fillers are hesitations a transcript may carry anywhere.
var fillers = set("euh", "heu", "hum", "hmm", "hm", "bah", "ben", "beh", "mmh", "mh", "eh", "hein", "euhm", "heum", "em")

func isFiller(w string) bool {
	if fillers[w] {
		return true
	}
	// "euuuh", "euhhh"
	if len(w) >= 3 && strings.HasPrefix(w, "eu") {
		return strings.Trim(w, "euh") == ""
	}
	return false
}

// stopWords never belong to a person's name or a street name: grammar
// words, discourse markers and the verbs callers use around them.
var stopWords = set(
	// articles, prepositions, pronouns, conjunctions
	"a", "au", "aux", "avec", "ce", "ces", "cet", "cette", "ca", "cela", "c", "chez", "comme", "d",
	"dans", "de", "des", "du", "elle", "elles", "en", "entre", "et", "il", "ils", "j", "je", "l",
	"la", "le", "les", "leur", "leurs", "lui", "m", "ma", "mais", "me", "mes", "moi", "mon", "n",
	"ne", "ni", "nos", "notre", "nous", "on", "ou", "par", "pas", "pour", "qu", "que", "qui", "quoi",
	"s", "sa", "se", "ses", "si", "son", "sur", "sous", "t", "ta", "te", "tes", "toi", "ton", "tu",
	"vers", "vos", "votre", "vous", "y", "tout", "tous", "toute", "toutes", "rien", "quelqu", "quelque",
	"sans", "contre", "lors", "lorsque", "dont", "ou", "apres", "avant", "pendant", "jusqu", "jusque",
	// discourse
	"alors", "aussi", "bien", "bon", "bonjour", "bonsoir", "car", "ici", "donc", "deja", "encore",
	"enfin", "juste", "merci", "non", "oui", "ok", "okay", "parce", "plus", "puis", "quand", "tres",
	"trop", "toujours", "voila", "voici", "vraiment", "depuis", "devant", "derriere", "pres", "cote",
	"face", "niveau", "bout", "hauteur", "maintenant", "aujourd", "hui", "hier", "demain", "matin",
	"soir", "svp", "stp", "accord", "desole", "desolee", "pardon", "excusez", "allo", "revoir",
	"exactement", "justement", "meme", "autre", "autres", "seulement", "surtout", "ya",
	// verbs callers say next to a name or an address
	"est", "sont", "suis", "es", "sommes", "etes", "ai", "as", "avons", "avez", "ont", "etait",
	"etais", "ete", "avait", "avais", "fait", "faut", "peut", "peux", "pouvez", "pourriez", "va",
	"vais", "vont", "veux", "voulais", "voudrais", "voulait", "souhaite", "souhaiterais",
	"souhaitais", "appelle", "appelais", "appel", "appeler", "apelle", "rappelle", "rappeler",
	"telephone", "habite", "habitons", "habitez", "habitant", "habitante", "reside", "signale",
	"signaler", "signaleer", "dire", "dis", "dit", "viens", "vient", "venir", "voir", "vois",
	"trouve", "trouvent", "passe", "demande", "demander", "concernant", "concerne", "sujet", "propos",
	"sais", "savez", "crois", "pense", "ecris", "ecrit", "joindre", "contacte", "contacter",
	"rencontre", "prie", "agreer", "veuillez", "remercie",
	// words around contact details
	"numero", "code", "postal", "adresse", "mail", "email", "courriel", "tel", "portable", "cedex",
	"bp", "probleme", "dossier", "reference", "arrondissement",
)

// notNames are words that may name a street ("place de la Mairie") but not
// a person ("je suis madame Dupont de la métropole").
var notNames = set("metropole", "mairie", "service", "services", "commune", "ville", "quartier",
	"locataire", "proprietaire", "voisin", "voisine", "gardien", "gardienne", "syndic", "president",
	"presidente", "responsable", "agent", "maire", "adjoint", "adjointe", "directeur", "directrice")

// titles said before a surname, with the form kept in Facts.Name.
var titles = map[string]string{
	"madame": "Madame", "mme": "Madame", "monsieur": "Monsieur", "mr": "Monsieur",
	"mademoiselle": "Mademoiselle", "mlle": "Mademoiselle",
}

// particles link the words of a street name ("de la", "du", "des", "l'").
var particles = set("de", "du", "des", "la", "le", "les", "l", "d")

// lowerInName stay lower case inside a capitalized name.
var lowerInName = set("de", "du", "des", "la", "le", "les", "l", "d", "en", "sur", "sous", "et", "aux", "au", "les", "lez")

// streetType is a kind of way, with the form written in an address.
type streetType struct {
	canon string
	// strong types name a street even without a house number ("avenue de la
	// Fontaine"); weak ones ("place", "cours", "route"…) are common words and
	// need a number or a capitalized name.
	strong bool
	abbr   bool // written with a dot ("av.", "bd.")
}

var streetTypes = map[string]streetType{
	"rue":         {"rue", true, false},
	"avenue":      {"avenue", true, false},
	"av":          {"avenue", true, true},
	"ave":         {"avenue", true, true},
	"boulevard":   {"boulevard", true, false},
	"bd":          {"boulevard", true, true},
	"bld":         {"boulevard", true, true},
	"bvd":         {"boulevard", true, true},
	"allee":       {"allée", true, false},
	"allees":      {"allées", true, false},
	"impasse":     {"impasse", true, false},
	"imp":         {"impasse", true, true},
	"lotissement": {"lotissement", true, false},
	"residence":   {"résidence", true, false},
	"cite":        {"cité", true, false},
	"corniche":    {"corniche", true, false},
	"esplanade":   {"esplanade", true, false},
	"chemin":      {"chemin", false, false},
	"che":         {"chemin", false, true},
	"place":       {"place", false, false},
	"cours":       {"cours", false, false},
	"route":       {"route", false, false},
	"rte":         {"route", false, true},
	"traverse":    {"traverse", false, false},
	"quai":        {"quai", false, false},
	"montee":      {"montée", false, false},
	"square":      {"square", false, false},
	"parc":        {"parc", false, false},
	"promenade":   {"promenade", false, false},
	"passage":     {"passage", false, false},
	"hameau":      {"hameau", false, false},
	"domaine":     {"domaine", false, false},
	"voie":        {"voie", false, false},
}

func set(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}
