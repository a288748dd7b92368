package seed_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/scope"
	"github.com/ampmetropole/guichet/services/cases/territory"
	"github.com/ampmetropole/guichet/services/language/extract"
	"github.com/ampmetropole/guichet/services/testkit"
	"github.com/ampmetropole/guichet/services/tools/corpus"
	"github.com/ampmetropole/guichet/services/tools/seed"
)

func TestMain(m *testing.M) { testkit.Main(m) }

func generator(t testing.TB, s uint64, now time.Time, total int) *seed.Generator {
	t.Helper()
	recs, err := corpus.ReadPath("../../routing/classify/corpus")
	if err != nil {
		t.Fatal(err)
	}
	places, err := territory.Load()
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := seed.Templates(context.Background(), recs, corpus.NewBuilder(extract.New(places)))
	if err != nil {
		t.Fatal(err)
	}
	g, err := seed.New(tpl, places, seed.Options{Now: now, Seed: s, Cases: total})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestGeneratorIsDeterministicAndPlausible(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	a, b := generator(t, 7, now, 2000).Batch(2000), generator(t, 7, now, 2000).Batch(2000)
	for i := range a.Cases {
		if a.Cases[i].Requests[0].ID != b.Cases[i].Requests[0].ID || a.Cases[i].State != b.Cases[i].State {
			t.Fatalf("case %d differs between two runs with the same seed", i)
		}
	}
	states, comps, channels := map[string]int{}, map[string]int{}, map[string]int{}
	followUps, returning := 0, 0
	seen := map[int]bool{}
	for i, c := range a.Cases {
		states[c.State]++
		comps[c.Competence]++
		channels[c.Requests[0].Channel]++
		if len(c.Requests) > 1 {
			followUps++
		}
		if c.Citizen >= 0 {
			if seen[c.Citizen] {
				returning++
			}
			seen[c.Citizen] = true
		}
		// In the order of arrival, as on a real disk, within a day.
		if i > 0 && c.OpenedAt.Before(a.Cases[i-1].OpenedAt.Add(-24*time.Hour)) {
			t.Fatalf("case %d opened %s, before case %d (%s)", i, c.OpenedAt, i-1, a.Cases[i-1].OpenedAt)
		}
		if c.OpenedAt.After(now) || c.UpdatedAt.Before(c.OpenedAt) || c.UpdatedAt.After(now) {
			t.Fatalf("case opened %s, updated %s, now %s", c.OpenedAt, c.UpdatedAt, now)
		}
		for i := 1; i < len(c.Events); i++ {
			if c.Events[i].At.Before(c.Events[i-1].At) {
				t.Fatalf("events out of order: %+v", c.Events)
			}
		}
		if last := c.Events[len(c.Events)-1]; c.State != last.State && c.Competence != "triage" {
			t.Fatalf("case in state %s but its last event says %s", c.State, last.State)
		}
	}
	t.Logf("states %v\ncompetences %v\nchannels %v\nfollow-ups %d, returning citizens %d", states, comps, channels, followUps, returning)
	// Years of history: most cases are finished, some are still open.
	if states["closed"] < 1000 || states["received"]+states["qualified"]+states["in_progress"]+states["waiting"] < 5 {
		t.Errorf("unlikely spread of states: %v", states)
	}
	if comps["dechets"] < comps["economie"]*5 || len(comps) < 10 {
		t.Errorf("unlikely spread of competences: %v", comps)
	}
	if channels["web"] == 0 || channels["phone"] == 0 || channels["mail"] == 0 {
		t.Errorf("a channel is missing: %v", channels)
	}
	if followUps < 100 || returning < 50 {
		t.Errorf("%d follow-ups and %d returning citizens in 2000 cases", followUps, returning)
	}
}

func TestSeededCasesAreWhatTheBackOfficeReads(t *testing.T) {
	ctx := context.Background()
	url := testkit.Database(t)
	v, err := schemas.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	s, err := casestore.Open(ctx, casestore.Config{URL: url, CheckEvents: true}, v, testkit.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now().UTC()
	g := generator(t, 1, now, 0)
	var refs []string
	for range 3 {
		r, err := s.Seed(ctx, g.Batch(500))
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, r...)
	}
	if n := testkit.Count(t, url, `SELECT count(DISTINCT ref) FROM cases`); n != 1500 {
		t.Fatalf("%d distinct cases, want 1500", n)
	}
	// Every payload is what the schemas allow, every history numbered 1..n.
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, q := range []struct {
		sql   string
		check func([]byte) error
	}{
		{`SELECT payload::text FROM requests`, v.ValidateRequest},
		{`SELECT payload::text FROM case_events`, v.ValidateEvent},
	} {
		rows, err := conn.Query(ctx, q.sql)
		if err != nil {
			t.Fatal(err)
		}
		payloads, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range payloads {
			if err := q.check([]byte(p)); err != nil {
				t.Fatalf("%v\n%s", err, p)
			}
		}
	}
	if n := testkit.Count(t, url, `SELECT count(*) FROM (SELECT case_id FROM case_events GROUP BY case_id HAVING max(seq) <> count(*) OR min(seq) <> 1) x`); n != 0 {
		t.Errorf("%d cases with a gap in their history", n)
	}
	if n := testkit.Count(t, url, `SELECT count(*) FROM requests r LEFT JOIN request_search s ON s.request_id = r.id WHERE s.request_id IS NULL`); n != 0 {
		t.Errorf("%d requests not searchable", n)
	}
	if n := testkit.Count(t, url, `SELECT count(*) FROM requests r LEFT JOIN routing_decisions d ON d.request_id = r.id WHERE d.id IS NULL`); n != 0 {
		t.Errorf("%d requests without a routing decision", n)
	}

	f, err := s.CaseFile(ctx, refs[42])
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Requests) == 0 || len(f.Events) == 0 || len(f.Decisions) != len(f.Requests) {
		t.Errorf("case file of %s: %d requests, %d events, %d decisions", refs[42], len(f.Requests), len(f.Events), len(f.Decisions))
	}
	page, err := s.Cases(ctx, casestore.Filter{Scope: scope.Scope{Competences: []string{"dechets"}}})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total < 100 || len(page.Cases) != 50 {
		t.Errorf("waste queue: %d cases, page of %d", page.Total, len(page.Cases))
	}
	found, err := s.Cases(ctx, casestore.Filter{Scope: scope.Everything(), Q: "poubelles"})
	if err != nil {
		t.Fatal(err)
	}
	if found.Total == 0 {
		t.Error("searching seeded cases for « poubelles » finds nothing")
	}
	// A second run adds to the first without a clash.
	if _, err := s.Seed(ctx, generator(t, 2, now, 200).Batch(200)); err != nil {
		t.Fatalf("second seeding: %v", err)
	}
}
