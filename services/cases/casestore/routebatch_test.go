package casestore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/testkit"
)

// routeAll routes items as the router does: a citizen's open case is
// joined, else a new case opened; each with its event and decision.
// confidence, when set for an item, is its decision's.
func routeAll(t *testing.T, s *casestore.Store, items []casestore.BatchItem, confidence map[int]float64) ([]casestore.OutboxMsg, []error, []int64) {
	t.Helper()
	cases := make([]int64, len(items))
	msgs, errs := s.RouteBatch(context.Background(), items, func(ctx context.Context, tx *casestore.RouteTx, i int) error {
		it := items[i]
		if err := tx.ClaimRequest(ctx, it.Request, rawOf(t, it.Request)); err != nil {
			return err
		}
		cid, err := tx.ResolveCitizen(ctx, it.Identity)
		if err != nil {
			return err
		}
		d := casestore.Decision{RequestID: it.Request.ID, ModelVersion: "test", DecidedBy: "router"}
		var c casestore.CaseRow
		open, err := tx.OpenCasesOf(ctx, cid, it.Since)
		if err != nil {
			return err
		}
		if cid != 0 && len(open) > 0 {
			if c, err = tx.LockCase(ctx, open[0].Ref); err != nil {
				return err
			}
			d.Outcome = "linked"
		} else {
			if c, err = tx.CreateCase(ctx, casestore.NewCase{Competence: "voirie", CitizenID: cid, Channel: it.Request.Channel}); err != nil {
				return err
			}
			d.Outcome = "new_case"
		}
		if conf, ok := confidence[i]; ok {
			d.Confidence = &conf
		}
		e := event(schemas.EventCreated)
		if d.Outcome == "linked" {
			e = event(schemas.EventRequestLinked)
		}
		e.RequestID = it.Request.ID
		if _, err := tx.AppendEvent(ctx, c, e); err != nil {
			return err
		}
		d.CaseID, d.Competence = c.ID, c.Competence
		cases[i] = c.ID
		return tx.FinishRouted(ctx, d, cid)
	})
	return msgs, errs, cases
}

// rawOf is r as the intake received it.
func rawOf(t *testing.T, r schemas.Request) []byte {
	t.Helper()
	v, _ := schemas.NewValidator()
	raw, err := v.EncodeRequest(r)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func batchItem(t *testing.T, s *casestore.Store, who casestore.Identity, recorded bool) casestore.BatchItem {
	t.Helper()
	r, raw := newRequest(t)
	if recorded {
		if err := s.RecordReceived(context.Background(), r, raw); err != nil {
			t.Fatal(err)
		}
	}
	return casestore.BatchItem{Request: r, Identity: who, Since: r.ReceivedAt.Add(-24 * time.Hour)}
}

// A batch reads its requests, citizens and open cases at once and writes
// its rows at the end, yet each request sees what the ones before it in
// the batch did: a citizen created by the first is found by the second
// (and completed with the phone it gives), and the case the first opened
// is the second's open case to join.
func TestRouteBatchSetWise(t *testing.T) {
	s, b := setup(t)
	items := []casestore.BatchItem{
		batchItem(t, s, casestore.Identity{Name: "Awa Diallo", Email: "awa@example.fr"}, true),
		batchItem(t, s, casestore.Identity{Email: "awa@example.fr", Phone: "+33612345678"}, true),
		batchItem(t, s, casestore.Identity{Name: "Jean Martin"}, false), // not recorded by the intake
		batchItem(t, s, casestore.Identity{Name: "Jean Martin"}, true),  // a name alone: another person
		batchItem(t, s, casestore.Identity{}, true),
	}
	msgs, errs, cases := routeAll(t, s, items, nil)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("item %d: %v", i, err)
		}
	}
	if len(msgs) != len(items) {
		t.Fatalf("%d outbox messages, want %d", len(msgs), len(items))
	}
	for _, m := range msgs {
		if m.ID == 0 || m.MsgID == "" || len(m.Payload) == 0 {
			t.Errorf("outbox message %+v", m)
		}
	}
	if cases[1] != cases[0] {
		t.Errorf("the second request of awa@example.fr went to case %d, not to the case %d the first opened", cases[1], cases[0])
	}
	if cases[2] == cases[3] {
		t.Error("two people known by the same name alone share a case")
	}
	var phone string
	testkit.QueryRow(t, b.url, `SELECT COALESCE(phone, '') FROM citizens WHERE email = 'awa@example.fr'`, nil, &phone)
	if phone != "+33612345678" {
		t.Errorf("citizen's phone %q, want the one the second request gave", phone)
	}
	for q, want := range map[string]int{
		`SELECT count(*) FROM citizens`: 3,
		`SELECT count(*) FROM requests WHERE status = 'routed' AND case_id IS NOT NULL`: 5,
		`SELECT count(*) FROM routing_decisions`:                                        5,
		`SELECT count(*) FROM request_search`:                                           5,
		`SELECT count(*) FROM case_events`:                                              5,
		`SELECT count(*) FROM outbox`:                                                   5,
		`SELECT count(*) FROM cases`:                                                    4,
		`SELECT count(*) FROM requests WHERE citizen_id IS NULL`:                        1,
	} {
		if n := testkit.Count(t, b.url, q); n != want {
			t.Errorf("%s: %d, want %d", q, n, want)
		}
	}
	// The case's history is numbered without a gap, across the batch.
	var seqs string
	testkit.QueryRow(t, b.url, `SELECT string_agg(seq::text, ',' ORDER BY seq) FROM case_events WHERE case_id = $1`, []any{cases[0]}, &seqs)
	if seqs != "1,2" {
		t.Errorf("history of the shared case numbered %s, want 1,2", seqs)
	}

	// Delivered again: every one is a replay, nothing is written twice.
	msgs, errs, _ = routeAll(t, s, items, nil)
	for i, err := range errs {
		if !errors.Is(err, casestore.ErrAlreadyRouted) {
			t.Errorf("replayed item %d: %v, want ErrAlreadyRouted", i, err)
		}
	}
	if len(msgs) != 0 || testkit.Count(t, b.url, `SELECT count(*) FROM routing_decisions`) != 5 {
		t.Errorf("a replay wrote again: %d messages", len(msgs))
	}
}

// A row that fails only when the batch writes its rows together (here a
// decision whose confidence the table's check refuses) is found by
// splitting the batch: the others are routed, it alone is not.
func TestRouteBatchIsolatesARowTheDatabaseRefuses(t *testing.T) {
	s, b := setup(t)
	var items []casestore.BatchItem
	for range 6 {
		items = append(items, batchItem(t, s, casestore.Identity{}, true))
	}
	_, errs, _ := routeAll(t, s, items, map[int]float64{4: 1.5})
	for i, err := range errs {
		if (i == 4) != (err != nil) {
			t.Errorf("item %d: %v", i, err)
		}
	}
	if n := testkit.Count(t, b.url, `SELECT count(*) FROM requests WHERE status = 'routed'`); n != 5 {
		t.Errorf("%d requests routed, want 5", n)
	}
	var status string
	testkit.QueryRow(t, b.url, `SELECT status FROM requests WHERE id = $1`, []any{items[4].Request.ID}, &status)
	if status == "routed" {
		t.Error("the refused request is marked routed")
	}
	if n := testkit.Count(t, b.url, `SELECT count(*) FROM case_events`); n != 5 {
		t.Errorf("%d events, want 5 (none for the refused request)", n)
	}
}

// Grouping reads, within a batch, the cases opened earlier in the same
// batch (whose requests are not written yet) with their requests, under
// the look-up's own conditions.
func TestRouteBatchGroupingSeesItsOwnCases(t *testing.T) {
	s, _ := setup(t)
	items := []casestore.BatchItem{batchItem(t, s, casestore.Identity{}, true), batchItem(t, s, casestore.Identity{}, true)}
	var first int64
	var found, otherCommune, otherCompetence []casestore.GroupCandidate
	_, errs := s.RouteBatch(context.Background(), items, func(ctx context.Context, tx *casestore.RouteTx, i int) error {
		it := items[i]
		if err := tx.ClaimRequest(ctx, it.Request, rawOf(t, it.Request)); err != nil {
			return err
		}
		q := casestore.CandidateQuery{Competences: []string{"voirie"}, Since: it.Request.ReceivedAt.Add(-time.Hour), Limit: 50,
			Places: []string{"rue de rome"}, Commune: "13055"}
		if i == 1 {
			var err error
			if found, err = tx.GroupCandidates(ctx, q); err != nil {
				return err
			}
			q.Commune = "13001"
			if otherCommune, err = tx.GroupCandidates(ctx, q); err != nil {
				return err
			}
			q.Commune, q.Competences = "13055", []string{"proprete"}
			if otherCompetence, err = tx.GroupCandidates(ctx, q); err != nil {
				return err
			}
		}
		c, err := tx.CreateCase(ctx, casestore.NewCase{Competence: "voirie", Places: []string{"rue de rome"}, Commune: "13055"})
		if err != nil {
			return err
		}
		if i == 0 {
			first = c.ID
		}
		e := event(schemas.EventCreated)
		e.RequestID = it.Request.ID
		if _, err := tx.AppendEvent(ctx, c, e); err != nil {
			return err
		}
		return tx.FinishRouted(ctx, casestore.Decision{RequestID: it.Request.ID, CaseID: c.ID, Outcome: "new_case", Competence: "voirie", ModelVersion: "test", DecidedBy: "router"}, 0)
	})
	if errs[0] != nil || errs[1] != nil {
		t.Fatal(errs)
	}
	if len(found) != 1 || found[0].Case.ID != first || len(found[0].Requests) != 1 || found[0].Requests[0].ID != items[0].Request.ID {
		t.Errorf("the second report of the batch found %+v, want the first one's case with its request", found)
	}
	if len(otherCommune) != 0 || len(otherCompetence) != 0 {
		t.Errorf("found in another commune %d, another competence %d; want none", len(otherCommune), len(otherCompetence))
	}
}
