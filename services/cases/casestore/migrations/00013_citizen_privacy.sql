-- +goose Up
-- What keeps one citizen's data from another (issue #13).

-- A status page shows one thread: the request of its tracking code and the
-- follow-ups sent from that page (NULL: the request starts its own thread).
-- Sharing a typed e-mail address with someone proves nothing, so a case's
-- other requests are never shown, even "the same citizen's".
ALTER TABLE requests ADD COLUMN thread_id uuid REFERENCES requests (id);
CREATE INDEX requests_thread ON requests (thread_id) WHERE thread_id IS NOT NULL;
-- Follow-ups sent before this migration name their thread by its code.
UPDATE requests f SET thread_id = COALESCE(p.thread_id, p.id)
FROM requests p
WHERE f.payload->'source'->>'external_id' LIKE 'suivi:%'
  AND p.tracking_code = substr(f.payload->'source'->>'external_id', 7)
  AND p.id <> f.id;

-- A reply is addressed to one request (the contact it answers): only that
-- request's thread shows it, through merges, splits and re-routing.
ALTER TABLE case_events ADD COLUMN recipient_request uuid REFERENCES requests (id);
CREATE INDEX case_events_recipient ON case_events (recipient_request) WHERE recipient_request IS NOT NULL;
-- Replies written before: to the first request of their case whose citizen
-- has the address or number replied to, else to the case's first request
-- of the case's own citizen (whom the reply form addressed by default).
ALTER TABLE case_events DISABLE TRIGGER case_events_append_only;
UPDATE case_events e SET recipient_request = (
    SELECT r.id FROM requests r LEFT JOIN citizens z ON z.id = r.citizen_id
    WHERE r.case_id = e.case_id
    ORDER BY (z.email = lower(btrim(e.payload->'data'->>'to')) OR z.phone = btrim(e.payload->'data'->>'to')) IS TRUE DESC,
             (r.citizen_id = (SELECT citizen_id FROM cases WHERE id = e.case_id)) IS TRUE DESC,
             r.received_at, r.id
    LIMIT 1)
WHERE e.type = 'replied';
ALTER TABLE case_events ENABLE TRIGGER case_events_append_only;

-- Files are served to staff only within the scope of a case that holds
-- them: find the requests carrying an attachment by its hash.
CREATE INDEX requests_attachments ON requests USING gin ((payload->'attachments') jsonb_path_ops);

-- Acknowledgements are limited per recipient address: a message is
-- reserved (delivered false) under a lock of its address, counted, sent,
-- then marked delivered.
CREATE INDEX notifications_recipient ON notifications (recipient, kind, sent_at);
ALTER TABLE notifications ADD COLUMN delivered boolean NOT NULL DEFAULT true;

-- Other systems have roles of their own: the telephony reports calls, a
-- partner submits requests. Tokens only; people keep their roles.
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_role_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_role_check
    CHECK (role IN ('agent', 'mailroom', 'team', 'supervisor', 'admin', 'telephony', 'partner'));

-- +goose Down
-- The systems' tokens cannot exist under the older rule: they go.
DELETE FROM api_tokens WHERE role IN ('telephony', 'partner');
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_role_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_role_check
    CHECK (role IN ('agent', 'mailroom', 'team', 'supervisor', 'admin'));
ALTER TABLE notifications DROP COLUMN delivered;
DROP INDEX notifications_recipient;
DROP INDEX requests_attachments;
DROP INDEX case_events_recipient;
ALTER TABLE case_events DROP COLUMN recipient_request;
DROP INDEX requests_thread;
ALTER TABLE requests DROP COLUMN thread_id;
