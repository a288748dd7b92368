package casestore_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/deadline"
	"github.com/ampmetropole/guichet/services/cases/lifecycle"
)

// A follow-up the intake has recorded shows on the status page at once,
// before the router has handled it: the thread is read from the requests'
// thread, not from the case (which the follow-up joins only once routed).
// Every code of the thread names the thread's first code, and the files of
// the thread are known by their hash, no other.
func TestTrackingListsAFollowUpBeforeItIsRouted(t *testing.T) {
	s, _ := setup(t)
	ctx := context.Background()
	photo := schemas.Attachment{Name: "trou.jpg", ContentType: "image/jpeg", Size: 10, SHA256: strings.Repeat("ab", 32), ObjectKey: "sha256/" + strings.Repeat("ab", 32)}
	first, _ := newRequest(t)
	first.Body, first.Attachments = "Trou devant le 12 rue Paradis", []schemas.Attachment{photo}
	ref := routeNew(t, s, first, "voirie", "marseille-provence", time.Now().Add(48*time.Hour))

	followUp, _ := newRequest(t)
	followUp.Body = "Le trou s'est agrandi."
	followUp.Link = &schemas.Link{CaseRef: ref, By: schemas.LinkByTrackingCode, RequestID: first.ID}
	plan := schemas.Attachment{Name: "plan.pdf", ContentType: "application/pdf", Size: 20, SHA256: strings.Repeat("cd", 32), ObjectKey: "sha256/" + strings.Repeat("cd", 32)}
	followUp.Attachments = []schemas.Attachment{plan}
	v, _ := schemas.NewValidator()
	fraw, err := v.EncodeRequest(followUp)
	if err != nil {
		t.Fatal(err)
	}
	// What the intake does before it answers the web form: record, not route.
	if err := s.RecordReceived(ctx, followUp, fraw); err != nil {
		t.Fatal(err)
	}
	if st, err := s.RequestStatus(ctx, followUp.ID); err != nil || st.Status != "received" || st.CaseRef != nil {
		t.Fatalf("the follow-up is routed already (%+v, %v): the test proves nothing", st, err)
	}
	for _, code := range []string{first.TrackingCode, followUp.TrackingCode} {
		tr, err := s.Tracking(ctx, code)
		if err != nil {
			t.Fatal(err)
		}
		if got := bodies(tr.Messages); !slices.Equal(got, []string{first.Body, followUp.Body}) {
			t.Errorf("page of %s: messages %q, want the first request and the unrouted follow-up", code, got)
		}
		if tr.ThreadCode != first.TrackingCode {
			t.Errorf("page of %s: thread code %s, want the first request's %s", code, tr.ThreadCode, first.TrackingCode)
		}
		for _, a := range []schemas.Attachment{photo, plan} {
			if got, ok := tr.Attachment(a.SHA256); !ok || got != a {
				t.Errorf("page of %s: file %s: %+v %v", code, a.Name, got, ok)
			}
		}
		for _, sha := range []string{"", strings.Repeat("ef", 32), strings.ToUpper(photo.SHA256)} {
			if _, ok := tr.Attachment(sha); ok {
				t.Errorf("page of %s: the file %q is not the thread's, yet found", code, sha)
			}
		}
	}
	// Another thread of the same case knows neither file.
	other, _ := contact(t, s, "autre@example.org", "Même trou", ref, nil)
	tr, err := s.Tracking(ctx, other.TrackingCode)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tr.Attachment(photo.SHA256); ok || tr.ThreadCode != other.TrackingCode {
		t.Errorf("another thread of the case: sees the photo %v, thread code %s", ok, tr.ThreadCode)
	}
}

// The status page knows the case's deadline while it runs, and whom the
// case waits for while it is paused.
func TestTrackingTellsTheDeadlineAndTheWait(t *testing.T) {
	s, _ := setup(t)
	ctx := context.Background()
	loc, _ := time.LoadLocation("Europe/Paris")
	cal := deadline.New(loc)
	tue9 := time.Date(2026, 11, 24, 9, 0, 0, 0, loc)
	due := cal.Due(tue9, 16*time.Hour)
	req, _ := newRequest(t)
	req.Citizen = &schemas.Citizen{Email: "lea@example.net"}
	ref := routeNew(t, s, req, "voirie", "marseille-provence", due)
	read := func() casestore.Tracking {
		t.Helper()
		tr, err := s.Tracking(ctx, req.TrackingCode)
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	if tr := read(); tr.Deadline == nil || !tr.Deadline.Equal(due) || tr.WaitingOn != "" {
		t.Fatalf("running: deadline %v, waiting on %q; want %v", tr.Deadline, tr.WaitingOn, due)
	}
	move := func(to, waitingOn string, now time.Time) {
		t.Helper()
		if _, err := s.Transition(ctx, casestore.TransitionRequest{Ref: ref, To: to, Role: lifecycle.RoleTeam, WaitingOn: waitingOn,
			Change: casestore.Change{Actor: "camille", Reason: "motif"}, Now: now}, cal); err != nil {
			t.Fatal(err)
		}
	}
	move(lifecycle.Qualified, "", tue9)
	move(lifecycle.Waiting, "citizen", tue9.Add(2*time.Hour))
	if tr := read(); tr.Deadline != nil || tr.WaitingOn != "citizen" {
		t.Fatalf("waiting on the citizen: deadline %v, waiting on %q", tr.Deadline, tr.WaitingOn)
	}
	move(lifecycle.InProgress, "", tue9.Add(3*time.Hour))
	if tr := read(); tr.Deadline == nil || tr.WaitingOn != "" {
		t.Fatalf("resumed: deadline %v, waiting on %q", tr.Deadline, tr.WaitingOn)
	}
	move(lifecycle.Waiting, "third_party", tue9.Add(4*time.Hour))
	if tr := read(); tr.Deadline != nil || tr.WaitingOn != "third_party" {
		t.Fatalf("waiting on a third party: deadline %v, waiting on %q", tr.Deadline, tr.WaitingOn)
	}
	move(lifecycle.Resolved, "", tue9.Add(5*time.Hour))
	if tr := read(); tr.Deadline != nil || tr.WaitingOn != "" {
		t.Fatalf("resolved: deadline %v, waiting on %q", tr.Deadline, tr.WaitingOn)
	}
}
