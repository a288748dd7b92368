package lifecycle

import (
	"testing"

	"github.com/ampmetropole/guichet/services/platform/fault"
)

// spec is the lifecycle as the issue describes it, written out by hand:
// from → to → roles that may make the move ("T" team, "S" supervisor,
// "A" admin, "G" call-centre agent). Every pair not listed is refused.
var spec = map[string]map[string]string{
	Received:   {Qualified: "TSA", Rejected: "TSA", Redirected: "TSA"},
	Qualified:  {InProgress: "TSA", Waiting: "TSA", Rejected: "TSA", Redirected: "TSA"},
	InProgress: {Waiting: "TSA", Resolved: "TSA", Redirected: "TSA"},
	Waiting:    {InProgress: "TSAG", Resolved: "TSA"},
	Resolved:   {Closed: "TSA", InProgress: "TSA"},
	Closed:     {InProgress: "SA"},
	Rejected:   {Qualified: "SA"},
	Redirected: {Qualified: "SA"},
	Merged:     {},
}

var roleLetter = map[string]byte{RoleTeam: 'T', RoleSupervisor: 'S', RoleAdmin: 'A', RoleAgent: 'G', RoleMailroom: 'M'}

func TestEveryTransitionForEveryRole(t *testing.T) {
	for _, from := range States {
		for _, to := range States {
			for role, letter := range roleLetter {
				tr := Transition{From: from, To: to, Role: role, Reason: "motif", WaitingOn: "citizen", RedirectTo: "la mairie"}
				err := Check(tr)
				roles, exists := spec[from][to]
				switch {
				case !exists:
					if fault.KindOf(err) != fault.Conflict {
						t.Errorf("%s → %s by %s: %v, want refused by the lifecycle (409)", from, to, role, err)
					}
				case !contains(roles, letter):
					if fault.KindOf(err) != fault.Forbidden {
						t.Errorf("%s → %s by %s: %v, want refused to the role (403)", from, to, role, err)
					}
				default:
					if err != nil {
						t.Errorf("%s → %s by %s: %v, want allowed", from, to, role, err)
					}
				}
			}
		}
	}
}

func contains(s string, b byte) bool {
	for i := range len(s) {
		if s[i] == b {
			return true
		}
	}
	return false
}

func TestDetailsRequired(t *testing.T) {
	for _, tc := range []struct {
		name string
		tr   Transition
	}{
		{"reject without reason", Transition{From: Received, To: Rejected, Role: RoleTeam}},
		{"redirect without body", Transition{From: Received, To: Redirected, Role: RoleTeam, Reason: "hors compétence"}},
		{"wait on nobody", Transition{From: Qualified, To: Waiting, Role: RoleTeam}},
		{"wait on the moon", Transition{From: Qualified, To: Waiting, Role: RoleTeam, WaitingOn: "moon"}},
		{"reopen without reason", Transition{From: Closed, To: InProgress, Role: RoleSupervisor}},
		{"unknown state", Transition{From: Received, To: "done", Role: RoleTeam}},
		{"unknown origin", Transition{From: "new", To: Qualified, Role: RoleTeam}},
	} {
		if err := Check(tc.tr); fault.KindOf(err) != fault.Invalid {
			t.Errorf("%s: %v, want invalid", tc.name, err)
		}
	}
}

func TestNextAndFlags(t *testing.T) {
	if got := Next(Waiting, RoleAgent); len(got) != 1 || got[0] != InProgress {
		t.Errorf("agent from waiting: %v", got)
	}
	if got := Next(Closed, RoleTeam); len(got) != 0 {
		t.Errorf("team from closed: %v", got)
	}
	for _, s := range States {
		if Label(s) == s {
			t.Errorf("no French label for %s", s)
		}
	}
	if !Paused(Waiting) || Paused(InProgress) || !Final(Closed) || Final(Resolved) {
		t.Error("paused/final flags")
	}
}
