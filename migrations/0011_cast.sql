-- A chat's cast: the characters in its story, in the order they joined (a host/guest story's host and guest are
-- its first members, projected from chat_created). A member that leaves loses its row; one that comes back joins
-- at the end. `muted` members never speak but stay in the others' "who is here". Numbered after 0009-0010 (the
-- recall index's), which may be merged before or after this one.
CREATE TABLE chat_cast (
    chat_id      TEXT    NOT NULL REFERENCES chats (chat_id),
    character_id TEXT    NOT NULL,
    joined_seq   INTEGER NOT NULL,
    slot         INTEGER NOT NULL,
    muted        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (chat_id, character_id)
);
CREATE INDEX chat_cast_order ON chat_cast (chat_id, joined_seq, slot);

-- How the chat picks who speaks next (turn_rule_set), and how eager a character is to speak in a group story
-- (its card's extensions.talkativeness, 0-1, SillyTavern's default 0.5).
ALTER TABLE chats ADD COLUMN turn_rule TEXT NOT NULL DEFAULT 'host';  -- 'host': no rule chosen yet
ALTER TABLE characters ADD COLUMN talkativeness REAL NOT NULL DEFAULT 0.5;
