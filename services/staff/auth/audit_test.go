package auth_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/staff/auth"
)

func TestAuditLog(t *testing.T) {
	t.Parallel()
	svc, b := setup(t)
	ctx := auth.WithClientIP(context.Background(), "192.0.2.44")
	camille := auth.Principal{Kind: auth.KindAccount, ID: "7", Name: "camille.roux", Role: auth.RoleTeam}
	robot := auth.Principal{Kind: auth.KindToken, ID: "tok-1", Name: "telephonie", Role: auth.RoleAgent}
	start := b.clock.Now()
	writes := []struct {
		p              auth.Principal
		action, target string
		details        map[string]any
	}{
		{camille, auth.ActionCaseView, "AMP-2026-000001", nil},
		{camille, auth.ActionPersonalDataView, "AMP-2026-000001", map[string]any{"fields": []string{"email", "phone"}}},
		{robot, auth.ActionCaseView, "AMP-2026-000002", nil},
		{camille, auth.ActionCaseTransition, "AMP-2026-000001", map[string]any{"from": "received", "to": "in_progress"}},
		{auth.Principal{}, "router.retrain", "", nil},
	}
	for _, w := range writes {
		b.clock.Advance(time.Minute)
		if err := svc.Audit(ctx, w.p, w.action, w.target, w.details); err != nil {
			t.Fatal(err)
		}
	}
	wantKind(t, svc.Audit(ctx, camille, "", "x", nil), fault.Invalid)
	wantKind(t, svc.Audit(ctx, camille, "x", "y", map[string]any{"f": func() {}}), fault.Invalid)

	all, err := svc.AuditLog(ctx, auth.AuditFilter{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 5 {
		t.Fatalf("%d entries, want 5", len(all))
	}
	pd := all[3]
	if pd.Action != auth.ActionPersonalDataView || pd.Actor != "camille.roux" || pd.ActorKind != auth.KindAccount ||
		pd.Target != "AMP-2026-000001" || pd.IP != "192.0.2.44" || !pd.At.Equal(start.Add(2*time.Minute)) {
		t.Fatalf("entry %+v", pd)
	}
	if f, _ := pd.Details["fields"].([]any); len(f) != 2 || f[0] != "email" {
		t.Fatalf("details %v", pd.Details)
	}
	if sys := all[0]; sys.ActorKind != auth.KindSystem || sys.Actor != "guichet" || sys.Details == nil {
		t.Fatalf("system entry %+v", sys)
	}
	if all[2].ActorKind != auth.KindToken || all[2].Actor != "telephonie" {
		t.Fatalf("token entry %+v", all[2])
	}

	ids := func(f auth.AuditFilter, limit int) []string {
		entries, err := svc.AuditLog(ctx, f, limit)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range entries {
			out = append(out, e.Action+" "+e.Target)
		}
		return out
	}
	for _, tt := range []struct {
		name   string
		filter auth.AuditFilter
		limit  int
		want   []string
	}{
		{"by actor", auth.AuditFilter{Actor: "telephonie"}, 0, []string{"case.view AMP-2026-000002"}},
		{"by action prefix", auth.AuditFilter{Action: "case."}, 0, []string{"case.transition AMP-2026-000001", "case.view AMP-2026-000002", "case.view AMP-2026-000001"}},
		{"by exact action", auth.AuditFilter{Action: "case.view", Actor: "camille.roux"}, 0, []string{"case.view AMP-2026-000001"}},
		{"by target", auth.AuditFilter{Target: "AMP-2026-000001"}, 2, []string{"case.transition AMP-2026-000001", "personal_data.view AMP-2026-000001"}},
		{"by time", auth.AuditFilter{Since: start.Add(2 * time.Minute), Until: start.Add(4 * time.Minute)}, 0, []string{"case.view AMP-2026-000002", "personal_data.view AMP-2026-000001"}},
		{"next page", auth.AuditFilter{BeforeID: all[1].ID}, 2, []string{"case.view AMP-2026-000002", "personal_data.view AMP-2026-000001"}},
		{"nothing", auth.AuditFilter{Actor: "personne"}, 0, nil},
	} {
		if got := ids(tt.filter, tt.limit); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

// The audit log is append-only: nobody, not even Guichet's own database
// user, changes or deletes a line.
func TestAuditLogAppendOnly(t *testing.T) {
	t.Parallel()
	svc, b := setup(t)
	ctx := context.Background()
	if err := svc.Audit(ctx, auth.System("test"), "test.write", "cible", nil); err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		`UPDATE audit_log SET actor = 'quelqu''un d''autre'`,
		`UPDATE audit_log SET details = '{}' WHERE action = 'test.write'`,
		`DELETE FROM audit_log`,
		`TRUNCATE audit_log`,
	} {
		_, err := b.pool.Exec(ctx, sql)
		if err == nil || !strings.Contains(err.Error(), "audit_log is append-only") {
			t.Errorf("%s: %v", sql, err)
		}
	}
	entries, err := svc.AuditLog(ctx, auth.AuditFilter{}, 0)
	if err != nil || len(entries) != 1 || entries[0].Actor != "test" {
		t.Fatalf("after the attempts: %+v %v", entries, err)
	}
}
