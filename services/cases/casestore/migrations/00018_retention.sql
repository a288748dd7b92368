-- +goose Up
-- Personal data by design (issue #17): the retention schedule and the
-- erasure that keeps the statistics (services/cases/retention).
--
-- A purge anonymises in place: the case keeps its skeleton (reference,
-- competence, territory, commune, channels, dates, states, deadlines,
-- decisions), so that every count and delay stays exact, and loses what
-- identifies or describes a person. case_events and audit_log stay
-- append-only: the only UPDATE they accept is made inside a transaction
-- that called guichet_begin_purge, which writes the purge's own audit entry
-- in that transaction, and even then only removes (see the guards below).

-- When a case reached a finished state and stayed there (resolved, closed,
-- rejected, redirected, or merged into another case): the retention times
-- count from it. NULL while the case is open; a reopening clears it.
ALTER TABLE cases ADD COLUMN closed_at timestamptz;
-- What was purged of the case (identity, free_text, transcripts, files),
-- and when all of it was.
ALTER TABLE cases ADD COLUMN purged text[] NOT NULL DEFAULT '{}';
ALTER TABLE cases ADD COLUMN purged_at timestamptz;
ALTER TABLE requests ADD COLUMN purged text[] NOT NULL DEFAULT '{}';
ALTER TABLE requests ADD COLUMN purged_at timestamptz;
-- A citizens record emptied (name, e-mail and phone NULL) once none of its
-- cases keeps an identity.
ALTER TABLE citizens ADD COLUMN erased_at timestamptz;
-- An audit entry whose details were emptied (the action stays countable).
ALTER TABLE audit_log ADD COLUMN purged_at timestamptz;
-- A letter owed whose address and text were emptied.
ALTER TABLE postal_notices ADD COLUMN purged_at timestamptz;

-- +goose StatementBegin
CREATE FUNCTION cases_closed_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.purged_at IS NOT NULL AND NEW.state IS DISTINCT FROM OLD.state THEN
        RAISE EXCEPTION 'case % was anonymised (RGPD purge): its state cannot change any more', OLD.ref;
    END IF;
    IF NEW.state IN ('resolved', 'closed', 'rejected', 'redirected', 'merged') THEN
        IF TG_OP = 'INSERT' THEN
            -- A case inserted finished (a seed, an import) closed when last changed.
            NEW.closed_at := COALESCE(NEW.closed_at, NEW.updated_at, now());
        ELSIF OLD.state NOT IN ('resolved', 'closed', 'rejected', 'redirected', 'merged') THEN
            NEW.closed_at := COALESCE(NEW.closed_at, now());
        END IF;
    ELSE
        NEW.closed_at := NULL;
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER cases_closed_at BEFORE INSERT OR UPDATE OF state ON cases
    FOR EACH ROW EXECUTE FUNCTION cases_closed_at();
-- The cases finished before this migration: since their last change of state.
UPDATE cases c SET closed_at = COALESCE(
    (SELECT max(e.at) FROM case_events e WHERE e.case_id = c.id AND e.type IN ('state_changed', 'merged')), c.updated_at)
WHERE c.state IN ('resolved', 'closed', 'rejected', 'redirected', 'merged');

-- What the schedule reads: the finished cases not purged yet, by age; the
-- requests that never made a case; the audit entries; the letters posted
-- and the messages sent.
CREATE INDEX cases_retention ON cases (closed_at, id) WHERE purged_at IS NULL AND closed_at IS NOT NULL;
CREATE INDEX requests_retention ON requests (received_at, id) WHERE case_id IS NULL AND purged_at IS NULL;
CREATE INDEX IF NOT EXISTS requests_citizen ON requests (citizen_id) WHERE citizen_id IS NOT NULL;
CREATE INDEX audit_log_retention ON audit_log (at, id) WHERE purged_at IS NULL;
CREATE INDEX postal_notices_retention ON postal_notices (posted_at) WHERE purged_at IS NULL AND posted_at IS NOT NULL;
CREATE INDEX notifications_retention ON notifications (sent_at) WHERE recipient <> '';

-- A person is found by name "exactly after normalisation": case, accents,
-- hyphens, apostrophes and spaces do not count ("Zéphyrin QUENOUILLE-
-- arbogast" is "zephyrin quenouille arbogast"). unaccent is only STABLE;
-- naming its dictionary makes it safe to index, wherever the extension is.
-- +goose StatementBegin
DO $do$
DECLARE s text;
BEGIN
    SELECT n.nspname INTO STRICT s FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'unaccent';
    EXECUTE format($f$
        CREATE FUNCTION guichet_name_key(name text) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $b$
            SELECT NULLIF(btrim(regexp_replace(lower(%1$I.unaccent(%2$L::regdictionary, name)),
                                               '[[:space:][:punct:]’‘´`«»]+', ' ', 'g')), '')
        $b$ $f$, s, s || '.unaccent');
END;
$do$;
-- +goose StatementEnd
CREATE INDEX citizens_name_key ON citizens (guichet_name_key(name)) WHERE name IS NOT NULL;

-- Legal holds: a case under one is never purged. Released holds stay, for
-- the history.
CREATE TABLE legal_holds (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id        bigint NOT NULL REFERENCES cases (id),
    reason         text NOT NULL CHECK (char_length(reason) <= 2000),
    held_by        text NOT NULL,
    held_at        timestamptz NOT NULL DEFAULT now(),
    released_at    timestamptz,
    released_by    text,
    release_reason text CHECK (char_length(release_reason) <= 2000)
);
CREATE UNIQUE INDEX legal_holds_active ON legal_holds (case_id) WHERE released_at IS NULL;
CREATE INDEX legal_holds_case ON legal_holds (case_id);

-- What a purge erased in PostgreSQL and the other stores (bus, object
-- store, outboxes) have not forgotten yet: written in the purge's
-- transaction, deleted once every store forgot it, retried until then.
CREATE TABLE purge_pending (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    audit_id    bigint NOT NULL,
    purged      jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    attempts    integer NOT NULL DEFAULT 0,
    tried_at    timestamptz
);

-- guichet_begin_purge opens a purge: it writes the purge's audit entry and
-- marks the transaction (SET LOCAL guichet.purge = that entry's id), so
-- that the append-only tables accept the purge's UPDATEs until it ends.
-- Also the audited way to put a case under a legal hold and to release it.
-- In production the application's role gets EXECUTE on it, and the DBA may
-- revoke UPDATE and DELETE on case_events and audit_log from every other
-- role.
-- +goose StatementBegin
CREATE FUNCTION guichet_begin_purge(p_actor text, p_reason text, p_action text DEFAULT 'rgpd.purge',
                                    p_target text DEFAULT '', p_details jsonb DEFAULT '{}')
RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    entry bigint;
    kind text;
BEGIN
    IF p_action NOT IN ('rgpd.purge', 'rgpd.erase', 'rgpd.hold', 'rgpd.release') THEN
        RAISE EXCEPTION 'guichet_begin_purge: unknown action %', p_action;
    END IF;
    IF COALESCE(btrim(p_actor), '') = '' OR COALESCE(btrim(p_reason), '') = '' THEN
        RAISE EXCEPTION 'guichet_begin_purge: who (actor) and why (reason) are required';
    END IF;
    kind := CASE WHEN EXISTS (SELECT 1 FROM accounts a WHERE a.login = p_actor) THEN 'account'
                 WHEN EXISTS (SELECT 1 FROM api_tokens t WHERE t.name = p_actor AND t.revoked_at IS NULL) THEN 'token'
                 ELSE 'system' END;
    INSERT INTO audit_log (actor, actor_kind, action, target, details)
    VALUES (left(p_actor, 200), kind, p_action, left(COALESCE(p_target, ''), 500),
            COALESCE(p_details, '{}') || jsonb_build_object('reason', left(p_reason, 2000)))
    RETURNING audit_log.id INTO entry;
    PERFORM set_config('guichet.purge', entry::text, true);
    RETURN entry;
END;
$$;
-- +goose StatementEnd

-- guichet_purge_open says whether this transaction opened a purge: the
-- entry named by guichet.purge is a purge or an erasure written by this
-- very transaction (setting the variable by hand is not enough).
-- +goose StatementBegin
CREATE FUNCTION guichet_purge_open() RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT COALESCE(current_setting('guichet.purge', true), '') ~ '^[0-9]{1,18}$' AND EXISTS (
        SELECT 1 FROM audit_log a
        WHERE a.id = current_setting('guichet.purge', true)::bigint
          AND a.action IN ('rgpd.purge', 'rgpd.erase')
          AND a.xmin::text = (pg_current_xact_id()::text::numeric % 4294967296)::text)
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION case_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND guichet_purge_open() THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'case_events is append-only (% refused; only a purge opened by guichet_begin_purge may anonymise)', TG_OP;
END;
$$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND guichet_purge_open() THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only (% refused; only a purge opened by guichet_begin_purge may anonymise)', TG_OP;
END;
$$;
-- +goose StatementEnd

-- Even a purge only removes: an event keeps its identity, place in the
-- history, type, time and actor, and its message loses its summary or
-- fields of its data, nothing else; an audit entry keeps its time, kind
-- and action, and loses its details, target, address or account name.
-- +goose StatementBegin
CREATE FUNCTION case_events_purge_removes_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.id, NEW.case_id, NEW.seq, NEW.type, NEW.at, NEW.actor_kind, NEW.actor_id, NEW.request_id, NEW.recipient_request)
           IS DISTINCT FROM (OLD.id, OLD.case_id, OLD.seq, OLD.type, OLD.at, OLD.actor_kind, OLD.actor_id, OLD.request_id, OLD.recipient_request)
       OR (NEW.payload - 'summary' - 'data') IS DISTINCT FROM (OLD.payload - 'summary' - 'data')
       OR (NEW.payload ? 'summary' AND NEW.payload->'summary' IS DISTINCT FROM OLD.payload->'summary')
       OR NOT (COALESCE(OLD.payload->'data', '{}') @> COALESCE(NEW.payload->'data', '{}'))
       OR jsonb_typeof(COALESCE(NEW.payload->'data', '{}')) <> 'object' THEN
        RAISE EXCEPTION 'case_events: a purge removes texts, it changes nothing else (event %)', OLD.id;
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER case_events_purge_removes_only BEFORE UPDATE ON case_events
    FOR EACH ROW EXECUTE FUNCTION case_events_purge_removes_only();
-- +goose StatementBegin
CREATE FUNCTION audit_log_purge_removes_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.id, NEW.at, NEW.actor_kind, NEW.action) IS DISTINCT FROM (OLD.id, OLD.at, OLD.actor_kind, OLD.action)
       OR (NEW.actor <> OLD.actor AND NEW.actor <> '')
       OR (NEW.target <> OLD.target AND NEW.target <> '')
       OR (NEW.ip IS DISTINCT FROM OLD.ip AND NEW.ip IS NOT NULL)
       OR NOT (OLD.details @> NEW.details) THEN
        RAISE EXCEPTION 'audit_log: a purge empties details, it changes nothing else (entry %)', OLD.id;
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_log_purge_removes_only BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_purge_removes_only();

-- What a request.v1 message keeps of each artifact purged. identity: the
-- citizen block, the street and coordinates of the place (its postal code
-- and commune stay), the upstream ids, the files' names; free_text: the
-- subject, the body, the text read from scans and the category a partner
-- may have written (the competence hinted stays); transcripts; files: the
-- attachments themselves. The message stays valid request.v1.
-- +goose StatementBegin
CREATE FUNCTION guichet_purged_request(p jsonb, arts text[]) RETURNS jsonb LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    IF 'identity' = ANY(arts) THEN
        p := p - 'citizen' #- '{location,address}' #- '{location,lat}' #- '{location,lon}'
               #- '{source,external_id}' #- '{source,message_id}';
        IF p->'location' = '{}'::jsonb THEN
            p := p - 'location';
        END IF;
        IF jsonb_typeof(p->'attachments') = 'array' AND jsonb_array_length(p->'attachments') > 0 THEN
            p := jsonb_set(p, '{attachments}', (
                SELECT jsonb_agg(a || jsonb_build_object('name', 'fichier' || COALESCE(substring(a->>'name' FROM '\.[A-Za-z0-9]{1,8}$'), '')))
                FROM jsonb_array_elements(p->'attachments') a));
        END IF;
    END IF;
    IF 'free_text' = ANY(arts) THEN
        p := ((p - 'subject') || '{"body": ""}'::jsonb) #- '{hints,category}';
        IF p->'hints' = '{}'::jsonb THEN
            p := p - 'hints';
        END IF;
        IF jsonb_typeof(p->'attachments') = 'array' AND jsonb_array_length(p->'attachments') > 0 THEN
            p := jsonb_set(p, '{attachments}', (
                SELECT jsonb_agg(a - 'extracted_text' - 'ocr_confidence') FROM jsonb_array_elements(p->'attachments') a));
        END IF;
    END IF;
    IF 'transcripts' = ANY(arts) THEN
        p := p - 'transcript';
    END IF;
    IF 'files' = ANY(arts) THEN
        p := p - 'attachments';
    END IF;
    RETURN p;
END;
$$;
-- +goose StatementEnd

-- What a case-event.v1 message keeps: everything the figures read (type,
-- time, actor, states, deadlines, outcome, confidence, competences,
-- references). identity: the address a reply went to; free_text: the
-- reasons and notes people wrote, the replies' subjects and texts, the
-- router's reasons (they quote the request) and the summary of an event a
-- request caused (its subject or first words).
-- +goose StatementBegin
CREATE FUNCTION guichet_purged_event(p jsonb, arts text[]) RETURNS jsonb LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    IF 'identity' = ANY(arts) AND p->>'type' = 'replied' THEN
        p := p #- '{data,to}';
    END IF;
    IF 'free_text' = ANY(arts) THEN
        p := p #- '{data,reason}' #- '{data,reasons}' #- '{data,text}' #- '{data,message}' #- '{data,subject}';
        IF p->'actor'->>'kind' IN ('router', 'citizen') THEN
            p := p - 'summary';
        END IF;
    END IF;
    RETURN p;
END;
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION guichet_purged_event(jsonb, text[]);
DROP FUNCTION guichet_purged_request(jsonb, text[]);
DROP TRIGGER audit_log_purge_removes_only ON audit_log;
DROP FUNCTION audit_log_purge_removes_only();
DROP TRIGGER case_events_purge_removes_only ON case_events;
DROP FUNCTION case_events_purge_removes_only();
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP;
END;
$$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION case_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'case_events is append-only (% refused)', TG_OP;
END;
$$;
-- +goose StatementEnd
DROP FUNCTION guichet_purge_open();
DROP FUNCTION guichet_begin_purge(text, text, text, text, jsonb);
DROP TABLE purge_pending;
DROP TABLE legal_holds;
DROP INDEX citizens_name_key;
DROP FUNCTION guichet_name_key(text);
DROP INDEX notifications_retention;
DROP INDEX postal_notices_retention;
DROP INDEX audit_log_retention;
DROP INDEX IF EXISTS requests_citizen;
DROP INDEX requests_retention;
DROP INDEX cases_retention;
DROP TRIGGER cases_closed_at ON cases;
DROP FUNCTION cases_closed_at();
ALTER TABLE postal_notices DROP COLUMN purged_at;
ALTER TABLE audit_log DROP COLUMN purged_at;
ALTER TABLE citizens DROP COLUMN erased_at;
ALTER TABLE requests DROP COLUMN purged_at, DROP COLUMN purged;
ALTER TABLE cases DROP COLUMN purged_at, DROP COLUMN purged, DROP COLUMN closed_at;
