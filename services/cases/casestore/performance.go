package casestore

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ampmetropole/guichet/services/cases/scope"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

// Timing is how long something took over a set of cases: the median and
// the 90th percentile (interpolated, as PostgreSQL's percentile_cont), over
// N cases. N = 0: nothing was measured, and the durations mean nothing.
type Timing struct {
	N           int
	Median, P90 time.Duration
}

// Performance are the figures of a group of cases — all of them, a
// competence, a territory or a team (a competence on a territory): how fast
// they were answered and resolved, and whether their deadlines held.
//
// The times are measured over the cases opened in the period, in calendar
// time from the case's opening:
//   - first response: the first answer to the citizen or the first change
//     of state made by a person, whichever came first;
//   - resolution: the first time the case was marked resolved.
//
// A case resolved within its deadline was resolved with business hours of
// its deadline left and never breached it before. Open and Overdue are the
// cases open now (whenever opened) and those of them past their deadline.
type Performance struct {
	Competence string // "" for every competence
	Territory  string // "" for every territory (or, in a team or territory row, an unknown one)
	Opened     int    // cases opened in the period
	// FirstResponse and Resolution are measured over the cases of the
	// period that had them.
	FirstResponse, Resolution Timing
	// WithDeadline are the cases of the period resolved with a deadline,
	// OnTime those resolved within it.
	WithDeadline, OnTime int
	Open, Overdue        int
}

// OnTimeShare is the share of the cases resolved within their deadline
// (0–1), and false when none with a deadline was resolved.
func (p Performance) OnTimeShare() (float64, bool) {
	if p.WithDeadline == 0 {
		return 0, false
	}
	return float64(p.OnTime) / float64(p.WithDeadline), true
}

// PerformanceFigures are the performance of a scope's cases, overall and by
// competence, territory and team, each list in code order.
type PerformanceFigures struct {
	Since        time.Time
	All          Performance
	ByCompetence []Performance
	ByTerritory  []Performance
	ByTeam       []Performance
}

// Performance computes the response times and the deadlines kept of the
// cases a scope holds, over the cases opened in the last days before now
// (the open and overdue counts are of now).
func (s *Store) Performance(ctx context.Context, sc scope.Scope, days int, now time.Time) (PerformanceFigures, error) {
	since := now.AddDate(0, 0, -days)
	f := PerformanceFigures{Since: since}
	if sc.None() {
		return f, nil
	}
	args := pgx.NamedArgs{"since": since, "now": now}
	cond := "true"
	if c := sc.SQL("c.competence", "c.territory", scopeArg(args, "scope")); c != "" {
		cond = c
	}
	// Request ids are UUIDv7 of their arrival: the key's range finds the
	// cases of the period without reading the whole table (a day's margin
	// covers the longest call), and their events come by the case's key.
	var sinceID uuid.UUID
	ms := uint64(since.AddDate(0, 0, -1).UnixMilli())
	for i := range 6 {
		sinceID[i] = byte(ms >> (40 - 8*i))
	}
	args["since_id"] = sinceID.String()
	groups := map[[3]string]*Performance{}
	group := func(level int, competence, territory string) *Performance {
		k := [3]string{fmt.Sprint(level), competence, territory}
		if groups[k] == nil {
			groups[k] = &Performance{Competence: competence, Territory: territory}
		}
		return groups[k]
	}
	// GROUPING(competence, territory): 0 a team, 1 a competence, 2 a
	// territory, 3 everything.
	rows, err := s.pool.Query(ctx, `
		WITH cohort AS (
			SELECT c.id, c.competence, COALESCE(c.territory, '') AS territory, c.opened_at, c.breached_at
			FROM cases c
			WHERE c.id IN (SELECT r.case_id FROM requests r WHERE r.id >= @since_id AND r.received_at >= @since AND r.case_id IS NOT NULL)
			  AND c.opened_at >= @since AND c.state <> 'merged' AND `+cond+`
		), timed AS (
			SELECT k.competence, k.territory,
			       extract(epoch FROM fr.at - k.opened_at)::float8 AS first_s,
			       extract(epoch FROM rs.at - k.opened_at)::float8 AS resolve_s,
			       rs.left_h,
			       rs.left_h > 0 AND (k.breached_at IS NULL OR k.breached_at > rs.at) AS on_time
			FROM cohort k
			LEFT JOIN LATERAL (
				SELECT min(e.at) AS at FROM case_events e
				WHERE e.case_id = k.id AND e.actor_kind = 'agent' AND e.type IN ('replied', 'state_changed')) fr ON true
			LEFT JOIN LATERAL (
				SELECT e.at, (e.payload->'data'->>'deadline_left_hours')::float8 AS left_h FROM case_events e
				WHERE e.case_id = k.id AND e.type = 'state_changed' AND e.payload->'data'->>'to' = 'resolved'
				ORDER BY e.seq LIMIT 1) rs ON true
		)
		SELECT GROUPING(competence, territory), competence, territory, count(*),
		       count(first_s), percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY first_s),
		       count(resolve_s), percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY resolve_s),
		       count(left_h), count(*) FILTER (WHERE on_time)
		FROM timed
		GROUP BY GROUPING SETS ((), (competence), (territory), (competence, territory))`, args)
	if err != nil {
		return f, fault.E(fault.Transient, fmt.Errorf("casestore: performance: %w", err))
	}
	for rows.Next() {
		var level, opened, nFirst, nResolve, withDeadline, onTime int
		var competence, territory *string
		var first, resolve []*float64
		if err := rows.Scan(&level, &competence, &territory, &opened, &nFirst, &first, &nResolve, &resolve, &withDeadline, &onTime); err != nil {
			rows.Close()
			return f, fault.E(fault.Transient, fmt.Errorf("casestore: performance: %w", err))
		}
		p := group(level, orEmpty(competence), orEmpty(territory))
		p.Opened, p.WithDeadline, p.OnTime = opened, withDeadline, onTime
		p.FirstResponse, p.Resolution = timing(nFirst, first), timing(nResolve, resolve)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return f, fault.E(fault.Transient, fmt.Errorf("casestore: performance: %w", err))
	}
	// The open cases and the overdue ones, now: the partial index of the
	// unfinished cases holds them.
	rows, err = s.pool.Query(ctx, `
		SELECT GROUPING(competence, territory), competence, territory, count(*), count(*) FILTER (WHERE overdue)
		FROM (SELECT c.competence, COALESCE(c.territory, '') AS territory,
		             c.state IN ('received', 'qualified', 'in_progress') AND (c.breached_at IS NOT NULL OR c.deadline < @now) AS overdue
		      FROM cases c
		      WHERE c.state IN ('received', 'qualified', 'in_progress', 'waiting', 'resolved') AND `+cond+`) o
		GROUP BY GROUPING SETS ((), (competence), (territory), (competence, territory))`, args)
	if err != nil {
		return f, fault.E(fault.Transient, fmt.Errorf("casestore: performance: %w", err))
	}
	for rows.Next() {
		var level, open, overdue int
		var competence, territory *string
		if err := rows.Scan(&level, &competence, &territory, &open, &overdue); err != nil {
			rows.Close()
			return f, fault.E(fault.Transient, fmt.Errorf("casestore: performance: %w", err))
		}
		p := group(level, orEmpty(competence), orEmpty(territory))
		p.Open, p.Overdue = open, overdue
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return f, fault.E(fault.Transient, fmt.Errorf("casestore: performance: %w", err))
	}
	for k, p := range groups {
		switch k[0] {
		case "0":
			f.ByTeam = append(f.ByTeam, *p)
		case "1":
			f.ByCompetence = append(f.ByCompetence, *p)
		case "2":
			f.ByTerritory = append(f.ByTerritory, *p)
		case "3":
			f.All = *p
		}
	}
	for _, l := range [][]Performance{f.ByTeam, f.ByCompetence, f.ByTerritory} {
		sort.Slice(l, func(i, j int) bool {
			if l[i].Competence != l[j].Competence {
				return l[i].Competence < l[j].Competence
			}
			return l[i].Territory < l[j].Territory
		})
	}
	return f, nil
}

// orEmpty is a nullable text column as text.
func orEmpty(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// timing reads percentile_cont's array of seconds.
func timing(n int, p []*float64) Timing {
	t := Timing{N: n}
	if n == 0 || len(p) != 2 || p[0] == nil || p[1] == nil {
		return Timing{}
	}
	t.Median = time.Duration(math.Round(*p[0] * float64(time.Second)))
	t.P90 = time.Duration(math.Round(*p[1] * float64(time.Second)))
	return t
}
