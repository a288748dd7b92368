package auth_test

import (
	"context"
	"slices"
	"testing"

	"github.com/ampmetropole/guichet/services/staff/auth"
)

// The people a case can be given to are those whose scope holds it, as
// the case pages decide who sees it: active team members and supervisors,
// never agents, the mailroom or admins.
func TestMembers(t *testing.T) {
	t.Parallel()
	svc, _ := setup(t)
	ctx := context.Background()
	mustAccount(t, svc, "voirie-tout", auth.RoleTeam, []string{"voirie"}, nil)
	mustAccount(t, svc, "voirie-aix", auth.RoleTeam, []string{"voirie"}, []string{"pays-d-aix"})
	mustAccount(t, svc, "voirie-mp", auth.RoleTeam, []string{"proprete", "voirie"}, []string{"marseille-provence"})
	mustAccount(t, svc, "dechets", auth.RoleTeam, []string{"dechets"}, nil)
	mustAccount(t, svc, "chef", auth.RoleSupervisor, nil, nil)
	mustAccount(t, svc, "chef-aix", auth.RoleSupervisor, nil, []string{"pays-d-aix"})
	mustAccount(t, svc, "chef-dechets", auth.RoleSupervisor, []string{"dechets"}, nil)
	mustAccount(t, svc, "parti", auth.RoleTeam, []string{"voirie"}, nil)
	mustAccount(t, svc, "agent", auth.RoleAgent, nil, nil)
	mustAccount(t, svc, "admin", auth.RoleAdmin, nil, nil)
	if err := svc.Disable(ctx, "parti"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		competence, territory string
		want                  []string
	}{
		{"voirie", "marseille-provence", []string{"chef", "voirie-mp", "voirie-tout"}},
		{"voirie", "pays-d-aix", []string{"chef", "chef-aix", "voirie-aix", "voirie-tout"}},
		{"voirie", "", []string{"chef", "voirie-tout"}}, // territory not known yet: only the unbounded
		{"dechets", "pays-d-aix", []string{"chef", "chef-aix", "chef-dechets", "dechets"}},
		{"triage", "pays-d-aix", []string{"chef", "chef-aix", "chef-dechets"}},
		{"eclairage", "pays-salonais", []string{"chef"}},
	} {
		ms, err := svc.Members(ctx, tc.competence, tc.territory)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range ms {
			got = append(got, m.Login)
			if m.DisplayName != "Nom de "+m.Login {
				t.Errorf("member %+v", m)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("Members(%s, %s) = %v, want %v", tc.competence, tc.territory, got, tc.want)
		}
	}
}
