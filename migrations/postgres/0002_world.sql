-- PostgreSQL: the world. Every table here is a projection of the event log and can be rebuilt from it.
-- The equivalent of SQLite's 0002_world.sql, 0003_memory_importance_index.sql and chats.started_at of its 0005.
-- Same table and column names; flags stay 0/1 INTEGERs (the handlers write 0 and 1), JSON lists stay TEXT,
-- and every column that holds an event seq or a story minute is a BIGINT.
-- Columns that queries ORDER BY are COLLATE "C": byte order, as SQLite's default BINARY collation sorts,
-- whatever locale the database was created with.

CREATE TABLE characters (
    character_id              TEXT    PRIMARY KEY,
    guild_id                  TEXT    NOT NULL,
    name                      TEXT    NOT NULL,
    name_key                  TEXT    COLLATE "C" NOT NULL,
    description               TEXT    NOT NULL,
    personality               TEXT    NOT NULL,
    scenario                  TEXT    NOT NULL,
    greeting                  TEXT    NOT NULL,
    example_dialogue          TEXT    NOT NULL,
    system_prompt             TEXT    NOT NULL,
    post_history_instructions TEXT    NOT NULL,
    avatar_url                TEXT,
    author_id                 TEXT    NOT NULL,
    retired                   INTEGER NOT NULL DEFAULT 0,
    created_seq               BIGINT  NOT NULL,
    updated_seq               BIGINT  NOT NULL
);
CREATE UNIQUE INDEX characters_active_name ON characters (guild_id, name_key) WHERE retired = 0;

CREATE TABLE personas (
    user_id     TEXT   NOT NULL,
    scope       TEXT   NOT NULL,        -- a guild id, or '*' for the global fallback
    name        TEXT   NOT NULL,
    description TEXT   NOT NULL,
    avatar_url  TEXT,
    updated_seq BIGINT NOT NULL,
    PRIMARY KEY (user_id, scope)
);

CREATE TABLE chats (
    chat_id         TEXT   PRIMARY KEY,
    guild_id        TEXT   NOT NULL,
    channel_id      TEXT   NOT NULL,
    host_id         TEXT   NOT NULL,
    guest_id        TEXT,
    started_by      TEXT   NOT NULL,
    status          TEXT   NOT NULL CHECK (status IN ('open', 'ended')),
    start_minute    BIGINT NOT NULL,
    story_minute    BIGINT NOT NULL,
    anchor          TEXT   NOT NULL,
    weather         TEXT   NOT NULL,
    active_scene_id TEXT,
    place_id        TEXT,
    created_seq     BIGINT NOT NULL,
    ended_seq       BIGINT,
    started_at      TEXT                -- when the story started (the chat_created event's recorded_at)
);
CREATE UNIQUE INDEX chats_one_open_per_channel ON chats (channel_id) WHERE status = 'open';
CREATE INDEX chats_by_guild ON chats (guild_id);

CREATE TABLE places (
    place_id    TEXT   PRIMARY KEY,
    chat_id     TEXT   NOT NULL REFERENCES chats (chat_id),
    name        TEXT   NOT NULL,
    name_key    TEXT   COLLATE "C" NOT NULL,
    description TEXT   NOT NULL,
    parent_id   TEXT   REFERENCES places (place_id),
    created_seq BIGINT NOT NULL,
    UNIQUE (chat_id, name_key)
);

CREATE TABLE scenes (
    scene_id      TEXT   PRIMARY KEY,
    chat_id       TEXT   NOT NULL REFERENCES chats (chat_id),
    place_id      TEXT   NOT NULL REFERENCES places (place_id),
    title         TEXT   NOT NULL,
    present       TEXT   NOT NULL,      -- JSON list of character ids
    status        TEXT   NOT NULL CHECK (status IN ('open', 'closed')),
    opened_minute BIGINT NOT NULL,
    closed_minute BIGINT,
    summary       TEXT,
    opened_seq    BIGINT NOT NULL,
    closed_seq    BIGINT
);
CREATE INDEX scenes_by_chat ON scenes (chat_id, opened_seq);

CREATE TABLE messages (
    message_id   TEXT    PRIMARY KEY,
    chat_id      TEXT    NOT NULL REFERENCES chats (chat_id),
    seq          BIGINT  NOT NULL,
    role         TEXT    NOT NULL CHECK (role IN ('person', 'character', 'narrator')),
    author_id    TEXT    NOT NULL,
    speaker      TEXT    NOT NULL,
    character_id TEXT,
    text         TEXT    NOT NULL,
    discord_ids  TEXT    NOT NULL,      -- JSON list of the Discord message ids it was posted as
    revision     INTEGER NOT NULL DEFAULT 0,
    retracted    INTEGER NOT NULL DEFAULT 0,
    story_minute BIGINT  NOT NULL,
    scene_id     TEXT,
    recorded_at  TEXT    NOT NULL
);
CREATE INDEX messages_by_chat ON messages (chat_id, seq);

CREATE TABLE message_revisions (
    seq           BIGINT PRIMARY KEY,
    chat_id       TEXT   NOT NULL REFERENCES chats (chat_id),
    message_id    TEXT   NOT NULL REFERENCES messages (message_id),
    change        TEXT   NOT NULL CHECK (change IN ('edited', 'retracted', 'regenerated', 'continued')),
    previous_text TEXT   NOT NULL,
    text          TEXT   NOT NULL
);
CREATE INDEX message_revisions_by_message ON message_revisions (message_id);
CREATE INDEX message_revisions_by_chat ON message_revisions (chat_id);

CREATE TABLE memories (
    memory_id    TEXT    PRIMARY KEY,
    chat_id      TEXT    NOT NULL REFERENCES chats (chat_id),
    character_id TEXT    NOT NULL,
    text         TEXT    NOT NULL,
    importance   INTEGER NOT NULL,
    source       TEXT    NOT NULL,
    source_id    TEXT,
    story_minute BIGINT  NOT NULL,
    seq          BIGINT  NOT NULL
);
CREATE INDEX memories_by_character ON memories (chat_id, character_id, seq);
CREATE INDEX memories_by_importance ON memories (chat_id, character_id, importance, seq);

CREATE TABLE meanwhile_scenes (
    meanwhile_id TEXT   PRIMARY KEY,
    chat_id      TEXT   NOT NULL REFERENCES chats (chat_id),
    place_id     TEXT   REFERENCES places (place_id),
    premise      TEXT   NOT NULL,
    participants TEXT   NOT NULL,       -- JSON list of character ids
    digest       TEXT,
    story_minute BIGINT NOT NULL,
    started_seq  BIGINT NOT NULL,
    digest_seq   BIGINT
);
CREATE INDEX meanwhile_by_chat ON meanwhile_scenes (chat_id, started_seq);

CREATE TABLE relationships (
    chat_id     TEXT    NOT NULL REFERENCES chats (chat_id),
    source_id   TEXT    NOT NULL,
    target_id   TEXT    NOT NULL,
    source_kind TEXT    NOT NULL,
    target_kind TEXT    NOT NULL,
    source_name TEXT    COLLATE "C" NOT NULL,
    target_name TEXT    COLLATE "C" NOT NULL,
    affinity    INTEGER NOT NULL,
    trust       INTEGER NOT NULL,
    note        TEXT,
    updated_seq BIGINT  NOT NULL,
    PRIMARY KEY (chat_id, source_id, target_id)
);

CREATE TABLE relationship_history (
    seq            BIGINT  PRIMARY KEY,
    chat_id        TEXT    NOT NULL REFERENCES chats (chat_id),
    source_id      TEXT    NOT NULL,
    target_id      TEXT    NOT NULL,
    affinity_delta INTEGER NOT NULL,
    trust_delta    INTEGER NOT NULL,
    affinity       INTEGER NOT NULL,
    trust          INTEGER NOT NULL,
    note           TEXT
);
CREATE INDEX relationship_history_by_chat ON relationship_history (chat_id);

CREATE TABLE rewinds (
    seq           BIGINT  PRIMARY KEY,
    chat_id       TEXT    NOT NULL,
    to_seq        BIGINT  NOT NULL,
    actor_id      TEXT    NOT NULL,
    events_undone INTEGER NOT NULL
);
CREATE INDEX rewinds_by_chat ON rewinds (chat_id);
