package routeeval

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/caseref"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

// memCase is a case of the in-memory history.
type memCase struct {
	row      casestore.CaseRow
	citizen  int64
	requests []schemas.Request // oldest first
	citizens []int64           // of each request, in the same order
	lastAt   time.Time
	places   []string // incident.Keys of its requests
	lat, lon *float64
}

// memory is a case history in memory with the same rules as PostgreSQL's
// (citizens by e-mail then phone, references AMP-<year>-<n>), for the
// evaluation: it implements router.Tx.
type memory struct {
	byEmail, byPhone map[string]int64
	citizens         int64
	cases            []*memCase
	byRef            map[string]*memCase
	byRequest        map[string]*memCase
	pending          schemas.Request
	incidents        int
	incidentOf       map[int64]string // case id → incident ref
	suggested        []suggestion
}

func newMemory() *memory {
	return &memory{byEmail: map[string]int64{}, byPhone: map[string]int64{}, byRef: map[string]*memCase{}, byRequest: map[string]*memCase{}}
}

func (m *memory) ClaimRequest(_ context.Context, r schemas.Request, _ []byte) error {
	if _, ok := m.byRequest[r.ID]; ok {
		return casestore.ErrAlreadyRouted
	}
	m.pending = r
	return nil
}

func (m *memory) ResolveCitizen(_ context.Context, id casestore.Identity) (int64, error) {
	if id.Email == "" && id.Phone == "" && id.Name == "" {
		return 0, nil
	}
	if c, ok := m.byEmail[id.Email]; ok && id.Email != "" {
		if _, taken := m.byPhone[id.Phone]; !taken && id.Phone != "" {
			m.byPhone[id.Phone] = c
		}
		return c, nil
	}
	if c, ok := m.byPhone[id.Phone]; ok && id.Phone != "" {
		if _, taken := m.byEmail[id.Email]; !taken && id.Email != "" {
			m.byEmail[id.Email] = c
		}
		return c, nil
	}
	m.citizens++
	if id.Email != "" {
		m.byEmail[id.Email] = m.citizens
	}
	if id.Phone != "" {
		m.byPhone[id.Phone] = m.citizens
	}
	return m.citizens, nil
}

func (m *memory) LockCase(_ context.Context, ref string) (casestore.CaseRow, error) {
	if c, ok := m.byRef[ref]; ok {
		return c.row, nil
	}
	return casestore.CaseRow{}, fault.E(fault.NotFound, fmt.Errorf("routeeval: case %s not found", ref))
}

func (m *memory) LockCaseOfRequest(_ context.Context, id string) (casestore.CaseRow, error) {
	if c, ok := m.byRequest[id]; ok {
		return c.row, nil
	}
	return casestore.CaseRow{}, fault.E(fault.NotFound, fmt.Errorf("routeeval: request %s not found", id))
}

func (m *memory) CaseCitizens(_ context.Context, caseID int64) ([]int64, error) {
	c := m.cases[caseID-1]
	var out []int64
	if c.citizen != 0 {
		out = append(out, c.citizen)
	}
	for _, id := range c.citizens {
		if id != 0 && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

func (m *memory) OpenCasesOf(_ context.Context, citizenID int64, since time.Time) ([]casestore.OpenCase, error) {
	var out []casestore.OpenCase
	for _, c := range m.cases {
		if c.citizen != citizenID || c.lastAt.Before(since) || len(c.requests) == 0 {
			continue
		}
		oc := casestore.OpenCase{CaseRow: c.row, LastAt: c.lastAt, Requests: slices.Clone(c.requests)}
		slices.Reverse(oc.Requests)
		out = append(out, oc)
	}
	slices.SortStableFunc(out, func(a, b casestore.OpenCase) int { return b.LastAt.Compare(a.LastAt) })
	return out[:min(len(out), 10)], nil
}

func (m *memory) CreateCase(_ context.Context, nc casestore.NewCase) (casestore.CaseRow, error) {
	return m.create(nc, caseref.Format(2026, 900000+len(m.cases)+1).String()), nil
}

func (m *memory) create(nc casestore.NewCase, ref string) casestore.CaseRow {
	c := &memCase{row: casestore.CaseRow{ID: int64(len(m.cases) + 1), Ref: ref, Competence: nc.Competence, Territory: nc.Territory, State: "received"},
		citizen: nc.CitizenID, places: nc.Places, lat: nc.Lat, lon: nc.Lon}
	m.cases = append(m.cases, c)
	m.byRef[ref] = c
	return c.row
}

func (m *memory) RedirectToCommune(_ context.Context, c *casestore.CaseRow, _, _ string) error {
	c.State = "redirected"
	if mc, ok := m.byRef[c.Ref]; ok {
		mc.row.State = c.State
	}
	return nil
}

func (m *memory) AppendEvent(_ context.Context, c casestore.CaseRow, e schemas.CaseEvent) (schemas.CaseEvent, error) {
	e.CaseRef = c.Ref
	return e, nil
}

func (m *memory) FinishRouted(_ context.Context, d casestore.Decision, citizenID int64) error {
	c := m.cases[d.CaseID-1]
	c.requests = append(c.requests, m.pending)
	c.citizens = append(c.citizens, citizenID)
	c.lastAt = m.pending.ReceivedAt
	m.byRequest[d.RequestID] = c
	return nil
}

// alias gives a case a further reference, as when the evaluation says an
// earlier record's case is the one a later record cites.
func (m *memory) alias(caseID int64, ref string) {
	m.byRef[ref] = m.cases[caseID-1]
}
