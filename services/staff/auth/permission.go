package auth

import (
	"context"
	"slices"

	"github.com/ampmetropole/guichet/services/cases/scope"
)

// Roles. A role says what one may do ([Permissions]); competences and
// territories say on which cases ([Principal.SeesCase]).
const (
	// RoleAgent is a call-centre agent: the agent console, and every case
	// to read when a citizen calls.
	RoleAgent = "agent"
	// RoleMailroom sorts the post and e-mail: the mailroom, and every case
	// to read.
	RoleMailroom = "mailroom"
	// RoleTeam is a member of a back-office team, working on the cases of
	// its competences (at least one) and territories (none: all of them).
	RoleTeam = "team"
	// RoleSupervisor leads teams: their work plus triage and the
	// dashboard, on the cases of their competences and territories (none:
	// all of them).
	RoleSupervisor = "supervisor"
	// RoleAdmin runs Guichet: everything, on every case.
	RoleAdmin = "admin"
	// RoleDPO is the data protection officer (délégué à la protection des
	// données): what Guichet holds about a person (export), erasure, legal
	// holds, the retention schedule and the register of processing; the
	// audit log; and the requests citizens send about their data (the
	// cases of [DPOCompetence]), worked like a team's.
	RoleDPO = "dpo"
	// RoleCommune is the staff of a mairie (one of the 92 communes): the
	// mairie's desk ([PermCommune]) for the communes of the account
	// ([Principal.Communes]), and no case of the back office.
	RoleCommune = "commune"

	// RoleTelephony is the telephony system: it reports calls
	// (POST /api/v1/calls) and reads the status of the calls it reported.
	// API tokens only.
	RoleTelephony = "telephony"
	// RolePartner is a partner system that submits requests in the common
	// schema (POST /api/v1/requests) and follows the ones it submitted.
	// API tokens only.
	RolePartner = "partner"
)

// Roles lists the roles, least powerful first: people's, then systems'.
func Roles() []string {
	return []string{RoleAgent, RoleMailroom, RoleTeam, RoleSupervisor, RoleAdmin, RoleDPO, RoleCommune, RoleTelephony, RolePartner}
}

// ValidRole says whether role is one of [Roles].
func ValidRole(role string) bool { return slices.Contains(Roles(), role) }

// SystemRole says whether role belongs to another system, never to a
// person: such a role is given to API tokens, not accounts.
func SystemRole(role string) bool { return role == RoleTelephony || role == RolePartner }

// DPOCompetence is the competence of the requests about personal data
// (access, rectification, erasure), the data protection officer's queue:
// the catalogue's "donnees_personnelles".
const DPOCompetence = "donnees_personnelles"

// Permission is something a role may do.
type Permission string

// Permissions. Which role holds which is decided in [Permissions] only.
const (
	PermCaseRead       Permission = "case.read"       // see a case, its timeline and its citizen
	PermCaseTransition Permission = "case.transition" // move a case through its lifecycle
	PermCaseReroute    Permission = "case.reroute"    // give a case to another competence or territory
	PermCaseMerge      Permission = "case.merge"      // merge, unmerge and split cases
	PermReply          Permission = "case.reply"      // answer the citizen, add notes
	PermTriage         Permission = "triage"          // work the triage queue (cases the router was unsure of)
	PermDashboard      Permission = "dashboard"       // queues, dead letters, figures
	PermAuditRead      Permission = "audit.read"      // read the audit log
	PermMailroom       Permission = "mailroom"        // the mailroom: letters, scans, corrections
	PermAgentConsole   Permission = "agent.console"   // the call-centre console: log calls
	PermKnowledgeRead  Permission = "knowledge.read"  // read the knowledge base of first-contact answers
	PermKnowledgeEdit  Permission = "knowledge.edit"  // write, change and archive its entries
	PermAdminAccounts  Permission = "admin.accounts"  // accounts and API tokens
	PermPersonalData   Permission = "personal_data"   // a person's data: export, erasure, legal holds, retention, register
	PermSubmitCall     Permission = "intake.call"     // report a call (the telephony)
	PermSubmitRequest  Permission = "intake.request"  // submit a request in the common schema (a partner system)
	PermRequestStatus  Permission = "intake.status"   // ask where a request stands: one's own submissions, or requests of cases in scope
	PermCommune        Permission = "commune"         // the mairie's desk: file at the counter, the cases of one's communes, what was redirected to them
)

// Permissions is the one place that says what each role may do:
//
//	permission        agent  mailroom  team  supervisor  admin  dpo  commune
//	case.read           ✓       ✓       ✓       ✓          ✓     ✓
//	case.transition                     ✓       ✓          ✓     ✓
//	case.reroute                        ✓       ✓          ✓     ✓
//	case.merge                          ✓       ✓          ✓     ✓
//	case.reply                          ✓       ✓          ✓     ✓
//	triage                                      ✓          ✓
//	dashboard                                   ✓          ✓
//	audit.read                                             ✓     ✓
//	mailroom                    ✓                          ✓
//	agent.console       ✓                                  ✓
//	knowledge.read      ✓               ✓       ✓          ✓     ✓
//	knowledge.edit                              ✓          ✓
//	admin.accounts                                         ✓
//	personal_data                                          ✓     ✓
//	intake.call                                            ✓     (telephony)
//	intake.request                                         ✓     (partner)
//	intake.status       ✓       ✓       ✓       ✓          ✓     ✓  (telephony, partner)
//	commune                                                               ✓
//
// The telephony and partner roles hold only their intake permission. The
// mailroom's scans need the mailroom permission. Which cases the case permissions apply to is [Principal.SeesCase]'s
// business. An unknown role may do nothing.
func Permissions(role string) []Permission {
	caseWork := []Permission{PermCaseRead, PermCaseTransition, PermCaseReroute, PermCaseMerge, PermReply, PermRequestStatus, PermKnowledgeRead}
	switch role {
	case RoleAgent:
		return []Permission{PermCaseRead, PermAgentConsole, PermRequestStatus, PermKnowledgeRead}
	case RoleMailroom:
		return []Permission{PermCaseRead, PermMailroom, PermRequestStatus}
	case RoleTeam:
		return caseWork
	case RoleSupervisor:
		return append(caseWork, PermTriage, PermDashboard, PermKnowledgeEdit)
	case RoleAdmin:
		return append(caseWork, PermTriage, PermDashboard, PermAuditRead, PermMailroom, PermAgentConsole, PermAdminAccounts,
			PermSubmitCall, PermSubmitRequest, PermKnowledgeEdit, PermPersonalData)
	case RoleDPO:
		return append(caseWork, PermAuditRead, PermPersonalData)
	case RoleTelephony:
		return []Permission{PermSubmitCall, PermRequestStatus}
	case RolePartner:
		return []Permission{PermSubmitRequest, PermRequestStatus}
	case RoleCommune:
		return []Permission{PermCommune}
	}
	return nil
}

// Kind says who a principal is.
type Kind string

// Kinds of principal.
const (
	KindAccount Kind = "account" // a person signed in (session)
	KindToken   Kind = "token"   // a system with an API token
	KindSystem  Kind = "system"  // Guichet itself (the CLI, a background job): audit only, no permission
)

// Principal is who is calling: an account signed in, or an API token.
type Principal struct {
	Kind        Kind
	ID          string // account id, or the token's short id
	Name        string // login, or token name: the actor in the audit log
	DisplayName string // the person's name as shown ("Camille Roux"); the token's name
	Role        string
	Competences []string
	Territories []string
	// Communes are the INSEE codes of a mairie's communes (role commune).
	Communes []string

	session []byte // the session's id (sha256 of the cookie), for CSRF; nil for tokens
}

// System is Guichet acting on its own (the CLI, a background job), as
// written in the audit log. It holds no permission.
func System(name string) Principal {
	return Principal{Kind: KindSystem, ID: name, Name: name, DisplayName: name}
}

// Can says whether the principal's role allows perm.
func (p Principal) Can(perm Permission) bool {
	return slices.Contains(Permissions(p.Role), perm)
}

// Submitter is how the principal is written as the submitter of a request
// (source.system): an API token by its name, a person as compte:<login>, so
// that the two can never be taken for each other.
func (p Principal) Submitter() string {
	if p.Kind == KindAccount {
		return "compte:" + p.Name
	}
	return p.Name
}

// Scope is the set of cases the principal may see, the one rule that case
// pages, files, actions, queues, searches and counts all apply. Admins,
// agents and the mailroom see every case (what they may do with it is
// [Principal.Can]'s business). A team member sees the cases of their
// competences ("triage" among them only when given), in their territories
// or in all when they have none. A supervisor is scoped the same way,
// except that no competences means all competences, and the triage queue's
// cases are always theirs — within their territories. With territories, a
// case whose territory is not known yet is out of scope. The data
// protection officer sees the requests about personal data
// ([DPOCompetence]) in every territory, and the competences of their
// account besides; what they hold about a person outside those cases they
// read through the export, not the queues. Systems
// (telephony, partners) and unknown roles see no case.
func (p Principal) Scope() scope.Scope {
	switch p.Role {
	case RoleAdmin, RoleAgent, RoleMailroom:
		return scope.Everything()
	case RoleTeam:
		return scope.Scope{Competences: slices.Clone(p.Competences), Territories: slices.Clone(p.Territories)}
	case RoleDPO:
		s := scope.Scope{Competences: []string{DPOCompetence}}
		for _, c := range p.Competences {
			if !slices.Contains(s.Competences, c) {
				s.Competences = append(s.Competences, c)
			}
		}
		return s
	case RoleSupervisor:
		s := scope.Scope{AllCompetences: len(p.Competences) == 0, Territories: slices.Clone(p.Territories)}
		if !s.AllCompetences {
			s.Competences = append(slices.Clone(p.Competences), scope.Triage)
		}
		return s
	}
	return scope.Scope{}
}

// SeesCase says whether the principal may see a case of this competence and
// territory (an empty territory: not known yet); see [Principal.Scope].
func (p Principal) SeesCase(competence, territory string) bool {
	return p.Scope().Sees(competence, territory)
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p, as [Service.Middleware] does; for
// tests and for work done on someone's behalf.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns who is calling, if someone signed in or gave a valid
// token.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

type ipKey struct{}

// WithClientIP returns ctx carrying the client's address, which
// [Service.Audit] and [Service.Login] record; [Service.Middleware] sets it.
func WithClientIP(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, ipKey{}, ip)
}

// ClientIP returns the client's address carried by ctx, or "".
func ClientIP(ctx context.Context) string {
	ip, _ := ctx.Value(ipKey{}).(string)
	return ip
}
