-- +goose Up
-- A team searches its own competence. With one text index for all, its
-- search intersected the long lists of its competence and territory (800
-- 000 and 1.6 million entries on three million cases) with the words':
-- 50 to 130 ms, and seconds when the planner chose to walk the table
-- backwards. The search text is now partitioned by competence, one
-- partition each, with its own text index (territory and words) and its own
-- statistics: a team's search reads only its competence's lists. A
-- supervisor's reads every partition, each list shorter. A competence added
-- to the catalogue later is searched in the default partition until a
-- migration gives it its own.
CREATE TABLE request_search_by_competence (
    request_id  uuid NOT NULL REFERENCES requests (id),
    doc         tsvector NOT NULL,
    case_id     bigint,
    competence  text NOT NULL,
    territory   text,
    PRIMARY KEY (request_id, competence)
) PARTITION BY LIST (competence);
-- +goose StatementBegin
DO $$
DECLARE c text;
BEGIN
    FOR c IN SELECT unnest(ARRAY['triage', 'voirie', 'proprete', 'dechets', 'eau_assainissement', 'eclairage', 'mobilite',
                                 'stationnement', 'urbanisme', 'habitat', 'environnement', 'espaces_verts', 'economie',
                                 'donnees_personnelles', 'hors_competence'])
             UNION SELECT DISTINCT competence FROM request_search WHERE competence ~ '^[a-z][a-z0-9_]{0,40}$'
    LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF request_search_by_competence FOR VALUES IN (%L)', 'request_search_' || c, c);
    END LOOP;
END;
$$;
-- +goose StatementEnd
CREATE TABLE request_search_other PARTITION OF request_search_by_competence DEFAULT;
-- Loaded first, indexed after: one index build per partition rather than
-- millions of insertions.
INSERT INTO request_search_by_competence (request_id, doc, case_id, competence, territory)
    SELECT request_id, doc, case_id, competence, territory FROM request_search WHERE competence IS NOT NULL ORDER BY request_id;
DROP TABLE request_search;
ALTER TABLE request_search_by_competence RENAME TO request_search;
ALTER INDEX request_search_by_competence_pkey RENAME TO request_search_pkey;
CREATE INDEX request_search_doc ON request_search USING gin (territory, doc);
ANALYZE request_search;

-- +goose Down
CREATE TABLE request_search_flat (
    request_id  uuid PRIMARY KEY REFERENCES requests (id),
    doc         tsvector NOT NULL,
    case_id     bigint,
    competence  text,
    territory   text
);
INSERT INTO request_search_flat SELECT request_id, doc, case_id, competence, territory FROM request_search ON CONFLICT DO NOTHING;
DROP TABLE request_search;
ALTER TABLE request_search_flat RENAME TO request_search;
ALTER INDEX request_search_flat_pkey RENAME TO request_search_pkey;
CREATE INDEX request_search_doc ON request_search USING gin (competence, territory, doc);
