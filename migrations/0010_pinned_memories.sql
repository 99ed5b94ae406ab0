-- Pinned memories (memory_pinned / memory_unpinned): a pinned memory is in every prompt of its character, within
-- a cap. No event pinned anything before this migration, so every existing memory is unpinned.
ALTER TABLE memories ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0;
CREATE INDEX memories_pinned ON memories (chat_id, character_id, seq) WHERE pinned = 1;
