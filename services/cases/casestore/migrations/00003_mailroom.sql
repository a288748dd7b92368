-- +goose Up
-- Messages the mail channel could not turn into requests, with the reason,
-- so that the mailroom sees them; the message itself stays in the mailbox's
-- rejected folder and (its first MiB) on the DEAD stream.
CREATE TABLE mail_rejections (
    message_key  text PRIMARY KEY,
    sender       text NOT NULL DEFAULT '',
    subject      text NOT NULL DEFAULT '',
    reason       text NOT NULL,
    received_at  timestamptz NOT NULL,
    rejected_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mail_rejections_received ON mail_rejections (received_at DESC);

-- The mailroom corrects a letter's OCR text by sending a new request that
-- replaces the first; the first keeps its history and points to the second.
ALTER TABLE requests ADD COLUMN superseded_by uuid;
CREATE INDEX requests_mail_received ON requests (received_at DESC) WHERE channel IN ('mail', 'email');

-- +goose Down
DROP INDEX requests_mail_received;
ALTER TABLE requests DROP COLUMN superseded_by;
DROP TABLE mail_rejections;
