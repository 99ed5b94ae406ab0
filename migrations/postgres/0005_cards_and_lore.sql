-- PostgreSQL: character cards in full and lorebooks (SQLite migration 0006_cards_and_lore.sql).
-- Same names and meanings; seqs are BIGINT, sorted names are COLLATE "C".
ALTER TABLE characters ADD COLUMN nickname TEXT;
ALTER TABLE characters ADD COLUMN creator_notes TEXT NOT NULL DEFAULT '';
ALTER TABLE characters ADD COLUMN alternate_greetings TEXT NOT NULL DEFAULT '[]';
ALTER TABLE characters ADD COLUMN group_greetings TEXT NOT NULL DEFAULT '[]';
ALTER TABLE characters ADD COLUMN book_json TEXT;
ALTER TABLE characters ADD COLUMN card_json TEXT;
ALTER TABLE characters ADD COLUMN avatar_png TEXT;

CREATE TABLE lorebooks (
    book_id     TEXT    PRIMARY KEY,
    guild_id    TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    name_key    TEXT    COLLATE "C" NOT NULL,
    author_id   TEXT    NOT NULL,
    book_json   TEXT    NOT NULL,
    next_number BIGINT  NOT NULL,
    created_seq BIGINT  NOT NULL,
    updated_seq BIGINT  NOT NULL
);
CREATE UNIQUE INDEX lorebooks_name ON lorebooks (guild_id, name_key);

CREATE TABLE lore_entries (
    book_id     TEXT    NOT NULL,
    number      BIGINT  NOT NULL,
    label       TEXT    NOT NULL,
    enabled     INTEGER NOT NULL,
    entry_json  TEXT    NOT NULL,
    updated_seq BIGINT  NOT NULL,
    PRIMARY KEY (book_id, number)
);

CREATE TABLE lore_character_books (
    character_id TEXT   NOT NULL,
    book_id      TEXT   NOT NULL,
    attached_seq BIGINT NOT NULL,
    PRIMARY KEY (character_id, book_id)
);
CREATE TABLE lore_chat_books (
    chat_id      TEXT   NOT NULL,
    book_id      TEXT   NOT NULL,
    attached_seq BIGINT NOT NULL,
    PRIMARY KEY (chat_id, book_id)
);
