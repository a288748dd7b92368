package casestore

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/ampmetropole/guichet/services/cases/caseref"
	"github.com/ampmetropole/guichet/services/cases/lifecycle"
	"github.com/ampmetropole/guichet/services/cases/scope"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

// StatePending, as Filter.State, selects the cases still to be dealt with
// (lifecycle.Pending): received, qualified, in progress, waiting.
const StatePending = "pending"

// CountCap bounds the counting of a queue, and SearchCap how deep a search
// goes: past them the page says "more than" rather than having the
// database count a million rows at every page.
const (
	CountCap  = 10000
	SearchCap = 500
)

// Filter selects cases for a queue or a search. Scope limits what the
// person may see (auth.Principal.Scope; the zero Scope holds no case); the
// other fields are what they asked for.
type Filter struct {
	Scope         scope.Scope
	Competence    string
	Territory     string
	State         string // a lifecycle state, StatePending, or "" for all but merged
	Channel       string // a request of the case came by this channel
	Overdue       bool
	Q             string // French full-text search over what citizens wrote, or a case reference
	Limit, Offset int
	Now           time.Time
}

// QueuedCase is a case as a queue shows it.
type QueuedCase struct {
	Ref        string     `json:"ref"`
	Competence string     `json:"competence"`
	Territory  *string    `json:"territory"`
	State      string     `json:"state"`
	Priority   string     `json:"priority"`
	Deadline   *time.Time `json:"deadline"`
	Overdue    bool       `json:"overdue"`
	Assignee   *string    `json:"assignee"`
	Channels   []string   `json:"channels"`
	Requests   int        `json:"requests"`
	Summary    string     `json:"summary"`
	OpenedAt   time.Time  `json:"opened_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

// CasePage is one page of a queue with the total and the counts of the
// pending states. Total stops at CountCap, with TotalCapped set, beyond
// which it is "more than Total"; a search counts only up to its page.
type CasePage struct {
	Cases       []QueuedCase   `json:"cases"`
	Total       int            `json:"total"`
	TotalCapped bool           `json:"total_capped"`
	ByState     map[string]int `json:"by_state"`
}

// Cases lists the cases a filter selects, the most urgent deadline first
// (then the oldest), with the total and the count of each pending state. A
// search lists the matching cases most recent first instead, down to
// SearchCap of them.
func (s *Store) Cases(ctx context.Context, f Filter) (CasePage, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	f.Offset = max(f.Offset, 0)
	if f.Now.IsZero() {
		f.Now = time.Now()
	}
	q := strings.TrimSpace(f.Q)
	if len(q) > 200 {
		return CasePage{}, fault.E(fault.Invalid, fmt.Errorf("casestore: recherche de plus de 200 caractères"))
	}
	var where []string
	args := pgx.NamedArgs{"now": f.Now}
	add := func(cond, name string, v any) {
		where = append(where, cond)
		args[name] = v
	}
	if cond := f.Scope.SQL("c.competence", "c.territory", scopeArg(args, "scope")); cond != "" {
		where = append(where, cond)
	}
	if f.Competence != "" {
		add("c.competence = @competence", "competence", f.Competence)
	}
	if f.Territory != "" {
		add("c.territory = @territory", "territory", f.Territory)
	}
	// The state conditions are written once each: the planner takes
	// repeated ones as independent and then expects a handful of rows,
	// sorting them all instead of walking an index in the queue's order.
	var stateCond, countCond string
	switch {
	case f.Overdue && f.State != "" && f.State != StatePending:
		args["state"] = f.State
		stateCond = "c.state = @state AND " + overdueCond
		countCond = stateCond
	case f.Overdue:
		stateCond, countCond = overdueCond, overdueCond
	case f.State == "":
		stateCond, countCond = "c.state <> 'merged'", pendingCond
	case f.State == StatePending:
		stateCond, countCond = pendingCond, pendingCond
	default:
		args["state"] = f.State
		stateCond, countCond = "c.state = @state", "c.state = @state AND "+pendingCond
	}
	if f.Channel != "" {
		add("@channel = ANY(c.channels)", "channel", f.Channel)
	}
	// A search that is one case's reference, as people type it, finds that case.
	if ref, ok := caseref.Normalize(q); ok {
		add("c.ref = @ref", "ref", ref.String())
		q = ""
	}
	args["limit"], args["offset"] = f.Limit, f.Offset
	cond := strings.Join(append(where, stateCond), " AND ")
	if q != "" {
		return s.search(ctx, cond, args, q, f)
	}
	countCond = strings.Join(append(where, countCond), " AND ")
	// The page, the counts by state and the total are three queries on
	// different indexes: asked at once, the page waits for the slowest
	// rather than for their sum.
	page := CasePage{ByState: map[string]int{}}
	total := 0
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		var err error
		page.Cases, err = s.queued(gctx, `SELECT c.id FROM cases c WHERE `+cond+queueOrder+` LIMIT @limit OFFSET @offset`, queueOrder, args)
		return err
	})
	// The pending states are counted exactly (a partial index holds them;
	// a queue of another state has none); the rest only up to CountCap.
	if f.State == "" || f.State == StatePending || slices.Contains(lifecycle.Pending, f.State) {
		g.Go(func() error {
			return s.countStates(gctx, `SELECT c.state, count(*) FROM cases c WHERE `+countCond+` GROUP BY c.state`, args, &page)
		})
	}
	if f.State != StatePending {
		g.Go(func() error {
			if err := s.pool.QueryRow(gctx, `SELECT count(*) FROM (SELECT 1 FROM cases c WHERE `+cond+` LIMIT `+strconv.Itoa(CountCap+1)+`) x`, args).Scan(&total); err != nil {
				return fault.E(fault.Transient, fmt.Errorf("casestore: case count: %w", err))
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return CasePage{}, err
	}
	if f.State != StatePending {
		page.Total = total
	}
	if page.Total > CountCap {
		page.Total, page.TotalCapped = CountCap, true
	}
	return page, nil
}

// queueOrder is a queue's order: the most urgent deadline first, then the
// oldest.
const queueOrder = ` ORDER BY c.deadline ASC NULLS LAST, c.opened_at ASC, c.id`

// overdueCond selects the overdue cases: late or past their deadline while
// the team still has to act (not waiting on someone else).
const overdueCond = "c.state IN ('received', 'qualified', 'in_progress') AND (c.breached_at IS NOT NULL OR c.deadline < @now)"

// scopeArg adds the scope's values to args under names starting with
// prefix, for scope.Scope.SQL.
func scopeArg(args pgx.NamedArgs, prefix string) func(v any) string {
	n := 0
	return func(v any) string {
		n++
		name := fmt.Sprintf("%s_%d", prefix, n)
		args[name] = v
		return "@" + name
	}
}

// pendingCond selects the pending states, a constant list that implies the
// partial index's predicate (cases_pending), so that the planner uses it.
const pendingCond = "c.state IN ('received', 'qualified', 'in_progress', 'waiting')"

// search finds the cases whose requests match q, most recent request
// first, without counting them all: it reads as many matches as the page
// needs and says whether there are more. The text index answers within
// the last months first (searchWindows), so that a common word's matches
// to sort are those of two months, not of years; within a team's
// competence only (migration 00027).
func (s *Store) search(ctx context.Context, cond string, args pgx.NamedArgs, q string, f Filter) (CasePage, error) {
	page := CasePage{Cases: []QueuedCase{}, ByState: map[string]int{}}
	if f.Offset >= SearchCap {
		page.Total, page.TotalCapped = SearchCap, true
		return page, nil
	}
	// The scope again, on the search table's copy of it, so that the text
	// index intersects words and scope (one value: an equality, which the
	// index takes; several: a filter).
	scope := ""
	if cond := f.Scope.SQL("s.competence", "s.territory", scopeArg(args, "sscope")); cond != "" {
		scope += " AND " + cond
	}
	if f.Competence != "" {
		scope += " AND s.competence = @competence"
	}
	if f.Territory != "" {
		scope += " AND s.territory = @territory"
	}
	filtered := f.State != "" || f.Channel != "" || f.Overdue
	// A case may match by several requests: read a few more than needed.
	want := f.Offset + f.Limit + 1
	limit := want + want/4 + 4
	args["q"], args["hits"] = q, limit
	var ids []int64
	var err error
	hits := 0
	// The last months first (migration 00011): when they hold enough
	// matches, those are the latest, and the text index returned only them.
	// Without parallel workers: starting them costs more (30 ms measured at
	// three million cases on two cores) than the few thousand rows a
	// search reads, at most, can save.
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL max_parallel_workers_per_gather = 0`); err != nil {
			return fault.E(fault.Transient, fmt.Errorf("casestore: search: %w", err))
		}
		for _, months := range searchWindows {
			args["period"] = searchPeriods(f.Now, months)
			if ids, hits, err = searchIn(ctx, tx, cond, scope, filtered, args); err != nil {
				return err
			}
			if hits == limit {
				break
			}
		}
		return nil
	})
	if err != nil {
		// searchIn's errors say what failed; the transaction's own are
		// the database's.
		if fault.KindOf(err) == fault.Other {
			err = fault.E(fault.Transient, fmt.Errorf("casestore: search: %w", err))
		}
		return CasePage{}, err
	}
	more := len(ids) >= want || hits == limit
	ids = ids[:min(len(ids), f.Offset+f.Limit)]
	if f.Offset < len(ids) {
		if page.Cases, err = s.queued(ctx, `SELECT c.id FROM cases c WHERE c.id = ANY(@ids)`, ` ORDER BY array_position(@ids, c.id)`,
			pgx.NamedArgs{"ids": ids[f.Offset:], "now": f.Now}); err != nil {
			return CasePage{}, err
		}
	}
	page.Total, page.TotalCapped = len(ids), more
	return page, nil
}

// searchWindows are the spans of months a search looks through in turn,
// the latest first: two months, then all (0). A year in between was tried:
// the text index ORs its twelve months' long lists and takes longer (40
// ms on a million cases) than reading every match of most phrases.
var searchWindows = []int{2, 0}

// searchPeriods is the tsquery of the period lexemes of the last months
// before now ("'§2026-11' | '§2026-10'"), empty for all time.
func searchPeriods(now time.Time, months int) string {
	if now.IsZero() {
		now = time.Now()
	}
	now = now.UTC()
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	var b strings.Builder
	for i := range months {
		if i > 0 {
			b.WriteString(" | ")
		}
		fmt.Fprintf(&b, "'§%s'", first.AddDate(0, -i, 0).Format("2006-01"))
	}
	return b.String()
}

// latestFirst orders search rows the latest request first. Ordered by the
// text of the id (the same order for UUIDs) and not by the id itself, so
// that no plan walks the search table's key backwards hoping to meet the
// words soon: for words absent from a scope or a period it would read the
// whole table (seconds on millions of requests). The text index's matches
// in the period are read and sorted instead.
const latestFirst = `s.request_id::text COLLATE "C" DESC`

// searchIn reads the latest requests matching @q (within @period when it
// is not empty) in the scope and cond: their cases, latest match first, and
// how many requests matched (up to @hits). filtered says that cond filters
// cases on more than the scope (a state, a channel, overdue).
func searchIn(ctx context.Context, tx pgx.Tx, cond, scope string, filtered bool, args pgx.NamedArgs) ([]int64, int, error) {
	// Planned for these words and this scope each time (an unnamed
	// statement): a plan cached for all searches would walk the whole
	// table for a rare word or intersect twenty thousand matches of a common
	// one. A query of stop words only is empty and matches nothing, not the
	// whole period.
	words := `s.doc @@ (CASE WHEN @period = '' THEN websearch_to_tsquery('guichet_fr', @q)
	                        WHEN numnode(websearch_to_tsquery('guichet_fr', @q)) = 0 THEN NULL
	                        ELSE websearch_to_tsquery('guichet_fr', @q) && @period::tsquery END)` + scope
	// The latest matches are taken from the search rows alone, then their
	// cases read, when cond only repeats the scope they hold: a merged
	// case's requests were moved to the case it went into, rows and all.
	// Reading the case of every match in the period first, to filter on
	// it, costs a few thousand look-ups for a common word (25 ms).
	matches := `SELECT c.id, h.request_id FROM (
			SELECT s.case_id, s.request_id FROM request_search s WHERE ` + words + `
			ORDER BY ` + latestFirst + ` LIMIT @hits) h JOIN cases c ON c.id = h.case_id WHERE ` + cond
	if filtered {
		matches = `SELECT c.id, s.request_id FROM request_search s JOIN cases c ON c.id = s.case_id
			WHERE ` + words + ` AND ` + cond + `
			ORDER BY ` + latestFirst + ` LIMIT @hits`
	}
	rows, err := tx.Query(ctx, `
		SELECT id, (sum(count(*)) OVER ())::int FROM (`+matches+`) h
		GROUP BY id ORDER BY max(request_id::text COLLATE "C") DESC`, pgx.QueryExecModeExec, args)
	if err != nil {
		return nil, 0, fault.E(fault.Transient, fmt.Errorf("casestore: search: %w", err))
	}
	var ids []int64
	hits := 0
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id, &hits); err != nil {
			rows.Close()
			return nil, 0, fault.E(fault.Transient, fmt.Errorf("casestore: search: %w", err))
		}
		ids = append(ids, id)
	}
	if rows.Close(); rows.Err() != nil {
		return nil, 0, fault.E(fault.Transient, fmt.Errorf("casestore: search: %w", rows.Err()))
	}
	return ids, hits, nil
}

// queued reads cases as a queue shows them: pick selects the cases' ids
// (c.id of cases c, with its LIMIT), order orders them. Picked by id, the
// cases are chosen from an index alone when it holds what the filter and
// the order read (cases_pending), whatever the planner expects of the
// filter; and what a queue shows of their requests is read for the picked
// cases only, not for the ones an OFFSET skips.
func (s *Store) queued(ctx context.Context, pick, order string, args pgx.NamedArgs) ([]QueuedCase, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT c.ref, c.competence, c.territory, c.state, c.priority, c.deadline,
		       COALESCE(c.state IN ('received', 'qualified', 'in_progress') AND (c.breached_at IS NOT NULL OR c.deadline < @now), false),
		       c.assignee,
		       c.channels,
		       (SELECT count(*) FROM requests r WHERE r.case_id = c.id),
		       COALESCE((SELECT left(COALESCE(NULLIF(r.payload->>'subject', ''), r.payload->>'body'), 140) FROM requests r
		                 WHERE r.case_id = c.id ORDER BY r.received_at LIMIT 1), ''),
		       c.opened_at, c.updated_at
		FROM (`+pick+`) p JOIN cases c ON c.id = p.id`+order, args)
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: cases: %w", err))
	}
	list, err := pgx.CollectRows(rows, pgx.RowToStructByPos[QueuedCase])
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: cases: %w", err))
	}
	if list == nil {
		list = []QueuedCase{}
	}
	return list, nil
}

// countStates adds the counts by state a query returns to page.
func (s *Store) countStates(ctx context.Context, sql string, args pgx.NamedArgs, page *CasePage) error {
	rows, err := s.pool.Query(ctx, sql, args)
	if err != nil {
		return fault.E(fault.Transient, fmt.Errorf("casestore: case counts: %w", err))
	}
	defer rows.Close()
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return fault.E(fault.Transient, fmt.Errorf("casestore: case counts: %w", err))
		}
		page.ByState[st] = n
		page.Total += n
	}
	if err := rows.Err(); err != nil {
		return fault.E(fault.Transient, fmt.Errorf("casestore: case counts: %w", err))
	}
	return nil
}
