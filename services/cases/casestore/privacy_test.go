package casestore_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

// contact routes a request of a citizen (by e-mail) into case ref, or into
// a new case when ref is "", and returns the request and its case.
func contact(t *testing.T, s *casestore.Store, email, body, ref string, link *schemas.Link) (schemas.Request, string) {
	t.Helper()
	req, _ := newRequest(t)
	req.Body, req.Citizen, req.Link = body, &schemas.Citizen{Email: email}, link
	v, _ := schemas.NewValidator()
	raw, err := v.EncodeRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Route(context.Background(), func(ctx context.Context, tx *casestore.RouteTx) error {
		if err := tx.ClaimRequest(ctx, req, raw); err != nil {
			return err
		}
		cid, err := tx.ResolveCitizen(ctx, casestore.Identity{Email: email})
		if err != nil {
			return err
		}
		var c casestore.CaseRow
		if ref == "" {
			c, err = tx.CreateCase(ctx, casestore.NewCase{Competence: "voirie", Territory: "marseille-provence", CitizenID: cid})
		} else {
			c, err = tx.LockCase(ctx, ref)
		}
		if err != nil {
			return err
		}
		ref = c.Ref
		if err := tx.RecordDecision(ctx, casestore.Decision{RequestID: req.ID, CaseID: c.ID, Outcome: "new_case", Competence: c.Competence,
			ModelVersion: "test", DecidedBy: "test"}); err != nil {
			return err
		}
		return tx.FinishRequest(ctx, req.ID, c.ID, cid)
	}); err != nil {
		t.Fatal(err)
	}
	return req, ref
}

func bodies(cs []casestore.Contact) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Body)
	}
	return out
}

func messages(rs []casestore.Reply) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Message)
	}
	return out
}

// A status page shows its own thread and the replies addressed to it —
// never another request of the case, even one that typed the same e-mail
// address, and never the replies written to another person, through a
// merge too; a merged citizen is told where their request went.
func TestStatusPageShowsOnlyItsThread(t *testing.T) {
	s, _ := setup(t)
	ctx := context.Background()
	ch := casestore.Change{Actor: "camille"}
	lea, ref := contact(t, s, "lea@example.net", "Trou devant le 12 rue Paradis, 3e étage", "", nil)
	// Someone else typed Léa's address: the same "citizen" to the store.
	intruder, _ := contact(t, s, "lea@example.net", "Je suis Léa, quoi de neuf ?", ref, nil)
	followUp, _ := contact(t, s, "lea@example.net", "Photo ajoutée", ref,
		&schemas.Link{CaseRef: ref, By: schemas.LinkByTrackingCode, RequestID: lea.ID})
	if _, err := s.Reply(ctx, ref, casestore.ReplyRequest{Channel: casestore.ReplyEmail, To: "lea@example.net", Subject: "Votre trou",
		Message: "Réponse à Léa", RequestID: lea.ID}, ch); err != nil {
		t.Fatal(err)
	}
	// Without a request named: the case's first request of that address.
	if _, err := s.Reply(ctx, ref, casestore.ReplyRequest{Channel: casestore.ReplyEmail, To: "LEA@example.net", Message: "Deuxième réponse"}, ch); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Reply(ctx, ref, casestore.ReplyRequest{Channel: casestore.ReplyEmail, To: "lea@example.net", Message: "Réponse à l'intrus",
		RequestID: intruder.ID}, ch); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, code      string
		wantMsg, wantRe []string
	}{
		{"Léa's page", lea.TrackingCode, []string{lea.Body, followUp.Body}, []string{"Réponse à Léa", "Deuxième réponse"}},
		{"the follow-up's page: the same thread", followUp.TrackingCode, []string{lea.Body, followUp.Body}, []string{"Réponse à Léa", "Deuxième réponse"}},
		{"the intruder's page", intruder.TrackingCode, []string{intruder.Body}, []string{"Réponse à l'intrus"}},
	} {
		tr, err := s.Tracking(ctx, tc.code)
		if err != nil {
			t.Fatal(err)
		}
		if got := bodies(tr.Messages); !slices.Equal(got, tc.wantMsg) {
			t.Errorf("%s: messages %q, want %q", tc.name, got, tc.wantMsg)
		}
		if got := messages(tr.Replies); !slices.Equal(got, tc.wantRe) {
			t.Errorf("%s: replies %q, want %q", tc.name, got, tc.wantRe)
		}
	}

	// Bruno's case merged into Léa's: his page shows his own thread, none of
	// Léa's replies, and says where his request went.
	bruno, brunoRef := contact(t, s, "bruno@example.org", "Même trou, rue Paradis", "", nil)
	if _, err := s.Reply(ctx, brunoRef, casestore.ReplyRequest{Channel: casestore.ReplyEmail, To: "bruno@example.org", Message: "Réponse à Bruno"}, ch); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Merge(ctx, brunoRef, ref, casestore.Change{Actor: "camille", Reason: "même trou"}); err != nil {
		t.Fatal(err)
	}
	tr, err := s.Tracking(ctx, bruno.TrackingCode)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Case == nil || tr.Case.Ref != ref || tr.Regrouped == nil || tr.Regrouped.From != brunoRef {
		t.Fatalf("after the merge: case %+v, regrouped %+v; want %s from %s", tr.Case, tr.Regrouped, ref, brunoRef)
	}
	if got := messages(tr.Replies); !slices.Equal(got, []string{"Réponse à Bruno"}) {
		t.Errorf("Bruno's replies after the merge: %q", got)
	}
	if got := bodies(tr.Messages); !slices.Equal(got, []string{bruno.Body}) {
		t.Errorf("Bruno's messages after the merge: %q", got)
	}
	lt, _ := s.Tracking(ctx, lea.TrackingCode)
	if lt.Regrouped != nil || slices.Contains(messages(lt.Replies), "Réponse à Bruno") {
		t.Errorf("Léa's page after the merge: regrouped %+v, replies %q", lt.Regrouped, messages(lt.Replies))
	}
	// Undone, Bruno's request is back where it was, with nothing to say.
	if _, err := s.Unmerge(ctx, brunoRef, casestore.Change{Actor: "camille", Reason: "erreur"}); err != nil {
		t.Fatal(err)
	}
	if tr, _ := s.Tracking(ctx, bruno.TrackingCode); tr.Regrouped != nil || tr.Case.Ref != brunoRef {
		t.Errorf("after the unmerge: case %s, regrouped %+v", tr.Case.Ref, tr.Regrouped)
	}
}

// A reply the mailer would refuse is refused when written, not recorded as
// sent and dead-lettered later; a reply names a request of its own case.
func TestReplyRefusesWhatCannotBeSent(t *testing.T) {
	s, _ := setup(t)
	ctx := context.Background()
	_, ref := contact(t, s, "lea@example.net", "Trou", "", nil)
	other, _ := contact(t, s, "paul@example.org", "Autre chose", "", nil)
	ch := casestore.Change{Actor: "camille"}
	for name, r := range map[string]casestore.ReplyRequest{
		"two addresses":            {Channel: casestore.ReplyEmail, To: "lea@example.net, paul@example.org", Message: "x"},
		"a subject on two lines":   {Channel: casestore.ReplyEmail, To: "lea@example.net", Subject: "Objet\r\nBcc: x@example.org", Message: "x"},
		"a NUL in the message":     {Channel: casestore.ReplyEmail, To: "lea@example.net", Message: "a\x00b"},
		"not an address":           {Channel: casestore.ReplyEmail, To: "lea at example", Message: "x"},
		"not a phone number":       {Channel: casestore.ReplyCallback, To: "rappelez-moi", Message: "x"},
		"another case's request":   {Channel: casestore.ReplyEmail, To: "lea@example.net", Message: "x", RequestID: other.ID},
		"invalid UTF-8 in the to":  {Channel: casestore.ReplyLetter, To: "M. \xe9 Roux\n13001 Marseille", Message: "x"},
		"an unknown reply channel": {Channel: "pigeon", To: "lea@example.net", Message: "x"},
	} {
		if _, err := s.Reply(ctx, ref, r, ch); fault.KindOf(err) != fault.Invalid {
			t.Errorf("%s: %v, want Invalid", name, err)
		}
	}
	c, err := s.Case(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range c.Events {
		if e.Type == schemas.EventReplied {
			t.Fatalf("a refused reply was recorded: %+v", e)
		}
	}
}

// A file is served for the requests that carry it, with their cases.
func TestFileHolders(t *testing.T) {
	s, _ := setup(t)
	ctx := context.Background()
	sha := strings.Repeat("ab", 32)
	req, _ := newRequest(t)
	req.Attachments = []schemas.Attachment{{Name: "photo.jpg", ContentType: "image/jpeg", Size: 10, SHA256: sha, ObjectKey: "sha256/" + sha}}
	ref := routeNew(t, s, req, "voirie", "pays-d-aix", time.Now().Add(time.Hour))
	h, err := s.FileHolders(ctx, sha)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 1 || h[0].CaseRef != ref || h[0].Competence != "voirie" || h[0].Territory != "pays-d-aix" || h[0].RequestID != req.ID {
		t.Fatalf("holders %+v", h)
	}
	if h, err := s.FileHolders(ctx, strings.Repeat("cd", 32)); err != nil || len(h) != 0 {
		t.Fatalf("an unknown file has holders: %+v %v", h, err)
	}
}

// However many notifiers reserve acknowledgements to one address at once,
// no more than the limit go out; a reservation whose sending failed is sent
// at the next try, and one delivered never again.
func TestReserveNotificationHoldsTheLimitUnderConcurrency(t *testing.T) {
	s, _ := setup(t)
	ctx := context.Background()
	since := time.Now().Add(-time.Hour)
	ids := make([]string, 20)
	results := make([]casestore.Reservation, len(ids))
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i := range ids {
		req, _ := newRequest(t)
		ids[i] = req.ID
		wg.Go(func() {
			results[i], errs[i] = s.ReserveNotification(ctx, ids[i], "acknowledgement", "cible@example.org", 5, since)
		})
	}
	wg.Wait()
	reserved := 0
	for i, r := range results {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if r == casestore.Reserved {
			reserved++
		}
	}
	if reserved != 5 {
		t.Fatalf("%d acknowledgements reserved for one address, limit 5", reserved)
	}
	first := ids[slices.Index(results, casestore.Reserved)]
	if _, err := s.ReserveNotification(ctx, first, "acknowledgement", "cible@example.org", 5, since); fault.KindOf(err) != fault.Transient {
		t.Fatalf("a reservation being sent, asked again at once: %v, want Transient (try later)", err)
	}
	if err := s.RecordNotification(ctx, first, "acknowledgement", "cible@example.org"); err != nil {
		t.Fatal(err)
	}
	if again, _ := s.ReserveNotification(ctx, first, "acknowledgement", "cible@example.org", 5, since); again != casestore.Delivered {
		t.Fatalf("a delivered acknowledgement, asked again: %v", again)
	}
	withheld := ids[slices.Index(results, casestore.Withheld)]
	if again, _ := s.ReserveNotification(ctx, withheld, "acknowledgement", "cible@example.org", 50, since); again != casestore.Withheld {
		t.Fatalf("a withheld acknowledgement, asked again with room: %v", again)
	}
}

// Staff text the database would refuse is refused as Invalid (a clear 4xx),
// not as a database failure (503).
func TestStaffTextWithNULIsInvalid(t *testing.T) {
	s, _ := setup(t)
	ctx := context.Background()
	_, ref := contact(t, s, "lea@example.net", "Trou", "", nil)
	if _, err := s.AddNote(ctx, ref, "note\x00cachée", casestore.Change{Actor: "camille"}); fault.KindOf(err) != fault.Invalid {
		t.Errorf("a note with a NUL: %v", err)
	}
	if _, err := s.Assign(ctx, ref, "a\x00b", casestore.Change{Actor: "camille"}); fault.KindOf(err) != fault.Invalid {
		t.Errorf("an assignee with a NUL: %v", err)
	}
	if _, err := s.Reroute(ctx, ref, "dechets", "", casestore.Change{Actor: "camille", Reason: "motif\x00"}); fault.KindOf(err) != fault.Invalid {
		t.Errorf("a reason with a NUL: %v", err)
	}
	if _, err := s.Transition(ctx, casestore.TransitionRequest{Ref: ref, To: "rejected", Role: "admin",
		Change: casestore.Change{Actor: "camille", Reason: "\xff\xfe"}, Now: time.Now()}, nil); fault.KindOf(err) != fault.Invalid {
		t.Errorf("a transition reason in invalid UTF-8: %v", err)
	}
}
