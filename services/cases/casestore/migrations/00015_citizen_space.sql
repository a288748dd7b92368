-- +goose Up
-- "Mes demandes", a citizen's space (issue #15): one-time sign-in links,
-- citizens' sessions, and finding the requests that carry an e-mail address
-- or a phone number.

-- A one-time link sent to an e-mail address or a mobile number. Only the
-- SHA-256 of its token is kept; it is good for a quarter of an hour, once.
CREATE TABLE citizen_sign_in_links (
    token_hash  bytea PRIMARY KEY CHECK (octet_length(token_hash) = 32),
    kind        text NOT NULL CHECK (kind IN ('email', 'phone')),
    address     text NOT NULL,  -- the e-mail address (normalized) or the mobile number (E.164) it was sent to
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    ip          text,
    CONSTRAINT citizen_sign_in_links_address CHECK (
        (kind = 'email' AND address = lower(btrim(address)) AND address LIKE '%@%') OR
        (kind = 'phone' AND address ~ '^\+[1-9][0-9]{6,14}$'))
);
-- How many links one address was sent lately (the limit per address).
CREATE INDEX citizen_sign_in_links_address ON citizen_sign_in_links (address, created_at);
CREATE INDEX citizen_sign_in_links_expires ON citizen_sign_in_links (expires_at);

-- A citizen's session: the cookie holds a random token, only its SHA-256
-- is kept. It holds what the person proved: an e-mail address, a mobile
-- number, or both (one proved after the other in the same browser).
CREATE TABLE citizen_sessions (
    id            bytea PRIMARY KEY CHECK (octet_length(id) = 32),
    email         text CHECK (email IS NULL OR email = lower(btrim(email))),
    phone         text CHECK (phone IS NULL OR phone ~ '^\+[1-9][0-9]{6,14}$'),
    id_token      text,  -- FranceConnect's ID token, for its logout (id_token_hint)
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,  -- absolute end
    last_seen_at  timestamptz NOT NULL DEFAULT now(),  -- the idle timeout slides from here
    CONSTRAINT citizen_sessions_someone CHECK (email IS NOT NULL OR phone IS NOT NULL)
);
CREATE INDEX citizen_sessions_expires ON citizen_sessions (expires_at);

-- A request belongs to a space by what it carries itself, never by the
-- citizens record it was filed under: that record joins an e-mail address
-- and a phone number that anybody may have typed side by side. These
-- indexes find the requests by the address (as typed: the store compares
-- it normalized) and by the number (E.164, as request.v1 wants it).
CREATE INDEX requests_citizen_email ON requests (lower(btrim(payload #>> '{citizen,email}')));
CREATE INDEX requests_citizen_phone ON requests ((payload #>> '{citizen,phone}'));

-- +goose Down
DROP INDEX requests_citizen_phone;
DROP INDEX requests_citizen_email;
DROP TABLE citizen_sessions;
DROP TABLE citizen_sign_in_links;
