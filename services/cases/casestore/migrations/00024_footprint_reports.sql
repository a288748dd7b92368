-- +goose Up
-- The reports of `guichet footprint` (issue #20): the CPU a routed request
-- costs, its energy and carbon with the factors used, the storage per case
-- and the weight of the citizen's pages. The back office's dashboard shows
-- the latest; the older ones stay to follow the figures release after
-- release. The report holds figures only, no personal data.
CREATE TABLE footprint_reports (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    measured_at timestamptz NOT NULL,
    machine     text NOT NULL CHECK (length(machine) <= 300),
    report      jsonb NOT NULL CHECK (jsonb_typeof(report) = 'object')
);
CREATE INDEX footprint_reports_latest ON footprint_reports (measured_at DESC);

-- +goose Down
DROP TABLE footprint_reports;
