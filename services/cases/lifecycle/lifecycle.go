// Package lifecycle is the one life every case has, whatever its
// competence: received → qualified → in progress → waiting (on the citizen
// or a third party; the deadline clock pauses) → resolved → closed, plus
// rejected, redirected (outside the Métropole's remit) and merged. It says
// which transitions exist and which roles may make each; it refuses any
// other.
package lifecycle

import (
	"errors"
	"fmt"
	"slices"

	"github.com/ampmetropole/guichet/services/platform/fault"
)

// States of a case, as the API names them.
const (
	Received   = "received"
	Qualified  = "qualified"
	InProgress = "in_progress"
	Waiting    = "waiting"
	Resolved   = "resolved"
	Closed     = "closed"
	Rejected   = "rejected"
	Redirected = "redirected"
	Merged     = "merged"
)

// States lists every state, in lifecycle order.
var States = []string{Received, Qualified, InProgress, Waiting, Resolved, Closed, Rejected, Redirected, Merged}

// Pending lists the states of the cases still to be dealt with: what a
// team's queue shows first.
var Pending = []string{Received, Qualified, InProgress, Waiting}

// Roles that act on cases (the auth package's role names).
const (
	RoleAgent      = "agent"      // call-centre agent
	RoleMailroom   = "mailroom"   // mailroom operator
	RoleTeam       = "team"       // member of a competence's team
	RoleSupervisor = "supervisor" // a team's supervisor
	RoleAdmin      = "admin"
	RoleDPO        = "dpo" // the data protection officer, on the requests about personal data
)

// rule is one allowed transition and who may make it.
type rule struct {
	from, to string
	roles    []string
}

var (
	team     = []string{RoleTeam, RoleSupervisor, RoleAdmin, RoleDPO}
	managers = []string{RoleSupervisor, RoleAdmin}
	// The call centre hears the citizen's answer: it may end a wait on them.
	answerers = []string{RoleTeam, RoleSupervisor, RoleAdmin, RoleAgent, RoleDPO}
)

// rules is the whole lifecycle. Merged is reached only by merging (and left
// only by unmerging), never by a transition.
var rules = []rule{
	{Received, Qualified, team},
	{Received, Rejected, team},
	{Received, Redirected, team},
	{Qualified, InProgress, team},
	{Qualified, Waiting, team},
	{Qualified, Rejected, team},
	{Qualified, Redirected, team},
	{InProgress, Waiting, team},
	{InProgress, Resolved, team},
	{InProgress, Redirected, team},
	{Waiting, InProgress, answerers},
	{Waiting, Resolved, team},
	{Resolved, Closed, team},
	{Resolved, InProgress, team},   // the citizen says it is not solved
	{Closed, InProgress, managers}, // reopened by a supervisor only
	{Rejected, Qualified, managers},
	{Redirected, Qualified, managers},
}

// Known says whether state is a state of the lifecycle.
func Known(state string) bool { return slices.Contains(States, state) }

// Final says whether a case in state takes no more requests (a new case
// follows it instead).
func Final(state string) bool {
	return state == Closed || state == Rejected || state == Redirected || state == Merged
}

// Paused says whether the deadline clock stops in state.
func Paused(state string) bool { return state == Waiting || Final(state) || state == Resolved }

// Next lists the states a role may move a case in state from to.
func Next(from, role string) []string {
	var out []string
	for _, r := range rules {
		if r.from == from && slices.Contains(r.roles, role) {
			out = append(out, r.to)
		}
	}
	return out
}

// Transition is a change of state asked for.
type Transition struct {
	From, To string
	Role     string
	Reason   string
	// WaitingOn says who the case waits for: "citizen" or "third_party".
	WaitingOn string
	// RedirectTo names the body the citizen is told to contact.
	RedirectTo string
}

// Check says whether the transition may be made: fault.Invalid for an
// unknown state or a missing detail, fault.Conflict for a transition the
// lifecycle refuses, fault.Forbidden for one the role may not make.
func Check(t Transition) error {
	if !Known(t.To) {
		return fault.E(fault.Invalid, fmt.Errorf("lifecycle: état inconnu « %s »", t.To))
	}
	if !Known(t.From) {
		return fault.E(fault.Invalid, fmt.Errorf("lifecycle: état de départ inconnu « %s »", t.From))
	}
	var found *rule
	for i := range rules {
		if rules[i].from == t.From && rules[i].to == t.To {
			found = &rules[i]
			break
		}
	}
	if found == nil {
		return fault.E(fault.Conflict, fmt.Errorf("lifecycle: passage de « %s » à « %s » impossible", Label(t.From), Label(t.To)))
	}
	if !slices.Contains(found.roles, t.Role) {
		return fault.E(fault.Forbidden, fmt.Errorf("lifecycle: le rôle « %s » ne peut pas passer un dossier de « %s » à « %s »", t.Role, Label(t.From), Label(t.To)))
	}
	switch t.To {
	case Rejected, Redirected:
		if t.Reason == "" {
			return fault.E(fault.Invalid, errors.New("lifecycle: le motif est obligatoire pour rejeter ou réorienter"))
		}
		if t.To == Redirected && t.RedirectTo == "" {
			return fault.E(fault.Invalid, errors.New("lifecycle: indiquez l'organisme à contacter (redirect_to)"))
		}
	case Waiting:
		if t.WaitingOn != "citizen" && t.WaitingOn != "third_party" {
			return fault.E(fault.Invalid, errors.New("lifecycle: en attente de qui ? waiting_on : citizen ou third_party"))
		}
	}
	if (t.From == Closed || t.From == Rejected || t.From == Redirected) && t.Reason == "" {
		return fault.E(fault.Invalid, errors.New("lifecycle: le motif est obligatoire pour rouvrir un dossier"))
	}
	return nil
}

// Label names a state in French.
func Label(state string) string {
	switch state {
	case Received:
		return "reçu"
	case Qualified:
		return "qualifié"
	case InProgress:
		return "en cours"
	case Waiting:
		return "en attente"
	case Resolved:
		return "résolu"
	case Closed:
		return "clos"
	case Rejected:
		return "rejeté"
	case Redirected:
		return "réorienté hors Métropole"
	case Merged:
		return "fusionné"
	}
	return state
}
