package casestore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

// CaseFile is everything the back office shows of a case: the case and its
// history, each contact as it came (web text, call transcript, scanned
// letter with its text, e-mail), the citizen and their other cases, and the
// router's decisions with their reasons.
type CaseFile struct {
	Case
	Requests  []schemas.Request
	Citizen   *CitizenCard // nil when anonymous
	Decisions []DecisionRow
}

// DecisionRow is a routing decision as recorded.
type DecisionRow struct {
	RequestID    string
	Outcome      string
	Competence   string
	Territory    string
	Confidence   *float64
	ModelVersion string
	Reasons      []Reason
	DecidedBy    string
	DecidedAt    time.Time
}

// CaseFile reads a case's whole file.
func (s *Store) CaseFile(ctx context.Context, ref string) (CaseFile, error) {
	var f CaseFile
	var err error
	if f.Case, err = s.Case(ctx, ref); err != nil {
		return f, err
	}
	rows, err := s.pool.Query(ctx, `
		SELECT r.payload FROM requests r JOIN cases c ON c.id = r.case_id WHERE c.ref = $1 ORDER BY r.received_at, r.id`, ref)
	if err != nil {
		return f, fault.E(fault.Transient, fmt.Errorf("casestore: requests of %s: %w", ref, err))
	}
	for rows.Next() {
		var raw []byte
		var req schemas.Request
		if err := rows.Scan(&raw); err != nil {
			rows.Close()
			return f, fault.E(fault.Transient, fmt.Errorf("casestore: requests of %s: %w", ref, err))
		}
		if json.Unmarshal(raw, &req) == nil {
			f.Requests = append(f.Requests, req)
		}
	}
	rows.Close()
	drows, err := s.pool.Query(ctx, `
		SELECT d.request_id::text, d.outcome, d.competence, COALESCE(d.territory, ''), d.confidence, d.model_version, d.reasons, d.decided_by, d.decided_at
		FROM routing_decisions d JOIN requests r ON r.id = d.request_id JOIN cases c ON c.id = r.case_id
		WHERE c.ref = $1 ORDER BY d.decided_at, d.id`, ref)
	if err != nil {
		return f, fault.E(fault.Transient, fmt.Errorf("casestore: decisions of %s: %w", ref, err))
	}
	for drows.Next() {
		var d DecisionRow
		var conf *float32
		var reasons []byte
		if err := drows.Scan(&d.RequestID, &d.Outcome, &d.Competence, &d.Territory, &conf, &d.ModelVersion, &reasons, &d.DecidedBy, &d.DecidedAt); err != nil {
			drows.Close()
			return f, fault.E(fault.Transient, fmt.Errorf("casestore: decisions of %s: %w", ref, err))
		}
		if conf != nil {
			c := float64(*conf)
			d.Confidence = &c
		}
		_ = json.Unmarshal(reasons, &d.Reasons)
		f.Decisions = append(f.Decisions, d)
	}
	drows.Close()
	cards, err := s.FindCitizens(ctx, CitizenQuery{CaseRef: ref}, 1, 20)
	if err != nil {
		return f, err
	}
	if len(cards) == 1 && cards[0].ID != 0 {
		f.Citizen = &cards[0]
	}
	return f, nil
}
