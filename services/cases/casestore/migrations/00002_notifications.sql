-- +goose Up
-- Messages sent to citizens (acknowledgements…), so that a redelivered
-- request does not send them twice.
CREATE TABLE notifications (
    request_id  uuid NOT NULL,
    kind        text NOT NULL,
    recipient   text NOT NULL,
    sent_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (request_id, kind)
);

-- The status page finds a request by its tracking code (already unique) and
-- the other contacts of the same citizen in the same case.
CREATE INDEX requests_case_citizen ON requests (case_id, citizen_id);

-- +goose Down
DROP INDEX requests_case_citizen;
DROP TABLE notifications;
