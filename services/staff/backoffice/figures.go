package backoffice

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/scope"
)

// Default freshness of the dashboard's figures: on three million cases
// they take seconds to compute (4–8 s, mostly the response times;
// docs/performance.md), too long for every view, and a supervisor's
// trends do not move in a minute.
const (
	defaultFiguresFresh = time.Minute
	// figuresMaxAge is, in multiples of the freshness, the age past which
	// figures are never shown: the next view waits for new ones.
	figuresMaxAge = 5
	// figuresBudget bounds one computation, which no single viewer owns.
	figuresBudget = time.Minute
	// figuresEntries bounds the memory the figures take: one entry per
	// scope and period viewed (about 50 kB each).
	figuresEntries = 256
)

// liveFigures are the dashboard's costly figures of one scope and period,
// as computed at At.
type liveFigures struct {
	At      time.Time
	D       casestore.Dashboard
	P       casestore.PerformanceFigures
	Control []casestore.ControlCount
	// ControlErr is kept apart: the dashboard shows without the panel.
	ControlErr error
}

// figuresCache keeps the dashboard's figures per scope and period. Fresh
// figures are served as they are; older ones, up to figuresMaxAge times
// the freshness, are served while new ones are computed in the background;
// beyond that, or the first time, the viewer waits for them. One
// computation at a time per key: viewers arriving meanwhile wait for it.
type figuresCache struct {
	fresh time.Duration
	mu    sync.Mutex
	items map[string]*figuresEntry
}

type figuresEntry struct {
	val     liveFigures
	ok      bool          // val holds figures
	running chan struct{} // non-nil while a computation runs; closed at its end
	err     error         // the last computation's error, for its waiters
}

func newFiguresCache(fresh time.Duration) *figuresCache {
	if fresh <= 0 {
		fresh = defaultFiguresFresh
	}
	return &figuresCache{fresh: fresh, items: map[string]*figuresEntry{}}
}

// figuresKey names a scope and a period: two scopes holding different
// cases never share a key (the lists are sorted, so that the same scope
// written in another order shares one).
func figuresKey(sc scope.Scope, days int) string {
	comps, terrs := slices.Clone(sc.Competences), slices.Clone(sc.Territories)
	slices.Sort(comps)
	slices.Sort(terrs)
	return fmt.Sprintf("%t|%t|%q|%q|%d", sc.All, sc.AllCompetences, comps, terrs, days)
}

// get returns the figures of key, computing them with compute when there
// are none young enough.
func (c *figuresCache) get(ctx context.Context, key string, now time.Time, compute func(context.Context) (liveFigures, error)) (liveFigures, error) {
	c.mu.Lock()
	e := c.items[key]
	if e == nil {
		c.evict(now)
		e = &figuresEntry{}
		c.items[key] = e
	}
	age := now.Sub(e.val.At)
	switch {
	case e.ok && age < c.fresh:
		v := e.val
		c.mu.Unlock()
		return v, nil
	case e.ok && age < figuresMaxAge*c.fresh:
		// Shown at once; the next viewers get the new ones.
		v := e.val
		c.start(e, compute)
		c.mu.Unlock()
		return v, nil
	}
	done := c.start(e, compute)
	c.mu.Unlock()
	select {
	case <-done:
	case <-ctx.Done():
		return liveFigures{}, ctx.Err()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e.ok && now.Sub(e.val.At) < figuresMaxAge*c.fresh {
		return e.val, nil
	}
	if e.err != nil {
		return liveFigures{}, e.err
	}
	return liveFigures{}, fmt.Errorf("backoffice: dashboard figures not computed")
}

// start runs compute for e unless it already runs, and returns the channel
// closed when it ends. The computation is the cache's, not the viewer's:
// a viewer leaving does not cancel it for the others. Called with c.mu.
func (c *figuresCache) start(e *figuresEntry, compute func(context.Context) (liveFigures, error)) chan struct{} {
	if e.running != nil {
		return e.running
	}
	done := make(chan struct{})
	e.running = done
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), figuresBudget)
		defer cancel()
		v, err := compute(ctx)
		c.mu.Lock()
		if err == nil {
			e.val, e.ok = v, true
		}
		e.err, e.running = err, nil
		c.mu.Unlock()
		close(done)
	}()
	return done
}

// evict makes room for a new entry: first the figures too old to be
// shown, then the oldest. Called with c.mu.
func (c *figuresCache) evict(now time.Time) {
	if len(c.items) < figuresEntries {
		return
	}
	oldest, at := "", now
	for k, e := range c.items {
		if e.running != nil {
			continue
		}
		if !e.ok || now.Sub(e.val.At) >= figuresMaxAge*c.fresh {
			delete(c.items, k)
			continue
		}
		if e.val.At.Before(at) {
			oldest, at = k, e.val.At
		}
	}
	if len(c.items) >= figuresEntries && oldest != "" {
		delete(c.items, oldest)
	}
}

// computeFigures computes the dashboard's costly figures of a scope and
// period, the three reads at once (each its own connection).
func (h *Handler) computeFigures(ctx context.Context, sc scope.Scope, days int, now time.Time) (liveFigures, error) {
	f := liveFigures{At: now}
	var wg sync.WaitGroup
	var errD, errP error
	wg.Go(func() { f.D, errD = h.deps.Store.Dashboard(ctx, sc, days, now) })
	wg.Go(func() { f.P, errP = h.deps.Store.Performance(ctx, sc, days, now) })
	wg.Go(func() { f.Control, f.ControlErr = h.deps.Store.Control(ctx, sc, controlWeeks, now) })
	wg.Wait()
	if errD != nil {
		return f, errD
	}
	return f, errP
}
