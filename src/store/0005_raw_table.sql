-- Raw bytes move to their own table. SQLite writes a blob in pieces (incremental blob
-- I/O) only in a table without expression indexes, and `messages` has one
-- (messages_identity): binding a 25 MB message as one value cost two whole copies in
-- memory. Scans of `messages` also stop stepping over the bytes.
CREATE TABLE message_raw (
    id  INTEGER PRIMARY KEY REFERENCES messages(id),
    raw BLOB NOT NULL
);
INSERT INTO message_raw (id, raw) SELECT id, raw FROM messages;
ALTER TABLE messages DROP COLUMN raw;
