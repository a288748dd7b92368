-- +goose Up
-- The knowledge base of first-contact answers (issue #16): what the call
-- centre says to questions that need no case (opening hours of the
-- recycling centres, bulky-item collection, parking permits…). Supervisors
-- write the entries; an entry is archived, never deleted, so that the uses
-- counted against it stay. The search text is kept beside the entry, title
-- first, in the same French configuration as the cases' search (accents
-- ignored).
CREATE TABLE knowledge_entries (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title       text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
    body        text NOT NULL CHECK (char_length(body) BETWEEN 1 AND 10000),
    competence  text CHECK (competence <> ''),  -- NULL: any competence
    territory   text CHECK (territory <> ''),   -- NULL: every territory
    review_on   date NOT NULL,
    created_at  timestamptz NOT NULL,
    edited_at   timestamptz NOT NULL,
    edited_by   text NOT NULL,
    version     integer NOT NULL DEFAULT 1,
    archived_at timestamptz,
    doc         tsvector GENERATED ALWAYS AS (
                    setweight(to_tsvector('guichet_fr', title), 'A') || setweight(to_tsvector('guichet_fr', body), 'B')) STORED
);
CREATE INDEX knowledge_entries_doc ON knowledge_entries USING gin (doc);

-- A call answered from an entry: who, when, on which channel. No citizen
-- and no case: the point is that none was needed.
CREATE TABLE knowledge_uses (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entry_id bigint NOT NULL REFERENCES knowledge_entries (id),
    agent    text NOT NULL CHECK (char_length(agent) BETWEEN 1 AND 200),
    channel  text NOT NULL CHECK (channel IN ('phone')),
    used_at  timestamptz NOT NULL
);
CREATE INDEX knowledge_uses_entry ON knowledge_uses (entry_id, used_at);

-- +goose Down
DROP TABLE knowledge_uses;
DROP TABLE knowledge_entries;
