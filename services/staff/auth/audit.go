package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ampmetropole/guichet/services/platform/fault"
)

// Actions written to the audit log by this package, and those the back
// office writes through [Service.Audit]. Others may be added: an action is
// a short dotted name.
const (
	ActionLogin        = "login"         // signed in (details: method)
	ActionLoginFailed  = "login_failed"  // wrong login or password, unknown OpenID Connect user (details: reason)
	ActionLoginLimited = "login_limited" // refused by a sign-in back-off, password not checked (details: limit, failures, delay_s, wait_s)
	ActionLogout       = "logout"

	ActionCaseView         = "case.view"          // a case opened (target: its reference)
	ActionCaseTransition   = "case.transition"    // a case moved in its lifecycle
	ActionPersonalDataView = "personal_data.view" // a citizen's personal data shown (target: the case or citizen)
)

// AuditEntry is one line of the audit log.
type AuditEntry struct {
	ID        int64          `json:"id"`
	At        time.Time      `json:"at"`
	Actor     string         `json:"actor"`
	ActorKind Kind           `json:"actor_kind"`
	Action    string         `json:"action"`
	Target    string         `json:"target"`
	Details   map[string]any `json:"details"`
	IP        string         `json:"ip,omitempty"`
}

// AuditFilter narrows [Service.AuditLog]; zero fields do not filter.
type AuditFilter struct {
	Actor    string
	Action   string // exact, or a prefix ending with "." ("case.")
	Target   string
	Since    time.Time // inclusive
	Until    time.Time // exclusive
	BeforeID int64     // entries older than this one: the next page
}

// Audit appends to the audit log that principal did action on target, with
// the client's address when ctx carries it (see [WithClientIP]). A
// principal of no kind is written as the system. The log cannot be changed
// or deleted afterwards: a trigger refuses it.
func (s *Service) Audit(ctx context.Context, principal Principal, action, target string, details map[string]any) error {
	if action == "" || len(action) > 100 {
		return fault.E(fault.Invalid, errors.New("auth: audit: action vide ou trop longue"))
	}
	kind := principal.Kind
	if kind == "" {
		kind = KindSystem
	}
	actor := cleanText(principal.Name, 200)
	target = cleanText(target, 500)
	if actor == "" {
		actor = "guichet"
	}
	if details == nil {
		details = map[string]any{}
	}
	data, err := json.Marshal(details)
	if err != nil {
		return fault.E(fault.Invalid, fmt.Errorf("auth: audit details: %w", err))
	}
	var ip *string
	if a := cleanText(ClientIP(ctx), 100); a != "" {
		ip = &a
	}
	_, err = s.db.Exec(ctx, `
		INSERT INTO audit_log (at, actor, actor_kind, action, target, details, ip)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		s.now(), actor, string(kind), action, target, data, ip)
	if err != nil {
		return dbError("audit", err)
	}
	return nil
}

// AuditCaller appends to the audit log in the name of whoever ctx carries
// (see [Service.Middleware]), else of the system; a failure is logged, since
// what it records has already happened. For pages that are not handed the
// principal, such as the agent console and the mailroom.
func (s *Service) AuditCaller(ctx context.Context, action, target string, details map[string]any) {
	s.auditAs(ctx, action, target, details)
}

// auditAs audits in the name of the principal in ctx, else of the system;
// a failure is logged, since what it records has already happened.
func (s *Service) auditAs(ctx context.Context, action, target string, details map[string]any) {
	p, ok := FromContext(ctx)
	if !ok {
		p = System("guichet")
	}
	if err := s.Audit(ctx, p, action, target, details); err != nil {
		s.log.Error("audit", "action", action, "target", target, "err", err)
	}
}

// AuditLog returns the entries matching filter, newest first, at most limit
// of them (100 when limit ≤ 0, never more than 1000). For admins
// ([PermAuditRead]).
func (s *Service) AuditLog(ctx context.Context, filter AuditFilter, limit int) ([]AuditEntry, error) {
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	var where []string
	var args []any
	add := func(cond string, arg any) {
		args = append(args, arg)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if filter.Actor != "" {
		add("actor = $%d", filter.Actor)
	}
	if strings.HasSuffix(filter.Action, ".") {
		add("starts_with(action, $%d)", filter.Action)
	} else if filter.Action != "" {
		add("action = $%d", filter.Action)
	}
	if filter.Target != "" {
		add("target = $%d", filter.Target)
	}
	if !filter.Since.IsZero() {
		add("at >= $%d", filter.Since)
	}
	if !filter.Until.IsZero() {
		add("at < $%d", filter.Until)
	}
	if filter.BeforeID > 0 {
		add("id < $%d", filter.BeforeID)
	}
	sql := `SELECT id, at, actor, actor_kind, action, target, details, coalesce(ip, '') FROM audit_log`
	if len(where) > 0 {
		sql += " WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, limit)
	sql += fmt.Sprintf(" ORDER BY id DESC LIMIT $%d", len(args))
	rows, err := s.db.Query(ctx, sql, args...)
	if err != nil {
		return nil, dbError("audit log", err)
	}
	entries, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (AuditEntry, error) {
		var e AuditEntry
		err := row.Scan(&e.ID, &e.At, &e.Actor, &e.ActorKind, &e.Action, &e.Target, &e.Details, &e.IP)
		return e, err
	})
	if err != nil {
		return nil, dbError("audit log", err)
	}
	return entries, nil
}
