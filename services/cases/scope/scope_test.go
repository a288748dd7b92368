package scope_test

import (
	"fmt"
	"testing"

	"github.com/ampmetropole/guichet/services/cases/scope"
)

func TestSees(t *testing.T) {
	t.Parallel()
	voirieMP := scope.Scope{Competences: []string{"voirie"}, Territories: []string{"marseille-provence"}}
	supAix := scope.Scope{AllCompetences: true, Territories: []string{"pays-d-aix"}}
	tests := []struct {
		name                  string
		s                     scope.Scope
		competence, territory string
		want                  bool
	}{
		{"everything", scope.Everything(), "dechets", "", true},
		{"zero scope holds nothing", scope.Scope{}, "voirie", "", false},
		{"competence and territory", voirieMP, "voirie", "marseille-provence", true},
		{"other territory", voirieMP, "voirie", "pays-d-aix", false},
		{"unknown territory with territories", voirieMP, "voirie", "", false},
		{"other competence", voirieMP, "eau_assainissement", "marseille-provence", false},
		{"all competences of a territory", supAix, "triage", "pays-d-aix", true},
		{"all competences, other territory", supAix, "triage", "marseille-provence", false},
		{"no territories: unknown territory too", scope.Scope{Competences: []string{"voirie"}}, "voirie", "", true},
	}
	for _, tt := range tests {
		if got := tt.s.Sees(tt.competence, tt.territory); got != tt.want {
			t.Errorf("%s: Sees(%q, %q) = %v, want %v", tt.name, tt.competence, tt.territory, got, tt.want)
		}
	}
}

func TestSQL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s    scope.Scope
		want string
	}{
		{scope.Everything(), ""},
		{scope.Scope{}, "false"},
		{scope.Scope{Competences: []string{"voirie"}}, "c = $1"},
		{scope.Scope{Competences: []string{"voirie", "triage"}, Territories: []string{"pays-d-aix"}}, "c = ANY($1) AND t = $2"},
		{scope.Scope{AllCompetences: true, Territories: []string{"a", "b"}}, "t = ANY($1)"},
		{scope.Scope{AllCompetences: true}, ""},
	}
	for _, tt := range tests {
		n := 0
		got := tt.s.SQL("c", "t", func(any) string { n++; return fmt.Sprintf("$%d", n) })
		if got != tt.want {
			t.Errorf("%+v: SQL = %q, want %q", tt.s, got, tt.want)
		}
	}
}
