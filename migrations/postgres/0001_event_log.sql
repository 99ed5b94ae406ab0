-- PostgreSQL: the append-only event log (DESIGN.md §2.1) and the projection cursor (§2.2).
-- The equivalent of SQLite's 0001_event_log.sql plus the command columns of its 0005 (command_id, cause).
--
-- seq is an identity column. Every transaction that appends first takes
-- LOCK TABLE events IN EXCLUSIVE MODE (engine/storage/pg_events.py), so seq order is commit order:
-- a reader of `seq > cursor` never sees a later seq commit before an earlier one. A rolled-back append
-- leaves a permanent hole in seq, which readers simply pass.
CREATE TABLE events (
    seq             BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stream          TEXT    NOT NULL,
    stream_version  BIGINT  NOT NULL,
    kind            TEXT    NOT NULL,
    version         INTEGER NOT NULL,
    chat_id         TEXT,
    guild_id        TEXT,
    actor_id        TEXT,
    payload         TEXT    NOT NULL,   -- the payload's JSON text, byte for byte as the SQLite log holds it
    recorded_at     TEXT    NOT NULL,
    idempotency_key TEXT,
    command_id      TEXT,               -- the command that produced the event (DESIGN.md §2.10)
    cause           TEXT,               -- what caused the command: a Discord message/interaction id, a console line
    CONSTRAINT events_idempotency_key_key UNIQUE (idempotency_key),
    CONSTRAINT events_stream_version_key UNIQUE (stream, stream_version)
);
CREATE INDEX events_by_chat ON events (chat_id, seq) WHERE chat_id IS NOT NULL;
CREATE INDEX events_by_command ON events (command_id) WHERE command_id IS NOT NULL;

-- Append-only, enforced by the database: UPDATE, DELETE and TRUNCATE are refused (statement triggers, so
-- even a statement that would touch no row is refused).
CREATE FUNCTION events_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only: % is not allowed', TG_OP USING ERRCODE = 'restrict_violation';
END;
$$;
CREATE TRIGGER events_reject_update BEFORE UPDATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_reject_change();
CREATE TRIGGER events_reject_delete BEFORE DELETE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_reject_change();
CREATE TRIGGER events_reject_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_reject_change();

CREATE TABLE projection_cursor (
    name     TEXT   PRIMARY KEY,
    position BIGINT NOT NULL
);
INSERT INTO projection_cursor (name, position) VALUES ('world', 0);
