-- +goose Up
-- The case history: citizens, cases, their append-only events, the requests
-- received from every channel and the routing decision taken for each.

CREATE TABLE citizens (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text,
    email       text,  -- normalized: trimmed, lower case
    phone       text,  -- E.164
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT citizens_email_normalized CHECK (email IS NULL OR email = lower(btrim(email))),
    CONSTRAINT citizens_phone_e164 CHECK (phone IS NULL OR phone ~ '^\+[1-9][0-9]{6,14}$')
);
CREATE UNIQUE INDEX citizens_email_key ON citizens (email) WHERE email IS NOT NULL;
CREATE UNIQUE INDEX citizens_phone_key ON citizens (phone) WHERE phone IS NOT NULL;

-- Case references read AMP-<year>-<sequence, 6 digits or more>.
CREATE SEQUENCE case_ref_seq;

CREATE TABLE cases (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ref         text NOT NULL UNIQUE CHECK (ref ~ '^AMP-[0-9]{4}-[0-9]{6,}$'),
    competence  text NOT NULL,
    territory   text,
    state       text NOT NULL DEFAULT 'received',
    priority    text NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    deadline    timestamptz,
    citizen_id  bigint REFERENCES citizens (id),
    opened_at   timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cases_queue ON cases (competence, territory, state, deadline);
CREATE INDEX cases_citizen ON cases (citizen_id) WHERE citizen_id IS NOT NULL;

CREATE TABLE requests (
    id             uuid PRIMARY KEY,
    tracking_code  text NOT NULL UNIQUE,
    channel        text NOT NULL,
    received_at    timestamptz NOT NULL,
    status         text NOT NULL DEFAULT 'received' CHECK (status IN ('received', 'routed', 'failed')),
    payload        jsonb NOT NULL,
    citizen_id     bigint REFERENCES citizens (id),
    case_id        bigint REFERENCES cases (id),
    failure        text,
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    routed_at      timestamptz
);
CREATE INDEX requests_case ON requests (case_id) WHERE case_id IS NOT NULL;

CREATE TABLE case_events (
    id          uuid PRIMARY KEY,
    case_id     bigint NOT NULL REFERENCES cases (id),
    seq         integer NOT NULL CHECK (seq >= 1),
    type        text NOT NULL,
    at          timestamptz NOT NULL,
    actor_kind  text NOT NULL,
    actor_id    text,
    request_id  uuid REFERENCES requests (id),
    payload     jsonb NOT NULL,  -- the case-event.v1 message as published
    UNIQUE (case_id, seq)
);
-- One contact adds at most one event of a kind to a case: a replay cannot.
CREATE UNIQUE INDEX case_events_request ON case_events (request_id, type) WHERE request_id IS NOT NULL;

-- +goose StatementBegin
CREATE FUNCTION case_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'case_events is append-only (% refused)', TG_OP;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER case_events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON case_events
    FOR EACH STATEMENT EXECUTE FUNCTION case_events_append_only();

CREATE TABLE routing_decisions (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id     uuid NOT NULL UNIQUE REFERENCES requests (id),
    case_id        bigint NOT NULL REFERENCES cases (id),
    outcome        text NOT NULL CHECK (outcome IN ('new_case', 'linked')),
    competence     text NOT NULL,
    territory      text,
    confidence     real CHECK (confidence BETWEEN 0 AND 1),
    model_version  text NOT NULL,
    reasons        jsonb NOT NULL DEFAULT '[]',
    decided_by     text NOT NULL,
    decided_at     timestamptz NOT NULL DEFAULT now()
);

-- Transactional outbox: events committed with the case, published to CASES
-- after commit, and again by the relay if the first try did not happen.
CREATE TABLE outbox (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    msg_id        text NOT NULL UNIQUE,
    subject       text NOT NULL,
    payload       bytea NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    published_at  timestamptz
);
CREATE INDEX outbox_pending ON outbox (id) WHERE published_at IS NULL;

-- +goose Down
DROP TABLE outbox;
DROP TABLE routing_decisions;
DROP TABLE case_events;
DROP FUNCTION case_events_append_only();
DROP TABLE requests;
DROP TABLE cases;
DROP SEQUENCE case_ref_seq;
DROP TABLE citizens;
