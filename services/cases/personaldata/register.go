package personaldata

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/ampmetropole/guichet/services/cases/catalogue"
)

// RegisterSchemaV1 names the register's JSON format.
const RegisterSchemaV1 = "guichet.register.v1"

// RegisterConfig is what the register needs of the configuration: who
// else receives data, when configured. An empty field: that recipient is
// not configured (it is then written as such).
type RegisterConfig struct {
	// SMS is the SMS centre (GUICHET_SMPP_ADDR, host:port).
	SMS string
	// MailServer is the server e-mails leave by (the host of
	// GUICHET_SMTP_URL).
	MailServer string
	// Mailbox is the mailroom's mailbox (the host of GUICHET_IMAP_URL).
	Mailbox string
	// FranceConnect is FranceConnect's issuer, when citizens may sign in
	// with it.
	FranceConnect string
	// StaffSSO is the staff's OpenID Connect provider.
	StaffSSO string
	// MapTiles is the origin of the web form's map tiles.
	MapTiles string
	// Geocoder is the origin of the reverse geocoder.
	Geocoder string
}

// Register is the register of processing (RGPD article 30-1) of Guichet,
// written from the catalogue and the configuration.
type Register struct {
	Schema     string     `json:"schema"`
	Title      string     `json:"title"`
	Controller Controller `json:"controller"`
	// LegalBasis is why the processing is lawful.
	LegalBasis string `json:"legal_basis"`
	// Purposes are the competences: one purpose per service.
	Purposes       []Purpose  `json:"purposes"`
	DataSubjects   []Item     `json:"data_subjects"`
	DataCategories []Item     `json:"data_categories"`
	Recipients     []Item     `json:"recipients"`
	Transfers      string     `json:"transfers"`
	Retention      []Period   `json:"retention"`
	Security       []Measure  `json:"security"`
	Rights         string     `json:"rights"`
	Automated      string     `json:"automated_decisions"`
	Teams          []TeamLine `json:"teams"`
}

// Purpose is one purpose of processing: handling the requests of one
// competence.
type Purpose struct {
	Competence string `json:"competence"`
	Label      string `json:"label"`
	Service    string `json:"service"`
	Scope      string `json:"scope"`
}

// Item is one line of a category: a name and what it covers.
type Item struct {
	Name   string `json:"name"`
	Detail string `json:"detail"`
}

// TeamLine is a team that receives the requests of a competence on a
// territory.
type TeamLine struct {
	Competence string `json:"competence"`
	Territory  string `json:"territory"`
	Name       string `json:"name"`
	Email      string `json:"email"`
}

// Measure is a security measure, as docs/security.md describes it under
// the heading named.
type Measure struct {
	Title   string `json:"title"`
	Detail  string `json:"detail"`
	Heading string `json:"doc_heading"` // the heading of docs/security.md
}

// securityMeasures are the boundaries of docs/security.md, in French; a
// test checks that each heading is still there.
var securityMeasures = []Measure{
	{"Page de suivi", "Le code de suivi (60 bits tirés d'une clé secrète) ne donne accès qu'à une demande et aux réponses qui lui sont adressées, jamais aux autres demandes du dossier.", "A citizen's status page (`/suivi/{code}`)"},
	{"Espace « Mes demandes »", "Connexion par lien à usage unique (15 minutes, empreinte seule conservée) ou FranceConnect ; seules les demandes qui portent l'adresse ou le numéro prouvés sont montrées ; session de 30 minutes d'inactivité, 4 heures au plus.", "A citizen's space (`/mes-demandes`)"},
	{"Pièces jointes", "Un fichier n'est servi qu'à un agent qui voit un dossier qui le contient ; chaque consultation est journalisée.", "Files (`/bo/pieces/{sha256}`, `/courrier/scans/{sha256}`)"},
	{"Périmètres des agents", "Chaque agent ne voit que les dossiers de ses compétences et de ses territoires ; un dossier hors périmètre est « introuvable ».", "Staff scopes (one rule, `services/cases/scope`)"},
	{"Échanges avec les autres systèmes", "Jetons d'API par système et par rôle, conservés sous forme d'empreinte ; limites de débit par jeton et par adresse ; codes de suivi remis au seul système déposant.", "System intake (`POST /api/v1/requests`, `POST /api/v1/calls`, `POST /api/v1/mail/scans`)"},
	{"Contrôle des saisies", "Tout texte que la base refuserait est refusé avant l'accusé de réception ; aucune erreur de la base n'atteint une page.", "Text at the door"},
	{"Courriers numérisés", "Lecture des scans bornée en temps, mémoire et taille ; deux scans à la fois au plus.", "Scanned letters"},
	{"Connexion du personnel", "Mots de passe argon2id ou OpenID Connect ; tentatives freinées par des délais croissants, jamais de blocage de compte ; sessions à durée limitée.", "Sign-in"},
	{"Journal d'audit", "Journal en ajout seul (un déclencheur refuse les modifications, sauf l'effacement audité) : connexions, consultations de dossiers, de pièces et de données personnelles, actions.", "The audit log"},
}

// BuildRegister writes the register of processing from the catalogue (the
// purposes are its competences, the durations its retention schedule, the
// internal recipients its teams) and the configuration (the outside
// recipients).
func BuildRegister(cat *catalogue.Catalogue, cfg RegisterConfig) Register {
	org := cat.Organisation
	r := Register{
		Schema: RegisterSchemaV1,
		Title:  "Guichet — réception, orientation et traitement des demandes des usagers",
		Controller: Controller{Name: org.Name, Address: org.Address,
			DataProtectionContact: org.DataProtectionContact},
		LegalBasis: "Mission d'intérêt public dont est investie la " + org.Name + " (RGPD, article 6-1-e) : " +
			"répondre aux demandes des usagers (code des relations entre le public et l'administration, articles L112-3 et suivants).",
		DataSubjects: []Item{
			{"Usagers", "personnes qui font une demande par le site, par téléphone, par courrier ou par courriel, ou qui se connectent à « Mes demandes »"},
			{"Tiers cités", "personnes que les usagers nomment dans leurs demandes (voisins, proches), et dont le texte ou les pièces jointes peuvent parler"},
			{"Agents", "personnel de la " + org.Name + " qui utilise Guichet : comptes, connexions, actions journalisées"},
		},
		DataCategories: []Item{
			{"Identité et coordonnées", "nom, adresse électronique, numéro de téléphone, adresse postale, moyen de réponse souhaité"},
			{"Contenu des demandes", "objet, texte, lieu (adresse, commune, position sur la carte), messages complémentaires"},
			{"Enregistrements et documents", "transcriptions d'appels, courriers numérisés et leur texte lu, photos et pièces jointes"},
			{"Échanges", "réponses des services, accusés de réception et avis envoyés, courriers imprimés"},
			{"Avis", "note et commentaire sur le traitement d'une demande"},
			{"Traces techniques", "connexions à « Mes demandes » (adresse IP), journal d'audit des agents (identifiant, adresse IP, action)"},
		},
		Transfers: "Aucun transfert hors de l'Union européenne n'est fait par Guichet ; les prestataires désignés ci-dessus " +
			"(opérateur SMS, serveur de messagerie, fond de carte) doivent traiter les données dans l'Union européenne, ce que leurs contrats disent.",
		Retention: Schedule(cat),
		Security:  append([]Measure(nil), securityMeasures...),
		Rights: "Accès, rectification, effacement (dans les limites de l'article 17-3), limitation, opposition : " +
			"auprès du délégué à la protection des données, " + org.DataProtectionContact + ", ou par une demande « Données personnelles » " +
			"(elle va à son équipe). Le délégué répond sous un mois ; l'extraction et l'effacement se font par `guichet rgpd` ou la page /bo/rgpd, " +
			"chaque fois journalisés. Réclamation auprès de la CNIL.",
		Automated: "L'orientation d'une demande vers un service est proposée par un classifieur, à partir du texte et du lieu, jamais de " +
			"l'identité ; chaque orientation est expliquée aux agents, qui la corrigent. Aucune décision produisant des effets juridiques " +
			"n'est prise sans intervention humaine (RGPD, article 22).",
	}
	for _, k := range cat.Competences {
		r.Purposes = append(r.Purposes, Purpose{Competence: k.Code, Label: k.Label, Service: k.Service, Scope: k.Help})
		for _, t := range k.Teams {
			r.Teams = append(r.Teams, TeamLine{Competence: k.Code, Territory: t.Territory, Name: t.Name, Email: t.Email})
		}
	}
	r.Recipients = []Item{
		{"Services de la " + org.Name, "les agents des équipes chargées de chaque compétence, dans leur périmètre (liste ci-dessous), le centre de relation usagers (" +
			org.ServiceDesk + "), le service courrier, l'encadrement et le délégué à la protection des données"},
	}
	configured := func(name, detail, value, missing string) {
		if value == "" {
			r.Recipients = append(r.Recipients, Item{name, missing})
			return
		}
		r.Recipients = append(r.Recipients, Item{name, detail + " — " + value})
	}
	configured("Opérateur SMS", "reçoit le numéro de mobile et le texte des accusés, avis et liens de connexion envoyés par SMS", cfg.SMS,
		"non configuré : aucun SMS n'est envoyé")
	configured("Serveur de messagerie", "achemine les courriels envoyés aux usagers (adresse, objet, texte)", cfg.MailServer,
		"non configuré : aucun courriel ne sort")
	configured("Boîte du service courrier", "reçoit les courriels des usagers et les courriers numérisés avant leur lecture par Guichet", cfg.Mailbox,
		"non configurée : pas de lecture automatique du courrier")
	configured("FranceConnect", "transmet l'adresse électronique vérifiée de l'usager qui s'y identifie", cfg.FranceConnect,
		"non configuré : connexion à « Mes demandes » par lien seulement")
	configured("Fournisseur d'identité du personnel", "authentifie les agents (OpenID Connect)", cfg.StaffSSO,
		"non configuré : mots de passe seulement")
	configured("Serveur du fond de carte", "reçoit l'adresse IP du visiteur et les zones de carte affichées, ni la demande ni le repère", cfg.MapTiles,
		"non configuré : pas de carte")
	configured("Géocodeur", "reçoit la position du repère placé sur la carte, pour proposer l'adresse, depuis le serveur de Guichet", cfg.Geocoder,
		"non configuré : pas de recherche d'adresse")
	return r
}

// Origin is the scheme and host of a URL ("https://data.geopf.fr"), for
// the register; a value that is no URL is returned as it is, and a URL's
// credentials and path never.
func Origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return raw
	}
	return u.Scheme + "://" + u.Host
}

// Host is the host of a URL, without credentials ("smtp.example.net:587").
func Host(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Host
}

// Markdown writes the register as a French Markdown document.
func (r Register) Markdown() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	cell := func(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, "|", "\\|"), "\n", " ") }
	p("# Registre des activités de traitement (RGPD, article 30)")
	p("")
	p("## %s", r.Title)
	p("")
	p("- **Responsable du traitement** : %s, %s.", r.Controller.Name, r.Controller.Address)
	p("- **Délégué à la protection des données** : %s.", r.Controller.DataProtectionContact)
	p("- **Base légale** : %s", r.LegalBasis)
	p("")
	p("## Finalités")
	p("")
	p("Recevoir les demandes des usagers sur tous les canaux, les orienter vers le service compétent, les traiter, y répondre et en suivre les délais ; " +
		"en tirer des statistiques qui ne désignent personne. Une finalité par service :")
	p("")
	p("| Compétence | Service | Demandes traitées |")
	p("| --- | --- | --- |")
	for _, x := range r.Purposes {
		p("| %s (`%s`) | %s | %s |", cell(x.Label), x.Competence, cell(x.Service), cell(x.Scope))
	}
	p("")
	p("## Catégories de personnes concernées")
	p("")
	for _, x := range r.DataSubjects {
		p("- **%s** : %s.", x.Name, x.Detail)
	}
	p("")
	p("## Catégories de données")
	p("")
	for _, x := range r.DataCategories {
		p("- **%s** : %s.", x.Name, x.Detail)
	}
	p("")
	p("Aucune donnée sensible (article 9) n'est demandée ; un usager peut en écrire dans le texte libre, qui suit alors les mêmes durées.")
	p("")
	p("## Destinataires")
	p("")
	for _, x := range r.Recipients {
		p("- **%s** : %s.", x.Name, x.Detail)
	}
	p("")
	p("Équipes destinataires, par compétence et territoire :")
	p("")
	p("| Compétence | Territoire | Équipe | Adresse |")
	p("| --- | --- | --- | --- |")
	for _, t := range r.Teams {
		p("| `%s` | %s | %s | %s |", t.Competence, cell(TerritoryLabel(t.Territory)), cell(t.Name), t.Email)
	}
	p("")
	p("## Transferts hors de l'Union européenne")
	p("")
	p("%s", r.Transfers)
	p("")
	p("## Durées de conservation")
	p("")
	p("Les dossiers ouverts et les dossiers gelés (conservation pour un contentieux) ne sont jamais effacés. " +
		"Passé ces durées, les données qui désignent ou décrivent une personne sont effacées ; le squelette du dossier " +
		"(référence, compétence, territoire, commune, canal, dates, états, délais, décisions) reste, sans rien qui désigne quelqu'un, pour les statistiques.")
	p("")
	p("| Données | Durée | À compter de | Pourquoi |")
	p("| --- | --- | --- | --- |")
	for _, x := range r.Retention {
		p("| %s | %s | %s | %s |", cell(x.Label), daysText(x.KeepDays), strings.TrimPrefix(strings.TrimPrefix(x.Counted, "après "), "à compter de "), cell(x.Why))
	}
	p("")
	p("## Mesures de sécurité")
	p("")
	for _, m := range r.Security {
		p("- **%s** : %s", m.Title, m.Detail)
	}
	p("")
	p("Le détail de chaque mesure est dans docs/security.md.")
	p("")
	p("## Droits des personnes")
	p("")
	p("%s", r.Rights)
	p("")
	p("## Décisions automatisées")
	p("")
	p("%s", r.Automated)
	return b.String()
}
