-- The lines each rewind took out of the story (SQLite migration 0005's rewound_lines).
CREATE TABLE rewound_lines (
    rewind_seq   BIGINT  NOT NULL,
    message_id   TEXT    NOT NULL,
    chat_id      TEXT    NOT NULL,
    seq          BIGINT  NOT NULL,
    role         TEXT    NOT NULL,
    author_id    TEXT    NOT NULL,
    speaker      TEXT    NOT NULL,
    character_id TEXT,
    text         TEXT    NOT NULL,
    discord_ids  TEXT    NOT NULL,
    revision     INTEGER NOT NULL,
    retracted    INTEGER NOT NULL,
    story_minute BIGINT  NOT NULL,
    scene_id     TEXT,
    PRIMARY KEY (rewind_seq, message_id)
);
