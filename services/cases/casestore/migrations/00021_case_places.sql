-- +goose Up
-- The places a case's requests name (issue #18): street names, bus lines
-- and landmarks as grouping reads them, and the first coordinates given.
-- The router looks for the reports a new one may be grouped with among the
-- cases that share a place with it (GIN), instead of reading the latest
-- fifty of its competence whole. Derived from the citizens' words: emptied
-- with them by the retention purge.
ALTER TABLE cases ADD COLUMN place_keys text[] NOT NULL DEFAULT '{}',
                  ADD COLUMN lat double precision,
                  ADD COLUMN lon double precision;
-- Only the cases still pending are looked up (as GroupCandidates asks).
CREATE INDEX cases_place_keys ON cases USING gin (place_keys) WITH (fastupdate = off)
  WHERE state NOT IN ('resolved', 'closed', 'rejected', 'redirected', 'merged');
CREATE INDEX cases_lat_lon ON cases (lat, lon)
  WHERE lat IS NOT NULL AND state NOT IN ('resolved', 'closed', 'rejected', 'redirected', 'merged');

-- +goose Down
DROP INDEX cases_lat_lon;
DROP INDEX cases_place_keys;
ALTER TABLE cases DROP COLUMN lon, DROP COLUMN lat, DROP COLUMN place_keys;
