// Package scope says which cases a person may see, in one place: the Go
// test the case pages, files and actions ask ([Scope.Sees]) and the SQL
// condition the queues, searches and counts filter by ([Scope.SQL]) are the
// same rule, written once here. auth gives each signed-in person their
// Scope; casestore and the pages use it.
package scope

import (
	"fmt"
	"slices"
)

// Triage is the pseudo-competence of the cases the router left to people.
// A scope holds it like any other competence: a supervisor's scope adds it
// (they work the triage queue), a team's holds it only when given.
const Triage = "triage"

// Scope is a set of cases, by competence and territory. The zero Scope
// holds no case.
type Scope struct {
	// All holds every case (admins; agents and the mailroom, who must find
	// any caller's or sender's case).
	All bool
	// AllCompetences holds every competence, triage included, within
	// Territories.
	AllCompetences bool
	// Competences held when AllCompetences is false.
	Competences []string
	// Territories held; none means every territory, including cases whose
	// territory is not known yet. With territories, a case of unknown
	// territory is outside the scope.
	Territories []string
}

// Everything is the scope holding every case.
func Everything() Scope { return Scope{All: true} }

// Sees says whether a case of this competence and territory ("" when not
// known) is in the scope.
func (s Scope) Sees(competence, territory string) bool {
	if s.All {
		return true
	}
	if !s.AllCompetences && !slices.Contains(s.Competences, competence) {
		return false
	}
	return len(s.Territories) == 0 || (territory != "" && slices.Contains(s.Territories, territory))
}

// None says whether the scope holds no case at all.
func (s Scope) None() bool { return !s.All && !s.AllCompetences && len(s.Competences) == 0 }

// SQL is the scope as an SQL condition on the given competence and
// territory columns, the same rule as [Scope.Sees]; arg adds a parameter
// and returns its placeholder. It returns "" when the scope holds every
// case. A single value is written as an equality, so that the ordered
// indexes of the queues serve it.
func (s Scope) SQL(competenceCol, territoryCol string, arg func(v any) string) string {
	if s.All {
		return ""
	}
	if s.None() {
		return "false"
	}
	in := func(col string, vs []string) string {
		if len(vs) == 1 {
			return fmt.Sprintf("%s = %s", col, arg(vs[0]))
		}
		return fmt.Sprintf("%s = ANY(%s)", col, arg(vs))
	}
	cond := ""
	if !s.AllCompetences {
		cond = in(competenceCol, s.Competences)
	}
	if len(s.Territories) > 0 {
		if cond != "" {
			cond += " AND "
		}
		cond += in(territoryCol, s.Territories)
	}
	return cond
}

// Arrays returns the scope as competence and territory lists where an
// empty list means "every one", for queries written that way; ok is false
// when the scope holds no case (no list can say so).
func (s Scope) Arrays() (competences, territories []string, ok bool) {
	switch {
	case s.All:
		return nil, nil, true
	case s.None():
		return nil, nil, false
	case s.AllCompetences:
		return nil, s.Territories, true
	}
	return s.Competences, s.Territories, true
}
