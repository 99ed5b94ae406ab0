-- Character cards in full (issue 9) and lorebooks (DESIGN.md §3). Projections like every world table.
-- The flat card columns of `characters` stay; these hold the rest of a card. Rows projected before this
-- migration are plain cards (nothing beyond the flat fields), which is exactly what the defaults say, so a
-- rebuild reproduces them without a reprojection.
ALTER TABLE characters ADD COLUMN nickname TEXT;
ALTER TABLE characters ADD COLUMN creator_notes TEXT NOT NULL DEFAULT '';
ALTER TABLE characters ADD COLUMN alternate_greetings TEXT NOT NULL DEFAULT '[]';  -- JSON list of text
ALTER TABLE characters ADD COLUMN group_greetings TEXT NOT NULL DEFAULT '[]';      -- JSON list of text
ALTER TABLE characters ADD COLUMN book_json TEXT;    -- the card's own lorebook (JSON), or NULL
ALTER TABLE characters ADD COLUMN card_json TEXT;    -- the whole card (JSON) when it holds more than the flat fields
ALTER TABLE characters ADD COLUMN avatar_png TEXT;   -- the imported card's image (base64 PNG), or NULL

-- Standalone lorebooks of a guild: book-wide settings (JSON, without entries) and the next entry number.
CREATE TABLE lorebooks (
    book_id     TEXT    PRIMARY KEY,
    guild_id    TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    name_key    TEXT    NOT NULL,
    author_id   TEXT    NOT NULL,
    book_json   TEXT    NOT NULL,
    next_number INTEGER NOT NULL,
    created_seq INTEGER NOT NULL,
    updated_seq INTEGER NOT NULL
);
CREATE UNIQUE INDEX lorebooks_name ON lorebooks (guild_id, name_key);

-- A book's entries by their number in the book (1, 2, … in the imported order; never reused).
CREATE TABLE lore_entries (
    book_id     TEXT    NOT NULL,
    number      INTEGER NOT NULL,
    label       TEXT    NOT NULL,
    enabled     INTEGER NOT NULL,
    entry_json  TEXT    NOT NULL,
    updated_seq INTEGER NOT NULL,
    PRIMARY KEY (book_id, number)
);

-- Books attached to a character (guild stream) and to a story (the chat's stream: a rewind can undo it).
CREATE TABLE lore_character_books (
    character_id TEXT    NOT NULL,
    book_id      TEXT    NOT NULL,
    attached_seq INTEGER NOT NULL,
    PRIMARY KEY (character_id, book_id)
);
CREATE TABLE lore_chat_books (
    chat_id      TEXT    NOT NULL,
    book_id      TEXT    NOT NULL,
    attached_seq INTEGER NOT NULL,
    PRIMARY KEY (chat_id, book_id)
);
