package casestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

// Letter is a message that came by post or e-mail, as the mailroom follows
// it: a request (received, routed, failed), or a message rejected before it
// could become one.
type Letter struct {
	RequestID     *string   `json:"request_id"` // null when rejected
	MessageID     string    `json:"message_id"` // where it came from: imap:INBOX:<uidvalidity>:<uid>[:scan] or upload:<sha256>
	Channel       string    `json:"channel"`
	Status        string    `json:"status"` // received | routed | failed | rejected
	ReceivedAt    time.Time `json:"received_at"`
	CaseRef       *string   `json:"case_ref"`
	Sender        string    `json:"sender"`
	Subject       string    `json:"subject"`
	Text          string    `json:"ocr_text"`
	OCRConfidence *float64  `json:"ocr_confidence"`
	ScanKey       string    `json:"scan_key,omitempty"`
	Reason        *string   `json:"reason,omitempty"`
	CorrectedBy   *string   `json:"corrected_by,omitempty"` // the request that replaced this one's text
	// Supersedes is the request whose text this one corrected (empty for
	// a letter as read), and Operator who uploaded or corrected it.
	Supersedes string `json:"supersedes,omitempty"`
	Operator   string `json:"operator_id,omitempty"`
	// RecordedAt is when Guichet took it in: for a correction, when the
	// text was corrected (its ReceivedAt is the letter's).
	RecordedAt time.Time `json:"recorded_at"`
}

// Letters lists mail and e-mail requests and rejected messages, newest
// first; a letter whose text was corrected is listed with its correction
// (CorrectedBy on the first, Supersedes on the second), the mailroom's desk
// showing them as one.
func (s *Store) Letters(ctx context.Context, limit int) ([]Letter, error) {
	rows, err := s.pool.Query(ctx, `
		(SELECT r.id::text, COALESCE(r.payload->'source'->>'external_id', ''), r.channel, r.status, r.received_at, c.ref,
		       COALESCE(r.payload->'citizen'->>'name', r.payload->'citizen'->>'email', ''),
		       COALESCE(r.payload->>'subject', ''),
		       COALESCE(r.payload->'attachments'->0->>'extracted_text', r.payload->>'body', ''),
		       (r.payload->'attachments'->0->>'ocr_confidence')::float8,
		       COALESCE(r.payload->'attachments'->0->>'object_key', ''),
		       r.failure, r.superseded_by::text,
		       COALESCE(r.payload->>'supersedes', ''), COALESCE(r.payload->'source'->>'operator_id', ''), r.recorded_at
		FROM requests r LEFT JOIN cases c ON c.id = r.case_id
		WHERE r.channel IN ('mail', 'email')
		ORDER BY r.received_at DESC LIMIT $1)
		UNION ALL
		(SELECT NULL, message_key, 'mail', 'rejected', received_at, NULL, sender, subject, '', NULL, '', reason, NULL,
		        '', '', rejected_at
		FROM mail_rejections ORDER BY received_at DESC LIMIT $1)
		ORDER BY 5 DESC, 2 DESC
		LIMIT $1`, limit)
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: letters: %w", err))
	}
	letters, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Letter])
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: letters: %w", err))
	}
	return letters, nil
}

// MailRejection is a message the mail channel could not turn into a
// request.
type MailRejection struct {
	MessageKey string // imap:<mailbox>:<uidvalidity>:<uid>
	Sender     string
	Subject    string
	Reason     string
	ReceivedAt time.Time
}

// RecordMailRejection keeps a rejection for the mailroom; recording the
// same message again keeps the newest reason.
func (s *Store) RecordMailRejection(ctx context.Context, r MailRejection) error {
	if r.ReceivedAt.IsZero() {
		r.ReceivedAt = time.Now()
	}
	// What a broken message says is kept, minus what PostgreSQL refuses.
	clean := func(s string) string { return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "") }
	r.MessageKey, r.Sender, r.Subject, r.Reason = clean(r.MessageKey), clean(r.Sender), clean(r.Subject), clean(r.Reason)
	_, err := s.pool.Exec(ctx, `
		INSERT INTO mail_rejections (message_key, sender, subject, reason, received_at)
		VALUES ($1, left($2, 300), left($3, 300), left($4, 2000), $5)
		ON CONFLICT (message_key) DO UPDATE SET reason = EXCLUDED.reason, rejected_at = now()`,
		r.MessageKey, r.Sender, r.Subject, r.Reason, r.ReceivedAt)
	if err != nil {
		return fault.E(fault.Transient, fmt.Errorf("casestore: record rejection of %s: %w", r.MessageKey, err))
	}
	return nil
}

// Request returns a recorded request as it was published.
func (s *Store) Request(ctx context.Context, id string) (schemas.Request, error) {
	var req schemas.Request
	var raw []byte
	err := s.pool.QueryRow(ctx, `SELECT payload FROM requests WHERE id = $1`, id).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return req, notFound("request", id)
	}
	if err != nil {
		return req, fault.E(fault.Transient, fmt.Errorf("casestore: request %s: %w", id, err))
	}
	if err := json.Unmarshal(raw, &req); err != nil {
		return req, fmt.Errorf("casestore: request %s: %w", id, err)
	}
	return req, nil
}

// MarkSuperseded records that request old was replaced by request by (a
// corrected text).
func (s *Store) MarkSuperseded(ctx context.Context, old, by string) error {
	if _, err := s.pool.Exec(ctx, `UPDATE requests SET superseded_by = $2 WHERE id = $1`, old, by); err != nil {
		return fault.E(fault.Transient, fmt.Errorf("casestore: mark %s superseded: %w", old, err))
	}
	return nil
}

// Holder is a request that carries a file, with the case it is in (empty
// before routing), for the scope check of whoever asks for the file.
type Holder struct {
	RequestID  string
	Channel    string
	CaseRef    string
	Competence string
	Territory  string
}

// FileHolders lists the requests that carry the attachment or scan of
// that SHA-256 (most recent first, at most 50); none means no request
// does, and the file is served to nobody.
func (s *Store) FileHolders(ctx context.Context, sha string) ([]Holder, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT r.id::text, r.channel, COALESCE(c.ref, ''), COALESCE(c.competence, ''), COALESCE(c.territory, '')
		FROM requests r LEFT JOIN cases c ON c.id = r.case_id
		WHERE r.payload->'attachments' @> jsonb_build_array(jsonb_build_object('sha256', $1::text))
		ORDER BY r.id DESC LIMIT 50`, sha)
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: holders of %s: %w", sha, err))
	}
	holders, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Holder])
	if err != nil {
		return nil, fault.E(fault.Transient, fmt.Errorf("casestore: holders of %s: %w", sha, err))
	}
	return holders, nil
}
