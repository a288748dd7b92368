package casestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/lifecycle"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

// inseeCode is a commune's INSEE code (Corsica's 2A and 2B included).
var inseeCode = regexp.MustCompile(`^[0-9][0-9AB][0-9]{3}$`)

// CounterSystem is the source.system of the requests a mairie's front
// desk files for a citizen: the mairie sees their personal data.
func CounterSystem(insee string) string { return "mairie:" + insee }

// RedirectToCommune moves a case the router has just opened to redirected,
// handed over to the mairie of insee (a communal matter), without a
// deadline. The caller appends the state_changed event.
func (t *RouteTx) RedirectToCommune(ctx context.Context, c *CaseRow, insee, redirectTo string) error {
	if !inseeCode.MatchString(insee) {
		return fault.E(fault.Invalid, fmt.Errorf("casestore: commune %q invalide", insee))
	}
	if _, err := t.tx.Exec(ctx, `
		UPDATE cases SET state = 'redirected', redirect_to = $2, redirected_commune = $3, deadline = NULL, deadline_left = NULL, updated_at = now()
		WHERE id = $1`, c.ID, redirectTo, insee); err != nil {
		return fault.E(fault.Transient, fmt.Errorf("casestore: redirect %s: %w", c.Ref, err))
	}
	c.State = lifecycle.Redirected
	t.touched(c.ID, 0)
	if bc := t.openedCase(c.ID); bc != nil {
		bc.row.State = c.State
	}
	return nil
}

// SetCommuneContact records the address a commune's handoffs go to.
func (s *Store) SetCommuneContact(ctx context.Context, insee, email, by string) error {
	email = strings.TrimSpace(email)
	if !inseeCode.MatchString(insee) {
		return fault.E(fault.Invalid, fmt.Errorf("casestore: code INSEE « %.10s » invalide", insee))
	}
	if len(email) > 254 || strings.Count(email, "@") != 1 || strings.ContainsAny(email, " \t\r\n<>,;") || !storableText(email) {
		return fault.E(fault.Invalid, fmt.Errorf("casestore: adresse électronique « %.80s » invalide", email))
	}
	if _, err := s.pool.Exec(ctx, `
		INSERT INTO commune_contacts (insee, email, updated_at, updated_by) VALUES ($1, $2, now(), $3)
		ON CONFLICT (insee) DO UPDATE SET email = EXCLUDED.email, updated_at = now(), updated_by = EXCLUDED.updated_by`,
		insee, email, by); err != nil {
		return fault.E(fault.Transient, fmt.Errorf("casestore: commune contact: %w", err))
	}
	return nil
}

// CommuneContact is the address a commune's handoffs go to; NotFound when
// none was given.
func (s *Store) CommuneContact(ctx context.Context, insee string) (string, error) {
	var email string
	err := s.pool.QueryRow(ctx, `SELECT email FROM commune_contacts WHERE insee = $1`, insee).Scan(&email)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", notFound("commune contact", insee)
	}
	if err != nil {
		return "", fault.E(fault.Transient, fmt.Errorf("casestore: commune contact: %w", err))
	}
	return email, nil
}

func storableText(s string) bool { return storable(s) == nil }

// CommuneCase is a case as a mairie sees it in its lists: no one's data.
type CommuneCase struct {
	Ref               string
	Competence        string
	Territory         string
	State             string
	Commune           string // where it is located (INSEE), "" when unknown
	RedirectedCommune string // the commune it was handed over to, if any
	Channel           string // of its first request
	AtCounter         bool   // filed at the front desk of one of the mairie's communes
	OpenedAt          time.Time
	UpdatedAt         time.Time
	Deadline          *time.Time
}

// CommuneFilter narrows a mairie's list.
type CommuneFilter struct {
	Communes   []string // the mairie's communes: never empty
	Redirected bool     // only the cases handed over to them
	Open       bool     // only the cases not finished
	Limit      int      // default 50, at most 200
	Offset     int
}

// communeCaseColumns reads a CommuneCase; $1 is the communes.
const communeCaseColumns = `c.ref, c.competence, COALESCE(c.territory, ''), c.state, COALESCE(c.commune, ''),
	COALESCE(c.redirected_commune, ''), COALESCE(f.channel, ''), f.system IS NOT NULL AND f.system = ANY(SELECT 'mairie:' || x FROM unnest($1::text[]) x),
	c.opened_at, c.updated_at, c.deadline`

// communeFirst is the first request of each case listed, for its channel
// and who filed it.
const communeFirst = `LEFT JOIN LATERAL (SELECT r.channel, r.payload->'source'->>'system' AS system FROM requests r
	WHERE r.case_id = c.id ORDER BY r.received_at, r.id LIMIT 1) f ON true`

func scanCommuneCase(row pgx.Row) (CommuneCase, error) {
	var c CommuneCase
	err := row.Scan(&c.Ref, &c.Competence, &c.Territory, &c.State, &c.Commune, &c.RedirectedCommune, &c.Channel, &c.AtCounter,
		&c.OpenedAt, &c.UpdatedAt, &c.Deadline)
	return c, err
}

// CommuneCases lists the cases located in a mairie's communes or handed
// over to them, latest change first.
func (s *Store) CommuneCases(ctx context.Context, f CommuneFilter) ([]CommuneCase, error) {
	if len(f.Communes) == 0 {
		return nil, nil
	}
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	where := `(c.commune = ANY($1) OR c.redirected_commune = ANY($1))`
	if f.Redirected {
		where = `c.redirected_commune = ANY($1)`
	}
	if f.Open {
		where += ` AND c.state NOT IN ('resolved', 'closed', 'rejected', 'merged')`
	}
	rows, err := s.pool.Query(ctx, `SELECT `+communeCaseColumns+` FROM cases c `+communeFirst+`
		WHERE `+where+` ORDER BY c.updated_at DESC, c.id DESC LIMIT $2 OFFSET $3`, f.Communes, f.Limit, f.Offset)
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: commune cases: %w", err))
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (CommuneCase, error) { return scanCommuneCase(r) })
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: commune cases: %w", err))
	}
	return list, nil
}

// CommuneRequest is one request of a case a mairie may read in full: one
// its front desk filed, or any of a case handed over to it.
type CommuneRequest struct {
	ID         string
	Channel    string
	ReceivedAt time.Time
	Request    schemas.Request
}

// CommuneStep is one step of a case's history as a mairie sees it: what
// happened, never what anyone wrote.
type CommuneStep struct {
	Type  string
	At    time.Time
	State string // after the step
	Actor string // router, agent, citizen, system
}

// CommuneCaseDetail is a case as a mairie sees it on its page.
type CommuneCaseDetail struct {
	CommuneCase
	RedirectTo string
	Steps      []CommuneStep
	// Requests are those it may read in full (see [CommuneRequest]); the
	// others are only counted.
	Requests []CommuneRequest
	Others   int
}

// CommuneCaseByRef is a case of a mairie's communes (located there or
// handed over to them); NotFound for any other, as if it did not exist.
func (s *Store) CommuneCaseByRef(ctx context.Context, communes []string, ref string) (CommuneCaseDetail, error) {
	var d CommuneCaseDetail
	if len(communes) == 0 {
		return d, notFound("case", ref)
	}
	var id int64
	var redirectTo *string
	row := s.pool.QueryRow(ctx, `SELECT c.id, c.redirect_to, `+communeCaseColumns+` FROM cases c `+communeFirst+`
		WHERE c.ref = $2 AND (c.commune = ANY($1) OR c.redirected_commune = ANY($1))`, communes, ref)
	err := row.Scan(&id, &redirectTo, &d.Ref, &d.Competence, &d.Territory, &d.State, &d.Commune, &d.RedirectedCommune, &d.Channel,
		&d.AtCounter, &d.OpenedAt, &d.UpdatedAt, &d.Deadline)
	if errors.Is(err, pgx.ErrNoRows) {
		return d, notFound("case", ref)
	}
	if err != nil {
		return d, fault.E(fault.Transient, fmt.Errorf("casestore: commune case %s: %w", ref, err))
	}
	if redirectTo != nil {
		d.RedirectTo = *redirectTo
	}
	rows, err := s.pool.Query(ctx, `SELECT type, at, COALESCE(payload->>'state', ''), actor_kind FROM case_events WHERE case_id = $1 ORDER BY seq`, id)
	if err != nil {
		return d, fault.E(fault.Transient, fmt.Errorf("casestore: commune case %s: %w", ref, err))
	}
	if d.Steps, err = pgx.CollectRows(rows, pgx.RowToStructByPos[CommuneStep]); err != nil {
		return d, fault.E(fault.Transient, fmt.Errorf("casestore: commune case %s: %w", ref, err))
	}
	handedOver := false
	for _, c := range communes {
		handedOver = handedOver || d.RedirectedCommune == c
	}
	counters := make([]string, len(communes))
	for i, c := range communes {
		counters[i] = CounterSystem(c)
	}
	rows, err = s.pool.Query(ctx, `SELECT id::text, channel, received_at, payload, $3 OR COALESCE(payload->'source'->>'system' = ANY($2), false)
		FROM requests WHERE case_id = $1 ORDER BY received_at, id`, id, counters, handedOver)
	if err != nil {
		return d, fault.E(fault.Transient, fmt.Errorf("casestore: commune case %s: %w", ref, err))
	}
	defer rows.Close()
	for rows.Next() {
		var r CommuneRequest
		var payload []byte
		var full bool
		if err := rows.Scan(&r.ID, &r.Channel, &r.ReceivedAt, &payload, &full); err != nil {
			return d, fault.E(fault.Transient, fmt.Errorf("casestore: commune case %s: %w", ref, err))
		}
		if !full {
			d.Others++
			continue
		}
		if err := json.Unmarshal(payload, &r.Request); err != nil {
			return d, fmt.Errorf("casestore: commune case %s: request %s: %w", ref, r.ID, err)
		}
		d.Requests = append(d.Requests, r)
	}
	if err := rows.Err(); err != nil {
		return d, fault.E(fault.Transient, fmt.Errorf("casestore: commune case %s: %w", ref, err))
	}
	return d, nil
}

// CommuneCount is one line of a mairie's dashboard.
type CommuneCount struct {
	Competence string
	State      string
	N          int
}

// CommuneFigures are a mairie's dashboard: the cases of its communes by
// competence and state, those handed over to it still to take up, and
// those its front desk filed.
type CommuneFigures struct {
	ByCompetenceState []CommuneCount
	Open, Finished    int
	HandedOver        int // redirected to the mairie, all time
	AtCounter         int // filed at its front desk
	Since             time.Time
}

// CommuneDashboard counts a mairie's cases opened since since.
func (s *Store) CommuneDashboard(ctx context.Context, communes []string, since time.Time) (CommuneFigures, error) {
	f := CommuneFigures{Since: since}
	if len(communes) == 0 {
		return f, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT competence, state, count(*) FROM cases
		WHERE (commune = ANY($1) OR redirected_commune = ANY($1)) AND opened_at >= $2
		GROUP BY competence, state ORDER BY competence, state`, communes, since)
	if err != nil {
		return f, fault.E(fault.Transient, fmt.Errorf("casestore: commune dashboard: %w", err))
	}
	if f.ByCompetenceState, err = pgx.CollectRows(rows, pgx.RowToStructByPos[CommuneCount]); err != nil {
		return f, fault.E(fault.Transient, fmt.Errorf("casestore: commune dashboard: %w", err))
	}
	for _, c := range f.ByCompetenceState {
		if lifecycle.Final(c.State) || c.State == lifecycle.Resolved {
			f.Finished += c.N
		} else {
			f.Open += c.N
		}
	}
	counters := make([]string, len(communes))
	for i, c := range communes {
		counters[i] = CounterSystem(c)
	}
	err = s.pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM cases WHERE redirected_commune = ANY($1) AND opened_at >= $2),
		(SELECT count(*) FROM requests WHERE payload->'source'->>'system' = ANY($3) AND received_at >= $2)`,
		communes, since, counters).Scan(&f.HandedOver, &f.AtCounter)
	if err != nil {
		return f, fault.E(fault.Transient, fmt.Errorf("casestore: commune dashboard: %w", err))
	}
	return f, nil
}
