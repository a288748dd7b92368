-- +goose Up
-- People correct the router: re-route a case, move requests between cases
-- (undo a link, split), merge and unmerge. A request may thus have several
-- decisions; the latest is in force, the earlier ones stay as history.
ALTER TABLE routing_decisions DROP CONSTRAINT routing_decisions_request_id_key;
CREATE INDEX routing_decisions_request ON routing_decisions (request_id, decided_at DESC);
ALTER TABLE routing_decisions DROP CONSTRAINT routing_decisions_outcome_check;
ALTER TABLE routing_decisions ADD CONSTRAINT routing_decisions_outcome_check
    CHECK (outcome IN ('new_case', 'linked', 'rerouted', 'moved'));

-- A merged case points to the case it went into, and remembers its state
-- to get it back if the merge is undone.
ALTER TABLE cases ADD COLUMN merged_into bigint REFERENCES cases (id);
ALTER TABLE cases ADD COLUMN state_before_merge text;

-- +goose Down
ALTER TABLE cases DROP COLUMN state_before_merge;
ALTER TABLE cases DROP COLUMN merged_into;
ALTER TABLE routing_decisions DROP CONSTRAINT routing_decisions_outcome_check;
ALTER TABLE routing_decisions ADD CONSTRAINT routing_decisions_outcome_check CHECK (outcome IN ('new_case', 'linked'));
DROP INDEX routing_decisions_request;
ALTER TABLE routing_decisions ADD CONSTRAINT routing_decisions_request_id_key UNIQUE (request_id);
