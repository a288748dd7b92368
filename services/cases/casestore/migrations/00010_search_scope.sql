-- +goose Up
-- A team searches within its competence and territory: the case's scope is
-- kept beside the search text so that words and scope meet in one index
-- (btree_gin lets a GIN index hold the plain columns), and the case beside
-- it so that a search joins the case directly. The row is written once, when
-- the request is routed; re-routing a case or moving a request to another
-- case (rare) carries the change over by trigger.
CREATE EXTENSION IF NOT EXISTS btree_gin;
ALTER TABLE request_search ADD COLUMN case_id bigint, ADD COLUMN competence text, ADD COLUMN territory text;
UPDATE request_search s SET case_id = r.case_id, competence = c.competence, territory = c.territory
    FROM requests r JOIN cases c ON c.id = r.case_id WHERE r.id = s.request_id;
DROP INDEX request_search_doc;
CREATE INDEX request_search_doc ON request_search USING gin (competence, territory, doc);

-- +goose StatementBegin
CREATE FUNCTION request_search_follow_case() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE request_search SET competence = NEW.competence, territory = NEW.territory
    WHERE request_id IN (SELECT id FROM requests WHERE case_id = NEW.id);
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER cases_search_scope AFTER UPDATE OF competence, territory ON cases FOR EACH ROW
    WHEN (OLD.competence IS DISTINCT FROM NEW.competence OR OLD.territory IS DISTINCT FROM NEW.territory)
    EXECUTE FUNCTION request_search_follow_case();

-- +goose StatementBegin
CREATE FUNCTION request_search_follow_request() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE request_search s SET case_id = c.id, competence = c.competence, territory = c.territory
    FROM cases c WHERE s.request_id = NEW.id AND c.id = NEW.case_id;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
-- Only a move: the first routing writes the row itself.
CREATE TRIGGER requests_search_case AFTER UPDATE OF case_id ON requests FOR EACH ROW
    WHEN (OLD.case_id IS NOT NULL AND OLD.case_id IS DISTINCT FROM NEW.case_id)
    EXECUTE FUNCTION request_search_follow_request();

-- +goose Down
DROP TRIGGER requests_search_case ON requests;
DROP FUNCTION request_search_follow_request();
DROP TRIGGER cases_search_scope ON cases;
DROP FUNCTION request_search_follow_case();
DROP INDEX request_search_doc;
CREATE INDEX request_search_doc ON request_search USING gin (doc);
ALTER TABLE request_search DROP COLUMN territory, DROP COLUMN competence, DROP COLUMN case_id;
