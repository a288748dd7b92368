-- +goose Up
-- A million cases: the queues must not sort or count them all.
-- The unfinished cases (what a queue shows first, what the dashboard
-- counts) are a few per cent of them: a partial index in the queue's order
-- lists them, and counts them by state and scope without reading the table.
CREATE INDEX cases_pending ON cases (deadline, opened_at, id) INCLUDE (state, competence, territory)
    WHERE state IN ('received', 'qualified', 'in_progress', 'waiting', 'resolved');
-- The whole history in the queue's order, for "every state" and the
-- finished states, page after page; and the same within a team's scope.
CREATE INDEX cases_order ON cases (deadline, opened_at, id);
DROP INDEX cases_queue;
CREATE INDEX cases_queue ON cases (competence, territory, state, deadline, opened_at, id);
-- A case's requests in the order of arrival (UUIDv7) with their channel,
-- so that the channel filter and the dashboard's first contacts read the
-- index only, not the requests' large rows.
CREATE INDEX requests_case_arrival ON requests (case_id, id) INCLUDE (channel) WHERE case_id IS NOT NULL;
DROP INDEX requests_case;

-- +goose Down
CREATE INDEX requests_case ON requests (case_id) WHERE case_id IS NOT NULL;
DROP INDEX requests_case_arrival;
DROP INDEX cases_queue;
CREATE INDEX cases_queue ON cases (competence, territory, state, deadline);
DROP INDEX cases_order;
DROP INDEX cases_pending;
