package auth

import (
	"net/http"
	"strings"

	"github.com/ampmetropole/guichet/services/platform/staffshell"
)

// Paths of the staff desks, as the menu links them.
const (
	pathQueue     = "/bo/dossiers"
	pathTriage    = "/bo/tri"
	pathDashboard = "/bo/tableau"
	pathAudit     = "/bo/audit"
	pathConsole   = "/agent"
	pathKnowledge = "/bo/connaissances"
	pathMailroom  = "/courrier"
	pathRGPD      = "/bo/rgpd"
	pathCommune   = "/mairie"
	pathWebhooks  = "/bo/webhooks"
)

// RoleLabel is a role in the words of the staff pages.
func RoleLabel(role string) string {
	switch role {
	case RoleAgent:
		return "centre d'appels"
	case RoleMailroom:
		return "courrier"
	case RoleTeam:
		return "équipe"
	case RoleSupervisor:
		return "encadrement"
	case RoleAdmin:
		return "administration"
	case RoleDPO:
		return "protection des données"
	case RoleCommune:
		return "mairie"
	case RoleTelephony:
		return "téléphonie"
	case RolePartner:
		return "système partenaire"
	}
	return role
}

// HomeOf is where a role starts its day: the console for the call centre,
// the mailroom's desk, the personal data desk for the data protection
// officer, the mairie's desk for a mairie, the queue of cases for the
// others.
func HomeOf(role string) string {
	switch role {
	case RoleCommune:
		return pathCommune
	case RoleAgent:
		return pathConsole
	case RoleMailroom:
		return pathMailroom
	case RoleDPO:
		return pathRGPD
	}
	return "/bo/"
}

// Viewer is the person signed in on r as the staff frame shows them (with
// their menu, the entries their role may open); the zero Viewer when
// nobody is. The scope is named with [Config.CompetenceName] and
// [Config.TerritoryName].
func (s *Service) Viewer(r *http.Request) staffshell.Viewer {
	p, ok := FromContext(r.Context())
	if !ok || p.Kind != KindAccount {
		return staffshell.Viewer{}
	}
	v := staffshell.Viewer{Name: p.DisplayName, Login: p.Name, Role: RoleLabel(p.Role), Home: s.home(p.Role), CSRF: s.CSRFField(r)}
	if v.Name == "" {
		v.Name = p.Name
	}
	var scope []string
	for _, c := range p.Competences {
		scope = append(scope, s.competenceName(c))
	}
	for _, t := range p.Territories {
		scope = append(scope, s.territoryName(t))
	}
	for _, c := range p.Communes {
		scope = append(scope, s.communeName(c))
	}
	v.Scope = strings.Join(scope, ", ")
	entries := []struct {
		label, href string
		perm        Permission
	}{
		{"Console d'appels", pathConsole, PermAgentConsole},
		{"Courrier", pathMailroom, PermMailroom},
		{"Dossiers", pathQueue, PermCaseRead},
		{"Réponses types", pathKnowledge, PermKnowledgeRead},
		{"Tri", pathTriage, PermTriage},
		{"Tableau de bord", pathDashboard, PermDashboard},
		{"Journal d'audit", pathAudit, PermAuditRead},
		{"Données personnelles", pathRGPD, PermPersonalData},
		{"Mairie", pathCommune, PermCommune},
		{"Webhooks", pathWebhooks, PermAdminAccounts},
	}
	for _, e := range entries {
		if p.Can(e.perm) {
			v.Menu = append(v.Menu, staffshell.Link{Label: e.label, Href: e.href, Current: under(r.URL.Path, e.href)})
		}
	}
	// The longest matching entry is the current one (were an entry ever
	// under another, the deeper one wins).
	best := -1
	for i, l := range v.Menu {
		if l.Current && (best < 0 || len(l.Href) > len(v.Menu[best].Href)) {
			best = i
		}
	}
	for i := range v.Menu {
		v.Menu[i].Current = i == best
	}
	return v
}

// under says whether path is page or one of its sub-pages.
func under(path, page string) bool {
	return path == page || strings.HasPrefix(path, page+"/")
}

func (s *Service) home(role string) string {
	if s.cfg.Home != "" {
		return s.cfg.Home
	}
	return HomeOf(role)
}

func (s *Service) competenceName(code string) string {
	if s.cfg.CompetenceName != nil {
		if n := s.cfg.CompetenceName(code); n != "" {
			return n
		}
	}
	return code
}

func (s *Service) territoryName(code string) string {
	if s.cfg.TerritoryName != nil {
		if n := s.cfg.TerritoryName(code); n != "" {
			return n
		}
	}
	return code
}

func (s *Service) communeName(code string) string {
	if s.cfg.CommuneName != nil {
		if n := s.cfg.CommuneName(code); n != "" {
			return n
		}
	}
	return code
}

// homeOf is the first page of whoever is signed in on r.
func (s *Service) homeOf(r *http.Request) string {
	if p, ok := FromContext(r.Context()); ok {
		return s.home(p.Role)
	}
	return s.home("")
}
