-- Recall over the witnessed transcript. Each line records who witnessed it (`witnesses`: a scope token
-- h<hex character id> per character, decided by engine/projection/witness.py when the line is projected), and a
-- full-text index of the lines; a search keeps only the chat's lines whose witnesses hold the character, so it
-- never reaches a line the character did not witness. Rewound lines leave `messages` (the rewind rebuilds the chat's rows),
-- deleted ones are emptied, so neither is found. The engine fills `witnesses` by reprojecting once at start-up
-- (projection version 4). Words are stemmed (Porter: 'cleaner' finds 'cleaners', 'paint' finds 'painted'): a
-- question rarely repeats the very words of the line that answers it.
ALTER TABLE messages ADD COLUMN witnesses TEXT NOT NULL DEFAULT '';

CREATE VIRTUAL TABLE messages_fts USING fts5 (text, content = 'messages', content_rowid = 'rowid',
                                          tokenize = 'porter unicode61');
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, text) VALUES (new.rowid, new.text);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
    INSERT INTO messages_fts (rowid, text) VALUES (new.rowid, new.text);
END;
INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');
