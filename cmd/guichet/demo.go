package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ampmetropole/guichet/cmd/guichet/compose"
	"github.com/ampmetropole/guichet/services/cases/knowledge"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/staff/auth"
)

// demoAccount is an account `guichet dev` creates to try every role.
type demoAccount struct {
	login, name, role        string
	competences, territories []string
	what                     string
	communes                 []string // a mairie's
}

var demoAccounts = []demoAccount{
	{"agent-01", "Inès Haddad", auth.RoleAgent, nil, nil, "centre d'appels : console agent", nil},
	{"courrier-01", "Marc Rey", auth.RoleMailroom, nil, nil, "service courrier : /courrier", nil},
	{"voirie-mp", "Camille Roux", auth.RoleTeam, []string{"voirie"}, []string{"marseille-provence"}, "équipe voirie, Marseille-Provence", nil},
	{"dechets", "Julien Blanc", auth.RoleTeam, []string{"dechets", "proprete"}, nil, "équipes déchets et propreté, tous territoires", nil},
	{"superviseur", "Nadia Benali", auth.RoleSupervisor, nil, nil, "encadrement : tri, tableau de bord, toutes compétences", nil},
	{"admin", "Admin Guichet", auth.RoleAdmin, nil, nil, "administration : tout, journal d'audit", nil},
	{"dpd", "Claire Vidal", auth.RoleDPO, nil, nil, "protection des données : /bo/rgpd, demandes « Données personnelles »", nil},
	{"mairie-gardanne", "Sophie Martin", auth.RoleCommune, nil, nil, "accueil de la mairie de Gardanne : /mairie", []string{"13041"}},
	{"mairie-cassis", "Luc Garcia", auth.RoleCommune, nil, nil, "accueil de la mairie de Cassis : /mairie", []string{"13022"}},
}

// demoContacts are where `guichet dev` sends the demo mairies' handoffs
// (to the mail outbox, like every message it sends).
var demoContacts = map[string]string{"13041": "accueil@mairie-gardanne.example.fr", "13022": "accueil@mairie-cassis.example.fr"}

// ensureDemoContacts gives the demo mairies their addresses.
func ensureDemoContacts(ctx context.Context, a *compose.App) error {
	for insee, email := range demoContacts {
		if err := a.Store.SetCommuneContact(ctx, insee, email, "guichet dev"); err != nil {
			return fmt.Errorf("adresse de démonstration de la commune %s : %w", insee, err)
		}
	}
	return nil
}

// demoPassword derives an account's password from the data folder's
// secret, so that it stays the same from one start to the next.
func demoPassword(secret, login string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("guichet demo account " + login))
	return strings.ToLower(base32.StdEncoding.EncodeToString(m.Sum(nil))[:16])
}

// ensureDemoAccounts creates the demo accounts that are missing and prints
// them with their passwords.
func ensureDemoAccounts(ctx context.Context, svc *auth.Service, secret string, w io.Writer) error {
	existing, err := svc.ListAccounts(ctx)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, a := range existing {
		have[a.Login] = true
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  Comptes de démonstration (identifiant, mot de passe, rôle) :")
	for _, d := range demoAccounts {
		pw := demoPassword(secret, d.login)
		if !have[d.login] {
			var err error
			if d.role == auth.RoleCommune {
				_, err = svc.CreateCommuneAccount(ctx, d.login, d.name, pw, d.communes)
			} else {
				_, err = svc.CreateAccount(ctx, d.login, d.name, d.role, pw, d.competences, d.territories)
			}
			if err != nil && fault.KindOf(err) != fault.Conflict {
				return fmt.Errorf("compte de démonstration %s : %w", d.login, err)
			}
		}
		fmt.Fprintf(tw, "    %s\t%s\t%s\n", d.login, pw, d.what)
	}
	return tw.Flush()
}

// demoEntry is an answer of the knowledge base `guichet dev` starts with.
// They are written as the Métropole's internal answer sheets would be, with
// [à compléter] where a real figure, address or schedule belongs: nothing
// here is an official fact to read to a citizen.
type demoEntry struct {
	knowledge.Draft
	// reviewIn is the review date from today; negative: already due.
	reviewIn time.Duration
}

var demoEntries = []demoEntry{
	{knowledge.Draft{Title: "Horaires des déchetteries", Competence: "dechets", Text: `Les déchetteries de la Métropole accueillent les particuliers qui habitent une de ses communes. Les horaires varient selon la déchetterie et la saison (horaires d'été et d'hiver) : donnez ceux de la déchetterie la plus proche de l'appelant [tableau des horaires par déchetterie à compléter par la direction Déchets].

Conseillez d'arriver au moins [durée à compléter] avant la fermeture : l'accès peut être refusé au-delà. Les jours fériés, les déchetteries sont en principe fermées [exceptions à compléter].

Les professionnels ne sont pas accueillis aux mêmes conditions : orientez-les vers [service ou page à compléter].`}, 300 * 24 * time.Hour},
	{knowledge.Draft{Title: "Accès aux déchetteries : justificatif ou badge, déchets acceptés", Competence: "dechets", Text: `Selon le territoire, l'accès se fait sur présentation d'un justificatif de domicile, ou avec un badge délivré sur demande [modalités par territoire à compléter].

Sont en général acceptés : encombrants, déchets verts, cartons, ferraille, gravats en petite quantité, appareils électriques. Sont refusés : [liste à compléter, par exemple déchets médicaux, bouteilles de gaz].

Quantités limitées par passage [volumes à compléter]. Un refus d'accès contesté par l'appelant : journalisez une demande (compétence Déchets).`}, 200 * 24 * time.Hour},
	{knowledge.Draft{Title: "Collecte des encombrants", Competence: "dechets", Text: `Les encombrants (meubles, matelas, gros électroménager) sont enlevés devant le domicile sur rendez-vous, dans les communes où le service existe [liste des communes et mode de prise de rendez-vous à compléter : téléphone, formulaire en ligne].

Rappelez à l'appelant de ne sortir ses objets que la veille ou le jour convenu : un dépôt sur le trottoir en dehors du rendez-vous est un dépôt sauvage, passible d'une amende.

Si la commune n'a pas ce service, orientez vers la déchetterie la plus proche. Un dépôt sauvage signalé par l'appelant : journalisez une demande (compétence Propreté).`}, 365 * 24 * time.Hour},
	{knowledge.Draft{Title: "Jours de collecte des ordures ménagères et du tri", Competence: "dechets", Text: `Les jours de passage dépendent de la commune et parfois de la rue : donnez ceux de l'adresse de l'appelant [calendrier de collecte par commune à compléter, ou lien vers la page de la Métropole].

Les bacs se sortent la veille au soir et se rentrent après la collecte. Un bac non collecté le jour prévu, ou abîmé par la collecte : journalisez une demande (compétence Déchets).`}, 180 * 24 * time.Hour},
	{knowledge.Draft{Title: "Stationnement résidentiel : carte ou abonnement résident", Competence: "stationnement", Territory: "marseille-provence", Text: `Selon la commune, le stationnement payant sur voirie relève de la Métropole ou de la commune [à vérifier pour la commune de l'appelant].

Le tarif résident est réservé aux personnes qui habitent dans la zone concernée. Pièces habituellement demandées : justificatif de domicile récent et certificat d'immatriculation du véhicule au nom de l'appelant [liste exacte, tarif et mode de demande à compléter selon la délibération en vigueur].

Une contestation d'avis de paiement (forfait post-stationnement) ne se règle pas au téléphone : donnez la démarche de recours [procédure à compléter].`}, 240 * 24 * time.Hour},
	{knowledge.Draft{Title: "Facture d'eau : qui contacter, fuite après compteur", Competence: "eau_assainissement", Text: `La facture d'eau est émise par l'exploitant du service d'eau de la commune de l'appelant [nom et coordonnées du service clients par commune à compléter]. Une question sur un montant, un relevé, un échéancier ou un changement d'occupant se traite avec lui.

Une facture anormalement élevée peut venir d'une fuite. Si la fuite est sur une canalisation après le compteur et a été réparée par un professionnel, un plafonnement de la facture peut être demandé sous conditions : l'exploitant précise lesquelles.

Une fuite sur la voie publique ou avant le compteur : journalisez une demande (compétence Eau et assainissement).`}, -3 * 24 * time.Hour},
	{knowledge.Draft{Title: "Coupure d'eau ou baisse de pression", Competence: "eau_assainissement", Text: `Vérifiez d'abord s'il s'agit d'une coupure programmée (travaux) sur le secteur de l'appelant [où consulter les coupures programmées à compléter].

Si ce n'est pas le cas, demandez si les voisins sont touchés : un problème limité au logement relève en général de l'installation privée (plombier). Un secteur entier privé d'eau ou une fuite visible sur la chaussée : journalisez une demande urgente (compétence Eau et assainissement).`}, 120 * 24 * time.Hour},
	{knowledge.Draft{Title: "Déchets verts et composteurs", Competence: "dechets", Text: `Le brûlage des déchets verts à l'air libre est interdit : orientez l'appelant vers la déchetterie ou le compostage.

La Métropole propose des composteurs aux particuliers [conditions, participation éventuelle et mode de demande à compléter]. Des collectes de déchets verts existent dans certaines communes [communes et calendrier à compléter].`}, 330 * 24 * time.Hour},
	{knowledge.Draft{Title: "Demandes qui ne relèvent pas de la Métropole", Competence: "hors_competence", Text: `État civil, cartes d'identité et passeports, inscriptions scolaires, cantine, police municipale : ces services relèvent de la mairie de l'appelant [coordonnées des mairies à compléter]. Ne journalisez pas de demande : donnez le bon interlocuteur.

Routes départementales, collèges, aides sociales du Département : [coordonnées du Département à compléter]. En cas de doute sur la compétence, journalisez une demande sans domaine : elle ira au tri.`}, 365 * 24 * time.Hour},
}

// ensureDemoKnowledge gives the knowledge base its demo answers, written
// by the demo supervisor, when it has none (live or archived).
func ensureDemoKnowledge(ctx context.Context, a *compose.App) error {
	return seedKnowledge(ctx, knowledge.New(a.Store.DB()), time.Now())
}

func seedKnowledge(ctx context.Context, kb *knowledge.Store, now time.Time) error {
	for _, archived := range []bool{false, true} {
		if es, err := kb.List(ctx, knowledge.ListQuery{Archived: archived, Limit: 1}); err != nil || len(es) > 0 {
			return err
		}
	}
	today := knowledge.Today(now)
	for _, e := range demoEntries {
		d := e.Draft
		d.ReviewOn = today.Add(e.reviewIn)
		if _, err := kb.Create(ctx, d, "superviseur"); err != nil {
			return fmt.Errorf("réponse type de démonstration « %s » : %w", d.Title, err)
		}
	}
	return nil
}
