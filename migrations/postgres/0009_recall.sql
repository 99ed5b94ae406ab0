-- Recall over the witnessed transcript (SQLite migration 0009). Each line records who witnessed it
-- (`witnesses`: a token h<hex character id> per character, decided by engine/projection/witness.py), and a
-- generated tsvector of its words with a GIN index, made as memories' is (migration 0003) but with the 'english'
-- configuration: words stemmed (Snowball) and English stop words left out, as SQLite's Porter tokenizer stems them.
-- engine/storage/pg_search.py narrows a search to the chat and the witness. Filled by the reproject at
-- start-up (projection version 4).
ALTER TABLE messages ADD COLUMN witnesses TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN search tsvector
    GENERATED ALWAYS AS (to_tsvector('english'::regconfig, translate(text, './@-:_', '      '))) STORED;
CREATE INDEX messages_search ON messages USING GIN (search);
