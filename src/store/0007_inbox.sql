-- Custody before processing: a source stores each fetched message here, in the same
-- transaction as its progress (an IMAP folder's high-water UID), and is done with it.
-- Processing (extraction, linking, claims) takes rows out oldest first, each in a
-- transaction that also deletes the row: a crash between the two leaves the row here,
-- processed at the next start, never twice.
CREATE TABLE inbox (
    id          INTEGER PRIMARY KEY,
    source      TEXT NOT NULL,              -- "imap", ...
    source_key  TEXT NOT NULL UNIQUE,       -- as messages.source_key
    raw         BLOB NOT NULL,
    received_at TEXT NOT NULL               -- RFC 3339 UTC, when custody was taken
);
