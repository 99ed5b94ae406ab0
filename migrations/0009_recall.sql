-- Recall over the witnessed transcript. Each line records who witnessed it (`witnesses`: a scope token
-- h<hex character id> per character, decided by engine/projection/witness.py when the line is projected), and a
-- full-text index over the lines scoped by chat (c<hex chat id>) and witness, so a character's search never
-- reaches a line it did not witness. Rewound lines leave `messages` (the rewind rebuilds the chat's rows),
-- deleted ones are emptied, so neither is found. The engine fills `witnesses` by reprojecting once at start-up
-- (projection version 4). Words are stemmed (Porter: 'cleaner' finds 'cleaners', 'paint' finds 'painted'): a
-- question rarely repeats the very words of the line that answers it.
ALTER TABLE messages ADD COLUMN witnesses TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN scope TEXT GENERATED ALWAYS AS ('c' || hex(chat_id) || ' ' || witnesses) VIRTUAL;

CREATE VIRTUAL TABLE messages_fts USING fts5 (text, scope, content = 'messages', content_rowid = 'rowid',
                                          tokenize = 'porter unicode61');
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, text, scope) VALUES (new.rowid, new.text, new.scope);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, text, scope) VALUES ('delete', old.rowid, old.text, old.scope);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF text, chat_id, witnesses ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, text, scope) VALUES ('delete', old.rowid, old.text, old.scope);
    INSERT INTO messages_fts (rowid, text, scope) VALUES (new.rowid, new.text, new.scope);
END;
INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');
