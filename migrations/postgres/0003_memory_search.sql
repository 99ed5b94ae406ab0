-- PostgreSQL: full-text memory search (SQLite's FTS5 table of 0002/0004, done the PostgreSQL way).
-- A generated tsvector kept by the database itself (no triggers), with a GIN index. The 'simple'
-- configuration lower-cases and splits words without stemming, as FTS5's default tokenizer does.
-- PostgreSQL's parser also reads host names, e-mail addresses, paths, versions and hyphenated words as
-- single tokens ('example.com', 'bob@example.org', 'well-known'); FTS5 splits them into words. The
-- characters that start those tokens become spaces first, so both backends index the same words.
-- engine/storage/pg_search.py scopes a search with `chat_id = ? [AND character_id = ?]`; the planner
-- picks memories_by_character (a chat's newest memories) or this index (a rare word), whichever is cheaper.
ALTER TABLE memories ADD COLUMN search tsvector
    GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, translate(text, './@-:_', '      '))) STORED;
CREATE INDEX memories_search ON memories USING GIN (search);
