package casestore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ampmetropole/guichet/services/fault"
)

// Filter selects cases for a queue or a search. Scope limits what the
// person may see (their competences and territories); the other fields are
// what they asked for.
type Filter struct {
	ScopeCompetences []string // empty: every competence
	ScopeTerritories []string // empty: every territory
	Competence       string
	Territory        string
	State            string
	Channel          string // a request of the case came by this channel
	Overdue          bool
	Q                string // French full-text search over what citizens wrote
	Limit, Offset    int
	Now              time.Time
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

// CasePage is one page of a queue with the total and counts by state.
type CasePage struct {
	Cases   []QueuedCase   `json:"cases"`
	Total   int            `json:"total"`
	ByState map[string]int `json:"by_state"`
}

// Cases lists the cases a filter selects, the most urgent deadline first
// (then the oldest), with the total and the count of each state.
func (s *Store) Cases(ctx context.Context, f Filter) (CasePage, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	if f.Now.IsZero() {
		f.Now = time.Now()
	}
	var where []string
	args := pgx.NamedArgs{"now": f.Now}
	add := func(cond, name string, v any) {
		where = append(where, cond)
		args[name] = v
	}
	if len(f.ScopeCompetences) > 0 {
		add("c.competence = ANY(@scope_comp)", "scope_comp", f.ScopeCompetences)
	}
	if len(f.ScopeTerritories) > 0 {
		add("c.territory = ANY(@scope_terr)", "scope_terr", f.ScopeTerritories)
	}
	if f.Competence != "" {
		add("c.competence = @competence", "competence", f.Competence)
	}
	if f.Territory != "" {
		add("c.territory = @territory", "territory", f.Territory)
	}
	if f.State != "" {
		add("c.state = @state", "state", f.State)
	} else {
		where = append(where, "c.state <> 'merged'")
	}
	if f.Channel != "" {
		add("EXISTS (SELECT 1 FROM requests r WHERE r.case_id = c.id AND r.channel = @channel)", "channel", f.Channel)
	}
	if f.Overdue {
		where = append(where, "(c.breached_at IS NOT NULL OR c.deadline < @now) AND c.state IN ('received', 'qualified', 'in_progress')")
	}
	if q := strings.TrimSpace(f.Q); q != "" {
		if len(q) > 200 {
			return CasePage{}, fault.E(fault.Invalid, fmt.Errorf("casestore: recherche de plus de 200 caractères"))
		}
		add(`(c.ref = upper(@q) OR EXISTS (SELECT 1 FROM requests r JOIN request_search s ON s.request_id = r.id
		      WHERE r.case_id = c.id AND s.doc @@ websearch_to_tsquery('guichet_fr', @q)))`, "q", q)
	}
	cond := "true"
	if len(where) > 0 {
		cond = strings.Join(where, " AND ")
	}
	args["limit"], args["offset"] = f.Limit, max(f.Offset, 0)
	rows, err := s.pool.Query(ctx, `
		SELECT c.ref, c.competence, c.territory, c.state, c.priority, c.deadline,
		       COALESCE(c.state IN ('received', 'qualified', 'in_progress') AND (c.breached_at IS NOT NULL OR c.deadline < @now), false),
		       c.assignee,
		       ARRAY(SELECT DISTINCT r.channel FROM requests r WHERE r.case_id = c.id ORDER BY 1),
		       (SELECT count(*) FROM requests r WHERE r.case_id = c.id),
		       COALESCE((SELECT left(COALESCE(NULLIF(r.payload->>'subject', ''), r.payload->>'body'), 140) FROM requests r
		                 WHERE r.case_id = c.id ORDER BY r.received_at LIMIT 1), ''),
		       c.opened_at, c.updated_at
		FROM cases c WHERE `+cond+`
		ORDER BY c.deadline ASC NULLS LAST, c.opened_at ASC, c.id
		LIMIT @limit OFFSET @offset`, args)
	if err != nil {
		return CasePage{}, fault.E(fault.Transient, fmt.Errorf("casestore: cases: %w", err))
	}
	list, err := pgx.CollectRows(rows, pgx.RowToStructByPos[QueuedCase])
	if err != nil {
		return CasePage{}, fault.E(fault.Transient, fmt.Errorf("casestore: cases: %w", err))
	}
	page := CasePage{Cases: list, ByState: map[string]int{}}
	if page.Cases == nil {
		page.Cases = []QueuedCase{}
	}
	counts, err := s.pool.Query(ctx, `SELECT c.state, count(*) FROM cases c WHERE `+cond+` GROUP BY c.state`, args)
	if err != nil {
		return CasePage{}, fault.E(fault.Transient, fmt.Errorf("casestore: case counts: %w", err))
	}
	defer counts.Close()
	for counts.Next() {
		var st string
		var n int
		if err := counts.Scan(&st, &n); err != nil {
			return CasePage{}, fault.E(fault.Transient, fmt.Errorf("casestore: case counts: %w", err))
		}
		page.ByState[st] = n
		page.Total += n
	}
	return page, counts.Err()
}
