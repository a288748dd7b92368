-- +goose Up
-- A search lists the latest matches first. A common phrase ("bac jaune")
-- matches tens of thousands of requests, which the text index returns in no
-- order, and PostgreSQL underestimates such phrases, so it cannot know to
-- walk the latest requests instead. Each search text therefore also holds
-- the month its request arrived, as a lexeme that no text can produce
-- ("§2026-11": the parser never keeps "§"), and a search first asks the text
-- index for the words AND the last months: the index intersects them and
-- returns only that window's matches. The month is read from the request
-- id when it is a UUIDv7 (the order a search sorts by), else from its
-- arrival time.
-- +goose StatementBegin
CREATE FUNCTION search_period(id uuid, at timestamptz) RETURNS tsvector
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT array_to_tsvector(ARRAY['§' || to_char(
        CASE WHEN substr(id::text, 15, 1) = '7'
             THEN to_timestamp(('x' || substr(replace(id::text, '-', ''), 1, 12))::bit(48)::bigint / 1000.0)
             ELSE at END AT TIME ZONE 'UTC', 'YYYY-MM')])
$$;
-- +goose StatementEnd
UPDATE request_search s SET doc = s.doc || search_period(r.id, r.received_at)
    FROM requests r WHERE r.id = s.request_id;

-- +goose Down
UPDATE request_search SET doc = ts_delete(doc, ARRAY(SELECT l FROM unnest(tsvector_to_array(doc)) l WHERE l LIKE '§%'))
    WHERE EXISTS (SELECT 1 FROM unnest(tsvector_to_array(doc)) l WHERE l LIKE '§%');
DROP FUNCTION search_period(uuid, timestamptz);
