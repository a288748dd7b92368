package casestore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ampmetropole/guichet/services/cases/scope"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/platform/frtime"
)

// Count is a number of cases or requests under a label.
type Count struct {
	Key string
	N   int
}

// DayCount is the requests received one day, by channel.
type DayCount struct {
	Day       time.Time
	ByChannel map[string]int
	Total     int
}

// Dashboard is what supervisors watch: open cases by competence,
// territory, channel and state, the overdue ones, and the volume received
// each day.
type Dashboard struct {
	Open         int
	Overdue      int
	ByCompetence []Count
	ByTerritory  []Count
	ByChannel    []Count
	ByState      []Count
	Days         []DayCount
}

// Dashboard computes the figures over the cases a scope holds and the
// requests of the last days.
func (s *Store) Dashboard(ctx context.Context, sc scope.Scope, days int, now time.Time) (Dashboard, error) {
	var d Dashboard
	competences, territories, ok := sc.Arrays()
	if !ok {
		return d, nil
	}
	// The open states listed, not the finished ones excluded, so that the
	// partial index of unfinished cases serves a database of millions.
	scope := `c.state IN ('received', 'qualified', 'in_progress', 'waiting', 'resolved')
		AND (cardinality(@comp::text[]) = 0 OR c.competence = ANY(@comp))
		AND (cardinality(@terr::text[]) = 0 OR c.territory = ANY(@terr))`
	args := pgx.NamedArgs{"comp": competences, "terr": territories, "now": now, "since": now.AddDate(0, 0, -days)}
	// Request ids are UUIDv7 of about their arrival (a call's is of its
	// start): the key's range finds the recent ones without an index on
	// the date. A day's margin covers the longest call.
	args["since_id"] = uuidSince(now.AddDate(0, 0, -days-1))
	if competences == nil {
		args["comp"] = []string{}
	}
	if territories == nil {
		args["terr"] = []string{}
	}
	counts := func(expr string) ([]Count, error) {
		rows, err := s.pool.Query(ctx, `SELECT COALESCE(`+expr+`, ''), count(*) FROM cases c WHERE `+scope+` GROUP BY 1 ORDER BY 2 DESC, 1`, args)
		if err != nil {
			return nil, fault.E(fault.Transient, fmt.Errorf("casestore: dashboard: %w", err))
		}
		return pgx.CollectRows(rows, pgx.RowToStructByPos[Count])
	}
	var err error
	if d.ByCompetence, err = counts("c.competence"); err != nil {
		return d, err
	}
	if d.ByTerritory, err = counts("c.territory"); err != nil {
		return d, err
	}
	if d.ByState, err = counts("c.state"); err != nil {
		return d, err
	}
	// The first contact: request ids are UUIDv7, in the order of arrival.
	if d.ByChannel, err = counts("(SELECT r.channel FROM requests r WHERE r.case_id = c.id ORDER BY r.id LIMIT 1)"); err != nil {
		return d, err
	}
	for _, c := range d.ByState {
		d.Open += c.N
	}
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM cases c WHERE `+scope+`
		AND c.state IN ('received', 'qualified', 'in_progress') AND (c.breached_at IS NOT NULL OR c.deadline < @now)`, args).Scan(&d.Overdue); err != nil {
		return d, fault.E(fault.Transient, fmt.Errorf("casestore: dashboard: %w", err))
	}
	rows, err := s.pool.Query(ctx, `
		SELECT date_trunc('day', r.received_at AT TIME ZONE 'Europe/Paris'), r.channel, count(*)
		FROM requests r LEFT JOIN cases c ON c.id = r.case_id
		WHERE r.id >= @since_id AND r.received_at >= @since
		  AND (cardinality(@comp::text[]) = 0 OR c.competence = ANY(@comp))
		  AND (cardinality(@terr::text[]) = 0 OR c.territory = ANY(@terr))
		GROUP BY 1, 2 ORDER BY 1`, args)
	if err != nil {
		return d, fault.E(fault.Transient, fmt.Errorf("casestore: dashboard: %w", err))
	}
	defer rows.Close()
	byDay := map[time.Time]*DayCount{}
	for rows.Next() {
		var day time.Time
		var ch string
		var n int
		if err := rows.Scan(&day, &ch, &n); err != nil {
			return d, fault.E(fault.Transient, fmt.Errorf("casestore: dashboard: %w", err))
		}
		dc := byDay[day]
		if dc == nil {
			dc = &DayCount{Day: day, ByChannel: map[string]int{}}
			byDay[day] = dc
			d.Days = append(d.Days, DayCount{})
		}
		dc.ByChannel[ch] += n
		dc.Total += n
	}
	d.Days = d.Days[:0]
	today := now.In(frtime.Paris()) // the days are Paris days, as grouped above
	for i := days; i >= 0; i-- {
		day := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, -i)
		if dc := byDay[day]; dc != nil {
			d.Days = append(d.Days, *dc)
		} else {
			d.Days = append(d.Days, DayCount{Day: day, ByChannel: map[string]int{}})
		}
	}
	return d, rows.Err()
}
