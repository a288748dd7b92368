-- +goose Up
-- One lifecycle for every competence: who holds a case, what it waits for,
-- its deadline in business hours (paused while it waits: the hours left
-- are kept), and when that deadline was breached (the timer fires once).
ALTER TABLE cases ADD COLUMN assignee text;
ALTER TABLE cases ADD COLUMN waiting_on text CHECK (waiting_on IN ('citizen', 'third_party'));
ALTER TABLE cases ADD COLUMN redirect_to text;
ALTER TABLE cases ADD COLUMN deadline_left interval;
ALTER TABLE cases ADD COLUMN breached_at timestamptz;
ALTER TABLE cases ADD CONSTRAINT cases_state_known CHECK (state IN
    ('received', 'qualified', 'in_progress', 'waiting', 'resolved', 'closed', 'rejected', 'redirected', 'merged'));

-- The timer looks for running deadlines that have passed.
CREATE INDEX cases_deadline_due ON cases (deadline)
    WHERE breached_at IS NULL AND deadline IS NOT NULL AND state IN ('received', 'qualified', 'in_progress');

-- French full-text search over what citizens wrote, accents ignored.
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE TEXT SEARCH CONFIGURATION guichet_fr (COPY = french);
ALTER TEXT SEARCH CONFIGURATION guichet_fr ALTER MAPPING FOR hword, hword_part, word WITH unaccent, french_stem;
-- +goose StatementBegin
CREATE FUNCTION request_text(p jsonb) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(p->>'subject', '') || ' ' || coalesce(p->>'body', '') || ' ' ||
           coalesce(p->'attachments'->0->>'extracted_text', '') || ' ' ||
           coalesce((SELECT string_agg(t->>'text', ' ') FROM jsonb_array_elements(coalesce(p->'transcript', '[]'::jsonb)) t), '')
$$;
-- +goose StatementEnd
CREATE INDEX requests_search ON requests USING gin (to_tsvector('guichet_fr', request_text(payload)));

-- +goose Down
DROP INDEX requests_search;
DROP FUNCTION request_text(jsonb);
DROP TEXT SEARCH CONFIGURATION guichet_fr;
DROP INDEX cases_deadline_due;
ALTER TABLE cases DROP CONSTRAINT cases_state_known;
ALTER TABLE cases DROP COLUMN breached_at;
ALTER TABLE cases DROP COLUMN deadline_left;
ALTER TABLE cases DROP COLUMN redirect_to;
ALTER TABLE cases DROP COLUMN waiting_on;
ALTER TABLE cases DROP COLUMN assignee;
