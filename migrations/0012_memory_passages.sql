-- Automatic memories (memory_written with source 'auto'): how far each chat's lines have been summarised. The
-- marker moves with the newest passage a recorded memory covers, so after a restart, a reproject or a rewind the
-- narrator summarises exactly the lines after it. No event summarised a passage before this migration.
CREATE TABLE memory_passages (
    chat_id     TEXT    PRIMARY KEY REFERENCES chats (chat_id),
    through_seq INTEGER NOT NULL
);
