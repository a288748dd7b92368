-- +goose Up
-- A queue filtered by channel asked, for each case it read, whether one of
-- its requests came by that channel: tens of thousands of probes of the
-- requests to count a supervisor's pending cases. The case now keeps the
-- channels of its requests, sorted. The router writes them as it opens a
-- case or adds a request to one; a request moved to another case (split,
-- merge, unmerge) carries them over by trigger, on both cases.
-- +goose StatementBegin
CREATE FUNCTION channels_with(a text[], b text[]) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT COALESCE(array_agg(DISTINCT x ORDER BY x), '{}') FROM unnest(a || b) x WHERE x IS NOT NULL
$$;
-- +goose StatementEnd
ALTER TABLE cases ADD COLUMN channels text[] NOT NULL DEFAULT '{}';
UPDATE cases c SET channels = x.channels
    FROM (SELECT case_id, array_agg(DISTINCT channel ORDER BY channel) AS channels
          FROM requests WHERE case_id IS NOT NULL GROUP BY case_id) x
    WHERE c.id = x.case_id;

-- A supervisor's queue walks the pending cases in its order and filters
-- them: the index it walks holds the channels too, so that the walk reads
-- the index alone. And the counts of the pending states read an index of
-- the pending cases led by their state, which holds what the filters test.
CREATE INDEX cases_pending_next ON cases (deadline, opened_at, id) INCLUDE (state, competence, territory, breached_at, channels)
    WHERE state IN ('received', 'qualified', 'in_progress', 'waiting', 'resolved');
DROP INDEX cases_pending;
ALTER INDEX cases_pending_next RENAME TO cases_pending;
CREATE INDEX cases_pending_counts ON cases (state, competence, territory) INCLUDE (channels, deadline, breached_at)
    WHERE state IN ('received', 'qualified', 'in_progress', 'waiting');
-- Other queues (all cases, the closed ones) walk every case in the same
-- order, past the pending ones first: the index holds the state and scope
-- it filters on, so that the walk does not visit the table for each.
CREATE INDEX cases_order_next ON cases (deadline, opened_at, id) INCLUDE (state, competence, territory);
DROP INDEX cases_order;
ALTER INDEX cases_order_next RENAME TO cases_order;

-- +goose StatementBegin
CREATE FUNCTION cases_channels_follow_request() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE cases c SET channels = ARRAY(SELECT DISTINCT r.channel FROM requests r WHERE r.case_id = c.id ORDER BY 1)
    WHERE c.id IN (OLD.case_id, NEW.case_id);
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
-- Only a move: the first routing writes the channel itself.
CREATE TRIGGER requests_case_channels AFTER UPDATE OF case_id ON requests FOR EACH ROW
    WHEN (OLD.case_id IS NOT NULL AND OLD.case_id IS DISTINCT FROM NEW.case_id)
    EXECUTE FUNCTION cases_channels_follow_request();

-- +goose Down
DROP TRIGGER requests_case_channels ON requests;
DROP FUNCTION cases_channels_follow_request();
DROP INDEX cases_pending_counts;
CREATE INDEX cases_order_prev ON cases (deadline, opened_at, id);
DROP INDEX cases_order;
ALTER INDEX cases_order_prev RENAME TO cases_order;
CREATE INDEX cases_pending_prev ON cases (deadline, opened_at, id) INCLUDE (state, competence, territory, breached_at)
    WHERE state IN ('received', 'qualified', 'in_progress', 'waiting', 'resolved');
DROP INDEX cases_pending;
ALTER INDEX cases_pending_prev RENAME TO cases_pending;
ALTER TABLE cases DROP COLUMN channels;
DROP FUNCTION channels_with(text[], text[]);
