package backoffice

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/caseref"
	"github.com/ampmetropole/guichet/services/cases/lifecycle"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/platform/frtime"
	"github.com/ampmetropole/guichet/services/staff/auth"
)

type auditPage struct {
	page
	F       auth.AuditFilter
	Actions []auditChoice
	Entries []auth.AuditEntry
	Next    string
	Error   string
}

// auditChoice is an action, or a family of actions, the log can be
// filtered by.
type auditChoice struct {
	Code, Label string
	Selected    bool
}

// auditFamilies are the families of actions, by the prefix of their code.
var auditFamilies = []auditChoice{
	{Code: "case.", Label: "Dossiers : toutes les actions"},
	{Code: "personal_data.", Label: "Données personnelles : toutes les actions"},
	{Code: "mail.", Label: "Courrier : toutes les actions"},
	{Code: "account.", Label: "Comptes : toutes les actions"},
	{Code: "token.", Label: "Jetons d'API : toutes les actions"},
	{Code: "dashboard.", Label: "Tableau de bord : toutes les actions"},
	{Code: "knowledge.", Label: "Base de connaissances : toutes les actions"},
	{Code: "webhook.", Label: "Webhooks des partenaires : toutes les actions"},
}

// auditActions names in French every action Guichet writes to the audit
// log (auth's constants and the codes the desks write).
var auditActions = map[string]string{
	auth.ActionLogin:            "Connexion",
	auth.ActionLoginFailed:      "Connexion refusée",
	auth.ActionLoginLimited:     "Connexion freinée après des échecs",
	auth.ActionLogout:           "Déconnexion",
	auth.ActionCaseView:         "Consultation du dossier",
	auth.ActionCaseTransition:   "Changement d'état du dossier",
	auth.ActionPersonalDataView: "Consultation de données personnelles",
	"personal_data.search":      "Recherche d'une personne",
	"case.reroute":              "Réorientation du dossier",
	"case.note":                 "Note interne ajoutée",
	"case.reply":                "Réponse au demandeur",
	"case.assign":               "Attribution du dossier",
	"case.split":                "Séparation de demandes dans un nouveau dossier",
	"case.merge":                "Fusion de dossiers",
	"case.unmerge":              "Annulation d'une fusion",
	"case.letter":               "Ouverture d'un courrier de réponse (PDF)",
	"attachment.view":           "Consultation d'une pièce jointe",
	"mail.list":                 "Consultation du courrier entrant",
	"mail.upload":               "Dépôt de courrier numérisé",
	"mail.scan.view":            "Consultation d'un courrier numérisé",
	"mail.letter.view":          "Consultation d'un courrier",
	"mail.correct":              "Correction de la lecture d'un courrier",
	"mail.notices":              "Consultation des courriers à poster",
	"mail.notices.print":        "Impression des courriers à poster",
	"mail.notices.posted":       "Courriers remis à la poste",
	"account.create":            "Création d'un compte",
	"account.password":          "Nouveau mot de passe d'un compte",
	"account.disable":           "Désactivation d'un compte",
	"account.enable":            "Réactivation d'un compte",
	"token.create":              "Création d'un jeton d'API",
	"token.revoke":              "Révocation d'un jeton d'API",
	"dashboard.export":          "Export d'un tableau du tableau de bord (CSV)",
	"knowledge.create":          "Création d'une fiche de la base de connaissances",
	"knowledge.update":          "Modification d'une fiche de la base de connaissances",
	"knowledge.archive":         "Archivage d'une fiche de la base de connaissances",
	"knowledge.restore":         "Remise en service d'une fiche de la base de connaissances",
	"counter.file":              "Demande déposée à l'accueil d'une mairie",
	"webhook.create":            "Création d'un abonnement webhook",
	"webhook.disable":           "Désactivation d'un abonnement webhook",
	"webhook.requeue":           "Nouvel envoi d'un webhook abandonné",

	// The data protection officer's (services/cases/personaldata).
	"personal_data.export":            "Extraction des données d'une personne (droit d'accès)",
	"personal_data.erase_refused":     "Effacement des données d'une personne refusé",
	"personal_data.retention_dry_run": "Simulation des durées de conservation",

	// The purge itself, written by guichet_begin_purge (services/cases/retention).
	"rgpd.purge":   "Effacement des données dont la durée de conservation est passée",
	"rgpd.erase":   "Effacement des données d'une personne à sa demande",
	"rgpd.hold":    "Gel d'un dossier (conservation pour motif légal)",
	"rgpd.release": "Levée du gel d'un dossier",
}

// auditAction names an action in French; an action not known here keeps
// its code, in words as far as its family says.
func auditAction(code string) string {
	if l, ok := auditActions[code]; ok {
		return l
	}
	for _, f := range auditFamilies {
		if strings.HasPrefix(code, f.Code) {
			return strings.TrimSuffix(f.Label, " : toutes les actions") + " : " + code
		}
	}
	return code
}

// auditTarget is the page of what an entry is about, when it is a case.
func auditTarget(target string) string {
	if ref, ok := caseref.Normalize(target); ok && ref.String() == target {
		return "/bo/dossiers/" + target
	}
	return ""
}

// auditDetail is one detail of an entry, in words.
type auditDetail struct{ Key, Value string }

// auditKeys name the details' keys; the order is the one shown.
var auditKeys = []struct{ code, label string }{
	{"method", "méthode"}, {"reason", "motif"}, {"from", "de"}, {"to", "vers"}, {"into", "dans"},
	{"channel", "canal"}, {"assignee", "attribué à"}, {"role", "rôle"}, {"competences", "compétences"},
	{"territories", "territoires"}, {"password", "mot de passe"}, {"limit", "limite"}, {"failures", "échecs"},
	{"delay_s", "délai imposé"}, {"wait_s", "attente restante"}, {"people", "personnes trouvées"},
	{"cases", "dossiers montrés"}, {"page", "page"}, {"letters", "courriers"}, {"name", "fichier"},
	{"bytes", "taille"}, {"pending", "lecture en cours"}, {"by", "remplacé par"}, {"requests", "demandes"},
	{"request", "demande"}, {"case", "dossier"}, {"event", "événement"}, {"sha256", "empreinte"},
	{"id", "identifiant"}, {"expires_at", "expire le"}, {"subject", "identité OpenID Connect"},
	{"days", "période (jours)"}, {"rows", "lignes"}, {"commune", "commune"}, {"communes", "communes"}, {"duplicate", "déjà déposée"},
	{"subscription", "abonnement"}, {"url", "adresse"}, {"event_types", "types d'événement"},
	{"title", "titre"}, {"version", "version"}, {"competence", "compétence"}, {"territory", "territoire"}, {"review_on", "à revoir le"},
}

// auditValues are the words of the codes the details hold.
var auditValues = map[string]string{
	"password": "mot de passe", "oidc": "OpenID Connect",
	"unknown_login": "identifiant inconnu", "no_password": "compte sans mot de passe", "wrong_password": "mot de passe erroné",
	"disabled": "compte désactivé", "unknown": "aucun compte Guichet à ce nom", "subject_mismatch": "identité OpenID Connect différente de celle du compte",
	"login_address": "identifiant depuis cette adresse", "login": "identifiant", "address": "adresse",
	"agent": "console du centre d'appels",
	"email": "courriel", "letter": "courrier postal", "callback": "rappel téléphonique",
}

// auditDetails writes an entry's details in words: its keys named, codes
// (methods, reasons, states, competences, roles…) as their labels, lists
// joined, yes and no.
func (h *Handler) auditDetails(e auth.AuditEntry) []auditDetail {
	var out []auditDetail
	seen := map[string]bool{}
	word := func(k string, v any) string {
		switch x := v.(type) {
		case nil:
			return "—"
		case bool:
			if x {
				return "oui"
			}
			return "non"
		case float64:
			switch k {
			case "delay_s", "wait_s":
				return frDuration(time.Duration(x * float64(time.Second)))
			case "bytes":
				return plural(int(x), "octet", "octets")
			}
			return strconv.FormatFloat(x, 'f', -1, 64)
		case []any:
			var parts []string
			for _, y := range x {
				parts = append(parts, h.auditWord(e.Action, k, fmt.Sprint(y)))
			}
			if len(parts) == 0 {
				return "aucun"
			}
			return strings.Join(parts, ", ")
		case string:
			if k == "expires_at" {
				if t, err := time.Parse(time.RFC3339Nano, x); err == nil {
					return frtime.DateTime(t)
				}
			}
			if k == "sha256" && len(x) > 12 {
				return x[:12] + "…"
			}
			return h.auditWord(e.Action, k, x)
		}
		return fmt.Sprint(v)
	}
	for _, k := range auditKeys {
		if v, ok := e.Details[k.code]; ok {
			out = append(out, auditDetail{Key: k.label, Value: word(k.code, v)})
			seen[k.code] = true
		}
	}
	var rest []string
	for k := range e.Details {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range rest {
		out = append(out, auditDetail{Key: k, Value: word(k, e.Details[k])})
	}
	return out
}

// auditWord is a detail's value in words: a state, a competence, a
// territory, a role or another code Guichet writes.
func (h *Handler) auditWord(action, key, v string) string {
	switch {
	case action == "case.transition" && (key == "from" || key == "to"):
		return lifecycle.Label(v)
	case action == "case.reroute" && (key == "from" || key == "to"), key == "competences", key == "competence":
		return h.competenceLabel(v)
	case key == "territories", key == "territory":
		return territoryName(v)
	case key == "review_on":
		if t, err := time.Parse(time.DateOnly, v); err == nil {
			return t.Format("02/01/2006")
		}
	case key == "role":
		return roleLabel(v)
	case key == "page" && v == "agent", key == "method", key == "reason", key == "limit", key == "channel":
		if w, ok := auditValues[v]; ok {
			return w
		}
		if key == "channel" {
			return schemas.ChannelName(v)
		}
	}
	return v
}

// audit shows admins the audit log, newest first, 100 a page.
func (h *Handler) audit(w http.ResponseWriter, r *http.Request) {
	pg, _ := h.base(r, "Journal d'audit", "audit")
	q := r.URL.Query()
	data := auditPage{page: pg, F: auth.AuditFilter{Actor: strings.TrimSpace(q.Get("acteur")), Action: strings.TrimSpace(q.Get("action")),
		Target: strings.TrimSpace(q.Get("cible"))}}
	if n, err := strconv.ParseInt(q.Get("avant"), 10, 64); err == nil && n > 0 {
		data.F.BeforeID = n
	}
	data.Actions = auditChoices(data.F.Action)
	entries, err := h.deps.Guard.AuditLog(r.Context(), data.F, 100)
	status := http.StatusOK
	if err != nil {
		status, data.Error = http.StatusBadRequest, "Le journal n'a pas pu être lu : "+strings.TrimPrefix(err.Error(), "auth: ")
		if fault.KindOf(err) != fault.Invalid {
			// The database's own words stay in the logs.
			h.deps.Log.Error("audit log", "err", err)
			status, data.Error = http.StatusServiceUnavailable, "Le journal est momentanément indisponible : réessayez dans quelques instants."
		}
	}
	data.Entries = entries
	if len(entries) == 100 {
		v := r.URL.Query()
		v.Set("avant", strconv.FormatInt(entries[len(entries)-1].ID, 10))
		data.Next = "/bo/audit?" + v.Encode()
	}
	h.render(w, "audit", status, data)
}

// auditChoices are the families and the actions, in French, with the one
// asked for selected (added when it is a code the list does not know).
func auditChoices(selected string) []auditChoice {
	var out []auditChoice
	found := selected == ""
	for _, f := range auditFamilies {
		f.Selected = f.Code == selected
		found = found || f.Selected
		out = append(out, f)
	}
	var actions []auditChoice
	for code, label := range auditActions {
		actions = append(actions, auditChoice{Code: code, Label: label, Selected: code == selected})
		found = found || code == selected
	}
	sortByLabel(actions, func(c auditChoice) string { return c.Label })
	out = append(out, actions...)
	if !found {
		out = append(out, auditChoice{Code: selected, Label: "Autre : " + selected, Selected: true})
	}
	return out
}
