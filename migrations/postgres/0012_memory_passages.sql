-- Automatic memories (SQLite migration 0012): how far each chat's lines have been summarised.
CREATE TABLE memory_passages (
    chat_id     TEXT   PRIMARY KEY REFERENCES chats (chat_id),
    through_seq BIGINT NOT NULL
);
