-- +goose Up
-- request_text was an SQL function with a subquery, which PostgreSQL cannot
-- inline: every statement that called it parsed and planned its body again
-- (9 % of the database's CPU while routing, by perf). In PL/pgSQL its
-- statement is planned once per connection. Same text, same result.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION request_text(p jsonb) RETURNS text LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    RETURN coalesce(p->>'subject', '') || ' ' || coalesce(p->>'body', '') || ' ' ||
           coalesce(p->'attachments'->0->>'extracted_text', '') || ' ' ||
           coalesce((SELECT string_agg(t->>'text', ' ') FROM jsonb_array_elements(coalesce(p->'transcript', '[]'::jsonb)) t), '');
END;
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION request_text(p jsonb) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(p->>'subject', '') || ' ' || coalesce(p->>'body', '') || ' ' ||
           coalesce(p->'attachments'->0->>'extracted_text', '') || ' ' ||
           coalesce((SELECT string_agg(t->>'text', ' ') FROM jsonb_array_elements(coalesce(p->'transcript', '[]'::jsonb)) t), '')
$$;
-- +goose StatementEnd
