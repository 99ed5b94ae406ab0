-- The write model of issue 8 (DESIGN.md §2.9-2.10): every event records the command that produced it
-- (command_id, shared by all events of one command) and what caused it (cause: a Discord message or
-- interaction id, a console line, a CLI call). Rewinds snap to command boundaries, so a command's events
-- are never split. A command's events in one stream have consecutive stream versions, so its boundaries
-- are found by walking the stream's own index (no index of their own: that would cost every append).
-- Events from before this migration have neither; they are grouped by stream and recorded_at (every
-- command stamped its events with one time).
ALTER TABLE events ADD COLUMN command_id TEXT;
ALTER TABLE events ADD COLUMN cause TEXT;

-- When a story started (the chat_created event's time): the bot reads a channel's history from there
-- when a story has no Discord message ids yet. Filled for existing chats from the log, as a rebuild would.
ALTER TABLE chats ADD COLUMN started_at TEXT;
UPDATE chats SET started_at = (SELECT recorded_at FROM events WHERE events.seq = chats.created_seq);

-- The lines each rewind took out of the story, as they were just before it (what the bot deletes from
-- the channel, and what a rewind reports). A projection like any other: the rewind's handler fills it.
CREATE TABLE rewound_lines (
    rewind_seq   INTEGER NOT NULL,
    message_id   TEXT    NOT NULL,
    chat_id      TEXT    NOT NULL,
    seq          INTEGER NOT NULL,
    role         TEXT    NOT NULL,
    author_id    TEXT    NOT NULL,
    speaker      TEXT    NOT NULL,
    character_id TEXT,
    text         TEXT    NOT NULL,
    discord_ids  TEXT    NOT NULL,
    revision     INTEGER NOT NULL,
    retracted    INTEGER NOT NULL,
    story_minute INTEGER NOT NULL,
    scene_id     TEXT,
    PRIMARY KEY (rewind_seq, message_id)
);
