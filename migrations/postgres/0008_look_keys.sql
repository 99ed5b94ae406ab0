-- Names are compared by two keys (SQLite migration 0008, engine/names.py): `name_key`, case-insensitive, and
-- `look_key`, what the name looks like as written (Unicode's confusable skeleton, case kept). Not unique: an
-- old log may hold two look-alikes. Filled by the reproject at start-up (projection version 3).
ALTER TABLE characters ADD COLUMN look_key TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE places ADD COLUMN look_key TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE lorebooks ADD COLUMN look_key TEXT COLLATE "C" NOT NULL DEFAULT '';
CREATE INDEX characters_look ON characters (guild_id, look_key) WHERE retired = 0;
CREATE INDEX places_look ON places (chat_id, look_key);
CREATE INDEX lorebooks_look ON lorebooks (guild_id, look_key);
