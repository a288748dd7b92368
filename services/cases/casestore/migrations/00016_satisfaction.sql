-- +goose Up
-- One question to the citizen once their case is resolved (issue #15): a
-- score from 1 to 5 and a comment, once per case and thread (each citizen
-- of a case answers for themselves). The competence, territory and channel
-- are those at the time of the answer: the figures the dashboard shows.
CREATE TABLE satisfaction (
    case_id     bigint NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    thread_id   uuid NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    score       smallint NOT NULL CHECK (score BETWEEN 1 AND 5),
    comment     text CHECK (comment IS NULL OR char_length(comment) <= 1000),
    competence  text NOT NULL,
    territory   text,
    channel     text NOT NULL,
    answered_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (case_id, thread_id)
);
CREATE INDEX satisfaction_answered ON satisfaction (answered_at);

-- +goose Down
DROP TABLE satisfaction;
