-- +goose Up
-- Incidents (issue #18): cases that different citizens opened about the
-- same physical thing are linked to one incident the team handles once.
-- Each reporter keeps their own case; the router links a new case when it
-- is sure (case event incident_linked) and only suggests below its
-- threshold (incident_suggestions).
CREATE TABLE incidents (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  ref         text NOT NULL UNIQUE,
  competence  text NOT NULL,
  territory   text,
  commune     text,
  place       text NOT NULL DEFAULT '',
  label       text NOT NULL DEFAULT '',
  lat double precision, lon double precision,
  state       text NOT NULL DEFAULT 'open' CHECK (state IN ('open','resolved')),
  first_reported_at timestamptz NOT NULL, last_reported_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(), resolved_at timestamptz
);
CREATE SEQUENCE incident_ref_seq;
CREATE INDEX incidents_open ON incidents (competence, commune, last_reported_at) WHERE state = 'open';
ALTER TABLE cases ADD COLUMN incident_id bigint REFERENCES incidents (id);
CREATE INDEX cases_incident ON cases (incident_id) WHERE incident_id IS NOT NULL;
CREATE TABLE incident_suggestions (
  case_id bigint NOT NULL REFERENCES cases (id),
  incident_id bigint NOT NULL REFERENCES incidents (id),
  confidence double precision NOT NULL,
  reasons jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (case_id, incident_id)
);

-- +goose Down
DROP TABLE incident_suggestions;
DROP INDEX cases_incident;
ALTER TABLE cases DROP COLUMN incident_id;
DROP TABLE incidents;
DROP SEQUENCE incident_ref_seq;
