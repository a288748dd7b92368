package casestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

// Incident is one physical incident that several citizens reported, each
// in their own case. Place and Label describe it without personal data.
type Incident struct {
	ID                                                       int64
	Ref, Competence, Territory, Commune, Place, Label, State string
	Lat, Lon                                                 *float64
	FirstReportedAt, LastReportedAt                          time.Time
	Reporters                                                int
}

const incidentCols = `i.id, i.ref, i.competence, COALESCE(i.territory, ''), COALESCE(i.commune, ''), i.place, i.label, i.state,
	i.lat, i.lon, i.first_reported_at, i.last_reported_at,
	(SELECT count(DISTINCT COALESCE(c.citizen_id, -c.id)) FROM cases c WHERE c.incident_id = i.id)`

func scanIncident(row pgx.Row) (Incident, error) {
	var in Incident
	err := row.Scan(&in.ID, &in.Ref, &in.Competence, &in.Territory, &in.Commune, &in.Place, &in.Label, &in.State,
		&in.Lat, &in.Lon, &in.FirstReportedAt, &in.LastReportedAt, &in.Reporters)
	return in, err
}

// Incident returns an incident and the references of its cases, oldest
// first.
func (s *Store) Incident(ctx context.Context, ref string) (Incident, []string, error) {
	in, err := scanIncident(s.pool.QueryRow(ctx, `SELECT `+incidentCols+` FROM incidents i WHERE i.ref = $1`, ref))
	if errors.Is(err, pgx.ErrNoRows) {
		return in, nil, fault.E(fault.NotFound, fmt.Errorf("casestore: incident %s not found", ref))
	}
	if err != nil {
		return in, nil, fault.E(fault.Transient, fmt.Errorf("casestore: incident %s: %w", ref, err))
	}
	rows, err := s.pool.Query(ctx, `SELECT ref FROM cases WHERE incident_id = $1 ORDER BY opened_at, id`, in.ID)
	if err != nil {
		return in, nil, fault.E(fault.Transient, fmt.Errorf("casestore: cases of incident %s: %w", ref, err))
	}
	refs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return in, nil, fault.E(fault.Transient, fmt.Errorf("casestore: cases of incident %s: %w", ref, err))
	}
	return in, refs, nil
}

// OpenIncidentsNear lists the open incidents of a competence in a commune
// reported since a time, the nearest first when lat and lon are given,
// else the latest first.
func (s *Store) OpenIncidentsNear(ctx context.Context, competence, commune string, lat, lon *float64, since time.Time, limit int) ([]Incident, error) {
	if limit <= 0 || limit > 50 {
		limit = 50
	}
	rows, err := s.pool.Query(ctx, `SELECT `+incidentCols+` FROM incidents i
		WHERE i.state = 'open' AND i.competence = $1 AND ($2 = '' OR i.commune = $2) AND i.last_reported_at >= $3
		ORDER BY CASE WHEN $4::double precision IS NULL OR i.lat IS NULL THEN 1 ELSE 0 END,
		         (i.lat - $4) * (i.lat - $4) + (i.lon - $5) * (i.lon - $5) * 0.53,
		         i.last_reported_at DESC
		LIMIT $6`, competence, commune, since, lat, lon, limit)
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: open incidents: %w", err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Incident, error) { return scanIncident(r) })
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: open incidents: %w", err))
	}
	return out, nil
}

// GroupCandidate is a recent case the router may group a new report with:
// alone, or in an open incident.
type GroupCandidate struct {
	Case     CaseRow
	Incident string // ref of its open incident, "" when alone
	Citizen  int64  // the case's citizen, 0 when anonymous
	Requests []schemas.Request
}

// CandidateQuery says which cases a new report may be grouped with.
type CandidateQuery struct {
	// Competences: the latest Limit cases of each, not finished, with a
	// request received since Since, among the latest 4 × Limit pending
	// cases that share a place.
	Competences []string
	Since       time.Time
	Limit       int
	// Places the report names (incident.Keys): a case must share one, or
	// lie within about a kilometre of Lat, Lon when both are located.
	Places   []string
	Lat, Lon *float64
	// Territory: the cases of another known territory are left out
	// (another commune, which grouping rules out); NotCitizen: this
	// citizen's cases (0: none) are left out.
	Territory  string
	NotCitizen int64
	// Commune (INSEE, Marseille for its arrondissements): the cases
	// located in another commune are left out, which grouping rules out
	// too. A landmark without a name ("@parking", "@mairie") is shared by
	// hundreds of pending cases across the Métropole: read them all, and
	// the look-up cost more than the rest of the routing.
	Commune string
}

// Bounds of the places kept on a case.
const (
	maxPlaceKeys = 40
	maxPlaceKey  = 60
)

// placeKeys bounds what a case keeps of its places.
func placeKeys(keys []string) []string {
	out := []string{}
	for _, k := range keys {
		if k != "" && len(k) <= maxPlaceKey && len(out) < maxPlaceKeys {
			out = append(out, k)
		}
	}
	return out
}

// AddPlaces adds to a case the places another of its requests names (and
// its coordinates, when it had none).
func (t *RouteTx) AddPlaces(ctx context.Context, caseID int64, keys []string, lat, lon *float64) error {
	keys = placeKeys(keys)
	if len(keys) == 0 && lat == nil {
		return nil
	}
	if _, err := t.tx.Exec(ctx, `
		UPDATE cases SET place_keys = (SELECT COALESCE(array_agg(k ORDER BY k), '{}') FROM
		                                 (SELECT DISTINCT k FROM unnest(place_keys || $2::text[]) k LIMIT $5) d),
		                 lat = COALESCE(lat, $3), lon = COALESCE(lon, $4)
		WHERE id = $1 AND (NOT place_keys @> $2::text[] OR (lat IS NULL AND $3::float8 IS NOT NULL))`,
		caseID, keys, lat, lon, maxPlaceKeys); err != nil {
		return fault.E(fault.Transient, fmt.Errorf("casestore: places of case %d: %w", caseID, err))
	}
	if bc := t.openedCase(caseID); bc != nil {
		for _, k := range keys {
			if !slices.Contains(bc.nc.Places, k) && len(bc.nc.Places) < maxPlaceKeys {
				bc.nc.Places = append(bc.nc.Places, k)
			}
		}
		if bc.nc.Lat == nil && lat != nil && lon != nil {
			bc.nc.Lat, bc.nc.Lon = lat, lon
		}
	}
	return nil
}

// GroupCandidates lists the cases q describes with their requests (what
// grouping reads of them: the words, the place, the time, the sender's
// name and address), the latest first.
func (t *RouteTx) GroupCandidates(ctx context.Context, q CandidateQuery) ([]GroupCandidate, error) {
	// The pending cases sharing a place come first from the partial
	// indexes (GIN on place_keys, btree on lat, lon): never a walk back
	// through the whole history for the latest of a competence.
	rows, err := t.tx.Query(ctx, `
		WITH near AS MATERIALIZED (
		  SELECT c.id, c.ref, c.competence, c.territory, c.state, c.incident_id, c.citizen_id FROM cases c
		  WHERE c.state NOT IN ('resolved', 'closed', 'rejected', 'redirected', 'merged')
		    AND (c.place_keys && $6::text[]
		         OR ($7::float8 IS NOT NULL AND c.lat IS NOT NULL AND c.lat BETWEEN $7 - 0.01 AND $7 + 0.01
		             AND c.lon BETWEEN $8 - 0.014 AND $8 + 0.014))
		    AND c.competence = ANY($1::text[])
		    AND ($4 = 0::bigint OR c.citizen_id IS DISTINCT FROM $4)
		    AND ($5 = '' OR c.territory IS NULL OR c.territory = $5)
		    AND ($9 = '' OR c.commune IS NULL OR c.commune = $9)
		  -- Bounded: the latest few times Limit, whatever the place's
		  -- popularity (older ones are mostly past the window anyway).
		  ORDER BY c.id DESC LIMIT 4 * $3
		), ranked AS (
		  -- The cases found carry what is needed: joined back to cases, an
		  -- unanalysed table (a fresh database, a burst of new cases) gets a
		  -- nested loop over every pending case for every one found.
		  SELECT c.id, c.ref, c.competence, COALESCE(c.territory, '') AS territory, c.state,
		         COALESCE(i.ref, '') AS inc, COALESCE(c.citizen_id, 0) AS citizen,
		         row_number() OVER (PARTITION BY c.competence ORDER BY c.id DESC) AS n
		  FROM near c
		  LEFT JOIN incidents i ON i.id = c.incident_id AND i.state = 'open'
		  WHERE (c.incident_id IS NULL OR i.id IS NOT NULL)
		    AND EXISTS (SELECT 1 FROM requests r WHERE r.case_id = c.id AND r.received_at >= $2)
		)
		SELECT c.id, c.ref, c.competence, c.territory, c.state, c.inc, c.citizen,
		       (SELECT jsonb_agg(jsonb_build_object('id', r.payload->'id', 'channel', r.payload->'channel',
		                 'subject', r.payload->'subject', 'body', r.payload->'body', 'transcript', r.payload->'transcript',
		                 'location', r.payload->'location', 'received_at', r.payload->'received_at',
		                 'citizen', jsonb_strip_nulls(jsonb_build_object('name', r.payload->'citizen'->'name',
		                                                                'address', r.payload->'citizen'->'address')))
		                 ORDER BY r.received_at)
		        FROM requests r WHERE r.case_id = c.id)
		FROM ranked c WHERE c.n <= $3
		ORDER BY c.id DESC`, q.Competences, q.Since, q.Limit, q.NotCitizen, q.Territory, placeKeys(q.Places), q.Lat, q.Lon, q.Commune)
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: incident cases: %w", err))
	}
	defer rows.Close()
	var out []GroupCandidate
	for rows.Next() {
		var ic GroupCandidate
		var reqs []byte
		if err := rows.Scan(&ic.Case.ID, &ic.Case.Ref, &ic.Case.Competence, &ic.Case.Territory, &ic.Case.State, &ic.Incident, &ic.Citizen, &reqs); err != nil {
			return nil, fault.E(fault.Transient, fmt.Errorf("casestore: incident cases: %w", err))
		}
		if len(reqs) > 0 {
			if err := json.Unmarshal(reqs, &ic.Requests); err != nil {
				return nil, fault.E(fault.Permanent, fmt.Errorf("casestore: requests of %s: %w", ic.Case.Ref, err))
			}
		}
		out = append(out, ic)
	}
	if err := rows.Err(); err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: incident cases: %w", err))
	}
	// In a batch, its requests are written at its end: the cases it
	// opened are read from memory.
	return t.withBatchCandidates(q, out), nil
}

// NewIncident is what an incident is opened with.
type NewIncident struct {
	Competence, Territory, Commune, Place, Label string
	Lat, Lon                                     *float64
	At                                           time.Time
}

// OpenIncident opens an incident and returns its reference
// (INC-<year>-<n>).
func (t *RouteTx) OpenIncident(ctx context.Context, ni NewIncident) (string, error) {
	var ref string
	err := t.tx.QueryRow(ctx, `
		INSERT INTO incidents (ref, competence, territory, commune, place, label, lat, lon, first_reported_at, last_reported_at)
		VALUES ('INC-' || to_char($8::timestamptz AT TIME ZONE 'Europe/Paris', 'YYYY') || '-' ||
		        (SELECT lpad(n::text, greatest(6, length(n::text)), '0') FROM nextval('incident_ref_seq') AS n),
		        $1, NULLIF($2, ''), NULLIF($3, ''), $4, $5, $6, $7, $8, $8)
		RETURNING ref`, ni.Competence, ni.Territory, ni.Commune, ni.Place, ni.Label, ni.Lat, ni.Lon, ni.At).Scan(&ref)
	if err != nil {
		return "", fault.E(fault.Transient, fmt.Errorf("casestore: open incident: %w", err))
	}
	return ref, nil
}

// LinkIncident links a case to an open incident and moves the incident's
// latest report to at. It fails with NotFound when the incident is not
// open.
func (t *RouteTx) LinkIncident(ctx context.Context, caseID int64, ref string, at time.Time) error {
	// The incident and the case in one statement (one round trip).
	var id int64
	err := t.tx.QueryRow(ctx, `
		WITH i AS (
		    UPDATE incidents SET last_reported_at = greatest(last_reported_at, $2),
		                         first_reported_at = least(first_reported_at, $2)
		    WHERE ref = $1 AND state = 'open' RETURNING id)
		UPDATE cases c SET incident_id = i.id FROM i WHERE c.id = $3 RETURNING i.id`, ref, at, caseID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return fault.E(fault.NotFound, fmt.Errorf("casestore: incident %s not open", ref))
	}
	if err != nil {
		return fault.E(fault.Transient, fmt.Errorf("casestore: link to %s: %w", ref, err))
	}
	if bc := t.openedCase(caseID); bc != nil {
		bc.incident = ref
	}
	return nil
}

// SuggestIncident records that a case may belong to an incident, for the
// team to decide.
func (t *RouteTx) SuggestIncident(ctx context.Context, caseID int64, ref string, confidence float64, reasons any) error {
	js, err := json.Marshal(reasons)
	if err != nil {
		return fault.E(fault.Permanent, fmt.Errorf("casestore: suggestion reasons: %w", err))
	}
	if _, err := t.tx.Exec(ctx, `
		INSERT INTO incident_suggestions (case_id, incident_id, confidence, reasons)
		SELECT $1, id, $3, $4 FROM incidents WHERE ref = $2
		ON CONFLICT (case_id, incident_id) DO UPDATE SET confidence = EXCLUDED.confidence, reasons = EXCLUDED.reasons`,
		caseID, ref, confidence, js); err != nil {
		return fault.E(fault.Transient, fmt.Errorf("casestore: suggest %s: %w", ref, err))
	}
	return nil
}

// GiveCompetence gives a case that nobody has touched yet (received, in
// no incident) the competence of the incident the router joins it to. It
// fails with Conflict when the case was handled or grouped since it was
// read.
func (t *RouteTx) GiveCompetence(ctx context.Context, caseID int64, competence string) (CaseRow, error) {
	t.touched(caseID, 0)
	var c CaseRow
	err := t.tx.QueryRow(ctx, `
		UPDATE cases SET competence = $2, updated_at = now()
		WHERE id = $1 AND state = 'received' AND incident_id IS NULL
		RETURNING id, ref, competence, COALESCE(territory, ''), state`, caseID, competence).Scan(&c.ID, &c.Ref, &c.Competence, &c.Territory, &c.State)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, fault.E(fault.Conflict, fmt.Errorf("casestore: case %d handled or grouped since", caseID))
	}
	if err != nil {
		return c, fault.E(fault.Transient, fmt.Errorf("casestore: competence of case %d: %w", caseID, err))
	}
	if bc := t.openedCase(caseID); bc != nil {
		bc.row.Competence = c.Competence
	}
	return c, nil
}

// IncidentCompetence is the competence of an open incident; NotFound when
// there is no open incident of that reference.
func (t *RouteTx) IncidentCompetence(ctx context.Context, ref string) (string, error) {
	var comp string
	err := t.tx.QueryRow(ctx, `SELECT competence FROM incidents WHERE ref = $1 AND state = 'open'`, ref).Scan(&comp)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fault.E(fault.NotFound, fmt.Errorf("casestore: incident %s not open", ref))
	}
	if err != nil {
		return "", fault.E(fault.Transient, fmt.Errorf("casestore: incident %s: %w", ref, err))
	}
	return comp, nil
}

// CaseIncident is the reference of the open incident a case is in, ""
// when it is in none.
func (t *RouteTx) CaseIncident(ctx context.Context, caseID int64) (string, error) {
	var ref string
	err := t.tx.QueryRow(ctx, `SELECT COALESCE(i.ref, '') FROM cases c LEFT JOIN incidents i ON i.id = c.incident_id AND i.state = 'open' WHERE c.id = $1`, caseID).Scan(&ref)
	if err != nil {
		return "", fault.E(fault.Transient, fmt.Errorf("casestore: incident of case %d: %w", caseID, err))
	}
	return ref, nil
}

// LockCases locks cases for the rest of the transaction, in id order.
func (t *RouteTx) LockCases(ctx context.Context, ids []int64) error {
	if _, err := t.tx.Exec(ctx, `SELECT id FROM cases WHERE id = ANY($1) ORDER BY id FOR UPDATE`, ids); err != nil {
		return fault.E(fault.Transient, fmt.Errorf("casestore: lock cases: %w", err))
	}
	return nil
}
