-- +goose Up
-- The data protection officer (issue #17): a role of its own, which
-- answers people who ask what Guichet holds about them, erases it, holds
-- cases for litigation and keeps the register of processing
-- (services/staff/auth, /bo/rgpd, /api/v1/rgpd). The export finds a person
-- through the indexes of migration 00018 (requests_citizen,
-- citizens_name_key) and the older ones.
ALTER TABLE accounts DROP CONSTRAINT accounts_role_check;
ALTER TABLE accounts ADD CONSTRAINT accounts_role_check
    CHECK (role IN ('agent', 'mailroom', 'team', 'supervisor', 'admin', 'dpo'));
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_role_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_role_check
    CHECK (role IN ('agent', 'mailroom', 'team', 'supervisor', 'admin', 'telephony', 'partner', 'dpo'));

-- +goose Down
-- The DPO's accounts and tokens cannot exist under the older rule: they go.
DELETE FROM api_tokens WHERE role = 'dpo';
DELETE FROM accounts WHERE role = 'dpo';
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_role_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_role_check
    CHECK (role IN ('agent', 'mailroom', 'team', 'supervisor', 'admin', 'telephony', 'partner'));
ALTER TABLE accounts DROP CONSTRAINT accounts_role_check;
ALTER TABLE accounts ADD CONSTRAINT accounts_role_check
    CHECK (role IN ('agent', 'mailroom', 'team', 'supervisor', 'admin'));
