-- Pinned memories (SQLite migration 0010): in every prompt of their character, within a cap.
ALTER TABLE memories ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0;
CREATE INDEX memories_pinned ON memories (chat_id, character_id, seq) WHERE pinned = 1;
