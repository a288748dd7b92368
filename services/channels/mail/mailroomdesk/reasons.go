package mailroomdesk

import (
	"strings"
)

// reasonRule turns the technical reasons that contain one of its words
// into what the mailroom should do, in French.
type reasonRule struct {
	words []string // lower case; any of them matches
	says  string
}

// reasonRules are tried in order: the first that matches says what to do.
// The words are those of the scan reader, the e-mail parser, the mailbox
// reader and the router (services/channels/mail/...).
var reasonRules = []reasonRule{
	{[]string{"chiffré", "password"},
		"Le PDF est protégé par un mot de passe : demandez à l'expéditeur une version sans protection, ou imprimez-le et numérisez-le de nouveau."},
	{[]string{"format non pris en charge", "sans scan"},
		"Ce fichier n'est pas un scan (PDF, TIFF, JPEG ou PNG attendu) : numérisez de nouveau le courrier dans l'un de ces formats."},
	{[]string{"vide ou illisible", "fichier vide", "no text", "sans page"},
		"Aucun texte n'a pu être lu sur ce scan (page blanche, trop pâle ou floue) : vérifiez que la bonne face a été numérisée, puis numérisez-le de nouveau à 300 dpi."},
	{[]string{"lecture interrompue", "trop de calcul"},
		"La lecture de ce fichier demandait trop de calcul : numérisez de nouveau le courrier, en noir et blanc à 300 dpi, et déposez-le."},
	{[]string{" pages, plus de", "tiff de plus de"},
		"Le scan a trop de pages (20 au plus) : numérisez le courrier en plusieurs fichiers."},
	{[]string{"pixels"},
		"Les pages du scan sont trop grandes : numérisez-le de nouveau au format A4, à 300 dpi."},
	{[]string{"email: message de plus de", "email: plus de", "email: contenu décodé", "octets (limite"},
		"Ce courriel est trop volumineux pour être lu : il est resté dans le dossier des rejetés de la boîte ; demandez à l'expéditeur de l'envoyer en plusieurs fois, ou saisissez la demande à la main."},
	{[]string{"octets, plus de", "trop volumineux"},
		"Le fichier est trop volumineux (20 Mio au plus) : numérisez le courrier en noir et blanc, à 300 dpi, ou en plusieurs fichiers."},
	{[]string{"trop de scans en cours"},
		"Trop de scans étaient lus en même temps : déposez celui-ci de nouveau dans une minute."},
	{[]string{"s'est arrêté pendant"},
		"Le service s'est arrêté pendant la lecture : déposez le scan de nouveau."},
	{[]string{"message automatique"},
		"Message automatique (absence, avis de non-remise) : il ne demande rien, aucune action n'est nécessaire."},
	{[]string{"email:"},
		"Ce courriel est mal formé et n'a pas pu être lu : ouvrez-le dans le dossier des rejetés de la boîte et saisissez la demande à la main."},
	{[]string{"illisible", "invalide", "tronqué", "dimensions", "en-tête", "non rendue"},
		"Le fichier est abîmé ou incomplet : numérisez de nouveau le courrier et déposez-le."},
	{[]string{"incident technique", "échec après", "timeout", "délai"},
		"Incident technique pendant le traitement : déposez le scan de nouveau dans quelques minutes ; si cela se répète, prévenez l'administrateur de Guichet."},
}

// explain says what the mailroom should do about a rejected message or a
// request that failed, from its technical reason.
func explain(status, reason string) string {
	r := strings.ToLower(reason)
	for _, rule := range reasonRules {
		for _, w := range rule.words {
			if strings.Contains(r, w) {
				return rule.says
			}
		}
	}
	if status == "failed" {
		return "L'orientation automatique a échoué : corrigez le texte (référence de dossier, commune, adresse) et renvoyez-le ; si cela se répète, prévenez l'administrateur de Guichet."
	}
	return "Ce message n'a pas pu être lu : il est resté dans le dossier des rejetés de la boîte ; traitez-le à la main."
}

// lowConfidence is the reading confidence under which the text of a letter
// should be read again by a person.
const lowConfidence = 0.6
