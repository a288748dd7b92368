-- +goose Up
-- The full-text index lived on requests, whose row the router updates: each
-- update rewrote its index entries. The searchable text of a request never
-- changes, so it gets a row of its own, written once.
DROP INDEX requests_search;
CREATE TABLE request_search (
    request_id  uuid PRIMARY KEY REFERENCES requests (id),
    doc         tsvector NOT NULL
);
CREATE INDEX request_search_doc ON request_search USING gin (doc);
INSERT INTO request_search (request_id, doc)
    SELECT id, to_tsvector('guichet_fr', request_text(payload)) FROM requests;

-- +goose Down
DROP TABLE request_search;
CREATE INDEX requests_search ON requests USING gin (to_tsvector('guichet_fr', request_text(payload)));
