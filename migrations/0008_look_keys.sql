-- Names are compared by two keys (engine/names.py): `name_key`, case-insensitive (case folded, then Unicode's
-- confusable skeleton), and `look_key`, what the name looks like as written (the skeleton with its case kept:
-- 'Вram' with a Cyrillic В looks like 'Bram'). A new name is refused when either key is taken, and a name
-- typed by a person finds the one it looks like. `look_key` is not unique: an old log may hold two look-alikes,
-- and both must still project. The engine fills it by reprojecting once at start-up (projection version 3).
ALTER TABLE characters ADD COLUMN look_key TEXT NOT NULL DEFAULT '';
ALTER TABLE places ADD COLUMN look_key TEXT NOT NULL DEFAULT '';
ALTER TABLE lorebooks ADD COLUMN look_key TEXT NOT NULL DEFAULT '';
CREATE INDEX characters_look ON characters (guild_id, look_key) WHERE retired = 0;
CREATE INDEX places_look ON places (chat_id, look_key);
CREATE INDEX lorebooks_look ON lorebooks (guild_id, look_key);
