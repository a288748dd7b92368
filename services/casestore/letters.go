package casestore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ampmetropole/guichet/services/fault"
)

// Letter is a request that came by post or e-mail, as the mailroom follows
// it.
type Letter struct {
	RequestID     string    `json:"request_id"`
	MessageID     string    `json:"message_id"` // where it came from: imap:INBOX:<uidvalidity>:<uid>[:scan] or upload:<sha256>
	Channel       string    `json:"channel"`
	Status        string    `json:"status"`
	ReceivedAt    time.Time `json:"received_at"`
	CaseRef       *string   `json:"case_ref"`
	Subject       string    `json:"subject"`
	Text          string    `json:"ocr_text"`
	OCRConfidence *float64  `json:"ocr_confidence"`
	ScanKey       string    `json:"scan_key,omitempty"`
	Reason        *string   `json:"reason,omitempty"`
}

// Letters lists mail and e-mail requests, newest first.
func (s *Store) Letters(ctx context.Context, limit int) ([]Letter, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT r.id::text, COALESCE(r.payload->'source'->>'external_id', ''), r.channel, r.status, r.received_at, c.ref,
		       COALESCE(r.payload->>'subject', ''),
		       COALESCE(r.payload->'attachments'->0->>'extracted_text', r.payload->>'body', ''),
		       (r.payload->'attachments'->0->>'ocr_confidence')::float8,
		       COALESCE(r.payload->'attachments'->0->>'object_key', ''),
		       r.failure
		FROM requests r LEFT JOIN cases c ON c.id = r.case_id
		WHERE r.channel IN ('mail', 'email')
		ORDER BY r.received_at DESC, r.id DESC
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
