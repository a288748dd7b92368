package casestore_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/deadline"
	"github.com/ampmetropole/guichet/services/cases/lifecycle"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/testkit"
)

// openCase routes one request into a new case due at due.
func openCase(t *testing.T, s *casestore.Store, territory string, due time.Time, withContact bool) string {
	t.Helper()
	req, _ := newRequest(t)
	if withContact {
		req.Citizen = &schemas.Citizen{Email: "lea@example.net"}
	}
	return routeNew(t, s, req, "voirie", territory, due)
}

func TestTransitionsKeepTheDeadlineClock(t *testing.T) {
	s, b := setup(t)
	ctx := context.Background()
	loc, _ := time.LoadLocation("Europe/Paris")
	cal := deadline.New(loc)
	tue9 := time.Date(2026, 11, 24, 9, 0, 0, 0, loc)
	ref := openCase(t, s, "marseille-provence", cal.Due(tue9, 16*time.Hour), true) // due Wednesday 16:00
	move := func(to, role string, now time.Time, extra func(*casestore.TransitionRequest)) error {
		tr := casestore.TransitionRequest{Ref: ref, To: to, Role: role, Change: casestore.Change{Actor: "agent-07", Reason: "motif"}, Now: now,
			Required: []string{"territory", "contact"}}
		if extra != nil {
			extra(&tr)
		}
		_, err := s.Transition(ctx, tr, cal)
		return err
	}
	state := func() (string, *time.Time, *time.Duration) {
		var st string
		var dl *time.Time
		var left *time.Duration
		testkit.QueryRow(t, b.url, `SELECT state, deadline, deadline_left FROM cases WHERE ref = $1`, []any{ref}, &st, &dl, &left)
		return st, dl, left
	}
	if err := move(lifecycle.Qualified, lifecycle.RoleAgent, tue9, nil); fault.KindOf(err) != fault.Forbidden {
		t.Fatalf("agent qualifying: %v", err)
	}
	if err := move(lifecycle.Closed, lifecycle.RoleTeam, tue9, nil); fault.KindOf(err) != fault.Conflict {
		t.Fatalf("received → closed: %v", err)
	}
	if err := move(lifecycle.Qualified, lifecycle.RoleTeam, tue9, nil); err != nil {
		t.Fatal(err)
	}
	if err := move(lifecycle.InProgress, lifecycle.RoleTeam, tue9, nil); err != nil {
		t.Fatal(err)
	}
	// Tuesday 15:00, 6 business hours spent: waiting on the citizen until
	// the next Monday; the 10 hours left are kept.
	if err := move(lifecycle.Waiting, lifecycle.RoleTeam, tue9.Add(6*time.Hour), func(tr *casestore.TransitionRequest) { tr.WaitingOn = "citizen" }); err != nil {
		t.Fatal(err)
	}
	if st, dl, left := state(); st != "waiting" || dl != nil || left == nil || *left != 10*time.Hour {
		t.Fatalf("waiting: %s %v %v", st, dl, left)
	}
	// The citizen answered; the call centre takes it back into progress.
	mon := time.Date(2026, 11, 30, 8, 30, 0, 0, loc)
	if err := move(lifecycle.InProgress, lifecycle.RoleAgent, mon, nil); err != nil {
		t.Fatal(err)
	}
	if st, dl, left := state(); st != "in_progress" || dl == nil || !dl.Equal(time.Date(2026, 12, 1, 9, 30, 0, 0, loc)) || left != nil {
		t.Fatalf("resumed: %s %v %v", st, dl, left)
	}
	c, err := s.Case(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	last := c.Events[len(c.Events)-1]
	if last.Type != schemas.EventStateChanged || last.Actor.ID != "agent-07" || last.Data["from"] != "waiting" || last.Data["reason"] != "motif" {
		t.Errorf("event %+v", last)
	}
}

func TestQualificationNeedsTheRequiredFields(t *testing.T) {
	s, _ := setup(t)
	cal := deadline.New(time.UTC)
	ref := openCase(t, s, "", time.Now().Add(time.Hour), false)
	_, err := s.Transition(context.Background(), casestore.TransitionRequest{Ref: ref, To: lifecycle.Qualified, Role: lifecycle.RoleTeam,
		Change: casestore.Change{Actor: "a"}, Required: []string{"territory", "contact"}}, cal)
	if fault.KindOf(err) != fault.Conflict || !strings.Contains(err.Error(), "le territoire") || !strings.Contains(err.Error(), "joindre") {
		t.Fatalf("qualifying without territory or contact: %v", err)
	}
	if _, err := s.Transition(context.Background(), casestore.TransitionRequest{Ref: "AMP-2026-999999", To: lifecycle.Qualified, Role: lifecycle.RoleTeam,
		Change: casestore.Change{Actor: "a"}}, cal); fault.KindOf(err) != fault.NotFound {
		t.Fatalf("unknown case: %v", err)
	}
}

// The timer marks a passed deadline once, even when two run at the same
// time or after a restart, and leaves paused and future deadlines alone.
func TestBreachFiresOnce(t *testing.T) {
	s, b := setup(t)
	ctx := context.Background()
	past := time.Now().Add(-time.Hour)
	late := openCase(t, s, "pays-d-aix", past, true)
	openCase(t, s, "pays-d-aix", time.Now().Add(time.Hour), true) // not yet due
	paused := openCase(t, s, "pays-d-aix", past, true)
	testkit.Exec(t, b.url, `UPDATE cases SET state = 'waiting', deadline = NULL, deadline_left = '2 hours' WHERE ref = $1`, paused)
	done := make(chan int, 2)
	for range 2 {
		go func() {
			msgs, err := s.BreachDue(ctx, time.Now(), 10)
			if err != nil {
				t.Error(err)
			}
			done <- len(msgs)
		}()
	}
	if n := <-done + <-done; n != 1 {
		t.Fatalf("%d breach events from two timers, want 1", n)
	}
	if msgs, err := s.BreachDue(ctx, time.Now(), 10); err != nil || len(msgs) != 0 {
		t.Fatalf("again: %d %v", len(msgs), err)
	}
	c, err := s.Case(ctx, late)
	if err != nil {
		t.Fatal(err)
	}
	if e := c.Events[len(c.Events)-1]; e.Type != schemas.EventBreached || e.Actor.Kind != "system" {
		t.Errorf("event %+v", e)
	}
	if n := testkit.Count(t, b.url, `SELECT count(*) FROM cases WHERE breached_at IS NOT NULL`); n != 1 {
		t.Errorf("%d cases breached", n)
	}
}

// In a batch, an item that fails is rolled back alone (the others are
// routed again without it) and leaves no gap in the history of a case the
// next item writes to.
func TestRouteBatchRollsBackOneItem(t *testing.T) {
	s, b := setup(t)
	ctx := context.Background()
	ref := openCase(t, s, "pays-d-aix", time.Now().Add(time.Hour), true)
	event := func(id string) schemas.CaseEvent {
		return schemas.CaseEvent{ID: id, Schema: schemas.CaseEventV1, Type: schemas.EventNoteAdded, At: time.Now().UTC().Truncate(time.Millisecond),
			Actor: schemas.Actor{Kind: "agent", ID: "a"}, Competence: "voirie", State: "received", Data: map[string]any{}}
	}
	ids := []string{"0190d3a8-0000-7000-8000-000000000001", "0190d3a8-0000-7000-8000-000000000002", "0190d3a8-0000-7000-8000-000000000003"}
	msgs, errs := s.RouteBatch(ctx, make([]casestore.BatchItem, 3), func(ctx context.Context, tx *casestore.RouteTx, i int) error {
		c, err := tx.LockCase(ctx, ref)
		if err != nil {
			return err
		}
		if _, err := tx.AppendEvent(ctx, c, event(ids[i])); err != nil {
			return err
		}
		if i == 1 {
			return fault.E(fault.Transient, errors.New("this one fails"))
		}
		return nil
	})
	if errs[0] != nil || errs[1] == nil || errs[2] != nil || len(msgs) != 2 {
		t.Fatalf("errs %v, %d messages", errs, len(msgs))
	}
	var seqs string
	testkit.QueryRow(t, b.url, `SELECT string_agg(e.seq::text, ',' ORDER BY e.seq) FROM case_events e JOIN cases c ON c.id = e.case_id WHERE c.ref = $1`, []any{ref}, &seqs)
	if seqs != "1,2" {
		t.Errorf("history numbered %s, want 1,2", seqs)
	}
}
