package router

import (
	"slices"
	"testing"
)

// TestBeside: a batch looks again only for its cases that share a place
// (or coordinates) with a case another batch committed while it ran.
func TestBeside(t *testing.T) {
	var b beside
	a := b.start()
	c := b.start()
	// Batch c commits first: nothing committed beside it.
	if got := b.commit(c, []besideCase{{idx: 0, places: []string{"paradis"}}, {idx: 1, places: []string{"national"}}}); len(got) != 0 {
		t.Fatalf("first batch looks again for %v", got)
	}
	// Batch a, which started before c committed, meets c's pothole of
	// rue Paradis, not its containers of boulevard National.
	got := b.commit(a, []besideCase{{idx: 0, places: []string{"breteuil"}}, {idx: 3, places: []string{"@tabac", "paradis"}}, {idx: 4, located: true}})
	if !slices.Equal(got, []int{3}) {
		t.Errorf("second batch looks again for %v, want [3]", got)
	}
	// A batch that starts after both saw them: nothing again.
	d := b.start()
	if got := b.commit(d, []besideCase{{idx: 0, places: []string{"paradis"}}}); len(got) != 0 {
		t.Errorf("a later batch looks again for %v", got)
	}
	// Two located reports meet whatever their words.
	e := b.start()
	b.commit(b.start(), []besideCase{{idx: 0, located: true}})
	if got := b.commit(e, []besideCase{{idx: 7, located: true}}); !slices.Equal(got, []int{7}) {
		t.Errorf("located: %v", got)
	}
	// Bounded.
	for range besideKeep + 10 {
		b.commit(b.start(), []besideCase{{places: []string{"x"}}})
	}
	if len(b.recent) > besideKeep {
		t.Errorf("beside keeps %d", len(b.recent))
	}
}
