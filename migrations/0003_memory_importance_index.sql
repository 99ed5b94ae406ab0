-- Performance only (docs/PERFORMANCE.md): a character's most important memories are read for every
-- reply prompt (ORDER BY importance DESC, seq DESC). With only memories_by_character that query
-- read and sorted all of the character's memories (2.2 ms at 10,000); this index answers it with a
-- short backwards range scan. A plain secondary index: rebuild drops and recreates it like the others.
CREATE INDEX memories_by_importance ON memories (chat_id, character_id, importance, seq);
