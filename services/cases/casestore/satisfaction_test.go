package casestore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/deadline"
	"github.com/ampmetropole/guichet/services/cases/lifecycle"
	"github.com/ampmetropole/guichet/services/cases/scope"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/platform/frtime"
)

// routeInto files a request into an existing case.
func routeInto(t *testing.T, s *casestore.Store, req schemas.Request, ref string) {
	t.Helper()
	v, _ := schemas.NewValidator()
	raw, err := v.EncodeRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Route(context.Background(), func(ctx context.Context, tx *casestore.RouteTx) error {
		if err := tx.ClaimRequest(ctx, req, raw); err != nil {
			return err
		}
		c, err := tx.LockCase(ctx, ref)
		if err != nil {
			return err
		}
		return tx.FinishRequest(ctx, req.ID, c.ID, 0)
	}); err != nil {
		t.Fatal(err)
	}
}

// Once resolved, each citizen of a case answers the question once, from any
// code of their thread; before, they cannot; the figures count the answers
// by competence, territory and channel, within a scope.
func TestSatisfaction(t *testing.T) {
	s, _ := setup(t)
	ctx := context.Background()
	first, _ := newRequest(t)
	ref := routeNew(t, s, first, "voirie", "marseille-provence", time.Now().Add(48*time.Hour))
	follow, _ := newRequest(t)
	follow.Link = &schemas.Link{CaseRef: ref, By: schemas.LinkByTrackingCode, RequestID: first.ID}
	routeInto(t, s, follow, ref)
	other, _ := newRequest(t)
	other.Channel = "phone"
	routeInto(t, s, other, ref)
	elsewhere, _ := newRequest(t)
	elseRef := routeNew(t, s, elsewhere, "eclairage", "pays-d-aix", time.Now().Add(48*time.Hour))

	if open, given, err := s.OpinionAsked(ctx, first.TrackingCode); err != nil || open || given != nil {
		t.Fatalf("before resolution: open %v, given %v, %v", open, given, err)
	}
	if err := s.RecordOpinion(ctx, first.TrackingCode, 5, "Merci"); fault.KindOf(err) != fault.Conflict {
		t.Fatalf("an answer before resolution: %v", err)
	}
	cal := deadline.New(frtime.Paris())
	for _, r := range []string{ref, elseRef} {
		for _, to := range []string{lifecycle.Qualified, lifecycle.InProgress, lifecycle.Resolved} {
			if _, err := s.Transition(ctx, casestore.TransitionRequest{Ref: r, To: to, Role: lifecycle.RoleTeam, Change: casestore.Change{Actor: "camille"}}, cal); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tt := range []struct {
		name    string
		score   int
		comment string
		kind    fault.Kind
	}{
		{"score 0", 0, "", fault.Invalid},
		{"score 6", 6, "", fault.Invalid},
		{"comment too long", 4, strings.Repeat("é", casestore.MaxOpinionComment+1), fault.Invalid},
		{"NUL in the comment", 4, "a\x00b", fault.Invalid},
	} {
		if err := s.RecordOpinion(ctx, first.TrackingCode, tt.score, tt.comment); fault.KindOf(err) != tt.kind {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
	if err := s.RecordOpinion(ctx, follow.TrackingCode, 4, "  Rapide, mais le trou est revenu.  "); err != nil {
		t.Fatal(err)
	}
	// The same thread, by its other code: answered already.
	if err := s.RecordOpinion(ctx, first.TrackingCode, 1, "Encore"); fault.KindOf(err) != fault.Conflict {
		t.Errorf("a second answer: %v", err)
	}
	open, given, err := s.OpinionAsked(ctx, first.TrackingCode)
	if err != nil || !open || given == nil || given.Score != 4 || given.Comment != "Rapide, mais le trou est revenu." {
		t.Fatalf("answer read back: %v %+v %v", open, given, err)
	}
	// The other citizen of the case answers for themselves.
	if open, given, err := s.OpinionAsked(ctx, other.TrackingCode); err != nil || !open || given != nil {
		t.Fatalf("the other citizen: %v %+v %v", open, given, err)
	}
	if err := s.RecordOpinion(ctx, other.TrackingCode, 2, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordOpinion(ctx, elsewhere.TrackingCode, 5, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordOpinion(ctx, "ZZZZ-ZZZZ-ZZZZ", 5, ""); fault.KindOf(err) != fault.NotFound {
		t.Errorf("unknown code: %v", err)
	}

	f, err := s.Satisfaction(ctx, scope.Everything(), 30, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if f.All.Answers != 3 || f.All.Scores != [5]int{0, 1, 0, 1, 1} || f.All.Average < 3.66 || f.All.Average > 3.67 {
		t.Errorf("all: %+v", f.All)
	}
	byKey := func(xs []casestore.Satisfaction) map[string]casestore.Satisfaction {
		m := map[string]casestore.Satisfaction{}
		for _, x := range xs {
			m[x.Key] = x
		}
		return m
	}
	if c := byKey(f.ByCompetence); c["voirie"].Answers != 2 || c["voirie"].Average != 3 || c["eclairage"].Answers != 1 {
		t.Errorf("by competence: %+v", f.ByCompetence)
	}
	if c := byKey(f.ByChannel); c["web"].Answers != 2 || c["phone"].Answers != 1 || c["phone"].Average != 2 {
		t.Errorf("by channel: %+v", f.ByChannel)
	}
	if c := byKey(f.ByTerritory); c["pays-d-aix"].Answers != 1 || c["marseille-provence"].Answers != 2 {
		t.Errorf("by territory: %+v", f.ByTerritory)
	}
	team, err := s.Satisfaction(ctx, scope.Scope{Competences: []string{"eclairage"}}, 30, time.Now())
	if err != nil || team.All.Answers != 1 || len(team.ByCompetence) != 1 {
		t.Errorf("a team sees only its own: %+v %v", team, err)
	}
	if old, err := s.Satisfaction(ctx, scope.Everything(), 30, time.Now().AddDate(0, 2, 0)); err != nil || old.All.Answers != 0 {
		t.Errorf("answers older than the period counted: %+v %v", old.All, err)
	}
}
