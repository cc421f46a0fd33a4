-- Messages whose reading (extraction) has begun and not ended: a row is written and
-- committed before a source's message is read and deleted once reading ends, so a row
-- that outlives a process names the message it died on (a panic that aborts, a kill, an
-- out-of-memory abort). At the limit the message is quarantined instead of being read
-- again: one poison mail cannot make a crash loop.
CREATE TABLE reading (
    source_key TEXT PRIMARY KEY,
    attempts   INTEGER NOT NULL,
    began_at   TEXT NOT NULL            -- RFC 3339 UTC, the last attempt
);
