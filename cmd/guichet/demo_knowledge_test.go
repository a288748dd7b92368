package main

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ampmetropole/guichet/services/cases/catalogue"
	"github.com/ampmetropole/guichet/services/cases/knowledge"
	"github.com/ampmetropole/guichet/services/testkit"
)

// TestDemoKnowledge: `guichet dev` starts with answers that the form itself
// would accept (known competences, bounded text), one already due for
// review to show the flag, and only once.
func TestDemoKnowledge(t *testing.T) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, testkit.Database(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	kb := knowledge.New(pool)
	now := time.Now()
	for range 2 {
		if err := seedKnowledge(ctx, kb, now); err != nil {
			t.Fatal(err)
		}
	}
	es, err := kb.List(ctx, knowledge.ListQuery{})
	if err != nil || len(es) != len(demoEntries) || len(es) < 8 {
		t.Fatalf("%d entries %v", len(es), err)
	}
	cat, err := catalogue.Default()
	if err != nil {
		t.Fatal(err)
	}
	due := 0
	for _, e := range es {
		if e.Due(now) {
			due++
		}
		d := knowledge.Draft{Title: e.Title, Text: e.Text, Competence: e.Competence, Territory: e.Territory, ReviewOn: knowledge.Today(now)}
		if v := d.Check(now, cat.Known); v != nil {
			t.Errorf("%s: %v", e.Title, v)
		}
		if e.EditedBy != "superviseur" || len(e.Paragraphs()) < 2 {
			t.Errorf("%s: by %s, %d paragraphs", e.Title, e.EditedBy, len(e.Paragraphs()))
		}
	}
	if due != 1 {
		t.Errorf("%d entries due", due)
	}
	if got, err := kb.Search(ctx, knowledge.Query{Text: "mon vieux canapé, les encombrants"}); err != nil || len(got) == 0 || got[0].Title != "Collecte des encombrants" {
		t.Errorf("search in the demo answers: %v %v", got, err)
	}
}
