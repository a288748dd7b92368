package auth_test

import (
	"context"
	"slices"
	"testing"

	"github.com/ampmetropole/guichet/services/staff/auth"
)

func TestRolePermissions(t *testing.T) {
	t.Parallel()
	all := []auth.Permission{auth.PermCaseRead, auth.PermCaseTransition, auth.PermCaseReroute, auth.PermCaseMerge,
		auth.PermReply, auth.PermTriage, auth.PermDashboard, auth.PermAuditRead, auth.PermMailroom,
		auth.PermAgentConsole, auth.PermAdminAccounts, auth.PermSubmitCall, auth.PermSubmitRequest, auth.PermRequestStatus,
		auth.PermKnowledgeRead, auth.PermKnowledgeEdit, auth.PermPersonalData, auth.PermCommune}
	// The table written out again, so that a change to it is a change here too.
	want := map[string][]auth.Permission{
		auth.RoleAgent:    {auth.PermCaseRead, auth.PermAgentConsole, auth.PermRequestStatus, auth.PermKnowledgeRead},
		auth.RoleMailroom: {auth.PermCaseRead, auth.PermMailroom, auth.PermRequestStatus},
		auth.RoleTeam: {auth.PermCaseRead, auth.PermCaseTransition, auth.PermCaseReroute, auth.PermCaseMerge, auth.PermReply, auth.PermRequestStatus,
			auth.PermKnowledgeRead},
		auth.RoleSupervisor: {auth.PermCaseRead, auth.PermCaseTransition, auth.PermCaseReroute, auth.PermCaseMerge, auth.PermReply,
			auth.PermTriage, auth.PermDashboard, auth.PermRequestStatus, auth.PermKnowledgeRead, auth.PermKnowledgeEdit},
		auth.RoleAdmin: slices.DeleteFunc(slices.Clone(all), func(p auth.Permission) bool { return p == auth.PermCommune }),
		auth.RoleDPO: {auth.PermCaseRead, auth.PermCaseTransition, auth.PermCaseReroute, auth.PermCaseMerge, auth.PermReply, auth.PermRequestStatus,
			auth.PermKnowledgeRead, auth.PermAuditRead, auth.PermPersonalData},
		auth.RoleTelephony: {auth.PermSubmitCall, auth.PermRequestStatus},
		auth.RolePartner:   {auth.PermSubmitRequest, auth.PermRequestStatus},
		auth.RoleCommune:   {auth.PermCommune},
		"":                 nil,
		"root":             nil,
	}
	for role, perms := range want {
		p := auth.Principal{Role: role}
		allowed := map[auth.Permission]bool{}
		for _, perm := range perms {
			allowed[perm] = true
		}
		for _, perm := range all {
			if got := p.Can(perm); got != allowed[perm] {
				t.Errorf("role %q Can(%s) = %v, want %v", role, perm, got, allowed[perm])
			}
		}
	}
	for _, r := range auth.Roles() {
		if !auth.ValidRole(r) {
			t.Errorf("ValidRole(%q) = false", r)
		}
	}
	if auth.ValidRole("Admin") || auth.ValidRole("") {
		t.Error("ValidRole accepts an unknown role")
	}
	if auth.System("cli").Can(auth.PermCaseRead) {
		t.Error("the system principal holds a permission")
	}
}

func TestSeesCase(t *testing.T) {
	t.Parallel()
	voirieMP := auth.Principal{Role: auth.RoleTeam, Competences: []string{"voirie"}, Territories: []string{"marseille-provence"}}
	voirieAll := auth.Principal{Role: auth.RoleTeam, Competences: []string{"voirie", "eclairage"}}
	teamNoComp := auth.Principal{Role: auth.RoleTeam}
	supAll := auth.Principal{Role: auth.RoleSupervisor}
	supEau := auth.Principal{Role: auth.RoleSupervisor, Competences: []string{"eau_assainissement"}, Territories: []string{"pays-d-aix"}}
	tests := []struct {
		name       string
		p          auth.Principal
		competence string
		territory  string
		want       bool
	}{
		{"admin sees all", auth.Principal{Role: auth.RoleAdmin}, "voirie", "pays-d-aix", true},
		{"agent reads all", auth.Principal{Role: auth.RoleAgent}, "dechets", "", true},
		{"mailroom reads all", auth.Principal{Role: auth.RoleMailroom}, "triage", "", true},
		{"team: its competence and territory", voirieMP, "voirie", "marseille-provence", true},
		{"team: another territory", voirieMP, "voirie", "pays-d-aix", false},
		{"team: territory not known yet", voirieMP, "voirie", "", false},
		{"team: another competence", voirieMP, "eau_assainissement", "marseille-provence", false},
		{"team without territories: every territory", voirieAll, "eclairage", "pays-d-aubagne", true},
		{"team without territories: territory not known", voirieAll, "voirie", "", true},
		{"team without territories: another competence", voirieAll, "dechets", "pays-d-aix", false},
		{"team without competences sees nothing", teamNoComp, "voirie", "", false},
		{"team does not see triage", voirieAll, "triage", "", false},
		{"supervisor without scope sees all", supAll, "triage", "", true},
		{"scoped supervisor: in scope", supEau, "eau_assainissement", "pays-d-aix", true},
		{"scoped supervisor: other competence", supEau, "voirie", "pays-d-aix", false},
		{"scoped supervisor: other territory", supEau, "eau_assainissement", "istres-ouest-provence", false},
		{"scoped supervisor: triage of their territory", supEau, "triage", "pays-d-aix", true},
		{"scoped supervisor: triage of another territory", supEau, "triage", "marseille-provence", false},
		{"scoped supervisor: triage of no territory yet", supEau, "triage", "", false},
		{"team given triage sees triage", auth.Principal{Role: auth.RoleTeam, Competences: []string{"triage"}}, "triage", "", true},
		{"telephony sees no case", auth.Principal{Role: auth.RoleTelephony}, "voirie", "", false},
		{"partner sees no case", auth.Principal{Role: auth.RolePartner}, "voirie", "pays-d-aix", false},
		{"dpo sees the requests about personal data", auth.Principal{Role: auth.RoleDPO}, auth.DPOCompetence, "", true},
		{"dpo sees them in every territory", auth.Principal{Role: auth.RoleDPO}, auth.DPOCompetence, "pays-d-aix", true},
		{"dpo sees no other team's case", auth.Principal{Role: auth.RoleDPO}, "voirie", "pays-d-aix", false},
		{"dpo given a competence sees it too", auth.Principal{Role: auth.RoleDPO, Competences: []string{"hors_competence"}}, "hors_competence", "", true},
		{"dpo does not see triage", auth.Principal{Role: auth.RoleDPO}, "triage", "", false},
		{"no role sees nothing", auth.Principal{}, "voirie", "", false},
		{"unknown role sees nothing", auth.Principal{Role: "root"}, "voirie", "", false},
	}
	for _, tt := range tests {
		if got := tt.p.SeesCase(tt.competence, tt.territory); got != tt.want {
			t.Errorf("%s: SeesCase(%q, %q) = %v, want %v", tt.name, tt.competence, tt.territory, got, tt.want)
		}
	}
}

func TestContext(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	if _, ok := auth.FromContext(ctx); ok {
		t.Fatal("a principal in an empty context")
	}
	p := auth.Principal{Kind: auth.KindAccount, Name: "camille", Role: auth.RoleTeam}
	got, ok := auth.FromContext(auth.WithPrincipal(ctx, p))
	if !ok || got.Name != "camille" {
		t.Fatalf("FromContext = %+v, %v", got, ok)
	}
	if ip := auth.ClientIP(auth.WithClientIP(ctx, "192.0.2.7")); ip != "192.0.2.7" {
		t.Fatalf("ClientIP = %q", ip)
	}
}
