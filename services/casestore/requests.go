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
	"github.com/ampmetropole/guichet/services/fault"
)

// execer is what both the pool and a transaction offer.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

func insertRequest(ctx context.Context, q execer, r schemas.Request, raw []byte) error {
	// No conflict target: the intake and the router may insert the same
	// request at the same moment, and then the clash can show on either
	// unique index (id or tracking code).
	_, err := q.Exec(ctx, `
		INSERT INTO requests (id, tracking_code, channel, received_at, payload)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT DO NOTHING`, r.ID, r.TrackingCode, r.Channel, r.ReceivedAt, raw)
	if err != nil {
		return fault.E(fault.Transient, fmt.Errorf("casestore: record request %s: %w", r.ID, err))
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
		b.Queue(`INSERT INTO requests (id, tracking_code, channel, received_at, payload) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
			r.Request.ID, r.Request.TrackingCode, r.Request.Channel, r.Request.ReceivedAt, r.Raw)
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
}

// RequestStatus returns the status of request id.
func (s *Store) RequestStatus(ctx context.Context, id string) (RequestStatus, error) {
	var st RequestStatus
	err := s.pool.QueryRow(ctx, `
		SELECT r.id::text, r.status, c.ref, r.channel, r.received_at, r.routed_at, r.failure, r.tracking_code
		FROM requests r LEFT JOIN cases c ON c.id = r.case_id
		WHERE r.id = $1`, id).
		Scan(&st.ID, &st.Status, &st.CaseRef, &st.Channel, &st.ReceivedAt, &st.RoutedAt, &st.Failure, &st.TrackingCode)
	if errors.Is(err, pgx.ErrNoRows) {
		return st, notFound("request", id)
	}
	if err != nil {
		return st, fault.E(fault.Transient, fmt.Errorf("casestore: request %s: %w", id, err))
	}
	return st, nil
}
