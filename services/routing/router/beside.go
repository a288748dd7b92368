package router

import (
	"slices"
	"sync"
)

// beside remembers the new cases each batch committed without an
// incident — their places —, so that a batch during which another
// committed looks again (Engine.Regroup) only for those of its cases that
// may meet one of them: two reports routed at the same moment in two
// transactions cannot see each other. One process's batches only: routers
// in other processes are not seen (a third report, or people, group them).
type beside struct {
	mu      sync.Mutex
	commits int64
	recent  []besideCase // oldest first, at most besideKeep
}

// besideCase is a new case without an incident, as beside keeps it.
type besideCase struct {
	idx     int   // its request's place in the batch
	seq     int64 // the commit that wrote it
	places  []string
	located bool
}

// besideKeep bounds what beside remembers: far more than the batches that
// run at once ever commit.
const besideKeep = 4096

// start is the number of commits when a batch starts.
func (b *beside) start() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.commits
}

// commit records a batch's new cases without an incident and returns the
// batch indexes of those that share a place (or coordinates) with a case
// another batch committed since start.
func (b *beside) commit(since int64, mine []besideCase) []int {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.commits++
	var again []int
	for _, m := range mine {
		for _, o := range b.recent {
			if o.seq > since && meets(m, o) {
				again = append(again, m.idx)
				break
			}
		}
	}
	for _, m := range mine {
		m.seq = b.commits
		b.recent = append(b.recent, m)
	}
	if n := len(b.recent) - besideKeep; n > 0 {
		b.recent = slices.Delete(b.recent, 0, n)
	}
	return again
}

func meets(a, b besideCase) bool {
	if a.located && b.located {
		return true
	}
	for _, p := range a.places {
		if slices.Contains(b.places, p) {
			return true
		}
	}
	return false
}
