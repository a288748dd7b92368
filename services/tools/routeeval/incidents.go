package routeeval

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

// The in-memory history's incidents, with PostgreSQL's rules: it
// implements router.IncidentTx.

func (m *memory) GroupCandidates(_ context.Context, competence string, notCitizen int64, since time.Time, limit int) ([]casestore.GroupCandidate, error) {
	var out []casestore.GroupCandidate
	for i := len(m.cases) - 1; i >= 0 && len(out) < limit; i-- {
		c := m.cases[i]
		if c.row.Competence != competence || c.lastAt.Before(since) || len(c.requests) == 0 || (notCitizen != 0 && c.citizen == notCitizen) {
			continue
		}
		out = append(out, casestore.GroupCandidate{Case: c.row, Incident: m.incidentOf[c.row.ID], Citizen: c.citizen, Requests: slices.Clone(c.requests)})
	}
	return out, nil
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
