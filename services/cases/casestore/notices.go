package casestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

// Thread is one citizen's conversation in a case, as the notices to them
// need it: its first request (whose tracking code the citizen keeps), how
// to reach them, and whether they turned status notices off.
type Thread struct {
	ID           string // the thread's first request
	TrackingCode string
	Channel      string
	Citizen      schemas.Citizen
	NoticesOff   bool
}

// CaseThreads lists the threads that have a request in the case, oldest
// first — whom a change of the case's state concerns — with the case's
// state now.
func (s *Store) CaseThreads(ctx context.Context, ref string) (state string, threads []Thread, err error) {
	if err := s.pool.QueryRow(ctx, `SELECT state FROM cases WHERE ref = $1`, ref).Scan(&state); errors.Is(err, pgx.ErrNoRows) {
		return "", nil, notFound("case", ref)
	} else if err != nil {
		return "", nil, fault.E(fault.Transient, fmt.Errorf("casestore: threads of %s: %w", ref, err))
	}
	rows, err := s.pool.Query(ctx, `
		SELECT `+threadColumns+`
		FROM requests t
		LEFT JOIN notice_preferences p ON p.thread_id = t.id
		WHERE t.id IN (SELECT COALESCE(r.thread_id, r.id) FROM requests r JOIN cases c ON c.id = r.case_id WHERE c.ref = $1)
		ORDER BY t.received_at, t.id`, ref)
	if err != nil {
		return "", nil, fault.E(fault.Transient, fmt.Errorf("casestore: threads of %s: %w", ref, err))
	}
	if threads, err = pgx.CollectRows(rows, scanThread); err != nil {
		return "", nil, fault.E(fault.Transient, fmt.Errorf("casestore: threads of %s: %w", ref, err))
	}
	return state, threads, nil
}

// ThreadOf returns the thread a request belongs to: itself, or the request
// whose status page it was sent from.
func (s *Store) ThreadOf(ctx context.Context, requestID string) (Thread, error) {
	if _, err := uuid.Parse(requestID); err != nil {
		return Thread{}, notFound("request", requestID)
	}
	rows, err := s.pool.Query(ctx, `
		SELECT `+threadColumns+`
		FROM requests r JOIN requests t ON t.id = COALESCE(r.thread_id, r.id)
		LEFT JOIN notice_preferences p ON p.thread_id = t.id
		WHERE r.id = $1`, requestID)
	if err != nil {
		return Thread{}, fault.E(fault.Transient, fmt.Errorf("casestore: thread of %s: %w", requestID, err))
	}
	t, err := pgx.CollectExactlyOneRow(rows, scanThread)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, notFound("request", requestID)
	}
	if err != nil {
		return t, fault.E(fault.Transient, fmt.Errorf("casestore: thread of %s: %w", requestID, err))
	}
	return t, nil
}

const threadColumns = `t.id::text, t.tracking_code, t.channel, t.payload, COALESCE(p.notices_off, false)`

func scanThread(row pgx.CollectableRow) (Thread, error) {
	var t Thread
	var raw []byte
	if err := row.Scan(&t.ID, &t.TrackingCode, &t.Channel, &raw, &t.NoticesOff); err != nil {
		return t, err
	}
	var r schemas.Request
	if err := json.Unmarshal(raw, &r); err != nil {
		return t, fmt.Errorf("payload of %s: %w", t.ID, err)
	}
	if r.Citizen != nil {
		t.Citizen = *r.Citizen
	}
	return t, nil
}

// SetNoticesOff turns a thread's status notices off (or on again); code
// is any tracking code of the thread.
func (s *Store) SetNoticesOff(ctx context.Context, code string, off bool) error {
	tag, err := s.pool.Exec(ctx, `
		INSERT INTO notice_preferences (thread_id, notices_off)
		SELECT COALESCE(thread_id, id), $2 FROM requests WHERE tracking_code = $1
		ON CONFLICT (thread_id) DO UPDATE SET notices_off = EXCLUDED.notices_off, updated_at = now()`, code, off)
	if err != nil {
		return fault.E(fault.Transient, fmt.Errorf("casestore: notices of %s: %w", code, err))
	}
	if tag.RowsAffected() == 0 {
		return notFound("tracking code", code)
	}
	return nil
}

// PostalNotice is a letter owed to a citizen: an acknowledgement of receipt
// or a status notice, waiting to be printed and posted.
type PostalNotice struct {
	ID           string
	RequestID    string
	Kind         string
	Recipient    string // the postal address block, one line each
	Subject      string
	Body         string
	CaseRef      string
	TrackingCode string
	CreatedAt    time.Time
	PostedAt     *time.Time
	PostedBy     string
}

// QueuePostalNotice adds a letter to the mailroom's batch, once per
// request and kind: false when it was queued already.
func (s *Store) QueuePostalNotice(ctx context.Context, n PostalNotice) (bool, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return false, fmt.Errorf("casestore: postal notice id: %w", err)
	}
	var ref *string
	if n.CaseRef != "" {
		ref = &n.CaseRef
	}
	tag, err := s.pool.Exec(ctx, `
		INSERT INTO postal_notices (id, request_id, kind, recipient, subject, body, case_ref, tracking_code)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (request_id, kind) DO NOTHING`,
		id, n.RequestID, n.Kind, n.Recipient, n.Subject, n.Body, ref, n.TrackingCode)
	if err != nil {
		return false, fault.E(fault.Transient, fmt.Errorf("casestore: queue postal notice %s/%s: %w", n.RequestID, n.Kind, err))
	}
	return tag.RowsAffected() == 1, nil
}

const postalColumns = `id::text, request_id::text, kind, recipient, subject, body, COALESCE(case_ref, ''), tracking_code, created_at, posted_at, COALESCE(posted_by, '')`

func scanPostal(row pgx.CollectableRow) (PostalNotice, error) {
	var n PostalNotice
	err := row.Scan(&n.ID, &n.RequestID, &n.Kind, &n.Recipient, &n.Subject, &n.Body, &n.CaseRef, &n.TrackingCode, &n.CreatedAt, &n.PostedAt, &n.PostedBy)
	return n, err
}

// PendingPostalNotices lists the letters not posted yet, oldest first, at
// most limit.
func (s *Store) PendingPostalNotices(ctx context.Context, limit int) ([]PostalNotice, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+postalColumns+` FROM postal_notices WHERE posted_at IS NULL ORDER BY created_at, id LIMIT $1`, limit)
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: postal notices: %w", err))
	}
	out, err := pgx.CollectRows(rows, scanPostal)
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: postal notices: %w", err))
	}
	return out, nil
}

// PostalNotice reads one letter owed, posted or not.
func (s *Store) PostalNotice(ctx context.Context, id string) (PostalNotice, error) {
	if _, err := uuid.Parse(id); err != nil {
		return PostalNotice{}, notFound("postal notice", id)
	}
	rows, err := s.pool.Query(ctx, `SELECT `+postalColumns+` FROM postal_notices WHERE id = $1`, id)
	if err != nil {
		return PostalNotice{}, fault.E(fault.Transient, fmt.Errorf("casestore: postal notice %s: %w", id, err))
	}
	n, err := pgx.CollectExactlyOneRow(rows, scanPostal)
	if errors.Is(err, pgx.ErrNoRows) {
		return n, notFound("postal notice", id)
	}
	if err != nil {
		return n, fault.E(fault.Transient, fmt.Errorf("casestore: postal notice %s: %w", id, err))
	}
	return n, nil
}

// MarkPostalPosted records that the letters named were posted (those
// already posted are left as they were) and returns how many it marked.
func (s *Store) MarkPostalPosted(ctx context.Context, ids []string, by string) (int, error) {
	valid := make([]string, 0, len(ids))
	for _, id := range ids {
		if _, err := uuid.Parse(id); err == nil {
			valid = append(valid, id)
		}
	}
	if len(valid) == 0 {
		return 0, nil
	}
	tag, err := s.pool.Exec(ctx, `UPDATE postal_notices SET posted_at = now(), posted_by = $2 WHERE id = ANY($1::uuid[]) AND posted_at IS NULL`, valid, by)
	if err != nil {
		return 0, fault.E(fault.Transient, fmt.Errorf("casestore: postal notices posted: %w", err))
	}
	return int(tag.RowsAffected()), nil
}
