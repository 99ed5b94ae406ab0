-- Memory search scoped to one chat (and one character) inside the full-text index, and bounded.
-- Before: the index held every chat's memories and a query matched on words alone, so a word common to a
-- story (a place, a theme) matched thousands of rows, which were all ranked on every prompt (13-18 ms at
-- 10,000 memories). Each memory now also indexes a `scope` of two tokens, c<hex chat id> and
-- h<hex character id>, so the index itself narrows a search to the chat or the character.
DROP TRIGGER memories_fts_insert;
DROP TRIGGER memories_fts_delete;
DROP TRIGGER memories_fts_update;
DROP TABLE memories_fts;

ALTER TABLE memories ADD COLUMN scope TEXT GENERATED ALWAYS AS ('c' || hex(chat_id) || ' h' || hex(character_id)) VIRTUAL;

CREATE VIRTUAL TABLE memories_fts USING fts5 (text, scope, content = 'memories', content_rowid = 'rowid');
CREATE TRIGGER memories_fts_insert AFTER INSERT ON memories BEGIN
    INSERT INTO memories_fts (rowid, text, scope) VALUES (new.rowid, new.text, new.scope);
END;
CREATE TRIGGER memories_fts_delete AFTER DELETE ON memories BEGIN
    INSERT INTO memories_fts (memories_fts, rowid, text, scope) VALUES ('delete', old.rowid, old.text, old.scope);
END;
CREATE TRIGGER memories_fts_update AFTER UPDATE OF text, chat_id, character_id ON memories BEGIN
    INSERT INTO memories_fts (memories_fts, rowid, text, scope) VALUES ('delete', old.rowid, old.text, old.scope);
    INSERT INTO memories_fts (rowid, text, scope) VALUES (new.rowid, new.text, new.scope);
END;
INSERT INTO memories_fts (memories_fts) VALUES ('rebuild');
