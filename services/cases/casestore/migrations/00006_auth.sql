-- +goose Up
-- Who may use the back office and the API (services/auth): staff accounts,
-- their sessions, the bearer tokens of other systems, and the append-only
-- audit log of who signed in, did or saw what.

CREATE TABLE accounts (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    login          text NOT NULL UNIQUE CHECK (login ~ '^[a-z0-9][a-z0-9._@+-]{1,99}$'),
    display_name   text NOT NULL CHECK (display_name <> ''),
    role           text NOT NULL CHECK (role IN ('agent', 'mailroom', 'team', 'supervisor', 'admin')),
    competences    text[] NOT NULL DEFAULT '{}',
    territories    text[] NOT NULL DEFAULT '{}',
    password_hash  text,           -- argon2id, PHC string; NULL for accounts that sign in by OpenID Connect only
    oidc_subject   text UNIQUE,    -- the identity provider's "sub", recorded at the first OpenID Connect sign-in
    disabled       boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now(),
    -- A team member works on given competences; empty territories = all of them.
    CONSTRAINT accounts_team_competences CHECK (role <> 'team' OR cardinality(competences) > 0)
);

-- The cookie holds a random token; only its SHA-256 is stored.
CREATE TABLE sessions (
    id            bytea PRIMARY KEY CHECK (octet_length(id) = 32),
    account_id    bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,  -- absolute end
    last_seen_at  timestamptz NOT NULL,  -- the idle timeout slides from here
    ip            text
);
CREATE INDEX sessions_account ON sessions (account_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- Bearer tokens of other systems (telephony, scripts); only the SHA-256 of
-- the token is stored. A name is in use by one unrevoked token at a time.
CREATE TABLE api_tokens (
    id           bytea PRIMARY KEY CHECK (octet_length(id) = 32),
    name         text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9._-]{1,63}$'),
    role         text NOT NULL CHECK (role IN ('agent', 'mailroom', 'team', 'supervisor', 'admin')),
    competences  text[] NOT NULL DEFAULT '{}',
    territories  text[] NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL,
    created_by   text NOT NULL,
    expires_at   timestamptz,
    revoked_at   timestamptz,
    CONSTRAINT api_tokens_team_competences CHECK (role <> 'team' OR cardinality(competences) > 0)
);
CREATE UNIQUE INDEX api_tokens_active_name ON api_tokens (name) WHERE revoked_at IS NULL;

-- Who did or saw what: sign-ins and their failures, case views and
-- transitions, personal data shown. Append-only, like case_events.
CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text NOT NULL,  -- login, token name, or the system's part
    actor_kind  text NOT NULL CHECK (actor_kind IN ('account', 'token', 'system')),
    action      text NOT NULL,  -- login, login_failed, logout, case.view, personal_data.view…
    target      text NOT NULL DEFAULT '',
    details     jsonb NOT NULL DEFAULT '{}',
    ip          text
);
CREATE INDEX audit_log_at ON audit_log (at DESC);
CREATE INDEX audit_log_actor ON audit_log (actor, at DESC);
CREATE INDEX audit_log_target ON audit_log (target, at DESC);
-- The sign-in limit counts recent failures by login and by address.
CREATE INDEX audit_log_action_target ON audit_log (action, target, at);
CREATE INDEX audit_log_failures_ip ON audit_log (ip, at) WHERE action = 'login_failed';

-- +goose StatementBegin
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- +goose Down
DROP TABLE audit_log;
DROP FUNCTION audit_log_append_only();
DROP TABLE api_tokens;
DROP TABLE sessions;
DROP TABLE accounts;
