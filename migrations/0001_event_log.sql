-- The append-only event log (DESIGN.md §2.1) and the projection cursor (§2.2).
CREATE TABLE events (
    seq             INTEGER PRIMARY KEY,
    stream          TEXT    NOT NULL,
    stream_version  INTEGER NOT NULL,
    kind            TEXT    NOT NULL,
    version         INTEGER NOT NULL,
    chat_id         TEXT,
    guild_id        TEXT,
    actor_id        TEXT,
    payload         TEXT    NOT NULL,
    recorded_at     TEXT    NOT NULL,
    idempotency_key TEXT UNIQUE,
    UNIQUE (stream, stream_version)
);
CREATE INDEX events_by_chat ON events (chat_id, seq) WHERE chat_id IS NOT NULL;

CREATE TRIGGER events_reject_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only: UPDATE is not allowed');
END;

CREATE TRIGGER events_reject_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only: DELETE is not allowed');
END;

CREATE TABLE projection_cursor (
    name     TEXT PRIMARY KEY,
    position INTEGER NOT NULL
);
INSERT INTO projection_cursor (name, position) VALUES ('world', 0);
