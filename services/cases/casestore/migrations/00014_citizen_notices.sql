-- +goose Up
-- What Guichet tells citizens on every channel (issue #15).

-- Letters owed to citizens who wrote by post (acknowledgements of receipt,
-- status notices): the notifier writes them here, once per request and
-- kind; the mailroom prints the day's batch and says when it is posted.
CREATE TABLE postal_notices (
    id            uuid PRIMARY KEY,
    request_id    uuid NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    kind          text NOT NULL,
    recipient     text NOT NULL,  -- the postal address block, one line each
    subject       text NOT NULL,
    body          text NOT NULL,
    case_ref      text,
    tracking_code text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    posted_at     timestamptz,
    posted_by     text,
    UNIQUE (request_id, kind)
);
CREATE INDEX postal_notices_pending ON postal_notices (created_at) WHERE posted_at IS NULL;

-- A citizen may turn status notices off from the status page of a thread
-- (its first request); the acknowledgement of receipt is always sent.
CREATE TABLE notice_preferences (
    thread_id   uuid PRIMARY KEY REFERENCES requests (id) ON DELETE CASCADE,
    notices_off boolean NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE notice_preferences;
DROP TABLE postal_notices;
