package auth

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// Member is a person a case can be given to.
type Member struct {
	Login       string
	DisplayName string
	Role        string // RoleTeam or RoleSupervisor
}

// maxMembers bounds the list a case page shows: far more than any team.
const maxMembers = 500

// Members lists the people who can work a case of this competence and
// territory ("" when not known yet): the active team members and
// supervisors whose scope holds it ([Principal.SeesCase], the one rule),
// by name. Agents, the mailroom and admins work no queue, so they are not
// listed.
func (s *Service) Members(ctx context.Context, competence, territory string) ([]Member, error) {
	// The query narrows; SeesCase decides.
	rows, err := s.db.Query(ctx, `
		SELECT login, display_name, role, competences, territories FROM accounts
		WHERE NOT disabled AND role IN ('team', 'supervisor')
		  AND ($1 = ANY(competences) OR (role = 'supervisor' AND (cardinality(competences) = 0 OR $1 = 'triage')))
		  AND (cardinality(territories) = 0 OR $2 = ANY(territories))
		ORDER BY lower(display_name), login LIMIT $3`, competence, territory, maxMembers)
	if err != nil {
		return nil, dbError("members", err)
	}
	all, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Principal, error) {
		var p Principal
		err := row.Scan(&p.Name, &p.DisplayName, &p.Role, &p.Competences, &p.Territories)
		return p, err
	})
	if err != nil {
		return nil, dbError("members", err)
	}
	out := []Member{}
	for _, p := range all {
		if p.SeesCase(competence, territory) {
			out = append(out, Member{Login: p.Name, DisplayName: p.DisplayName, Role: p.Role})
		}
	}
	return out, nil
}
