package routeeval

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

// The in-memory history's incidents, with PostgreSQL's rules: it
// implements router.IncidentTx.

func (m *memory) GroupCandidates(_ context.Context, q casestore.CandidateQuery) ([]casestore.GroupCandidate, error) {
	var out []casestore.GroupCandidate
	taken := map[string]int{}
	for i := len(m.cases) - 1; i >= 0; i-- {
		c := m.cases[i]
		if !slices.Contains(q.Competences, c.row.Competence) || taken[c.row.Competence] == q.Limit ||
			(q.Territory != "" && c.row.Territory != "" && c.row.Territory != q.Territory) ||
			c.lastAt.Before(q.Since) || len(c.requests) == 0 || (q.NotCitizen != 0 && c.citizen == q.NotCitizen) ||
			!c.near(q) {
			continue
		}
		taken[c.row.Competence]++
		out = append(out, casestore.GroupCandidate{Case: c.row, Incident: m.incidentOf[c.row.ID], Citizen: c.citizen, Requests: slices.Clone(c.requests)})
	}
	return out, nil
}

// near is PostgreSQL's test: a place in common, or within about a
// kilometre.
func (c *memCase) near(q casestore.CandidateQuery) bool {
	for _, k := range q.Places {
		if slices.Contains(c.places, k) {
			return true
		}
	}
	return q.Lat != nil && q.Lon != nil && c.lat != nil && c.lon != nil &&
		math.Abs(*c.lat-*q.Lat) <= 0.01 && math.Abs(*c.lon-*q.Lon) <= 0.014
}

func (m *memory) AddPlaces(_ context.Context, caseID int64, keys []string, lat, lon *float64) error {
	c := m.cases[caseID-1]
	for _, k := range keys {
		if !slices.Contains(c.places, k) {
			c.places = append(c.places, k)
		}
	}
	if c.lat == nil {
		c.lat, c.lon = lat, lon
	}
	return nil
}

func (m *memory) OpenIncident(_ context.Context, ni casestore.NewIncident) (string, error) {
	m.incidents++
	return fmt.Sprintf("INC-%d-%06d", ni.At.Year(), m.incidents), nil
}

func (m *memory) LinkIncident(_ context.Context, caseID int64, ref string, _ time.Time) error {
	if m.incidentOf == nil {
		m.incidentOf = map[int64]string{}
	}
	if ref == "" {
		return fault.E(fault.NotFound, fmt.Errorf("routeeval: incident %q", ref))
	}
	m.incidentOf[caseID] = ref
	return nil
}

func (m *memory) SuggestIncident(_ context.Context, caseID int64, ref string, confidence float64, reasons any) error {
	m.suggested = append(m.suggested, suggestion{caseID, ref, confidence})
	return nil
}

type suggestion struct {
	caseID     int64
	ref        string
	confidence float64
}

func (m *memory) GiveCompetence(_ context.Context, caseID int64, competence string) (casestore.CaseRow, error) {
	c := m.cases[caseID-1]
	if m.incidentOf[caseID] != "" {
		return c.row, fault.E(fault.Conflict, fmt.Errorf("routeeval: case %d grouped", caseID))
	}
	c.row.Competence = competence
	return c.row, nil
}

// IncidentCompetence: route-eval's records never name an incident.
func (m *memory) IncidentCompetence(_ context.Context, ref string) (string, error) {
	return "", fault.E(fault.NotFound, fmt.Errorf("routeeval: incident %q", ref))
}

func (m *memory) CaseIncident(_ context.Context, caseID int64) (string, error) {
	return m.incidentOf[caseID], nil
}

// LockCases: the in-memory history is routed by one goroutine.
func (m *memory) LockCases(context.Context, []int64) error { return nil }
