package auth_test

import (
	"context"
	"slices"
	"testing"

	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/staff/auth"
)

func TestCreateAccountValidates(t *testing.T) {
	t.Parallel()
	svc, _ := setup(t, func(c *auth.Config) {
		c.KnownCompetence = func(code string) bool {
			return slices.Contains([]string{"voirie", "eau_assainissement", "triage"}, code)
		}
		c.KnownTerritory = func(code string) bool { return slices.Contains([]string{"marseille-provence", "pays-d-aix"}, code) }
		c.KnownCommune = func(insee string) bool { return slices.Contains([]string{"13041", "13022"}, insee) }
	})
	ctx := context.Background()
	tests := []struct {
		name                     string
		login, role, password    string
		competences, territories []string
		kind                     fault.Kind // Other: accepted
	}{
		{"team member", "camille.roux", auth.RoleTeam, goodPassword, []string{"voirie"}, []string{"marseille-provence"}, fault.Other},
		{"e-mail as login, OIDC only", "Lea.Martin@AmpMetropole.fr", auth.RoleAgent, "", nil, nil, fault.Other},
		{"unscoped supervisor", "sup", auth.RoleSupervisor, goodPassword, nil, nil, fault.Other},
		{"duplicate login, other case", "CAMILLE.ROUX", auth.RoleAdmin, goodPassword, nil, nil, fault.Conflict},
		{"team without competence", "sans.competence", auth.RoleTeam, goodPassword, nil, []string{"pays-d-aix"}, fault.Invalid},
		{"team with blank competences", "blanc", auth.RoleTeam, goodPassword, []string{" ", ""}, nil, fault.Invalid},
		{"unknown role", "inconnu", "root", goodPassword, nil, nil, fault.Invalid},
		{"unknown competence", "x.y", auth.RoleTeam, goodPassword, []string{"voiries"}, nil, fault.Invalid},
		{"unknown territory", "x.z", auth.RoleTeam, goodPassword, []string{"voirie"}, []string{"paris"}, fault.Invalid},
		{"short password", "court", auth.RoleAgent, "court", nil, nil, fault.Invalid},
		{"login with a space", "camille roux", auth.RoleAgent, goodPassword, nil, nil, fault.Invalid},
		{"one-letter login", "c", auth.RoleAgent, goodPassword, nil, nil, fault.Invalid},
		{"accented login", "léa", auth.RoleAgent, goodPassword, nil, nil, fault.Invalid},
	}
	for _, tt := range tests {
		a, err := svc.CreateAccount(ctx, tt.login, "Camille Roux", tt.role, tt.password, tt.competences, tt.territories)
		if tt.kind == fault.Other {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			} else if a.ID == 0 || a.HasPassword != (tt.password != "") {
				t.Errorf("%s: account %+v", tt.name, a)
			}
			continue
		}
		if fault.KindOf(err) != tt.kind {
			t.Errorf("%s: err %v (kind %v), want kind %v", tt.name, err, fault.KindOf(err), tt.kind)
		}
	}
	if _, err := svc.CreateAccount(ctx, "sans.nom", " ", auth.RoleAgent, goodPassword, nil, nil); fault.KindOf(err) != fault.Invalid {
		t.Errorf("blank display name: %v", err)
	}
	// A mairie's account has communes, and only its own constructor makes one.
	if _, err := svc.CreateAccount(ctx, "mairie.x", "Mairie", auth.RoleCommune, goodPassword, nil, nil); fault.KindOf(err) != fault.Invalid {
		t.Errorf("commune account through CreateAccount: %v", err)
	}
	for name, communes := range map[string][]string{"none": nil, "blank": {" "}, "unknown": {"75056"}, "malformed": {"13O41"}} {
		if _, err := svc.CreateCommuneAccount(ctx, "mairie."+name, "Mairie", goodPassword, communes); fault.KindOf(err) != fault.Invalid {
			t.Errorf("commune account with %s communes: %v", name, err)
		}
	}
	if _, err := svc.CreateToken(ctx, "mairie-jeton", auth.RoleCommune, nil, nil, 0); fault.KindOf(err) != fault.Invalid {
		t.Errorf("a token with the commune role: %v", err)
	}

	accounts, err := svc.ListAccounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var logins []string
	for _, a := range accounts {
		logins = append(logins, a.Login)
	}
	if want := []string{"camille.roux", "lea.martin@ampmetropole.fr", "sup"}; !slices.Equal(logins, want) {
		t.Fatalf("accounts %v, want %v", logins, want)
	}
	if c := accounts[0]; c.Role != auth.RoleTeam || !slices.Equal(c.Competences, []string{"voirie"}) ||
		!slices.Equal(c.Territories, []string{"marseille-provence"}) || !c.HasPassword || c.Disabled || c.OIDCLinked {
		t.Fatalf("camille.roux: %+v", c)
	}
	if accounts[1].HasPassword {
		t.Fatal("an account made without password has one")
	}
	m, err := svc.CreateCommuneAccount(ctx, "Accueil.Gardanne", "Accueil de Gardanne", goodPassword, []string{"13041", " 13022", "13041"})
	if err != nil || m.Role != auth.RoleCommune || !slices.Equal(m.Communes, []string{"13022", "13041"}) || m.Login != "accueil.gardanne" {
		t.Fatalf("commune account %+v %v", m, err)
	}
}

func TestAccountChangesAreAudited(t *testing.T) {
	t.Parallel()
	svc, _ := setup(t)
	admin := auth.Principal{Kind: auth.KindAccount, ID: "1", Name: "admin.guichet", Role: auth.RoleAdmin}
	ctx := auth.WithClientIP(auth.WithPrincipal(context.Background(), admin), "192.0.2.10")
	mustAccount(t, svc, "camille.roux", auth.RoleAgent, nil, nil)
	if _, err := svc.CreateAccount(ctx, "lea.martin", "Léa Martin", auth.RoleTeam, goodPassword, []string{"voirie"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := svc.Disable(ctx, "LEA.MARTIN"); err != nil {
		t.Fatal(err)
	}
	wantKind(t, svc.Disable(ctx, "personne"), fault.NotFound)
	wantKind(t, svc.SetPassword(ctx, "personne", goodPassword), fault.NotFound)
	wantKind(t, svc.SetPassword(ctx, "lea.martin", "court"), fault.Invalid)

	entries, err := svc.AuditLog(context.Background(), auth.AuditFilter{Action: "account."}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 {
		t.Fatalf("%d account entries, want 3: %+v", len(entries), entries)
	}
	disable, create, system := entries[0], entries[1], entries[2]
	if disable.Action != "account.disable" || disable.Actor != "admin.guichet" || disable.ActorKind != auth.KindAccount ||
		disable.Target != "lea.martin" || disable.IP != "192.0.2.10" {
		t.Errorf("disable entry %+v", disable)
	}
	if create.Action != "account.create" || create.Details["role"] != auth.RoleTeam {
		t.Errorf("create entry %+v", create)
	}
	if system.Actor != "guichet" || system.ActorKind != auth.KindSystem || system.Target != "camille.roux" {
		t.Errorf("an account created without a principal: %+v", system)
	}
}
