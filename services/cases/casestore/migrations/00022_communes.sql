-- +goose Up
-- The communes as partners (issue #19). A case knows the commune it is
-- located in (the INSEE code of the first request that placed it; the
-- arrondissements of Marseille count as Marseille, 13055), so that a
-- mairie sees the cases of its commune and partners filter on it. A case
-- redirected to a commune (a communal matter: noise between neighbours,
-- municipal police, civil status, schools…) names it. Staff of a mairie
-- sign in with the role commune, scoped to one commune or several, and
-- each commune has the address its handoffs are sent to.
ALTER TABLE cases ADD COLUMN commune text CHECK (commune ~ '^[0-9][0-9AB][0-9]{3}$'),
                  ADD COLUMN redirected_commune text CHECK (redirected_commune ~ '^[0-9][0-9AB][0-9]{3}$');
UPDATE cases c
   SET commune = CASE WHEN f.insee LIKE '132%' THEN '13055' ELSE f.insee END
  FROM (SELECT DISTINCT ON (case_id) case_id, payload->'location'->>'commune_insee' AS insee
          FROM requests
         WHERE case_id IS NOT NULL AND payload->'location'->>'commune_insee' ~ '^[0-9][0-9AB][0-9]{3}$'
         ORDER BY case_id, received_at) f
 WHERE f.case_id = c.id;
CREATE INDEX cases_commune ON cases (commune, updated_at DESC) WHERE commune IS NOT NULL;
CREATE INDEX cases_redirected_commune ON cases (redirected_commune, updated_at DESC) WHERE redirected_commune IS NOT NULL;

ALTER TABLE accounts ADD COLUMN communes text[] NOT NULL DEFAULT '{}';
ALTER TABLE accounts DROP CONSTRAINT accounts_role_check;
ALTER TABLE accounts ADD CONSTRAINT accounts_role_check
    CHECK (role IN ('agent', 'mailroom', 'team', 'supervisor', 'admin', 'dpo', 'commune'));
-- A mairie's account works for at least one commune, and only a mairie's
-- account has communes.
ALTER TABLE accounts ADD CONSTRAINT accounts_commune_communes
    CHECK ((role = 'commune') = (cardinality(communes) > 0));

-- Where each commune's handoffs go (its front desk's address), set by an
-- admin; a commune without one gets none by e-mail (the back office says so).
CREATE TABLE commune_contacts (
    insee       text PRIMARY KEY CHECK (insee ~ '^[0-9][0-9AB][0-9]{3}$'),
    email       text NOT NULL CHECK (email ~ '^[^@\s]+@[^@\s]+$' AND length(email) <= 254),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  text NOT NULL
);

-- +goose Down
DROP TABLE commune_contacts;
DELETE FROM accounts WHERE role = 'commune';
ALTER TABLE accounts DROP CONSTRAINT accounts_commune_communes;
ALTER TABLE accounts DROP CONSTRAINT accounts_role_check;
ALTER TABLE accounts ADD CONSTRAINT accounts_role_check
    CHECK (role IN ('agent', 'mailroom', 'team', 'supervisor', 'admin', 'dpo'));
ALTER TABLE accounts DROP COLUMN communes;
DROP INDEX cases_redirected_commune;
DROP INDEX cases_commune;
ALTER TABLE cases DROP COLUMN redirected_commune, DROP COLUMN commune;
