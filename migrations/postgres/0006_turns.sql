-- Turns spaced in time across the bot processes sharing this database (engine/storage/pg_turns.py):
-- Discord lets one session start per max_concurrency bucket every 5 seconds, and each process IDENTIFYs its
-- own shards. A turn is taken under an advisory lock on its key; the time it was taken is kept here, so a
-- process restarted right after a crash still waits out the spacing. Not a projection: never rebuilt.
CREATE TABLE turns (
    key      INTEGER     PRIMARY KEY,
    taken_at TIMESTAMPTZ NOT NULL
);
