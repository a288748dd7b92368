package casestore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

// execer is what both the pool and a transaction offer.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

func insertRequest(ctx context.Context, q execer, r schemas.Request, raw []byte) error {
	// No conflict target: the intake and the router may insert the same
	// request at the same moment, and then the clash can show on either
	// unique index (id or tracking code).
	_, err := q.Exec(ctx, insertRequestSQL, r.ID, r.TrackingCode, r.Channel, r.ReceivedAt, raw, threadOf(r))
	if err != nil {
		return fault.E(fault.Transient, fmt.Errorf("casestore: record request %s: %w", r.ID, err))
	}
	return nil
}

// insertRequestSQL records a request; its thread is the one of the request
// its status page was written from ($6), if any.
const insertRequestSQL = `
		INSERT INTO requests (id, tracking_code, channel, received_at, payload, thread_id)
		VALUES ($1, $2, $3, $4, $5, (SELECT COALESCE(p.thread_id, p.id) FROM requests p WHERE p.id = $6::uuid))
		ON CONFLICT DO NOTHING`

// threadOf is the earlier request whose status page a follow-up was sent
// from (link by tracking code), else nil: the request starts its thread.
func threadOf(r schemas.Request) *string {
	if r.Link != nil && r.Link.By == schemas.LinkByTrackingCode && r.Link.RequestID != "" {
		return &r.Link.RequestID
	}
	return nil
}

// RecordReceived notes that a request was accepted, so that its status can be
// asked before the router has handled it. Recording twice is harmless.
func (s *Store) RecordReceived(ctx context.Context, r schemas.Request, raw []byte) error {
	return insertRequest(ctx, s.pool, r, raw)
}

// Received is a request just accepted, to record.
type Received struct {
	Request schemas.Request
	Raw     []byte
}

// RecordReceivedBatch records several accepted requests in one round trip
// and one commit (the intake groups concurrent acceptances).
func (s *Store) RecordReceivedBatch(ctx context.Context, rs []Received) error {
	// In id order, as the router claims them: two batches holding some of
	// the same rows cannot wait on each other.
	rs = slices.Clone(rs)
	slices.SortFunc(rs, func(a, b Received) int { return strings.Compare(a.Request.ID, b.Request.ID) })
	b := &pgx.Batch{}
	for _, r := range rs {
		b.Queue(insertRequestSQL, r.Request.ID, r.Request.TrackingCode, r.Request.Channel, r.Request.ReceivedAt, r.Raw, threadOf(r.Request))
	}
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return fault.E(fault.Transient, fmt.Errorf("casestore: record %d requests: %w", len(rs), err))
	}
	return nil
}

// MarkFailed records why a request could not be routed. The request is kept
// (or recorded now) so that a person can see and replay it.
func (s *Store) MarkFailed(ctx context.Context, r schemas.Request, raw []byte, reason string) error {
	if err := insertRequest(ctx, s.pool, r, raw); err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, `UPDATE requests SET status = 'failed', failure = $2 WHERE id = $1 AND status <> 'routed'`,
		r.ID, reason); err != nil {
		return fault.E(fault.Transient, fmt.Errorf("casestore: mark %s failed: %w", r.ID, err))
	}
	return nil
}

// RequestStatus is where a request stands.
type RequestStatus struct {
	ID           string     `json:"id"`
	Status       string     `json:"status"` // received | routed | failed
	CaseRef      *string    `json:"case_ref"`
	Channel      string     `json:"channel"`
	ReceivedAt   time.Time  `json:"received_at"`
	RoutedAt     *time.Time `json:"routed_at,omitempty"`
	Failure      *string    `json:"failure,omitempty"`
	TrackingCode string     `json:"-"`
	// Who may read it: the system that submitted it (source.system, ""
	// for Guichet's channels), and those who see its case.
	System     string `json:"-"`
	Competence string `json:"-"` // of its case, "" before routing
	Territory  string `json:"-"` // of its case
}

// RequestStatus returns the status of request id.
func (s *Store) RequestStatus(ctx context.Context, id string) (RequestStatus, error) {
	var st RequestStatus
	err := s.pool.QueryRow(ctx, `
		SELECT r.id::text, r.status, c.ref, r.channel, r.received_at, r.routed_at, r.failure, r.tracking_code,
		       COALESCE(r.payload->'source'->>'system', ''), COALESCE(c.competence, ''), COALESCE(c.territory, '')
		FROM requests r LEFT JOIN cases c ON c.id = r.case_id
		WHERE r.id = $1`, id).
		Scan(&st.ID, &st.Status, &st.CaseRef, &st.Channel, &st.ReceivedAt, &st.RoutedAt, &st.Failure, &st.TrackingCode,
			&st.System, &st.Competence, &st.Territory)
	if errors.Is(err, pgx.ErrNoRows) {
		return st, notFound("request", id)
	}
	if err != nil {
		return st, fault.E(fault.Transient, fmt.Errorf("casestore: request %s: %w", id, err))
	}
	return st, nil
}

// RequestSystem returns which other system submitted a recorded request
// (source.system; "" for Guichet's own channels); found is false when the
// id is unknown.
func (s *Store) RequestSystem(ctx context.Context, id string) (string, bool, error) {
	var system string
	err := s.pool.QueryRow(ctx, `SELECT COALESCE(payload->'source'->>'system', '') FROM requests WHERE id = $1`, id).Scan(&system)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fault.E(fault.Transient, fmt.Errorf("casestore: system of request %s: %w", id, err))
	}
	return system, true, nil
}
